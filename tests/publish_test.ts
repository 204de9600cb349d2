import { assertEquals } from "@std/assert";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test({
  name: "deno publish --dry-run finds no problem and no warning (licence, analyzable imports)",
  sanitizeResources: false,
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["publish", "--dry-run", "--allow-dirty"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text.slice(-4000));
    const problems = text.split("\n").filter((l) => /^(warning|error)\[/.test(l));
    assertEquals(problems, []);
  },
});
