import { assertEquals, assertThrows } from "@std/assert";
import {
  gptConfig,
  mlpHiddenSize,
  presets,
  trainConfig,
  validateGptConfig,
} from "../../lib/gpt/mod.ts";
import {
  type ConfigField,
  type ConfigFields,
  type GptConfig,
  gptConfigFields,
  type PresetName,
  type TrainConfig,
  trainConfigFields,
} from "../../lib/gpt/config.ts";

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

Deno.test("the shakespeare_char preset is nanoGPT's GPU recipe, config/train_shakespeare_char.py", () => {
  const m = gptConfig({ preset: "shakespeare_char", vocabSize: 65 });
  assertEquals(
    [m.blockSize, m.nLayer, m.nHead, m.nEmbd, m.dropout, m.bias, m.tiedEmbeddings],
    [256, 6, 6, 384, 0.2, false, true],
  );
  const t = trainConfig({ preset: "shakespeare_char" });
  assertEquals(
    [t.batchSize, t.iters, t.learningRate, t.minLearningRate, t.warmupIters, t.beta1, t.beta2],
    [64, 5000, 1e-3, 1e-4, 100, 0.9, 0.99],
  );
  assertEquals([t.weightDecay, t.gradClip, t.evalEvery, t.evalIters], [0.1, 1, 250, 200]);
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

Deno.test("the presets are the columns of the field tables, and every field but vocabSize and the optional ones has one", () => {
  for (const [name, preset] of Object.entries(presets) as [PresetName, typeof presets.nano][]) {
    const modelKeys = Object.keys(gptConfigFields).filter((k) => k !== "vocabSize");
    assertEquals(Object.keys(preset.model), modelKeys);
    // Fields that may be left out (the optimizer's) have no preset value: presets stay as they were.
    const trainKeys = Object.entries(trainConfigFields)
      .filter(([, f]) => f.omittedMeans === undefined)
      .map(([k]) => k);
    assertEquals(Object.keys(preset.train), trainKeys);
    assertEquals(
      Object.keys(trainConfigFields).filter((k) => !trainKeys.includes(k)),
      ["optimizer", "muonLrRatio", "muonMomentum", "muonWeightDecay"],
    );
    for (const [key, f] of Object.entries(gptConfigFields)) {
      if (key !== "vocabSize") {
        assertEquals(preset.model[key as keyof typeof preset.model], f.presets![name]);
      }
    }
    assertEquals(Object.isFrozen(preset.model) && Object.isFrozen(preset.train), true);
  }
  assertEquals(gptConfigFields.vocabSize.presets, undefined);
  assertEquals(presets.tiny.train.iters, 200);
  assertEquals(presets.nano.description.startsWith("nanoGPT shakespeare_char"), true);
});

Deno.test("the field tables' type lists exactly the interfaces' keys (checked by deno check)", () => {
  const { nLayer: _dropped, ...withoutNLayer } = gptConfigFields;
  // @ts-expect-error: a table without nLayer is not a table of GptConfig
  const missing: ConfigFields<GptConfig> = withoutNLayer;
  const extra: ConfigFields<TrainConfig> = {
    ...trainConfigFields,
    // @ts-expect-error: a field that TrainConfig does not have
    momentum: { help: "not a field", kind: "number", presets: { nano: 0.9, tiny: 0.9 } },
  };
  const wrongPreset: ConfigField<GptConfig, number> = {
    help: "context length",
    kind: "int",
    // @ts-expect-error: a preset value of the wrong type
    presets: { nano: "64", tiny: 16 },
  };
  // @ts-expect-error: a field that allows null must say what null means
  const noNullMeans: ConfigField<GptConfig, number | null> = { help: "width", kind: "int" };
  // @ts-expect-error: a field that may be left out must say what that means
  const noOmitted: ConfigField<TrainConfig, TrainConfig["optimizer"]> = {
    help: "optimizer",
    kind: "string",
  };
  assertEquals([missing, extra, wrongPreset, noNullMeans, noOmitted].length, 5);
});

Deno.test("validation reads the tables and keeps its messages", () => {
  const cases: [() => unknown, ErrorConstructor | RangeErrorConstructor, string][] = [
    [
      () => gptConfig({ vocabSize: 1 }),
      RangeError,
      "GptConfig: vocabSize must be an integer ≥ 2, got 1",
    ],
    [
      () => gptConfig({ vocabSize: 65, nLayer: 1.5 }),
      RangeError,
      "nLayer must be an integer ≥ 1, got 1.5",
    ],
    [
      () => gptConfig({ vocabSize: 65, dropout: 1 }),
      RangeError,
      "dropout must be a number in [0, 0.99], got 1",
    ],
    [
      () => gptConfig({ vocabSize: 65, activation: "" }),
      TypeError,
      'activation must be a registry name, got ""',
    ],
    [
      () => gptConfig({ vocabSize: 65, bias: 1 as unknown as boolean }),
      TypeError,
      "GptConfig: bias must be a boolean",
    ],
    [
      () => gptConfig({ vocabSize: 65, mlpHidden: 0 }),
      RangeError,
      "mlpHidden must be an integer ≥ 1, got 0",
    ],
    [
      () => trainConfig({ learningRate: 1e-3, minLearningRate: 1e-2 }),
      RangeError,
      "trainConfig: minLearningRate must be a number in [0, 0.001], got 0.01",
    ],
    [
      () => trainConfig({ gradClip: -1 }),
      RangeError,
      "gradClip must be a number in [0, Infinity], got -1",
    ],
    [() => trainConfig({ seed: 0.5 }), RangeError, "trainConfig: seed must be an integer, got 0.5"],
    [() => trainConfig({ evalIters: 0 }), RangeError, "evalIters must be an integer ≥ 1, got 0"],
  ];
  for (const [fn, type, message] of cases) assertThrows(fn, type, message);
  assertEquals(gptConfig({ vocabSize: 65, mlpHidden: null }).mlpHidden, null);
  assertEquals(trainConfig({ minLearningRate: null }).minLearningRate, null);
  assertThrows(
    () =>
      validateGptConfig(
        { ...gptConfig({ vocabSize: 65 }), initStd: undefined } as unknown as GptConfig,
      ),
    RangeError,
    "GptConfig: initStd must be a number in [0, 10], got undefined",
  );
});
