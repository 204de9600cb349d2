/**
 * Files written whole or not at all: a temporary file beside the target, synced, then renamed.
 * Every writer of results, checkpoints, notebooks and datasets goes through here.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder is written, flushed and
 * renamed over `path`, so readers never see a half-written file. Creates missing folders.
 *
 * @example
 * ```ts
 * import { atomicWriteFile } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await atomicWriteFile(`${dir}/a/b.txt`, new TextEncoder().encode("hi"));
 * console.assert(await Deno.readTextFile(`${dir}/a/b.txt`) === "hi");
 * ```
 */
export async function atomicWriteFile(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * {@link atomicWriteFile} for text (UTF-8).
 *
 * @example
 * ```ts
 * import { writeTextAtomic } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextAtomic(`${dir}/summary.csv`, "activation,n\n");
 * ```
 */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return atomicWriteFile(path, new TextEncoder().encode(text));
}
