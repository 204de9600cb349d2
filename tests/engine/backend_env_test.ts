import { assertEquals, assertStringIncludes } from "@std/assert";

const ROOT = new URL("../..", import.meta.url).pathname;

async function backendWith(
  env: Record<string, string>,
  code = `await initEngine({ backend: "auto" })`,
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { initEngine } from "./lib/engine/mod.ts";
       const e = ${code};
       console.log(e.backend + " " + e.requested);`,
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "ACTLAB_BACKEND forces the backend of an initEngine that asks for auto",
  sanitizeResources: false,
  fn: async () => {
    assertEquals((await backendWith({ ACTLAB_BACKEND: "cpu" })).stdout, "cpu cpu");
    const named = await backendWith(
      { ACTLAB_BACKEND: "cpu" },
      `await initEngine({ backend: "wasm" })`,
    );
    assertEquals(named.stdout, "wasm wasm", "a backend named in code is kept");
  },
});

Deno.test({
  name: "a misspelt ACTLAB_BACKEND is an error naming the variable and the choices",
  sanitizeResources: false,
  fn: async () => {
    const r = await backendWith({ ACTLAB_BACKEND: "webgpuu" });
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      "ACTLAB_BACKEND=webgpuu is not a backend: use one of auto, tensorflow, webgpu, wasm, cpu",
    );
  },
});
