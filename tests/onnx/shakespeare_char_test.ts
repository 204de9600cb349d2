/**
 * The GPU-sized preset on the CPU: `shakespeare_char` (6 layers, 384 wide, context 256, dropout
 * 0.2) compiles and takes a few steps on ONNX Runtime's CPU provider, with a small batch so the
 * test stays short; `bench/gpu.ts` runs it end to end on a GPU.
 */
import { assert, assertAlmostEquals } from "@std/assert";
import { createGpt, createRng, gptConfig, initEngine, loadTinyShakespeare } from "@actlab/actlab";
import { sampleBatch } from "@actlab/actlab/core";
import { trainConfig } from "@actlab/actlab/gpt";
import { OrtTrainer } from "@actlab/actlab/onnx";
import { DATA_DIR, haveTinyShakespeare } from "../_data.ts";

await initEngine({ backend: "cpu" });

// The preset's vocabulary is Tiny Shakespeare's; without the file (tests/_data.ts) it is skipped.
if (!haveTinyShakespeare) {
  console.log(`skipping shakespeare_char_test: no Tiny Shakespeare under ${DATA_DIR}`);
}

Deno.test({
  name: "shakespeare_char takes 3 steps on ONNX Runtime's CPU provider, starting near ln 65",
  ignore: !haveTinyShakespeare,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ds = await loadTinyShakespeare({ dir: DATA_DIR, onProgress: () => {} });
    const config = gptConfig({ preset: "shakespeare_char", vocabSize: ds.tokenizer.size });
    const train = trainConfig({ preset: "shakespeare_char" });
    const model = createGpt(config, { seed: 1337 });
    const trainer = await OrtTrainer.create(model, train, { provider: "cpu", batchSize: 2 });
    try {
      const rng = createRng(1);
      const steps = [];
      for (let i = 0; i < 3; i++) {
        const batch = sampleBatch(ds.train, { batchSize: 2, blockSize: config.blockSize }, rng);
        steps.push(await trainer.step(batch, i));
      }
      // an untrained model guesses uniformly: ln 65 ≈ 4.17
      assertAlmostEquals(steps[0].loss, Math.log(ds.tokenizer.size), 0.3);
      for (const s of steps) {
        assert(Number.isFinite(s.loss) && s.gradNorm > 0 && Number.isFinite(s.gradNorm));
      }
      assert(steps[2].lr > steps[0].lr, "the warmup raises the learning rate");
    } finally {
      await trainer.dispose();
      model.dispose();
    }
  },
});
