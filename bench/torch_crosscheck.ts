/**
 * The same sweep on both sides: trains the nano mini-GPT (nanoGPT's shakespeare_char CPU recipe)
 * for two activations × seeds in PyTorch (`../shared/reference/torch_minigpt.py`) and in actlab
 * (the compiled ONNX Runtime engine, one thread), then prints both sides' final validation losses
 * per seed, their means with 95% confidence intervals, and whether each side's mean falls inside
 * the other side's interval.
 *
 *   deno run -A bench/torch_crosscheck.ts [--activations relu,gelu] [--seeds 3] [--iters 2000]
 *     [--eval-every 250] [--eval-iters 20] [--final-eval split|sampled] [--out DIR]
 *     [--data ../shared/datasets] [--python /usr/bin/python3]
 *     [--reference ../shared/reference/torch_minigpt.py]
 *
 * Seeds are replicates, not pairs: seed k seeds PyTorch's generator on one side and actlab's on
 * the other, so the two sides' seed-k runs share neither weights nor batches; compare the
 * distributions (means and intervals), not seed by seed.
 *
 * What each final loss is measured on differs: PyTorch's is the mean over `--eval-iters` random
 * validation batches (sampled anew at each evaluation), actlab's the whole validation split
 * (`--final-eval split`, the sweep's default; `sampled` uses `--eval-iters` random batches as
 * PyTorch does). The output says which.
 *
 * PyTorch runs with one thread (`--threads 1`, `OPENBLAS_NUM_THREADS=1`) and, where Debian's
 * OpenBLAS does not know the CPU, `OPENBLAS_CORETYPE` set to its kernels (as `bench/train_ort.ts`
 * does). Without `python3-torch` the script says so and exits 0.
 */
import { parseArgs } from "node:util";
import { loadTinyShakespeare } from "../datasets/mod.ts";
import { initEngine, summarize, sweep, type TrialResult } from "../mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";
import { blasCoreType, defaultTorchPaths, torchMissing } from "./_torch.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activations: { type: "string", default: "relu,gelu" },
    seeds: { type: "string", default: "3" },
    iters: { type: "string", default: "2000" },
    "eval-every": { type: "string", default: "250" },
    "eval-iters": { type: "string", default: "20" },
    "final-eval": { type: "string", default: "split" },
    out: { type: "string" },
    data: { type: "string", default: `${here}../../shared/datasets` },
    python: { type: "string", default: defaultTorchPaths().python },
    reference: { type: "string", default: defaultTorchPaths().reference },
  },
});
const activations = values.activations.split(",").map((a) => a.trim()).filter(Boolean);
const seedCount = Number(values.seeds);
const iters = Number(values.iters);
const evalEvery = Number(values["eval-every"]);
const evalIters = Number(values["eval-iters"]);
const finalEval = values["final-eval"];
if (finalEval !== "split" && finalEval !== "sampled") {
  console.error(`--final-eval takes split or sampled, got '${finalEval}'`);
  Deno.exit(2);
}
for (const [flag, v] of [["seeds", seedCount], ["iters", iters], ["eval-iters", evalIters]]) {
  if (!Number.isInteger(v) || (v as number) < 1) {
    console.error(`--${flag} takes a whole number ≥ 1, got '${v}'`);
    Deno.exit(2);
  }
}
const seeds = Array.from({ length: seedCount }, (_, i) => i + 1);
const text = `${values.data}/tinyshakespeare/input.txt`;

interface TorchRun {
  readonly seed: number;
  readonly finalValLoss: number;
  readonly params: number;
  readonly seconds: number;
}

/** One PyTorch training run; its final validation loss is the last evaluation's. */
async function torchRun(
  activation: string,
  seed: number,
  env: Record<string, string>,
): Promise<TorchRun> {
  const r = await new Deno.Command(values.python, {
    args: [
      values.reference,
      "--data",
      text,
      "--act",
      activation,
      "--iters",
      String(iters),
      "--eval-every",
      String(evalEvery > 0 ? evalEvery : iters),
      "--eval-iters",
      String(evalIters),
      "--seed",
      String(seed),
      "--threads",
      "1",
    ],
    env: { ...env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(r.stdout).split("\n").filter((l) => l.startsWith("{"));
  const records = lines.map((l) => JSON.parse(l) as Record<string, number>);
  const last = records.filter((x) => "val_loss" in x).at(-1);
  if (!r.success || !last || last.iter !== iters) {
    const why = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1);
    throw new Error(`PyTorch ${activation} seed ${seed} failed: ${why ?? "no final evaluation"}`);
  }
  return {
    seed,
    finalValLoss: last.val_loss,
    params: records[0]?.params ?? NaN,
    seconds: last.elapsed_s,
  };
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "–");

/** Mean ± half-width [low, high], or the mean alone with one value. */
function interval(xs: readonly number[]): { text: string; lo: number; hi: number; mean: number } {
  const s = summarize(xs);
  const text = Number.isFinite(s.ciHalfWidth)
    ? `${f4(s.mean)} ± ${f4(s.ciHalfWidth)} [${f4(s.ciLow)}, ${f4(s.ciHigh)}]`
    : `${f4(s.mean)} (one seed: no interval)`;
  return { text, lo: s.ciLow, hi: s.ciHigh, mean: s.mean };
}

function inside(x: number, lo: number, hi: number): string {
  return Number.isFinite(lo) && Number.isFinite(hi) ? (x >= lo && x <= hi ? "yes" : "no") : "n/a";
}

const missing = await torchMissing(values);
if (missing) {
  console.log(`torch_crosscheck: skipped: ${missing}.`);
  Deno.exit(0);
}

await initEngine({ backend: "wasm" }); // holds the model's weights; steps run on ONNX Runtime
const data = await loadTinyShakespeare({ dir: values.data });
const batch = trainConfig({ preset: "nano" }).batchSize;
const blockTokens = batch * 64;
console.log(
  `PyTorch cross-check: nano recipe (4 layers, 128 wide, context 64, batch ${batch}, lr 1e-3 → ` +
    `1e-4), ${iters} iters, seeds ${seeds.join(", ")}, activations ${activations.join(", ")}.`,
);
console.log(
  `  PyTorch final val loss: mean over ${evalIters} random validation batches ` +
    `(${(evalIters * blockTokens).toLocaleString("en-US")} tokens, sampled anew), ` +
    `1 thread.`,
);

const { env } = await blasCoreType(values.python);
const torch = new Map<string, TorchRun[]>();
for (const activation of activations) {
  const runs: TorchRun[] = [];
  for (const seed of seeds) {
    const t = await torchRun(activation, seed, env);
    console.error(`  PyTorch ${activation} seed ${seed}: ${f4(t.finalValLoss)} (${t.seconds} s)`);
    runs.push(t);
  }
  torch.set(activation, runs);
}

const actlab = await sweep(data, {
  activations,
  seeds,
  preset: "nano",
  iters,
  evalEvery,
  evalIters,
  finalEval,
  engine: "ort",
  engineOptions: { provider: "cpu", threads: 1 },
  jobs: 1,
  out: values.out,
  onTrial: (t, saved) =>
    console.error(
      `  actlab ${t.activation} seed ${t.seed}: ${f4(t.finalValLoss)}` +
        (saved ? " (saved earlier)" : ` (${t.wallS.toFixed(0)} s)`),
    ),
});
const tokens = actlab.trials.find((t) => t.evalTokens !== undefined)?.evalTokens;
console.log(
  `  actlab final val loss: ${
    finalEval === "split"
      ? `the whole validation split (${tokens?.toLocaleString("en-US") ?? "?"} tokens)`
      : `mean over ${evalIters} random validation batches (${
        (evalIters * blockTokens).toLocaleString("en-US")
      } tokens)`
  }, compiled ONNX Runtime training, 1 thread.`,
);
console.log(
  "  Seeds are replicates on each side, not pairs (each side seeds its own generator).",
);

const means = new Map<string, { torch: number; actlab: number }>();
for (const activation of activations) {
  const mine = actlab.trials.filter((t: TrialResult) =>
    t.activation === activation && t.status === "completed"
  );
  const theirs = torch.get(activation)!;
  console.log(
    `\n${activation} (parameters: PyTorch ${theirs[0].params}, actlab ${mine[0]?.params})`,
  );
  console.log(`  seed  ${"PyTorch".padStart(8)}  ${"actlab".padStart(8)}`);
  for (const seed of seeds) {
    const a = mine.find((t) => t.seed === seed)?.finalValLoss ?? NaN;
    const p = theirs.find((t) => t.seed === seed)?.finalValLoss ?? NaN;
    console.log(`  ${String(seed).padEnd(4)}  ${f4(p).padStart(8)}  ${f4(a).padStart(8)}`);
  }
  const p = interval(theirs.map((t) => t.finalValLoss));
  const a = interval(mine.map((t) => t.finalValLoss));
  console.log(`  PyTorch mean ± 95% CI: ${p.text}`);
  console.log(`  actlab  mean ± 95% CI: ${a.text}`);
  console.log(
    `  PyTorch's mean inside actlab's CI: ${inside(p.mean, a.lo, a.hi)}; ` +
      `actlab's mean inside PyTorch's CI: ${inside(a.mean, p.lo, p.hi)}`,
  );
  means.set(activation, { torch: p.mean, actlab: a.mean });
}
if (activations.length === 2) {
  const [x, y] = activations.map((n) => means.get(n)!);
  const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(4)}` : "–");
  console.log(
    `\n${activations[0]} − ${activations[1]} (mean final val loss, nats/char): ` +
      `PyTorch ${signed(x.torch - y.torch)}, actlab ${signed(x.actlab - y.actlab)}`,
  );
}
