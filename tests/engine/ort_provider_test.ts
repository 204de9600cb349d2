/**
 * Choosing ONNX Runtime's execution provider: what this platform's binding ships, why `auto`
 * takes the CPU on a machine without a GPU (a software WebGPU adapter is no reason to leave it),
 * the session options of GPU providers, and the errors that name what is missing.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  isGpuProvider,
  ORT_CUDA_HELP,
  ortBindingProviders,
  ortCudaStatus,
  ortSessionOptions,
  resolveOrtProvider,
  webgpuAdapter,
} from "@actlab/actlab/engine";

const ROOT = new URL("../..", import.meta.url).pathname;
const options = { sanitizeResources: false, sanitizeOps: false };

Deno.test("the Linux x64 binding ships the CPU and WebGPU providers; CUDA is downloaded", {
  ignore: Deno.build.os !== "linux" || Deno.build.arch !== "x86_64",
}, () => {
  const shipped = Object.fromEntries(ortBindingProviders().map((b) => [b.name, b.bundled]));
  assertEquals(shipped.cpu, true);
  assertEquals(shipped.webgpu, true);
  assertEquals(shipped.cuda, false);
});

Deno.test({
  name: "webgpuAdapter() calls a software rasteriser what it is: not hardware",
  ...options,
  fn: async () => {
    const { hardware, name } = await webgpuAdapter();
    if (/llvmpipe|swiftshader|lavapipe/i.test(name)) assertEquals(hardware, false, name);
    assert(name.length > 0);
  },
});

Deno.test({
  name: "auto stays on the CPU without CUDA or a hardware WebGPU adapter, and says why",
  ...options,
  fn: async () => {
    const adapter = await webgpuAdapter();
    if (ortCudaStatus().available || adapter.hardware) return; // a GPU machine: nothing to see
    const { provider, reason } = await resolveOrtProvider("auto");
    assertEquals(provider, "cpu");
    assertStringIncludes(reason, "not CUDA: no CUDA provider library");
    assertStringIncludes(reason, "not WebGPU");
  },
});

Deno.test({
  name: "a provider this platform's binding lacks is refused with the ones it has",
  ignore: Deno.build.os !== "linux",
  ...options,
  fn: async () => {
    const e = await assertRejects(() => resolveOrtProvider("coreml"), Error);
    assertStringIncludes(e.message, "has no coreml provider; it has cpu, webgpu");
  },
});

Deno.test({
  name: "asking for CUDA where it is not installed says how to get it, for CUDA 13",
  ignore: ortCudaStatus().available,
  ...options,
  fn: async () => {
    const e = await assertRejects(() => resolveOrtProvider("cuda"), Error);
    assertStringIncludes(e.message, "ONNXRUNTIME_NODE_INSTALL=cuda12");
    assertStringIncludes(ORT_CUDA_HELP, "CUDA 13");
  },
});

Deno.test("an unknown provider name is refused with the choices", async () => {
  const e = await assertRejects(() => resolveOrtProvider("metal" as "cpu"), Error);
  assertStringIncludes(e.message, "choose auto, cpu, webgpu, cuda, coreml, dml");
});

Deno.test("sessions on GPU providers disable CPU fallback; on the CPU threads do not spin", () => {
  for (const provider of ["webgpu", "cuda", "dml", "coreml"] as const) {
    assert(isGpuProvider(provider));
    const extra = ortSessionOptions(provider).extra as { session: Record<string, string> };
    assertEquals(extra.session.disable_cpu_ep_fallback, "1", provider);
  }
  const cpu = ortSessionOptions("cpu").extra as { session: Record<string, string> };
  assertEquals(cpu.session, { "intra_op.allow_spinning": "0" });
});

Deno.test("gpu-buffer output locations exist on WebGPU only (not a CUDA location)", () => {
  const locations = { "next/w": "gpu-buffer", loss: "cpu" } as const;
  assertEquals(
    ortSessionOptions("webgpu", { outputLocations: locations }).preferredOutputLocation,
    {
      "next/w": "gpu-buffer",
      loss: "cpu",
    },
  );
  assertThrows(
    () => ortSessionOptions("cuda", { outputLocations: locations }),
    Error,
    "'gpu-buffer' is a WebGPU buffer",
  );
});

Deno.test({
  name: "ACTLAB_ORT_PROVIDER replaces auto, and a misspelt one names the choices",
  ...options,
  fn: async () => {
    const run = async (value: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { resolveOrtProvider } from "./lib/engine/ort.ts";
           console.log((await resolveOrtProvider("auto")).reason);`,
        ],
        cwd: ROOT,
        env: { ACTLAB_ORT_PROVIDER: value },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout).trim(),
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    assertEquals((await run("cpu")).stdout, "ACTLAB_ORT_PROVIDER=cpu");
    const bad = await run("gpu");
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "ACTLAB_ORT_PROVIDER=gpu is not an ONNX Runtime provider");
  },
});
