/**
 * Training-step speed of the mini-GPT on ONNX Runtime (the compiled step: forward, backward,
 * clipping and AdamW in one graph) next to the PyTorch reference
 * (`../shared/reference/torch_minigpt.py --time-only N`), run in the same session and
 * interleaved so all see the same machine load, with a roofline: how far the step is from the
 * machine's limit. Each run times N steps after 5 warm-ups on Tiny Shakespeare and reports its
 * median; this script prints the median over rounds for every thread setting of both sides, then
 * the ratios that matter:
 *
 * - **1 thread each**: ORT `threads: 1` against PyTorch with `torch.set_num_threads(1)` and
 *   `OPENBLAS_NUM_THREADS=1` (truly one thread);
 * - **best against best**: the fastest setting of each side. PyTorch's candidates (`--torch`):
 *   one thread (`1`); the reference as it runs (`ref`: `--threads 1`, but Debian's OpenBLAS
 *   still spins every core); and `--threads <cores>` (`all`). ORT's (`--ort`): 1 thread (`1`),
 *   its default (`default`: every core, idle threads sleeping between kernels) and every core
 *   with idle threads spinning (`spin`: no wake-up between kernels, but on a machine with other
 *   work the spinning threads take the cores the work needs).
 *
 * The roofline: each setting's achieved GFLOP/s (the model's FLOPs per step,
 * `trainingStepFlops`: forward and backward matrix products, over its ms/step), against the
 * machine's peak measured in the same run (an n×n by n×n single-precision `MatMul` on ONNX
 * Runtime's CPU kernels, at 1 thread and at every core, sampled before each activation and at the
 * end); and from ONNX Runtime's profiler over `--profile-steps` steps at 1 thread, the matrix
 * products' own time and GFLOP/s, the other kernels' time and the session's time between
 * kernels, so the step's distance from its limit is a number: the matrix products alone bound
 * how fast the step can get.
 *
 * `--depths 2,4,6` runs everything at the sizes of the tuned study's depth dial (depth d: d
 * layers, d heads of 32, width 32·d; nano is depth 4), on both sides.
 *
 *   deno run -A bench/train_ort.ts [--activations gelu,swiglu,relu] [--steps 30] [--rounds 3]
 *     [--depths 4] [--ort 1,default,spin] [--torch 1,ref,all] [--profile-steps 10]
 *     [--data ../shared/datasets/tinyshakespeare/input.txt]
 *     [--python /usr/bin/python3] [--reference ../shared/reference/torch_minigpt.py]
 *
 * PyTorch runs with `OPENBLAS_CORETYPE` set when Debian's OpenBLAS does not recognise the CPU
 * (it would use generic kernels, 3× slower: an unfair baseline); the first line says which.
 *
 * Each round runs every setting once, in alternating order (forwards, then backwards), so slow
 * drifts in the machine's load fall on both sides. Besides the ratio of medians, each ratio is
 * given as the median and range of the per-round ratios (the two settings' times from the same
 * round), which is the steadier figure on a shared machine, and as the ratio of the two settings'
 * fastest rounds (load only ever adds time, so the fastest round is the least disturbed). The
 * peak at every core over the peak at one says whether a second core was free during the run: if
 * it is near 1, no setting with more threads could gain here.
 *
 * Timings on a shared machine are noisy: compare numbers from one run of this script only.
 */
import { parseArgs } from "node:util";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { ortVersion } from "../lib/engine/mod.ts";
import { createRng, sampleBatch } from "../lib/core/mod.ts";
import { trainConfig, trainingStepFlops } from "../lib/gpt/mod.ts";
import { OrtTrainer } from "../lib/onnx/mod.ts";
import { applyAxes } from "../lib/sweep/axes.ts";
import { interleavedRounds, median } from "./_rounds.ts";
import { cpuGemmPeak } from "./_peaks.ts";
import { profileOrtStep } from "./_ort_profile.ts";
import { blasCoreType, defaultTorchPaths, torchSettings, torchStepMs } from "./_torch.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activations: { type: "string", default: "gelu,swiglu,relu" },
    steps: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    depths: { type: "string", default: "4" },
    ort: { type: "string", default: "1,default,spin" },
    torch: { type: "string", default: "1,ref,all" },
    "profile-steps": { type: "string", default: "10" },
    data: {
      type: "string",
      default: `${here}../../shared/datasets/tinyshakespeare/input.txt`,
    },
    python: { type: "string", default: defaultTorchPaths().python },
    reference: { type: "string", default: defaultTorchPaths().reference },
  },
});
const steps = Number(values.steps), rounds = Number(values.rounds);
const profileSteps = Number(values["profile-steps"]);
const depths = values.depths.split(",").map(Number);
const cores = navigator.hardwareConcurrency;
const list = (xs: readonly number[]) => `[${xs.map((x) => x.toFixed(1)).join(", ")}]`;
const batchSize = trainConfig({ preset: "nano" }).batchSize;

await initEngine({ backend: "wasm" }); // holds the model's weights; steps run on ONNX Runtime
const data = charDataset(await Deno.readTextFile(values.data));

/** The model fields of depth d on the study's dial (nano is depth 4). */
function sizeOf(depth: number) {
  const m = applyAxes({ preset: "nano" }, { depth }).model!;
  return { nLayer: m.nLayer!, nHead: m.nHead!, nEmbd: m.nEmbd! };
}

const configOf = (activation: string, depth: number) =>
  gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation, ...sizeOf(depth) });

/** Median ms per step of ORT on the CPU (5 warm-ups, then `steps`), as `timeTrainingSteps`. */
async function ortMs(
  activation: string,
  depth: number,
  options: { readonly threads?: number; readonly spinning?: boolean },
): Promise<number> {
  const model = createGpt(configOf(activation, depth), { seed: 1337 });
  const config = trainConfig({ preset: "nano" });
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  const rng = createRng(config.seed);
  const times: number[] = [];
  try {
    const trainer = await OrtTrainer.create(model, config, { provider: "cpu", ...options });
    try {
      for (let i = 0; i < 5 + steps; i++) {
        const info = await trainer.step(sampleBatch(data.train, shape, rng), i);
        if (i >= 5) times.push(info.ms);
      }
    } finally {
      await trainer.dispose();
    }
  } finally {
    model.dispose();
  }
  return median(times);
}

const blas = await blasCoreType(values.python);

interface Setting {
  readonly side: "ORT" | "PyTorch";
  readonly label: string;
  readonly oneThread: boolean;
  readonly run: (activation: string, depth: number) => Promise<number | string>;
}
const ORT_SETTINGS: Record<string, Setting> = {
  "1": {
    side: "ORT",
    label: "ORT, 1 thread",
    oneThread: true,
    run: (a, d) => ortMs(a, d, { threads: 1 }),
  },
  default: {
    side: "ORT",
    label: "ORT, default threads",
    oneThread: false,
    run: (a, d) => ortMs(a, d, { threads: undefined }),
  },
  spin: {
    side: "ORT",
    label: `ORT, ${cores} threads, spinning`,
    oneThread: false,
    run: (a, d) => ortMs(a, d, { threads: cores, spinning: true }),
  },
};
const SETTINGS: Setting[] = [
  ...values.ort.split(",").map((key) => {
    if (!ORT_SETTINGS[key]) throw new Error(`unknown ORT setting ${key}: choose 1, default, spin`);
    return ORT_SETTINGS[key];
  }),
  ...torchSettings(cores, values.torch.split(",")).map((setting): Setting => ({
    side: "PyTorch",
    label: setting.label,
    oneThread: setting.oneThread,
    run: (activation, depth) => {
      const s = sizeOf(depth);
      const model = { layers: s.nLayer, heads: s.nHead, embd: s.nEmbd };
      return torchStepMs(values, { data: values.data, activation, steps, setting, blas, model });
    },
  })),
];

/**
 * "0.97× (rounds 0.91–1.05; fastest rounds 0.95×)": the per-round ratios' median and range, and the
 * ratio of the two settings' fastest rounds. Load on a shared machine only ever adds time, so the
 * fastest round is each setting's least-disturbed measurement.
 */
function ratioText(
  a: readonly number[],
  b: readonly number[],
): { median: number; fastest: number; text: string } {
  const per = a.map((x, r) => x / b[r]).filter(Number.isFinite);
  const m = median(per);
  const fastest = Math.min(...a) / Math.min(...b);
  const range = `${Math.min(...per).toFixed(2)}–${Math.max(...per).toFixed(2)}`;
  return {
    median: m,
    fastest,
    text: `${m.toFixed(2)}× (rounds ${range}; fastest rounds ${fastest.toFixed(2)}×)`,
  };
}

/** The machine's peak, sampled before each activation and at the end (GFLOP/s). */
const peaks = { one: [] as number[], all: [] as number[] };
async function samplePeak(): Promise<{ one: number; all: number }> {
  const one = await cpuGemmPeak(1), all = await cpuGemmPeak(cores);
  peaks.one.push(one);
  peaks.all.push(all);
  return { one, all };
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;

/** What the profile of ORT at 1 thread says about one activation and size. */
interface Profiled {
  /** The matrix products' GFLOP/s (their FLOPs over their kernel time). */
  readonly matmulGflops: number;
  /** Their share of the session's time. */
  readonly matmulShare: number;
}

/** Profiles ORT at 1 thread and prints where the step's time goes. */
async function profileLine(activation: string, depth: number): Promise<Profiled | undefined> {
  if (profileSteps <= 0) return undefined;
  const model = createGpt(configOf(activation, depth), { seed: 1337 });
  try {
    const p = await profileOrtStep(model, trainConfig({ preset: "nano" }), data, {
      threads: 1,
      steps: profileSteps,
    });
    const matmulGflops = gflops(p.matmulFlops, p.matmulMs);
    const other = p.kernelMs - p.matmulMs, between = p.runMs - p.kernelMs;
    const pct = (ms: number) => `${(100 * ms / p.runMs).toFixed(0)} %`;
    console.log(
      `  profile (ORT, 1 thread, ${p.steps} steps, session ${p.runMs.toFixed(1)} ms/step): ` +
        `matrix products ${p.matmulMs.toFixed(1)} ms (${pct(p.matmulMs)}) at ` +
        `${matmulGflops.toFixed(0)} GFLOP/s; other kernels ${other.toFixed(1)} ms ` +
        `(${pct(other)}); between kernels ${between.toFixed(1)} ms (${pct(between)})`,
    );
    return { matmulGflops, matmulShare: p.matmulMs / p.runMs };
  } finally {
    model.dispose();
  }
}

/** One row of the roofline table, filled in once the run's peak is known. */
interface RooflineRow {
  readonly depth: number;
  readonly activation: string;
  readonly flops: number;
  readonly ort1: number;
  readonly ortBest: number;
  readonly torch1: number;
  readonly torchBest: number;
  readonly profiled?: Profiled;
}

/** The roofline table: each side's GFLOP/s against the run's best measured peak. */
function printRoofline(rows: readonly RooflineRow[], peak1: number, peakAll: number): void {
  console.log(
    `\nroofline: GFLOP/s of the step (model FLOPs over ms/step) and its fraction of the peak ` +
      `(${peak1.toFixed(0)} GFLOP/s at 1 thread for 1-thread settings, ${peakAll.toFixed(0)} at ` +
      `${cores} for the best); Gemm: the matrix products' own rate (profile); bound: the ` +
      `matrix products' share of ORT's 1-thread step over PyTorch best, the ratio that is left ` +
      `if every other op took no time\n`,
  );
  console.log(
    "| depth | activation | ORT 1 thread | of peak | ORT best | of peak | PyTorch 1 thread " +
      "| of peak | PyTorch best | of peak | Gemm GFLOP/s | of peak | bound |",
  );
  console.log(
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    const rate = (ms: number, peak: number) =>
      Number.isFinite(ms)
        ? [gflops(r.flops, ms).toFixed(0), (gflops(r.flops, ms) / peak).toFixed(2)]
        : ["–", "–"];
    const mm = r.profiled
      ? [r.profiled.matmulGflops.toFixed(0), (r.profiled.matmulGflops / peak1).toFixed(2)]
      : ["–", "–"];
    const bound = r.profiled && Number.isFinite(r.torchBest)
      ? (r.profiled.matmulShare * r.ort1 / r.torchBest).toFixed(2)
      : "–";
    const cells = [
      r.depth,
      r.activation,
      ...rate(r.ort1, peak1),
      ...rate(r.ortBest, peakAll),
      ...rate(r.torch1, peak1),
      ...rate(r.torchBest, peakAll),
      ...mm,
      bound,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}

console.log(
  `B ${batchSize}, T 64, ${steps} timed steps after 5 warm-ups, ${rounds} interleaved rounds; ` +
    `depths ${depths.join(", ")} (depth d: d layers, d heads of 32, width 32·d; nano = 4); ` +
    `onnxruntime-node ${ortVersion()}; ${cores} cores`,
);
console.log(blas.note);
const summary: string[] = [];
const rooflineRows: RooflineRow[] = [];
for (const depth of depths) {
  const size = sizeOf(depth);
  for (const activation of values.activations.split(",")) {
    const config = configOf(activation, depth);
    const flops = trainingStepFlops(config, { batchSize }).total;
    await samplePeak();
    const { times, failures: notes } = await interleavedRounds(
      SETTINGS.length,
      rounds,
      (i) => SETTINGS[i].run(activation, depth),
    );
    console.log(
      `\n${activation}, depth ${depth} (${size.nLayer} layers, ${size.nEmbd} wide, ` +
        `${size.nHead} heads)`,
    );
    const med = times.map((xs) => (xs.length && xs.every(Number.isFinite) ? median(xs) : NaN));
    for (const [i, s] of SETTINGS.entries()) {
      const shown = Number.isFinite(med[i])
        ? `${med[i].toFixed(1).padStart(7)} ms/step ${
          gflops(flops, med[i]).toFixed(1).padStart(6)
        } GFLOP/s ${list(times[i])}`
        : notes[i];
      console.log(`  ${s.label.padEnd(46)} ${shown}`);
    }
    const best = (side: Setting["side"], oneThread?: boolean) => {
      const idx = SETTINGS.flatMap((s, i) =>
        s.side === side && (oneThread === undefined || s.oneThread === oneThread) &&
          Number.isFinite(med[i])
          ? [i]
          : []
      );
      return idx.length ? idx.reduce((a, b) => (med[a] <= med[b] ? a : b)) : -1;
    };
    const [o1, p1, ob, pb] = [
      best("ORT", true),
      best("PyTorch", true),
      best("ORT"),
      best("PyTorch"),
    ];
    if (pb < 0) {
      console.log("  no PyTorch figures: no ratios");
      continue;
    }
    const one = p1 < 0 ? undefined : ratioText(times[o1], times[p1]);
    const b = ratioText(times[ob], times[pb]);
    if (one) console.log(`  1 thread each:      ORT / PyTorch = ${one.text}`);
    console.log(
      `  best against best:  ORT / PyTorch = ${b.text}: ${SETTINGS[ob].label} vs ${
        SETTINGS[pb].label
      }`,
    );
    const profiled = await profileLine(activation, depth);
    rooflineRows.push({
      depth,
      activation,
      flops,
      ort1: med[o1],
      ortBest: med[ob],
      torch1: p1 < 0 ? NaN : med[p1],
      torchBest: med[pb],
      profiled,
    });
    const cells = [
      depth,
      activation,
      (flops / 1e9).toFixed(2),
      med[o1].toFixed(1),
      gflops(flops, med[o1]).toFixed(0),
      p1 < 0 ? "–" : med[p1].toFixed(1),
      p1 < 0 ? "–" : gflops(flops, med[p1]).toFixed(0),
      one ? one.median.toFixed(2) : "–",
      med[ob].toFixed(1),
      med[pb].toFixed(1),
      b.median.toFixed(2),
      b.fastest.toFixed(2),
    ];
    summary.push(`| ${cells.join(" | ")} |`);
  }
}
await samplePeak();
const peakText = (xs: readonly number[]) =>
  `${Math.max(...xs).toFixed(0)} (median ${median(xs).toFixed(0)})`;
console.log(
  `\npeak (1024² MatMul, ONNX Runtime CPU, GFLOP/s, best of the run's ${peaks.one.length} ` +
    `samples): 1 thread ${peakText(peaks.one)}, ${cores} threads ${peakText(peaks.all)}`,
);
if (summary.length) {
  console.log(
    "\nms/step: medians over rounds; GFLOP/s: model FLOPs per step over that; ratio: median of " +
      "the per-round ratios; fastest: ratio of the two settings' fastest rounds\n",
  );
  console.log(
    "| depth | activation | GFLOP/step | ORT 1 thread | GFLOP/s | PyTorch 1 thread | GFLOP/s " +
      "| ratio | ORT best | PyTorch best | ratio | fastest |",
  );
  console.log(
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const line of summary) console.log(line);
}
printRoofline(rooflineRows, Math.max(...peaks.one), Math.max(...peaks.all));
