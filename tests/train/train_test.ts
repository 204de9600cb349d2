import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { registerActivation, unregisterActivation } from "../../lib/activations/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import {
  activationParamRows,
  AdamW,
  type ChannelSummary,
  clipByGlobalNorm,
  createGpt,
  gptConfig,
  learningRateAt,
  trainConfig,
  Trainer,
  TrainingDivergedError,
} from "../../lib/gpt/mod.ts";
import { trainGpt } from "../../lib/train/mod.ts";
import { sweep } from "../../lib/sweep/mod.ts";
import { checkTrialRecord } from "../../lib/sweep/record.ts";
import { createRng, sampleBatch } from "../../lib/core/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 20_000 });
const tiny = (activation = "gelu") =>
  gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, activation });

Deno.test("the schedule warms up linearly, peaks, then decays by cosine to the minimum", () => {
  const cfg = { iters: 2000, learningRate: 1e-3, minLearningRate: 1e-4, warmupIters: 100 };
  assertAlmostEquals(learningRateAt(0, cfg), 1e-3 / 101, 1e-15);
  assertAlmostEquals(learningRateAt(99, cfg), 1e-3 * 100 / 101, 1e-15);
  assertAlmostEquals(learningRateAt(100, cfg), 1e-3, 1e-15);
  assertAlmostEquals(learningRateAt(1050, cfg), 5.5e-4, 1e-12); // halfway: mean of max and min
  assertAlmostEquals(learningRateAt(2000, cfg), 1e-4, 1e-15);
  assertAlmostEquals(learningRateAt(5000, cfg), 1e-4, 1e-15);
});

Deno.test("AdamW matches the PyTorch update rule on a scalar for three steps (1e-7)", () => {
  const w = tf.variable(tf.scalar(0.5));
  const opt = new AdamW([{ name: "w", variable: w, decay: true }], {
    beta1: 0.9,
    beta2: 0.99,
    eps: 1e-8,
    weightDecay: 0.1,
  });
  let p = 0.5, m = 0, v = 0;
  for (let t = 1; t <= 3; t++) {
    const g = 2 * p - 0.3, lr = 0.01 * t;
    opt.step(new Map([["w", tf.scalar(g)]]), lr);
    p *= 1 - lr * 0.1;
    m = 0.9 * m + 0.1 * g;
    v = 0.99 * v + 0.01 * g * g;
    p -= (lr / (1 - 0.9 ** t)) * m / (Math.sqrt(v) / Math.sqrt(1 - 0.99 ** t) + 1e-8);
    assertAlmostEquals(w.dataSync()[0], p, 1e-7);
  }
  opt.dispose();
  w.dispose();
});

Deno.test("clipByGlobalNorm() scales all gradients by maxNorm / norm only when above it", () => {
  tf.tidy(() => {
    const grads = new Map([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([0, 4])]]);
    const clipped = clipByGlobalNorm(grads, 1);
    assertAlmostEquals(clipped.norm.dataSync()[0], 5, 1e-6);
    assertAlmostEquals(clipped.grads.get("b")!.dataSync()[1], 0.8, 1e-6);
    const kept = clipByGlobalNorm(grads, 10);
    assertAlmostEquals(kept.grads.get("a")!.dataSync()[0], 3, 1e-6);
  });
});

Deno.test("training the tiny model on synthetic text lowers the validation loss by half", async () => {
  const model = createGpt(tiny(), { seed: 1 });
  const steps: number[] = [];
  const result = await trainGpt(model, ds, {
    preset: "tiny",
    iters: 150,
    evalEvery: 75,
    onStep: (s) => void steps.push(s.loss),
  });
  model.dispose();
  const first = result.evals[0], last = result.final;
  assertEquals(result.evals.map((e) => e.iter), [0, 75, 150]);
  assertEquals(steps.length, 150);
  assertEquals(result.history.numRows(), 3);
  assertEquals(result.history.columnNames(), ["iter", "train_loss", "val_loss", "elapsed_s"]);
  assertEquals(result.steps.numRows(), 150);
  assert(first.valLoss > 3, `initial val loss ${first.valLoss}`);
  assert(last.valLoss < first.valLoss / 2, `val loss ${first.valLoss} → ${last.valLoss}`);
});

Deno.test("the same seed and backend give exactly the same losses; another seed does not", async () => {
  const run = async (seed: number) => {
    const model = createGpt(tiny("swiglu"), { seed });
    const r = await trainGpt(model, ds, { preset: "tiny", iters: 12, evalEvery: 6, seed });
    model.dispose();
    return [...r.steps.array("loss") as number[], ...r.evals.map((e) => e.valLoss)];
  };
  const a = await run(3), b = await run(3), c = await run(4);
  assertEquals(a, b);
  assert(a[0] !== c[0]);
});

Deno.test("dropout is seeded too: same seed, same losses, and it changes the trajectory", async () => {
  const run = async (dropout: number) => {
    const model = createGpt({ ...tiny(), dropout }, { seed: 2 });
    const r = await trainGpt(model, ds, { preset: "tiny", iters: 5, evalEvery: 0 });
    model.dispose();
    return r.steps.array("loss") as number[];
  };
  const a = await run(0.2), b = await run(0.2), c = await run(0);
  assertEquals(a, b);
  assert(a[0] !== c[0]);
});

Deno.test("a NaN loss stops training with an error naming the step and the activation", async () => {
  registerActivation({
    name: "test_nan_after_3",
    reference: (x) => x,
    apply: (x) => tf.mul(x, tf.scalar(calls++ >= 6 ? NaN : 1)), // 2 blocks: NaN from step 3 on
  }, { override: true, probe: false }); // NaN on purpose: a probe call would shift the count
  let calls = 0;
  const model = createGpt(tiny("test_nan_after_3"), { seed: 1 });
  try {
    const err = await assertRejects(
      () => trainGpt(model, ds, { preset: "tiny", iters: 10, evalEvery: 0 }),
      TrainingDivergedError,
    );
    assertEquals(err.iter, 3);
    assertEquals(err.activation, "test_nan_after_3");
    assert(err.message.includes("step 3") && err.message.includes('"test_nan_after_3"'));
    assertEquals(err.steps.length, 3); // the steps before divergence are kept for the record
  } finally {
    model.dispose();
    unregisterActivation("test_nan_after_3");
  }
});

Deno.test("tf.memory().numTensors stays flat over 200 training steps (no leaks)", async () => {
  const model = createGpt(tiny(), { seed: 1 });
  const trainer = new Trainer(model, trainConfig({ preset: "tiny", iters: 200 }));
  const rng = createRng(1);
  const counts: number[] = [];
  for (let i = 0; i < 210; i++) {
    await trainer.step(sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng), i);
    if (i >= 10) counts.push(tf.memory().numTensors);
  }
  trainer.dispose();
  model.dispose();
  assertEquals(
    Math.max(...counts) - Math.min(...counts),
    0,
    `tensor counts ${counts.slice(0, 5)}…`,
  );
});

Deno.test("trainGpt() leaves no tensors behind apart from the model", async () => {
  const model = createGpt(tiny(), { seed: 1 });
  const withModel = tf.memory().numTensors;
  await trainGpt(model, ds, { preset: "tiny", iters: 20, evalEvery: 10 });
  assertEquals(tf.memory().numTensors, withModel);
  model.dispose();
  assertEquals(tf.memory().numTensors, withModel - model.specs.length);
});

Deno.test("an abort signal stops training early with a final evaluation", async () => {
  const model = createGpt(tiny(), { seed: 1 });
  const ctrl = new AbortController();
  const r = await trainGpt(model, ds, {
    preset: "tiny",
    iters: 100,
    evalEvery: 0,
    signal: ctrl.signal,
    onStep: (s) => s.iter === 4 ? ctrl.abort() : undefined,
  });
  model.dispose();
  assertEquals(r.stopped, "aborted");
  assertEquals(r.steps.numRows(), 5);
  assertEquals(r.final.iter, 5);
});

Deno.test({
  name:
    "a sweep trial of a trainable activation records its parameters per layer at each evaluation",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const data = syntheticDataset({ length: 5000 });
    const trial = async (activation: string) =>
      (await sweep(data, {
        activations: [activation],
        seeds: [1],
        preset: "tiny",
        iters: 10,
        evalEvery: 5,
        evalIters: 2,
        finalEval: "sampled",
        jobs: 1,
        onNotice: () => {},
      })).trials[0];
    const xielu = await trial("xielu"), prelu = await trial("prelu");
    // xIELU: scalars, raw and as α, per layer, at iters 0, 5, 10; they start at 0.8 and move
    assertEquals(xielu.activationParams!.map((s) => s.iter), [0, 5, 10]);
    const first = xielu.activationParams![0].layers, last = xielu.activationParams![2].layers;
    assertEquals(first.length, 2);
    assertAlmostEquals(first[0].alpha_p as number, 0.8, 1e-6);
    assertAlmostEquals(first[1].alpha_n as number, 0.8, 1e-6);
    assert(last.some((l, i) => l.alpha_p !== first[i].alpha_p), "α_p moved");
    const rows = activationParamRows(xielu.activationParams);
    assertEquals(rows.length, 3 * 2 * 4); // evaluations × layers × (2 raw + 2 α)
    // PReLU: the per-channel slope summarised; all 0.25 at init
    const slope = prelu.activationParams![0].layers[0].a as ChannelSummary;
    assertEquals([slope.mean, slope.sd, slope.min, slope.max], [0.25, 0, 0.25, 0.25]);
    // the record passes the sweep's own check and keeps the field through JSON
    const back = checkTrialRecord(JSON.parse(JSON.stringify(xielu)), "test");
    assertEquals(back.activationParams, xielu.activationParams);
  },
});
