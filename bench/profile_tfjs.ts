/**
 * Where the eager tfjs training step spends its time, kernel by kernel: N steps of the nano
 * preset on a tfjs backend (default wasm), every kernel the backend runs timed (wall time of its
 * kernel function, which on wasm and cpu is the computation itself), summed per kernel name and
 * phase (forward, backward, norm, AdamW). The phases' wall times are printed too; their
 * difference to the kernel sum is tfjs's own bookkeeping (tape, allocation, disposal).
 *
 *   deno run -A bench/profile_tfjs.ts [--activation gelu] [--steps 10] [--backend wasm]
 *     [--data ../shared/datasets/tinyshakespeare/input.txt] [--top 30]
 *
 * The step is the one `Trainer.step` runs (same calls, phases timed apart). Numbers vary with
 * machine load: read the shares, and compare runs of one session.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { createRng, sampleBatch } from "../lib/core/mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";
import { globalNorm, gradClipScale } from "../lib/gpt/adamw.ts";
import { batchTensors, gptOptimizer } from "../lib/gpt/step.ts";
import { tfjsOps } from "../lib/gpt/tfjs_ops.ts";
import type { BackendName } from "../lib/engine/mod.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activation: { type: "string", default: "gelu" },
    steps: { type: "string", default: "10" },
    backend: { type: "string", default: "wasm" },
    top: { type: "string", default: "30" },
    data: { type: "string", default: `${here}../../shared/datasets/tinyshakespeare/input.txt` },
  },
});
const steps = Number(values.steps);
const engine = await initEngine({ backend: values.backend as BackendName });
const data = charDataset(await Deno.readTextFile(values.data));
const config = trainConfig({ preset: "nano" });
const model = createGpt(
  gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation: values.activation }),
  { seed: 1337 },
);
const optimizer = gptOptimizer(model, config);
const varList = [...model.variables.values()];
const varToName = new Map([...model.variables].map(([name, v]) => [v.name, name]));

type Phase = "forward" | "backward" | "norm" | "read" | "adamw";
const PHASES: readonly Phase[] = ["forward", "backward", "norm", "read", "adamw"];
let phase: Phase = "forward";
let timing = false;
const kernelMs = new Map<string, { ms: number; calls: number }>(); // key: phase \t kernel
const phaseMs = new Map<Phase, number>(PHASES.map((p) => [p, 0]));

/** Wraps every kernel function of the backend (registered so far) with a timer. */
function instrument(): void {
  for (const k of tf.getKernelsForBackend(engine.backend)) {
    const cfg = k as { kernelFunc: tf.KernelFunc; __timed?: boolean };
    if (cfg.__timed) continue;
    cfg.__timed = true;
    const inner = cfg.kernelFunc;
    cfg.kernelFunc = (args) => {
      if (!timing) return inner(args);
      const t0 = performance.now();
      const out = inner(args);
      const key = `${phase}\t${k.kernelName}`;
      const e = kernelMs.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      kernelMs.set(key, e);
      return out;
    };
  }
}

/** Trainer.step's calls, with the phases timed apart. */
async function step(iter: number): Promise<void> {
  const batch = sampleBatch(
    data.train,
    { batchSize: config.batchSize, blockSize: model.config.blockSize },
    rng,
  );
  const mark = (() => {
    let t = performance.now();
    return (p: Phase) => {
      const now = performance.now();
      if (timing) phaseMs.set(p, phaseMs.get(p)! + now - t);
      t = now;
    };
  })();
  phase = "forward";
  const { loss, norm, grads } = tf.tidy(() => {
    const { x, y } = batchTensors(batch);
    const ops = tfjsOps({ training: false, seed: iter });
    const { value, grads } = tf.variableGrads(() => {
      const l = model.loss(x, y, ops);
      mark("forward");
      phase = "backward";
      return l;
    }, varList);
    mark("backward");
    phase = "norm";
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(varToName.get(varName)!, g);
    const n = globalNorm(named);
    return { loss: value, norm: n, grads: Object.fromEntries(named) };
  });
  mark("norm");
  phase = "read";
  const [, normData] = await Promise.all([loss.data(), norm.data()]);
  mark("read");
  phase = "adamw";
  const lr = 1e-3;
  optimizer.step(new Map(Object.entries(grads)), lr, {
    gradScale: gradClipScale(normData[0], config.gradClip),
  });
  tf.dispose([loss, norm, ...Object.values(grads)]);
  mark("adamw");
}

const rng = createRng(1);
for (let i = 0; i < 3; i++) await step(i); // warm-up: registers the lazily registered kernels
instrument();
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await step(3 + i);
const wallPerStep = (performance.now() - t0) / steps;

const fmt = (ms: number) => (ms / steps).toFixed(2).padStart(8);
console.log(
  `tfjs ${engine.backend} (${engine.device}), nano preset, ${values.activation}: ` +
    `${wallPerStep.toFixed(1)} ms/step over ${steps} steps\n`,
);
console.log("| phase | wall ms/step | in kernels | tfjs overhead |");
console.log("|---|---:|---:|---:|");
for (const p of PHASES) {
  const inKernels = [...kernelMs].filter(([k]) => k.startsWith(`${p}\t`))
    .reduce((s, [, e]) => s + e.ms, 0);
  const wall = phaseMs.get(p)!;
  console.log(`| ${p} | ${fmt(wall)} | ${fmt(inKernels)} | ${fmt(wall - inKernels)} |`);
}
const rows = [...kernelMs].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(`\n| phase | kernel | calls/step | ms/step | share |`);
console.log("|---|---|---:|---:|---:|");
for (const [key, e] of rows.slice(0, Number(values.top))) {
  const [p, name] = key.split("\t");
  console.log(
    `| ${p} | ${name} | ${(e.calls / steps).toFixed(0)} | ${fmt(e.ms)} | ` +
      `${(100 * e.ms / total).toFixed(1)} % |`,
  );
}
const calls = rows.reduce((s, [, e]) => s + e.calls, 0);
console.log(`\n${(calls / steps).toFixed(0)} kernel calls per step, ${fmt(total)} ms in kernels`);
optimizer.dispose();
model.dispose();
