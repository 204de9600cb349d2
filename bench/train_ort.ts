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
 * Timings on a shared machine are noisy: compare numbers from one run of this script only.
 */
import { parseArgs } from "node:util";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { ortVersion } from "../lib/engine/mod.ts";
import { timeTrainingSteps } from "../lib/train/mod.ts";
import { trainConfig } from "../lib/gpt/mod.ts";

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
    python: { type: "string", default: "/usr/bin/python3" },
    reference: { type: "string", default: `${here}../../shared/reference/torch_minigpt.py` },
  },
});
const steps = Number(values.steps), rounds = Number(values.rounds);
const cores = navigator.hardwareConcurrency;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
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

/**
 * The OpenBLAS core type PyTorch should run with. Debian's OpenBLAS 0.3.21 does not know recent
 * CPUs (Sapphire Rapids here) and falls back to its generic "Prescott" kernels, 3× slower; PyTorch
 * at its best then needs `OPENBLAS_CORETYPE` set to the newest kernel family the CPU supports.
 */
async function blasCoreType(): Promise<{ env: Record<string, string>; note: string }> {
  try {
    const out = await new Deno.Command(values.python, {
      args: ["-c", "import torch; a = torch.ones(64, 64); a @ a"],
      env: { OPENBLAS_VERBOSE: "2", OPENBLAS_NUM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const detected = /Core:\s*(\S+)/.exec(text)?.[1];
    const flags = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
    const best = /\bavx512f\b/.test(flags) ? "SkylakeX" : /\bavx2\b/.test(flags) ? "Haswell" : "";
    if (detected === "Prescott" && best) {
      return {
        env: { OPENBLAS_CORETYPE: best },
        note: `OpenBLAS detects its generic "Prescott" core on this CPU; PyTorch runs with ` +
          `OPENBLAS_CORETYPE=${best} (the CPU's own kernels)`,
      };
    }
    return { env: {}, note: `OpenBLAS core: ${detected ?? "unknown"}` };
  } catch (e) {
    return { env: {}, note: `OpenBLAS core not checked (${e instanceof Error ? e.message : e})` };
  }
}
const blas = await blasCoreType();

/** The reference's median ms/step, or why there is none. */
async function torchMs(
  activation: string,
  threads: number,
  env: Record<string, string>,
): Promise<number | string> {
  try {
    const out = await new Deno.Command(values.python, {
      args: [
        values.reference,
        "--data",
        values.data,
        "--time-only",
        String(steps),
        "--act",
        activation,
        "--threads",
        String(threads),
      ],
      env: { ...blas.env, ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").find((l) => l.includes("median_ms_per_step"));
    if (!out.success || !line) {
      return `failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`;
    }
    return JSON.parse(line).median_ms_per_step as number;
  } catch (e) {
    return `unavailable (${e instanceof Error ? e.message : e})`;
  }
}

interface Setting {
  readonly side: "ORT" | "PyTorch";
  readonly label: string;
  readonly oneThread: boolean;
  readonly run: (activation: string) => Promise<number | string>;
}
const ONE = { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
const SETTINGS: Setting[] = [
  { side: "ORT", label: "ORT, 1 thread", oneThread: true, run: (a) => ortMs(a, 1) },
  { side: "ORT", label: `ORT, default threads`, oneThread: false, run: (a) => ortMs(a, undefined) },
  {
    side: "PyTorch",
    label: "PyTorch, 1 thread (OPENBLAS_NUM_THREADS=1)",
    oneThread: true,
    run: (a) => torchMs(a, 1, ONE),
  },
  {
    side: "PyTorch",
    label: "PyTorch as the reference runs (--threads 1)",
    oneThread: false,
    run: (a) => torchMs(a, 1, {}),
  },
  {
    side: "PyTorch",
    label: `PyTorch, --threads ${cores}`,
    oneThread: false,
    run: (a) => torchMs(a, cores, {}),
  },
];

console.log(
  `nano preset (B 12, T 64, 4 layers, 128 wide), ${steps} timed steps after 5 warm-ups, ` +
    `${rounds} interleaved rounds; onnxruntime-node ${ortVersion()}; ${cores} cores`,
);
console.log(blas.note);
const summary: string[] = [];
for (const activation of values.activations.split(",")) {
  const times = SETTINGS.map(() => [] as number[]);
  const notes = SETTINGS.map(() => "");
  for (let r = 0; r < rounds; r++) {
    for (const [i, s] of SETTINGS.entries()) {
      const t = await s.run(activation);
      if (typeof t === "number") times[i].push(t);
      else notes[i] = t;
    }
  }
  console.log(`\n${activation}`);
  const med = times.map((xs) => (xs.length ? median(xs) : NaN));
  for (const [i, s] of SETTINGS.entries()) {
    const shown = times[i].length
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
  const one = med[o1] / med[p1], b = med[ob] / med[pb];
  console.log(`  1 thread each:      ORT / PyTorch = ${one.toFixed(2)}×`);
  console.log(
    `  best against best:  ORT / PyTorch = ${b.toFixed(2)}× (${SETTINGS[ob].label} vs ${
      SETTINGS[pb].label
    })`,
  );
  summary.push(
    `| ${activation} | ${med[o1].toFixed(1)} | ${med[p1].toFixed(1)} | ${one.toFixed(2)} | ${
      med[ob].toFixed(1)
    } | ${med[pb].toFixed(1)} | ${b.toFixed(2)} |`,
  );
}
if (summary.length) {
  console.log(
    "\n| activation | ORT 1 thread | PyTorch 1 thread | ratio | ORT best | PyTorch best | ratio |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const line of summary) console.log(line);
}
