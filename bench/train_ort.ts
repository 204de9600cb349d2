/**
 * Training-step speed of the nano mini-GPT on ONNX Runtime (the compiled step: forward, backward,
 * clipping and AdamW in one graph) next to the PyTorch reference
 * (`../shared/reference/torch_minigpt.py --time-only N`), run in the same session and
 * interleaved (ORT, PyTorch, ORT, PyTorch, …) so all see the same machine load. Each times N
 * steps after 5 warm-ups on Tiny Shakespeare and reports the median; this script prints the
 * median over rounds and the ratio ORT / PyTorch.
 *
 * PyTorch runs twice per round: as the reference runs it (`--threads 1`, which limits PyTorch's
 * intra-op threads but not OpenBLAS's: with Debian's libopenblas0-pthread its matrix products
 * still use every core, about 1.7 of 2 here), and with `OPENBLAS_NUM_THREADS=1`, truly one
 * thread: the like-for-like match for ORT's `--threads 1`.
 *
 *   deno run -A bench/train_ort.ts [--activations gelu,swiglu] [--steps 30] [--rounds 3]
 *     [--threads 1] [--data ../shared/datasets/tinyshakespeare/input.txt]
 *     [--python /usr/bin/python3] [--reference ../shared/reference/torch_minigpt.py]
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
    activations: { type: "string", default: "gelu,swiglu" },
    steps: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "1" },
    data: {
      type: "string",
      default: `${here}../../shared/datasets/tinyshakespeare/input.txt`,
    },
    python: { type: "string", default: "/usr/bin/python3" },
    reference: { type: "string", default: `${here}../../shared/reference/torch_minigpt.py` },
  },
});
const steps = Number(values.steps), rounds = Number(values.rounds);
const threads = Number(values.threads);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const list = (xs: readonly number[]) => `[${xs.map((x) => x.toFixed(1)).join(", ")}]`;

await initEngine({ backend: "wasm" }); // holds the model's weights; steps run on ONNX Runtime
const data = charDataset(await Deno.readTextFile(values.data));

async function ortMs(activation: string): Promise<number> {
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

/** The reference's median ms/step, or why there is none. */
async function torchMs(activation: string, oneThread: boolean): Promise<number | string> {
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
        "1",
      ],
      env: oneThread ? { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" } : {},
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

console.log(
  `nano preset (B 12, T 64, 4 layers, 128 wide), ${steps} timed steps after 5 warm-ups, ` +
    `${rounds} interleaved rounds; onnxruntime-node ${ortVersion()}, ${threads} thread(s)`,
);
for (const activation of values.activations.split(",")) {
  const ort: number[] = [], torch: number[] = [], torch1: number[] = [];
  let torchNote = "";
  for (let r = 0; r < rounds; r++) {
    ort.push(await ortMs(activation));
    for (const [oneThread, into] of [[false, torch], [true, torch1]] as const) {
      const t = await torchMs(activation, oneThread);
      if (typeof t === "number") into.push(t);
      else torchNote = t;
    }
  }
  const o = median(ort);
  console.log(`${activation}: ORT ${o.toFixed(1)} ms/step ${list(ort)}`);
  if (torch.length === 0 || torch1.length === 0) {
    console.log(`  PyTorch ${torchNote}`);
    continue;
  }
  for (
    const [label, xs] of [
      ["PyTorch as the reference runs (OpenBLAS threads free)", torch],
      ["PyTorch on one thread (OPENBLAS_NUM_THREADS=1)       ", torch1],
    ] as const
  ) {
    console.log(
      `  ${label} ${median(xs).toFixed(1)} ms/step ${list(xs)}   ORT/PyTorch ${
        (o / median(xs)).toFixed(2)
      }×`,
    );
  }
}
