import { assert, assertEquals } from "@std/assert";
import { charDataset, createGpt, geluMismatch, gptConfig, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";

await initEngine({ backend: "wasm" });
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "geluMismatch() measures drift, perplexity and divergence of GELU variants",
  ...options,
  fn: async () => {
    const data = charDataset(syntheticText({ length: 4000, seed: 1 }));
    const config = gptConfig({
      preset: "tiny",
      vocabSize: data.tokenizer.size,
      activation: "gelu",
    });
    const model = createGpt(config, { seed: 2, tokenizer: data.tokenizer });
    try {
      const r = await geluMismatch(model, data.val, { maxTokens: 40, batches: 2, batchSize: 4 });
      assertEquals(r.rows.map((x) => x.activation), [
        "gelu",
        "gelu_tanh",
        "gelu_tanh(cubic=0.44715)",
      ]);
      const [exact, tanh, typo] = r.rows;
      assertEquals([exact.maxLogitDrift, exact.perplexityChangePct, exact.firstDivergentToken], [
        0,
        0,
        null,
      ]);
      assert(
        tanh.maxLogitDrift > 0 && tanh.maxLogitDrift < 1e-2,
        `tanh drift ${tanh.maxLogitDrift}`,
      );
      assert(typo.maxLogitDrift > 10 * tanh.maxLogitDrift, "a mistyped constant drifts far more");
      assert(Number.isFinite(typo.perplexity));
      assertEquals(r.table.numRows(), 3);
      assertEquals(r.tokens, 2 * 4 * 16);
      const swiglu = createGpt(
        gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size, activation: "swiglu" }),
      );
      try {
        let message = "";
        await geluMismatch(swiglu, data.val).catch((e) => message = String(e));
        assert(message.includes("same kind"), message);
      } finally {
        swiglu.dispose();
      }
    } finally {
      model.dispose();
    }
  },
});
