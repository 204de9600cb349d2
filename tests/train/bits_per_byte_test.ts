import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { textDataset } from "../../datasets/mod.ts";
import { tokenByteLengths } from "../../lib/core/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import { createGpt, gptConfig } from "../../lib/gpt/mod.ts";
import { splitLoss, trainGpt } from "../../lib/train/mod.ts";

await initEngine({ backend: "wasm" });

const TEXT = "To be, or not to be, that is the question: Héllo wörld 😀\n".repeat(60);

Deno.test("trainGpt() gives bits per byte at every evaluation, exact over the whole split", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const ds = await textDataset({ text: TEXT }, {
      tokenizer: "bpe:300",
      cacheDir,
      onNotice: () => {},
    });
    const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size });
    const model = createGpt(config, { seed: 1, tokenizer: ds.tokenizer });
    try {
      const opts = { iters: 4, evalEvery: 2, evalIters: 2, finalEval: "split" as const };
      const r = await trainGpt(model, ds, { preset: "tiny", ...opts });
      const lengths = tokenByteLengths(ds.tokenizer);
      // Sampled evaluations: the loss scaled by the whole validation split's tokens per byte.
      for (const e of r.evals.slice(0, -1)) {
        const expected = e.valLoss * ds.val.length / ds.valBytes / Math.LN2;
        assertAlmostEquals(e.valBitsPerByte!, expected, 1e-12);
      }
      // The final one: the bytes of exactly the predicted tokens, val[1 .. 1 + valTokens).
      const f = r.final;
      const T = config.blockSize;
      assertEquals(f.valTokens, Math.floor((ds.val.length - 1) / T) * T);
      let bytes = 0;
      for (let i = 1; i <= f.valTokens!; i++) bytes += lengths[ds.val[i]];
      assertEquals(f.valBytes, bytes);
      assertAlmostEquals(f.valBitsPerByte!, f.valLoss * f.valTokens! / bytes / Math.LN2, 1e-12);
      const whole = await splitLoss(model, ds.val);
      assertEquals(whole.tokens, f.valTokens);
      assert(f.valBitsPerByte! > 0 && f.valBitsPerByte! < 20);
    } finally {
      model.dispose();
    }
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("data without a tokenizer trains as before, without bits per byte", async () => {
  const ds = await textDataset({ text: TEXT }, { tokenizer: "byte" });
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 256 }), { seed: 1 });
  try {
    const r = await trainGpt(model, { train: ds.train, val: ds.val }, {
      preset: "tiny",
      iters: 1,
      evalEvery: 0,
      evalIters: 1,
    });
    assertEquals(r.final.valBitsPerByte, undefined);
    assertEquals(Object.keys(r.final), ["iter", "trainLoss", "valLoss", "elapsedS"]);
  } finally {
    model.dispose();
  }
});
