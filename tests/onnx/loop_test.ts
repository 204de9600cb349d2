/**
 * K optimizer steps in one session call (the step graph as the body of an ONNX `Loop`, for CUDA,
 * where onnxruntime-node delivers outputs to host memory only) against K calls of the single
 * step, on ONNX Runtime's CPU provider: the same losses, gradient norms and weights.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  createGpt,
  createRng,
  gptConfig,
  initEngine,
  registerActivation,
  syntheticDataset,
  unregisterActivation,
} from "@actlab/actlab";
import { sampleBatch } from "@actlab/actlab/core";
import { trainConfig, TrainingDivergedError } from "@actlab/actlab/gpt";
import { OrtTrainer } from "@actlab/actlab/onnx";

await initEngine({ backend: "cpu" });
const ds = syntheticDataset({ length: 20_000 });
const options = { sanitizeResources: false, sanitizeOps: false };

async function run(dropout: number, perCall: number) {
  const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, dropout });
  const model = createGpt(config, { seed: 4 });
  const trainer = await OrtTrainer.create(model, trainConfig({ preset: "tiny" }), {
    provider: "cpu",
    threads: 1,
  });
  const rng = createRng(8);
  const batches = Array.from(
    { length: 6 },
    () => sampleBatch(ds.train, { batchSize: 4, blockSize: config.blockSize }, rng),
  );
  const infos = [];
  for (let i = 0; i < batches.length; i += perCall) {
    infos.push(...await trainer.stepMany(batches.slice(i, i + perCall), i));
  }
  const params = await trainer.parameters();
  await trainer.dispose();
  model.dispose();
  return { infos, params };
}

for (const dropout of [0, 0.1]) {
  Deno.test({
    name: `3 steps per Loop call train like single steps within 1e-6 (dropout ${dropout})`,
    ...options,
    fn: async () => {
      const one = await run(dropout, 1), three = await run(dropout, 3);
      assertEquals(three.infos.map((s) => s.iter), [0, 1, 2, 3, 4, 5]);
      assertEquals(three.infos.map((s) => s.lr), one.infos.map((s) => s.lr));
      three.infos.forEach((s, i) => {
        assert(
          Math.abs(s.loss - one.infos[i].loss) <= 1e-6,
          `step ${i}: ${s.loss} vs ${one.infos[i].loss}`,
        );
        assert(Math.abs(s.gradNorm - one.infos[i].gradNorm) <= 1e-5 * one.infos[i].gradNorm);
      });
      for (const [name, a] of one.params) {
        const b = three.params.get(name)!;
        const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
        assert(worst <= 1e-6, `${name}: ${worst}`);
      }
    },
  });
}

Deno.test({
  name: "a Loop call with a non-finite loss names its step and keeps the weights from before",
  ...options,
  fn: async () => {
    // x·eˣ overflows once the weights grow: with lr 10 and no clipping, within a few steps
    registerActivation({
      name: "test_xexp_loop",
      reference: (x) => x * Math.exp(x),
      apply: (x) => tf.mul(x, tf.exp(x)),
      onnx: (g, x) => g.op("Mul", [x, g.op("Exp", [x])]),
    }, { override: true });
    const config = gptConfig({
      preset: "tiny",
      vocabSize: ds.tokenizer.size,
      activation: "test_xexp_loop",
    });
    const model = createGpt(config, { seed: 1 });
    const train = trainConfig({ preset: "tiny", learningRate: 10, warmupIters: 0, gradClip: 0 });
    const trainer = await OrtTrainer.create(model, train, { provider: "cpu", threads: 1 });
    try {
      const rng = createRng(8);
      const batches = Array.from(
        { length: 40 },
        () => sampleBatch(ds.train, { batchSize: 4, blockSize: config.blockSize }, rng),
      );
      const before = await trainer.parameters();
      const e = await assertRejects(() => trainer.stepMany(batches, 0), TrainingDivergedError);
      assert(e.iter >= 1 && e.iter < 40, `diverged at ${e.iter}`);
      assertEquals(e.activation, "test_xexp_loop");
      assertEquals(trainer.steps, 0);
      assertEquals(await trainer.parameters(), before);
    } finally {
      await trainer.dispose();
      model.dispose();
      unregisterActivation("test_xexp_loop");
    }
  },
});
