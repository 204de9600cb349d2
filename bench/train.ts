/**
 * Training-step speed of the nano preset on every available tfjs backend, next to PyTorch at its
 * best (`torch_minigpt.py --time-only`, its fastest thread setting; see `bench/_torch.ts`), run
 * in the same session.
 *
 * Each measurement runs in its own process (`deno task train --time-only N`: 5 warm-ups, then the
 * median of N steps), so backends do not share state. `--rounds R` repeats every measurement R
 * times, interleaved and in alternating order, so load drifts fall on both sides; the table gives
 * each row's median over rounds, and "× PyTorch best" is the median of the per-round ratios to
 * PyTorch's fastest setting, "fastest" the ratio of the two's fastest rounds (load only ever adds
 * time, so the fastest round is the least disturbed). Prints a Markdown table and, with `--json`, one
 * JSON object per row.
 *
 * usage: deno run -A bench/train.ts [--steps 30] [--cpu-steps 3] [--rounds 3] [--activation gelu]
 *        [--backends wasm,cpu] [--wasm-threads 1,2] [--skip-torch] [--python /usr/bin/python3]
 *        [--torch PATH/torch_minigpt.py] [--data DIR] [--json]
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { availableBackends } from "../lib/engine/mod.ts";
import { gptConfig, trainConfig } from "../lib/gpt/mod.ts";
import { interleavedRounds, median } from "./_rounds.ts";
import {
  blasCoreType,
  defaultTorchPaths,
  torchMissing,
  type TorchPaths,
  torchSettings,
  torchStepMs,
} from "./_torch.ts";

interface Row {
  engine: string;
  backend: string;
  steps: number;
  /** Median over rounds of each round's median ms/step. */
  median_ms_per_step: number | null;
  rounds_ms_per_step: number[];
  tokens_per_s: number | null;
  /** Median of the per-round ratios to PyTorch's best setting. */
  x_pytorch_best: number | null;
  /** This row's fastest round over PyTorch's best setting's fastest round. */
  x_pytorch_best_fastest: number | null;
  note: string;
}

function flag(name: string, fallback?: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  if (i >= 0) return Deno.args[i + 1];
  const eq = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

const steps = Number(flag("steps", "30"));
const cpuSteps = Number(flag("cpu-steps", "3"));
const rounds = Number(flag("rounds", "3"));
const activation = flag("activation", "gelu")!;
const json = Deno.args.includes("--json");
const wasmThreads = flag("wasm-threads")?.split(",").map(Number);
if (wasmThreads?.some((t) => !Number.isInteger(t) || t < 1)) {
  console.error(`--wasm-threads takes whole numbers ≥ 1, e.g. 1,2; got '${flag("wasm-threads")}'`);
  Deno.exit(2);
}
const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = flag("data") ?? Deno.env.get("ACTLAB_DATA_DIR") ??
  join(root, "..", "shared", "datasets");
/** Tokens per nano training step (batch × context): tokens/s = this / the median step time. */
const tokensPerStep = trainConfig({ preset: "nano" }).batchSize *
  gptConfig({ preset: "nano", vocabSize: 65 }).blockSize;
const paths: TorchPaths = {
  python: flag("python", defaultTorchPaths().python)!,
  reference: flag("torch", defaultTorchPaths().reference)!,
};
for (const [name, v] of [["steps", steps], ["cpu-steps", cpuSteps], ["rounds", rounds]] as const) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${name} takes a whole number ≥ 1, got '${flag(name)}'`);
    Deno.exit(2);
  }
}

/**
 * One `deno task train --time-only` run: its median ms/step, or why none. `threads`: the wasm
 * matmul's threads (ACTLAB_WASM_THREADS), else the default.
 */
async function tfjsRun(backend: string, n: number, threads?: number): Promise<number | string> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "cli/train.ts",
        "--preset",
        "nano",
        "--activation",
        activation,
        "--backend",
        backend,
        "--data",
        dataDir,
        "--time-only",
        String(n),
        "--json",
      ],
      stdout: "piped",
      stderr: "piped",
      cwd: root,
      env: threads === undefined ? {} : { ACTLAB_WASM_THREADS: String(threads) },
    }).output();
    const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (!out.success) {
      return `failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`;
    }
    return JSON.parse(last).median_ms_per_step as number;
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message : e}`;
  }
}

interface Measured {
  readonly engine: string;
  readonly backend: string;
  readonly steps: number;
  readonly note: string;
  readonly run: () => Promise<number | string>;
}

const measured: Measured[] = [];
const rows: Row[] = [];
const wanted = flag("backends")?.split(",");
for (const b of await availableBackends()) {
  if (wanted && !wanted.includes(b.backend)) continue;
  const n = b.backend === "cpu" ? cpuSteps : steps;
  if (!b.ok) {
    rows.push({
      engine: "tfjs",
      backend: b.backend,
      steps: 0,
      median_ms_per_step: null,
      rounds_ms_per_step: [],
      tokens_per_s: null,
      x_pytorch_best: null,
      x_pytorch_best_fastest: null,
      note: `unavailable: ${b.detail}`,
    });
    continue;
  }
  if (b.backend === "wasm" && wasmThreads) {
    for (const t of wasmThreads) {
      measured.push({
        engine: "tfjs",
        backend: `wasm, matmul on ${t} thread${t === 1 ? "" : "s"}`,
        steps: n,
        note: `${b.detail.replace(/ \(matmul on \d+\)/, "")}; ACTLAB_WASM_THREADS=${t}`,
        run: () => tfjsRun(b.backend, n, t),
      });
    }
    continue;
  }
  measured.push({
    engine: "tfjs",
    backend: b.backend,
    steps: n,
    note: b.detail,
    run: () => tfjsRun(b.backend, n),
  });
}
const torchFirst = measured.length; // PyTorch settings follow the tfjs backends
let torchNote = "";
if (!Deno.args.includes("--skip-torch")) {
  const missing = await torchMissing(paths);
  if (missing) torchNote = `PyTorch not timed: ${missing}`;
  else {
    const blas = await blasCoreType(paths.python);
    torchNote = blas.note;
    const data = join(dataDir, "tinyshakespeare", "input.txt");
    for (const setting of torchSettings()) {
      measured.push({
        engine: "pytorch",
        backend: setting.label.replace(/^PyTorch,? ?/, ""),
        steps,
        note: "torch_minigpt.py --time-only",
        run: () => torchStepMs(paths, { data, activation, steps, setting, blas }),
      });
    }
  }
}

const { times, failures } = await interleavedRounds(
  measured.length,
  rounds,
  (i) => measured[i].run(),
);
const med = times.map((xs) => (xs.every(Number.isFinite) ? median(xs) : NaN));
const torchIdx = [...measured.keys()].filter((i) => i >= torchFirst && Number.isFinite(med[i]));
const torchBest = torchIdx.length
  ? torchIdx.reduce((a, b) => (med[a] <= med[b] ? a : b))
  : undefined;
const ratio = (i: number) => {
  if (torchBest === undefined || !Number.isFinite(med[i])) return null;
  return median(times[i].map((x, r) => x / times[torchBest][r]));
};
for (const [i, m] of measured.entries()) {
  const ok = Number.isFinite(med[i]);
  rows.push({
    engine: m.engine,
    backend: m.backend,
    steps: m.steps,
    median_ms_per_step: ok ? med[i] : null,
    rounds_ms_per_step: times[i],
    tokens_per_s: ok ? (tokensPerStep * 1000) / med[i] : null,
    x_pytorch_best: ratio(i),
    x_pytorch_best_fastest: torchBest !== undefined && ok
      ? Math.min(...times[i]) / Math.min(...times[torchBest])
      : null,
    note: ok ? (i === torchBest ? `${m.note} (PyTorch's best)` : m.note) : failures[i],
  });
}

if (json) { for (const r of rows) console.log(JSON.stringify(r)); }
else {
  console.log(
    `nano preset (B=12, T=64, 4×128, ${activation}), training step incl. AdamW; ` +
      `${rounds} interleaved rounds; ${navigator.hardwareConcurrency} cores`,
  );
  if (torchNote) console.log(torchNote);
  console.log(
    "\n| engine | backend | steps | ms/step | rounds | tokens/s | × PyTorch best | fastest | note |",
  );
  console.log("|---|---|---:|---:|---|---:|---:|---:|---|");
  for (const r of rows) {
    const x = r.x_pytorch_best === null ? "" : r.x_pytorch_best.toFixed(2);
    const xf = r.x_pytorch_best_fastest === null ? "" : r.x_pytorch_best_fastest.toFixed(2);
    const spread = r.rounds_ms_per_step.map((t) => t.toFixed(0)).join(", ");
    console.log(
      `| ${r.engine} | ${r.backend} | ${r.steps} | ${r.median_ms_per_step?.toFixed(1) ?? "—"} | ` +
        `${spread} | ${r.tokens_per_s?.toFixed(0) ?? "—"} | ${x} | ${xf} | ${r.note} |`,
    );
  }
}
