/**
 * Wall time of one sweep run with `--jobs 1` and with `--jobs N` (default: the core count), on
 * the same trials, and whether the per-trial numbers are identical. Nano preset on Tiny
 * Shakespeare, compiled ONNX Runtime training, one thread per trial.
 *
 *   deno run -A bench/sweep_jobs.ts [--activations relu,gelu,swiglu,relu2] [--seeds 1]
 *     [--iters 200] [--jobs N] [--data ../shared/datasets]
 */
import { parseArgs } from "node:util";
import { initEngine, loadTinyShakespeare, sweep } from "../mod.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activations: { type: "string", default: "relu,gelu,swiglu,relu2" },
    seeds: { type: "string", default: "1" },
    iters: { type: "string", default: "200" },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency) },
    data: { type: "string", default: `${here}../../shared/datasets` },
  },
});
await initEngine({ backend: "wasm" });
const data = await loadTinyShakespeare({ dir: values.data });
const args = {
  activations: values.activations.split(","),
  seeds: Number(values.seeds),
  preset: "nano" as const,
  iters: Number(values.iters),
  evalEvery: Number(values.iters),
  engine: "ort" as const,
  engineOptions: { provider: "cpu", threads: 1 },
};
const trials = args.activations.length * args.seeds;
console.log(
  `${trials} trials (${args.activations.join(", ")} × ${args.seeds} seed(s)), nano, ` +
    `${args.iters} steps each, ORT 1 thread per trial, ${navigator.hardwareConcurrency} cores`,
);
const timed = async (jobs: number) => {
  const t0 = performance.now();
  const r = await sweep(data, { ...args, jobs });
  return { seconds: (performance.now() - t0) / 1000, r };
};
const one = await timed(1);
const many = await timed(Number(values.jobs));
// Losses only: the evaluations also carry their wall-clock time.
const losses = (r: typeof one.r) =>
  JSON.stringify(
    r.trials.map((t) => [t.finalValLoss, t.evals.map((e) => [e.trainLoss, e.valLoss])]),
  );
const same = losses(one.r) === losses(many.r);
console.log(`--jobs 1: ${one.seconds.toFixed(1)} s`);
console.log(
  `--jobs ${many.r.jobs}: ${many.seconds.toFixed(1)} s (${
    (many.seconds / one.seconds).toFixed(2)
  }× the wall time of --jobs 1); per-trial numbers ${same ? "identical" : "DIFFERENT"}`,
);
