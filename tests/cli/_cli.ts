/** Runs `deno task train` (cli/train.ts) in a subprocess for the CLI tests. */
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../cli/train.ts", import.meta.url));

/** The exit code, stdout split into lines, and stderr of `deno run -A cli/train.ts ...args`. */
export async function trainCli(
  ...args: string[]
): Promise<{ code: number; lines: string[]; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return {
    code: out.code,
    lines: text ? text.split("\n") : [],
    stderr: new TextDecoder().decode(out.stderr),
  };
}
