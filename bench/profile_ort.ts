/**
 * Where the compiled training step spends its time: ONNX Runtime's profiler over N steps of the
 * nano preset, summed per operator type (kernel time only; the session's own time between kernels
 * is the difference between the session run and the kernels, on the first line, with the matrix
 * products' time and achieved GFLOP/s).
 *
 *   deno run -A bench/profile_ort.ts [--activation gelu] [--steps 20] [--threads 1]
 *     [--data ../shared/datasets/tinyshakespeare/input.txt] [--top 25] [--nodes 0]
 *
 * `--nodes N` also lists the N slowest nodes with their output shapes.
 *
 * Numbers vary with machine load: read the shares, and compare runs of one session.
 */
import { parseArgs } from "node:util";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";
import { profileOrtStep } from "./_ort_profile.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activation: { type: "string", default: "gelu" },
    steps: { type: "string", default: "20" },
    threads: { type: "string", default: "1" },
    top: { type: "string", default: "25" },
    nodes: { type: "string", default: "0" },
    data: { type: "string", default: `${here}../../shared/datasets/tinyshakespeare/input.txt` },
  },
});
await initEngine({ backend: "wasm" });
const data = charDataset(await Deno.readTextFile(values.data));
const config = trainConfig({ preset: "nano" });
const model = createGpt(
  gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation: values.activation }),
  { seed: 1337 },
);
const p = await profileOrtStep(model, config, data, {
  threads: Number(values.threads),
  steps: Number(values.steps),
});
model.dispose();
const total = p.kernelMs;
console.log(
  `nano, ${values.activation}, ${values.threads} thread(s), ${p.steps} profiled steps: ` +
    `median wall ${p.wallMs.toFixed(1)} ms/step, session run ${p.runMs.toFixed(1)} ms, ` +
    `kernels ${total.toFixed(1)} ms (matrix products ${p.matmulMs.toFixed(1)} ms at ` +
    `${(p.matmulFlops / p.matmulMs / 1e6).toFixed(0)} GFLOP/s)`,
);
console.log("\n| op | ms/step | share | nodes/step |");
console.log("| --- | ---: | ---: | ---: |");
for (const [op, r] of [...p.byOp].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  const share = `${(100 * r.ms / total).toFixed(1)} %`;
  console.log(`| ${op} | ${r.ms.toFixed(2)} | ${share} | ${Math.round(r.count)} |`);
}
if (Number(values.nodes) > 0) {
  console.log("\n| node | op | ms/step | output |");
  console.log("| --- | --- | ---: | --- |");
  const slowest = [...p.byNode].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.nodes));
  for (const [node, r] of slowest) {
    console.log(`| ${node} | ${r.op} | ${r.ms.toFixed(3)} | ${r.shape} |`);
  }
}
