/**
 * The capture notebooks (02, 08) on tfjs WebGPU, forced by ACTLAB_BACKEND: no synchronous read
 * on a GPU path. Here the adapter is Mesa's llvmpipe (software); the test skips without one.
 */
import { DATA_DIR, haveTinyShakespeare, MISSING_DATA_NOTE } from "../_data.ts";
import { assert, assertStringIncludes } from "@std/assert";
import { runNotebook } from "@actlab/actlab/notebook";
import { ROOT, scratchDir } from "./_util.ts";

async function adapter(): Promise<string | undefined> {
  // Vulkan's window-system layer complains without XDG_RUNTIME_DIR (as lib/engine does, quiet it).
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync());
  try {
    const a = await (navigator as { gpu?: GPU }).gpu?.requestAdapter();
    return a ? a.info.description || a.info.vendor || "an adapter" : undefined;
  } catch {
    return undefined;
  }
}

const found = await adapter();
if (!found) {
  console.log("skipping the WebGPU notebook runs: no WebGPU adapter (mesa-vulkan-drivers)");
}
// Where the CLI finds Tiny Shakespeare (tests/_data.ts); the kernels get it as ACTLAB_DATA_DIR.
const dataDir = haveTinyShakespeare ? DATA_DIR : undefined;
if (!dataDir) console.log(`skipping the WebGPU notebook runs: ${MISSING_DATA_NOTE}`);

for (const name of ["02_output_distributions", "08_relu_sparsity"]) {
  Deno.test({
    name: `${name} runs on tfjs WebGPU with ACTLAB_BACKEND=webgpu (fast mode)`,
    ignore: !found || !dataDir,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const out = await scratchDir(`webgpu-${name}-`);
      try {
        const report = await runNotebook(`${ROOT}/notebooks/${name}.ipynb`, {
          fast: true,
          env: { ACTLAB_BACKEND: "webgpu", ACTLAB_DATA_DIR: dataDir! },
          outDir: out,
          html: false,
          images: "never",
        });
        assert(
          report.ok,
          report.failure ? `${report.failure.ename}: ${report.failure.evalue}` : "",
        );
        const text = await Deno.readTextFile(report.outNotebook);
        assertStringIncludes(text, "webgpu on ", "the versions cell names the WebGPU engine");
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  });
}
