/**
 * Where the compiled training step spends its time: ONNX Runtime's profiler over N steps of the
 * nano preset, summed per operator type (kernel time only; the session's own overhead is the
 * difference to the wall time per step, printed last).
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
import { createRng, sampleBatch } from "../lib/core/mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";
import { OrtTrainer } from "../lib/onnx/mod.ts";

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
const steps = Number(values.steps);
await initEngine({ backend: "wasm" });
const data = charDataset(await Deno.readTextFile(values.data));
const config = trainConfig({ preset: "nano" });
const model = createGpt(
  gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation: values.activation }),
  { seed: 1337 },
);
const dir = await Deno.makeTempDir({ prefix: "actlab-profile-" });
const cwd = Deno.cwd();
Deno.chdir(dir); // ONNX Runtime writes the trace into the working directory
const trainer = await OrtTrainer.create(model, config, {
  provider: "cpu",
  threads: Number(values.threads),
  profilePrefix: "step",
});
const rng = createRng(1);
const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
const wall: number[] = [];
for (let i = 0; i < 5 + steps; i++) {
  const info = await trainer.step(sampleBatch(data.train, shape, rng), i);
  if (i >= 5) wall.push(info.ms);
}
await trainer.dispose();
Deno.chdir(cwd);
const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".json"));
if (!file) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; provider?: string; output_type_shape?: unknown[] };
}
const events = JSON.parse(await Deno.readTextFile(`${dir}/${file.name}`)) as Event[];
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
const kept = runs.slice(5); // the same 5 warm-up steps are left out
const from = kept.length ? (kept[0] as unknown as { ts: number }).ts : 0;
const byOp = new Map<string, { us: number; count: number }>();
const byNode = new Map<string, { us: number; op: string; shape: string }>();
for (const e of events) {
  if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
  if ((e as unknown as { ts: number }).ts < from) continue;
  const op = e.args?.op_name ?? "?";
  const row = byOp.get(op) ?? { us: 0, count: 0 };
  row.us += e.dur;
  row.count++;
  byOp.set(op, row);
  const node = e.name.slice(0, -"_kernel_time".length);
  const shape = JSON.stringify(e.args?.output_type_shape ?? []).replaceAll('"', "");
  const nodeRow = byNode.get(node) ?? { us: 0, op, shape };
  nodeRow.us += e.dur;
  byNode.set(node, nodeRow);
}
const n = kept.length || steps;
const total = [...byOp.values()].reduce((a, r) => a + r.us, 0) / n / 1000;
const runMs = kept.reduce((a, e) => a + e.dur, 0) / n / 1000;
const sorted = [...wall].sort((a, b) => a - b);
console.log(
  `nano, ${values.activation}, ${values.threads} thread(s), ${n} profiled steps: median wall ` +
    `${sorted[sorted.length >> 1].toFixed(1)} ms/step, session run ${runMs.toFixed(1)} ms, ` +
    `kernels ${total.toFixed(1)} ms`,
);
console.log("\n| op | ms/step | share | nodes/step |");
console.log("| --- | ---: | ---: | ---: |");
for (const [op, r] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top))) {
  const ms = r.us / n / 1000;
  console.log(
    `| ${op} | ${ms.toFixed(2)} | ${(100 * ms / total).toFixed(1)} % | ${
      Math.round(r.count / n)
    } |`,
  );
}
if (Number(values.nodes) > 0) {
  console.log("\n| node | op | ms/step | output |");
  console.log("| --- | --- | ---: | --- |");
  const slowest = [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.nodes));
  for (const [node, r] of slowest) {
    console.log(`| ${node} | ${r.op} | ${(r.us / n / 1000).toFixed(3)} | ${r.shape} |`);
  }
}
await Deno.remove(dir, { recursive: true });
model.dispose();
