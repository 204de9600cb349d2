/**
 * Activation throughput per backend: forward and forward+backward GB/s for every activation on
 * 1M float32 elements, with fused kernels on and off where an activation has them, and an n×n
 * matmul's GFLOP/s. Prints a markdown table.
 *
 *   deno task bench [--backends cpu,wasm,webgpu] [--size 1048576] [--only gelu,relu]
 */
import { parseArgs } from "node:util";
import { activationThroughput, availableBackends, matmulThroughput } from "../lib/engine/mod.ts";
import { fusedBackends, setFusedKernels } from "../lib/activations/mod.ts";
import { getActivation, initEngine, listActivations } from "../mod.ts";

const { values } = parseArgs({
  options: {
    backends: { type: "string" },
    size: { type: "string", default: String(1 << 20) },
    only: { type: "string" },
    "min-ms": { type: "string", default: "250" },
  },
});
const size = Number(values.size);
const minMs = Number(values["min-ms"]);
const present = (await availableBackends()).filter((b) => b.ok).map((b) => b.backend);
const backends = values.backends ? values.backends.split(",") : present;
const defs = values.only ? values.only.split(",").map((n) => getActivation(n)) : listActivations();

console.log(`# Activation throughput (${size.toLocaleString("en")} float32 elements)\n`);
console.log(
  `Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores\n`,
);
for (const backend of backends) {
  const engine = await initEngine({ backend: backend as never });
  console.log(`## ${backend}: ${engine.device}\n`);
  console.log(
    "| activation | forward GB/s | fwd+bwd GB/s | fwd ms | composite fwd GB/s | composite fwd+bwd GB/s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const def of defs) {
    const f = await activationThroughput(def, { size, minMs });
    const b = await activationThroughput(def, { size, minMs, backward: true });
    let composite = ["", ""];
    if (fusedBackends(def.name).includes(backend)) {
      setFusedKernels(false);
      const cf = await activationThroughput(def, { size, minMs });
      const cb = await activationThroughput(def, { size, minMs, backward: true });
      setFusedKernels(true);
      composite = [cf.gbPerS.toFixed(2), cb.gbPerS.toFixed(2)];
    }
    console.log(
      `| ${def.name} | ${f.gbPerS.toFixed(2)} | ${b.gbPerS.toFixed(2)} | ${f.ms.toFixed(2)} | ` +
        `${composite[0]} | ${composite[1]} |`,
    );
  }
  const mm = await matmulThroughput({ n: 512, minMs });
  console.log(`\nmatmul 512×512×512: ${mm.gflops.toFixed(1)} GFLOP/s (${mm.ms.toFixed(2)} ms)\n`);
}
