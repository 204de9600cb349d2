import { assertEquals, assertThrows } from "@std/assert";
import { gptConfig, mlpHiddenSize, presets, trainConfig } from "../../lib/gpt/mod.ts";

Deno.test("the nano preset is nanoGPT's shakespeare_char CPU recipe", () => {
  const m = gptConfig({ preset: "nano", vocabSize: 65 });
  assertEquals(
    [m.blockSize, m.nLayer, m.nHead, m.nEmbd, m.dropout, m.bias, m.tiedEmbeddings],
    [64, 4, 4, 128, 0, false, true],
  );
  const t = trainConfig({ preset: "nano" });
  assertEquals(
    [
      t.batchSize,
      t.iters,
      t.learningRate,
      t.minLearningRate,
      t.warmupIters,
      t.beta2,
      t.weightDecay,
    ],
    [12, 2000, 1e-3, 1e-4, 100, 0.99, 0.1],
  );
  assertEquals(t.gradClip, 1);
});

Deno.test("options override the preset and the result is frozen", () => {
  const m = gptConfig({ preset: "tiny", vocabSize: 10, activation: "swiglu", nLayer: 3 });
  assertEquals([m.nLayer, m.activation, m.nEmbd], [3, "swiglu", presets.tiny.model.nEmbd]);
  assertEquals(Object.isFrozen(m), true);
});

Deno.test("an unknown config key is an error that names it and suggests the right one", () => {
  const err = assertThrows(
    () => gptConfig({ vocabSize: 65, nlayers: 4 } as unknown as Parameters<typeof gptConfig>[0]),
    TypeError,
  );
  assertEquals(err.message.includes(`"nlayers" (did you mean "nLayer"?)`), true, err.message);
  assertThrows(
    () => trainConfig({ learning_rate: 1 } as unknown as Parameters<typeof trainConfig>[0]),
    TypeError,
    `did you mean "learningRate"`,
  );
});

Deno.test("vocabSize is required, heads must divide the width, and presets must exist", () => {
  assertThrows(() => gptConfig({}), TypeError, "vocabSize is required");
  assertThrows(() => gptConfig({ vocabSize: 65, nHead: 3 }), RangeError, "must divide nEmbd");
  assertThrows(
    () => gptConfig({ vocabSize: 65, preset: "huge" as "nano" }),
    TypeError,
    "unknown preset",
  );
  assertThrows(() => trainConfig({ batchSize: 0 }), RangeError, "batchSize");
});

Deno.test("MLP width: 4·d for unary, ⅔·4·d rounded up to 8 for gated, mlpHidden overrides", () => {
  const nano = gptConfig({ vocabSize: 65 });
  assertEquals(mlpHiddenSize(nano, "unary"), 512);
  assertEquals(mlpHiddenSize(nano, "gated"), 344); // (int(8·128/3) + 7) // 8 · 8, as the reference
  assertEquals(mlpHiddenSize(gptConfig({ vocabSize: 65, nEmbd: 96, nHead: 4 }), "gated"), 256);
  assertEquals(mlpHiddenSize(gptConfig({ vocabSize: 65, mlpHidden: 100 }), "gated"), 100);
});
