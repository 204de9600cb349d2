/**
 * Training-step speed of the nano mini-GPT on ONNX Runtime (the compiled step: forward, backward,
 * clipping and AdamW in one graph) next to the PyTorch reference
 * (`../shared/reference/torch_minigpt.py --time-only N`), run in the same session and
 * interleaved so all see the same machine load. Each run times N steps after 5 warm-ups on Tiny
 * Shakespeare and reports its median; this script prints the median over rounds for every thread
 * setting of both sides, then the ratios that matter:
 *
 * - **1 thread each**: ORT `threads: 1` against PyTorch with `torch.set_num_threads(1)` and
 *   `OPENBLAS_NUM_THREADS=1` (truly one thread);
 * - **best against best**: the fastest setting of each side. PyTorch's candidates: one thread;
 *   the reference as it runs (`--threads 1`, but Debian's OpenBLAS still spins every core); and
 *   `--threads <cores>`. ORT's: 1 thread and its default (every core).
 *
 *   deno run -A bench/train_ort.ts [--activations gelu,swiglu,relu] [--steps 30] [--rounds 3]
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
 * fastest rounds (load only ever adds time, so the fastest round is the least disturbed).
 *
 * Timings on a shared machine are noisy: compare numbers from one run of this script only.
 */
import { parseArgs } from "node:util";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { ortVersion } from "../lib/engine/mod.ts";
import { timeTrainingSteps } from "../lib/train/mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";
import { interleavedRounds, median } from "./_rounds.ts";
import { blasCoreType, defaultTorchPaths, torchSettings, torchStepMs } from "./_torch.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    activations: { type: "string", default: "gelu,swiglu,relu" },
    steps: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    data: {
      type: "string",
      default: `${here}../../shared/datasets/tinyshakespeare/input.txt`,
    },
    python: { type: "string", default: defaultTorchPaths().python },
    reference: { type: "string", default: defaultTorchPaths().reference },
  },
});
const steps = Number(values.steps), rounds = Number(values.rounds);
const cores = navigator.hardwareConcurrency;
const list = (xs: readonly number[]) => `[${xs.map((x) => x.toFixed(1)).join(", ")}]`;

await initEngine({ backend: "wasm" }); // holds the model's weights; steps run on ONNX Runtime
const data = charDataset(await Deno.readTextFile(values.data));

async function ortMs(activation: string, threads: number | undefined): Promise<number> {
  const config = gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation });
  const model = createGpt(config, { seed: 1337 });
  try {
    const t = await timeTrainingSteps(model, data, {
      steps,
      config: trainConfig({ preset: "nano" }),
      engine: "ort",
      engineOptions: { provider: "cpu", threads },
    });
    return t.medianMsPerStep;
  } finally {
    model.dispose();
  }
}

const blas = await blasCoreType(values.python);

interface Setting {
  readonly side: "ORT" | "PyTorch";
  readonly label: string;
  readonly oneThread: boolean;
  readonly run: (activation: string) => Promise<number | string>;
}
const SETTINGS: Setting[] = [
  { side: "ORT", label: "ORT, 1 thread", oneThread: true, run: (a) => ortMs(a, 1) },
  { side: "ORT", label: `ORT, default threads`, oneThread: false, run: (a) => ortMs(a, undefined) },
  ...torchSettings(cores).map((setting): Setting => ({
    side: "PyTorch",
    label: setting.label,
    oneThread: setting.oneThread,
    run: (activation) =>
      torchStepMs(values, { data: values.data, activation, steps, setting, blas }),
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

console.log(
  `nano preset (B 12, T 64, 4 layers, 128 wide), ${steps} timed steps after 5 warm-ups, ` +
    `${rounds} interleaved rounds; onnxruntime-node ${ortVersion()}; ${cores} cores`,
);
console.log(blas.note);
const summary: string[] = [];
for (const activation of values.activations.split(",")) {
  const { times, failures: notes } = await interleavedRounds(
    SETTINGS.length,
    rounds,
    (i) => SETTINGS[i].run(activation),
  );
  console.log(`\n${activation}`);
  const med = times.map((xs) => (xs.length && xs.every(Number.isFinite) ? median(xs) : NaN));
  for (const [i, s] of SETTINGS.entries()) {
    const shown = Number.isFinite(med[i])
      ? `${med[i].toFixed(1).padStart(7)} ms/step ${list(times[i])}`
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
  const [o1, p1, ob, pb] = [best("ORT", true), best("PyTorch", true), best("ORT"), best("PyTorch")];
  if (p1 < 0 || pb < 0) {
    console.log("  no PyTorch figures: no ratios");
    continue;
  }
  const one = ratioText(times[o1], times[p1]), b = ratioText(times[ob], times[pb]);
  console.log(`  1 thread each:      ORT / PyTorch = ${one.text}`);
  console.log(
    `  best against best:  ORT / PyTorch = ${b.text}: ${SETTINGS[ob].label} vs ${
      SETTINGS[pb].label
    }`,
  );
  summary.push(
    `| ${activation} | ${med[o1].toFixed(1)} | ${med[p1].toFixed(1)} | ${one.median.toFixed(2)} | ${
      one.fastest.toFixed(2)
    } | ${med[ob].toFixed(1)} | ${med[pb].toFixed(1)} | ${b.median.toFixed(2)} | ${
      b.fastest.toFixed(2)
    } |`,
  );
}
if (summary.length) {
  console.log(
    "\nms/step: medians over rounds; ratio: median of the per-round ratios; fastest: ratio of " +
      "the two settings' fastest rounds\n",
  );
  console.log(
    "| activation | ORT 1 thread | PyTorch 1 thread | ratio | fastest | ORT best | PyTorch best " +
      "| ratio | fastest |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const line of summary) console.log(line);
}
