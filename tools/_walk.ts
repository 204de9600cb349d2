/** Recursive listing of files by extension, for the tools and the architecture test. */
import { join } from "node:path";

/** Every file under `dir` whose name ends with `ext`, depth first. */
export async function* walk(dir: string, ext: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walk(path, ext);
    else if (e.isFile && e.name.endsWith(ext)) yield path;
  }
}
