/**
 * tfjs-wasm's nano training step with actlab's matmul on 1 thread and on more, A/B in one process:
 * the same model and batches, thread counts alternating round by round (bench/_rounds.ts), so a
 * load that drifts falls on both. Prints each setting's median ms/step over rounds, the median of
 * the per-round ratios to the first setting, and what the helper threads did (chunks they ran,
 * chunks the main thread took because no helper had started them, chunks recomputed because a
 * helper stalled: many of the last two mean the machine had no core free for the helpers).
 *
 *   deno run -A bench/wasm_threads.ts [--threads 1,2] [--steps 10] [--rounds 5]
 *     [--activation gelu] [--data ../shared/datasets/tinyshakespeare/input.txt]
 *
 * The results are the same bit for bit on any thread count (tests/gpt/simd_matmul_threads_test.ts);
 * only the time differs. On a machine busy with other work, more threads cannot help: Linux's
 * autogroup scheduling shares the CPU between sessions, not threads (`cat /proc/self/autogroup`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { charDataset, createGpt, gptConfig, initEngine } from "../mod.ts";
import { createRng, sampleBatch } from "../lib/core/mod.ts";
import { trainConfig, Trainer } from "../lib/gpt/mod.ts";
import { simdMatmulThreadsReady, simdMatmulThreadStats } from "../lib/gpt/_simd_matmul.ts";
import { interleavedRounds, median } from "./_rounds.ts";

const here = new URL(".", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1,2" },
    steps: { type: "string", default: "10" },
    rounds: { type: "string", default: "5" },
    activation: { type: "string", default: "gelu" },
    data: { type: "string", default: `${here}../../shared/datasets/tinyshakespeare/input.txt` },
  },
});
const threads = values.threads.split(",").map(Number);
const [steps, rounds] = [Number(values.steps), Number(values.rounds)];
for (const v of [...threads, steps, rounds]) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`not a whole number ≥ 1: ${v}`);
}

const loadavg = () => {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
};
const engine = await initEngine({ backend: "wasm" });
const data = charDataset(await Deno.readTextFile(values.data));
const config = trainConfig({ preset: "nano" });
const model = createGpt(
  gptConfig({ preset: "nano", vocabSize: data.tokenizer.size, activation: values.activation }),
  { seed: 1337 },
);
const trainer = new Trainer(model, config);
const rng = createRng(1);
const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
let iter = 0;

/** ms per step over `n` steps (median) on `t` threads. */
async function timeSteps(t: number, n: number): Promise<number> {
  await initEngine({ backend: "wasm", wasmThreads: t });
  const ready = await simdMatmulThreadsReady();
  if (ready !== t) return `only ${ready} of ${t} threads started` as unknown as number;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await trainer.step(sampleBatch(data.train, shape, rng), iter++);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

console.log(
  `tfjs ${engine.backend} (${engine.device.replace(/ \(matmul on \d+\)/, "")}), nano preset, ` +
    `${values.activation}: ${steps} steps × ${rounds} rounds per setting, ` +
    `${navigator.hardwareConcurrency} cores; load average ${loadavg()} at start`,
);
for (const t of threads) await timeSteps(t, 3); // warm-up: kernels compiled, helpers started
const statsBefore = simdMatmulThreadStats();
const { times, failures } = await interleavedRounds(
  threads.length,
  rounds,
  (i) => timeSteps(threads[i], steps),
);
const stats = simdMatmulThreadStats();

console.log(`\n| matmul threads | ms/step | rounds | × 1st setting |`);
console.log("|---:|---:|---|---:|");
for (const [i, t] of threads.entries()) {
  const ok = times[i].every(Number.isFinite);
  const ratio = ok && times[0].every(Number.isFinite)
    ? median(times[i].map((x, r) => x / times[0][r])).toFixed(3)
    : "";
  console.log(
    `| ${t} | ${ok ? median(times[i]).toFixed(1) : failures[i]} | ` +
      `${times[i].map((x) => x.toFixed(0)).join(", ")} | ${ratio} |`,
  );
}
if (stats) {
  const d = (k: "helped" | "here" | "stalled") => stats[k] - (statsBefore?.[k] ?? 0);
  console.log(
    `\nchunks: ${d("helped")} run by helpers, ${d("here")} taken by the main thread, ` +
      `${d("stalled")} recomputed after a helper stalled`,
  );
}
console.log(`load average ${loadavg()} at the end`);
trainer.dispose();
model.dispose();
