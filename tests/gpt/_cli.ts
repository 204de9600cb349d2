/** Runs `deno task train` (lib/gpt/cli.ts) in a subprocess for the CLI tests. */
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../lib/gpt/cli.ts", import.meta.url));

/** The exit code, stdout split into lines, and stderr of `deno run -A lib/gpt/cli.ts ...args`. */
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
