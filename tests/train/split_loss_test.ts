/** The whole-split evaluation: every window once, on either engine, recorded as evalTokens. */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { charDataset, createGpt, gptConfig, initEngine, sweep, trainGpt } from "@actlab/actlab";
import { splitLoss } from "@actlab/actlab/train";
import { syntheticText } from "@actlab/actlab/datasets";
import { OrtTrainer } from "@actlab/actlab/onnx";
import { trainConfig } from "@actlab/actlab/gpt";
import * as tf from "@tensorflow/tfjs";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const opts = { sanitizeOps: false, sanitizeResources: false };
const tiny = () =>
  createGpt(gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size, activation: "gelu" }), {
    seed: 2,
  });

Deno.test({
  name: "splitLoss() is the token mean over every window of the split, in any batching",
  ...opts,
  fn: async () => {
    const model = tiny();
    const t = model.config.blockSize;
    const windows = Math.floor((data.val.length - 1) / t);
    const whole = await splitLoss(model, data.val, { windows: 7 });
    assertEquals(whole.tokens, windows * t);
    let sum = 0; // one window at a time, by hand
    for (let w = 0; w < windows; w++) {
      const x = tf.tensor2d(data.val.subarray(w * t, w * t + t), [1, t], "int32");
      const y = tf.tensor2d(data.val.subarray(w * t + 1, w * t + t + 1), [1, t], "int32");
      const l = model.loss(x, y);
      sum += (await l.data())[0];
      tf.dispose([x, y, l]);
    }
    assertAlmostEquals(whole.loss, sum / windows, 1e-6);
    const other = await splitLoss(model, data.val, { windows: 64 });
    assertAlmostEquals(other.loss, whole.loss, 1e-6);
    model.dispose();
  },
});

Deno.test({
  name: "splitLoss() on ONNX Runtime's eval graph matches tfjs within 1e-5",
  ...opts,
  fn: async () => {
    const model = tiny();
    const onTfjs = await splitLoss(model, data.val);
    const trainer = await OrtTrainer.create(model, trainConfig({ preset: "tiny" }), {
      provider: "cpu",
    });
    try {
      const onOrt = await splitLoss(model, data.val, { batchLoss: (b) => trainer.batchLoss(b) });
      assertEquals(onOrt.tokens, onTfjs.tokens);
      assertAlmostEquals(onOrt.loss, onTfjs.loss, 1e-5);
    } finally {
      await trainer.dispose();
      model.dispose();
    }
  },
});

Deno.test({
  name: "finalEval 'split' measures only the final evaluation on the whole split, reproducibly",
  ...opts,
  fn: async () => {
    const run = async () => {
      const model = tiny();
      const r = await trainGpt(model, data, {
        preset: "tiny",
        iters: 6,
        evalEvery: 3,
        evalIters: 2,
        finalEval: "split",
      });
      const check = await splitLoss(model, data.val);
      model.dispose();
      return { r, check };
    };
    const a = await run(), b = await run();
    assertEquals(a.r.evals.map((e) => e.valTokens), [undefined, undefined, a.check.tokens]);
    assertAlmostEquals(a.r.final.valLoss, a.check.loss, 1e-6);
    assertEquals(a.r.final.valLoss, b.r.final.valLoss);
  },
});

Deno.test({
  name: "sweep trials record evalTokens, and the summary pairs seeds against the baseline",
  ...opts,
  fn: async () => {
    const r = await sweep(data, {
      preset: "tiny",
      iters: 6,
      evalEvery: 3,
      evalIters: 2,
      activations: ["relu", "gelu", "silu"],
      seeds: 3,
      jobs: 1,
    });
    assertEquals(r.settings.finalEval, "split");
    const tokens = r.trials[0].evalTokens!;
    assert(tokens > 0 && r.trials.every((t) => t.evalTokens === tokens));
    const rows = r.summary;
    const relu = rows.find((x) => x.activation === "relu")!;
    assertEquals(relu.evalTokens, tokens);
    assertEquals(relu.pairs, 3);
    const d = [1, 2, 3].map((s) =>
      r.trials.find((t) => t.activation === "relu" && t.seed === s)!.finalValLoss -
      r.trials.find((t) => t.activation === "gelu" && t.seed === s)!.finalValLoss
    );
    assertAlmostEquals(relu.diffMean, (d[0] + d[1] + d[2]) / 3, 1e-12);
    assert(relu.diffCi95Low <= relu.diffMean);
    assert(relu.pHolm >= relu.pPaired);
    assert(Number.isNaN(rows.find((x) => x.activation === "gelu")!.pPaired));
  },
});
