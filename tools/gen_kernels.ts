/**
 * Writes the GENERATED regions of lib/activations/wasm/kernels.c from the registry: erfcx32 from
 * lib/activations/_erfcx_coefficients.ts, and f and f′ of every built-in activation whose entry
 * says `fused: true`, from its `math`. `deno task build:wasm` runs this before compiling.
 *
 *   deno run -A tools/gen_kernels.ts           rewrite kernels.c
 *   deno run -A tools/gen_kernels.ts --check   exit 1 if kernels.c is not what the registry gives
 */
import { generateKernelsC } from "../lib/activations/_kernel_source.ts";
import { FUSED_UNARY } from "../lib/activations/unary.ts";

const path = new URL("../lib/activations/wasm/kernels.c", import.meta.url);
const before = await Deno.readTextFile(path);
const after = generateKernelsC(
  before,
  FUSED_UNARY.map((def) => ({ name: def.name, math: def.math! })),
);
if (Deno.args.includes("--check")) {
  if (after !== before) {
    console.error("kernels.c is stale: run `deno task build:wasm` (or tools/gen_kernels.ts)");
    Deno.exit(1);
  }
  console.log("kernels.c is current");
} else if (after !== before) {
  await Deno.writeTextFile(path, after);
  console.log(`wrote kernels.c (${FUSED_UNARY.map((d) => d.name).join(", ")})`);
} else {
  console.log("kernels.c already current");
}
