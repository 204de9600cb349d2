import { assertEquals, assertMatch } from "@std/assert";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test({
  name: "choosing a backend without XDG_RUNTIME_DIR prints nothing on stderr",
  sanitizeResources: false,
  fn: async () => {
    const env = Deno.env.toObject();
    delete env.XDG_RUNTIME_DIR;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { initEngine } from "./lib/engine/mod.ts";
         const e = await initEngine();
         console.log(e.backend);`,
      ],
      cwd: ROOT,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(stderr.includes("XDG_RUNTIME_DIR"), false, stderr);
    assertMatch(new TextDecoder().decode(out.stdout), /^(tensorflow|webgpu|wasm|cpu)\n$/);
  },
});
