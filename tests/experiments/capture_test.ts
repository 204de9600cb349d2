import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import {
  captureMlpActivations,
  forwardFlopsPerToken,
  layerActivationStats,
  mlpSparsity,
  modelSkippableShare,
  recordingOps,
} from "../../lib/experiments/capture.ts";
import { createGpt, gptConfig, gptForward, tfjsOps, trainingStepFlops } from "../../lib/gpt/mod.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
await tf.setBackend("cpu");

const data = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 10);

Deno.test({
  name: "recordingOps records one MLP activation per block and leaves the logits unchanged",
  ...opts,
  async fn() {
    const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 10, activation: "relu" }));
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    const { ops, records, collect } = recordingOps(tfjsOps(), { layers: model.config.nLayer });
    const a = gptForward(ops, model.params, model.config, model.activation, ids);
    const b = model.logits(ids);
    await collect();
    assertEquals(records.map((r) => r.layer), [0, 1]);
    assertEquals(records[0].tokens, 4);
    assertEquals(records[0].units, model.hidden);
    assertEquals(Array.from(a.dataSync()), Array.from(b.dataSync()));
    for (const r of records) {
      for (let i = 0; i < r.output.length; i++) {
        assertEquals(r.output[i], Math.max(0, r.input[i]));
      }
    }
    tf.dispose([a, b, ids]);
    model.dispose();
  },
});

Deno.test({
  name: "captureMlpActivations records the gate and value of a gated MLP",
  ...opts,
  async fn() {
    const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 10, activation: "reglu" }));
    const records = await captureMlpActivations(model, data, { batchSize: 3 });
    assertEquals(records.length, 2);
    const r = records[1];
    assertEquals(r.tokens, 3 * model.config.blockSize);
    assert(r.value !== undefined);
    for (let i = 0; i < 50; i++) {
      assertAlmostEquals(r.output[i], Math.max(0, r.input[i]) * r.value![i], 1e-6);
    }
    const [s] = mlpSparsity([r], { tile: 1 });
    assertAlmostEquals(s.mlpSkippable, s.downSkippable / 3, 1e-12); // up projection is C·2H
    await assertRejects(() => captureMlpActivations(model, data.slice(0, 10)), RangeError, "fill");
    model.dispose();
  },
});

Deno.test("layerActivationStats counts zeros, negatives and dead units", () => {
  const rec = {
    layer: 0,
    activation: "gelu",
    tokens: 3,
    units: 2,
    input: new Float32Array([-1, 1, -2, 0.5, -0.1, -3]),
    output: new Float32Array([-0.1587, 0.8413, -0.0455, 0.3457, -0.046, -0.004]),
  };
  const [s] = layerActivationStats([rec]);
  assertEquals(s.deadUnitFraction, 0.5); // unit 0 is never positive
  assertEquals(s.zeroFraction, 0);
  assertAlmostEquals(s.negativeFraction, 4 / 6, 1e-12);
  assertAlmostEquals(s.maxAbs, 0.8413, 1e-6);
  assertAlmostEquals(s.inputMean, (-1 + 1 - 2 + 0.5 - 0.1 - 3) / 6, 1e-6);
});

Deno.test("mlpSparsity measures unstructured, per-unit and tile sparsity", () => {
  // 2 tokens × 4 units; unit 3 is zero for both tokens; tile 2: token 1's tile [2, 3] is zero
  const y = new Float32Array([1, 0, 2, 0, 0, 3, 0, 0]);
  const rec = { layer: 0, activation: "relu", tokens: 2, units: 4, input: y, output: y };
  const [s] = mlpSparsity([rec], { tile: 2 });
  assertEquals(s.zeroFraction, 5 / 8);
  assertEquals(s.mlpSkippable, 5 / 16);
  assertEquals(s.unitSkippable, 1 / 4);
  assertEquals(s.tileSkippable, 1 / 4);
  assertThrows(() => mlpSparsity([rec], { tile: 0 }), RangeError, "tile");
});

Deno.test({
  name: "captureMlpActivations reads back asynchronously, so it runs on WebGPU (llvmpipe here)",
  ...opts,
  async fn() {
    try {
      await initEngine({ backend: "webgpu" });
    } catch (e) {
      console.log(`skipped: no WebGPU adapter (${(e as Error).message.split(".")[0]})`);
      await tf.setBackend("cpu");
      return;
    }
    try {
      const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 10, activation: "relu" }));
      const before = tf.memory().numTensors;
      const records = await captureMlpActivations(model, data, { batchSize: 2 });
      assertEquals(records.length, model.config.nLayer);
      for (let i = 0; i < 100; i++) {
        assertEquals(records[0].output[i], Math.max(0, records[0].input[i]));
      }
      assertEquals(tf.memory().numTensors, before, "the kept copies are freed");
      model.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

Deno.test("forwardFlopsPerToken matches a hand count on the tiny preset", () => {
  // tiny: C = 32, L = 2, T = 16; V = 65; relu H = 4C = 128, swiglu H = 88 (⅔·4C up to a multiple of 8)
  const relu = forwardFlopsPerToken(
    gptConfig({ preset: "tiny", vocabSize: 65, activation: "relu" }),
  );
  assertEquals(relu.attentionProjections, 2 * (2 * 4 * 32 * 32)); // 16,384
  assertEquals(relu.attentionScores, 2 * (2 * 2 * 16 * 32)); // 4,096
  assertEquals(relu.mlpUp, 2 * (2 * 32 * 128)); // 16,384
  assertEquals(relu.mlpDown, 2 * (2 * 128 * 32)); // 16,384
  assertEquals(relu.lmHead, 2 * 32 * 65); // 4,160
  assertEquals(relu.total, 57_408);
  const swiglu = forwardFlopsPerToken(
    gptConfig({ preset: "tiny", vocabSize: 65, activation: "swiglu" }),
  );
  assertEquals(swiglu.hidden, 88);
  assertEquals(swiglu.mlpUp, 2 * (2 * 32 * 176)); // gate and value
  assertEquals(swiglu.total, 58_432);
  // causal: a query attends to (T + 1)/2 = 8.5 keys on average
  const causal = forwardFlopsPerToken(
    gptConfig({ preset: "tiny", vocabSize: 65, activation: "relu" }),
    { attention: "causal" },
  );
  assertEquals(causal.attentionScores, 2 * (2 * 2 * 8.5 * 32));
  assertEquals(causal.total, 57_408 - 4_096 + 2_176);
  assertThrows(
    () => forwardFlopsPerToken(gptConfig({ preset: "tiny", vocabSize: 65 }), { context: 0 }),
    RangeError,
    "context",
  );
});

Deno.test("forwardFlopsPerToken agrees with trainingStepFlops' forward pass per token", () => {
  for (const activation of ["gelu", "geglu"]) {
    for (const preset of ["tiny", "nano"] as const) {
      const config = gptConfig({ preset, vocabSize: 65, activation });
      const step = trainingStepFlops(config, { batchSize: 3 });
      assertEquals(forwardFlopsPerToken(config).total * 3 * config.blockSize, step.forward);
    }
  }
});

Deno.test("modelSkippableShare: skipped down-projection FLOPs over the whole forward pass", () => {
  const config = gptConfig({ preset: "tiny", vocabSize: 65, activation: "relu" });
  // layer 0 skips half its down projection (0.5·2·128·32 = 4,096), layer 1 a quarter (2,048)
  const rows = [{ layer: 0, downSkippable: 0.5 }, { layer: 1, downSkippable: 0.25 }];
  assertAlmostEquals(modelSkippableShare(rows, config), 6_144 / 57_408, 1e-15);
  assertThrows(
    () => modelSkippableShare(rows.slice(0, 1), config),
    RangeError,
    "one row per layer",
  );
  assertThrows(() => modelSkippableShare([rows[0], rows[0]], config), RangeError, "layers 0");
});
