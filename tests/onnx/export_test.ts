/**
 * The traced mini-GPT on ONNX Runtime against the same model on tfjs: logits, loss and greedy
 * text, for every registry activation; and the exported file opened by a fresh session.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import {
  createGpt,
  exportOnnx,
  generate,
  getUnary,
  gptConfig,
  initEngine,
  listActivations,
  OrtModel,
  registerActivation,
  unregisterActivation,
} from "@actlab/actlab";
import { createOrtSession } from "@actlab/actlab/engine";

await initEngine({ backend: "wasm" });
const VOCAB = 23;
const options = { sanitizeOps: false, sanitizeResources: false };

/** A deterministic batch of ids: 3 sequences of 16 (tiny's blockSize). */
function batch(seed: number, rows = 3, t = 16): number[][] {
  return Array.from(
    { length: rows },
    (_, r) =>
      Array.from({ length: t }, (_, i) => (seed * 7 + r * 13 + i * 5 + ((i * i) % 11)) % VOCAB),
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const def of listActivations()) {
  Deno.test({
    name: `${def.name}: ONNX Runtime logits match tfjs within 1e-4 and greedy text is identical`,
    ...options,
    fn: async () => {
      const model = createGpt(
        gptConfig({ preset: "tiny", vocabSize: VOCAB, activation: def.name }),
        {
          seed: 3,
        },
      );
      const onOrt = await OrtModel.fromGpt(model, { provider: "cpu" });
      try {
        const ids = batch(1);
        const want = tf.tidy(() => model.logits(tf.tensor2d(ids, undefined, "int32")).dataSync());
        const got = await onOrt.logits(ids);
        assertEquals([...got.dims], [3, 16, VOCAB]);
        const diff = maxAbsDiff(got.data, want);
        assert(diff <= 1e-4, `max |ORT − tfjs| = ${diff}`);
        const targets = batch(2);
        const tfLoss = tf.tidy(() =>
          model.loss(tf.tensor2d(ids, undefined, "int32"), tf.tensor2d(targets, undefined, "int32"))
            .dataSync()[0]
        );
        const ortLoss = await onOrt.loss(ids, targets);
        assert(Math.abs(ortLoss - tfLoss) <= 1e-4, `loss ORT ${ortLoss} vs tfjs ${tfLoss}`);
        const prompt = [1, 2, 3];
        const greedy = { maxTokens: 100, temperature: 0 };
        assertEquals(await onOrt.generate(prompt, greedy), await generate(model, prompt, greedy));
      } finally {
        await onOrt.release();
        model.dispose();
      }
    },
  });
}

Deno.test({
  name: "exportOnnx() writes a file a fresh session opens, with dynamic batch and sequence length",
  ...options,
  fn: async () => {
    const model = createGpt(gptConfig({ preset: "tiny", vocabSize: VOCAB, activation: "swiglu" }));
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/gpt.onnx`;
      const bytes = await exportOnnx(model, path);
      assertEquals((await Deno.stat(path)).size, bytes);
      const { session } = await createOrtSession(path, { provider: "cpu" });
      assertEquals(session.inputNames, ["idx"]);
      assertEquals(session.outputNames, ["logits"]);
      for (const [b, t] of [[1, 1], [2, 7], [5, 16]]) {
        const ids = new ort.Tensor("int32", new Int32Array(b * t).fill(4), [b, t]);
        const out = await session.run({ idx: ids });
        assertEquals(out.logits.dims, [b, t, VOCAB]);
      }
      await session.release();
    } finally {
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a user activation without an ONNX lowering gets an error saying what to add",
  ...options,
  fn: async () => {
    registerActivation({
      name: "no_onnx_test",
      reference: (x) => x * Math.tanh(x),
      apply: (x) => tf.mul(x, tf.tanh(x)),
    });
    const model = createGpt(
      gptConfig({ preset: "tiny", vocabSize: VOCAB, activation: "no_onnx_test" }),
    );
    try {
      let message = "";
      await OrtModel.fromGpt(model).catch((e) => message = String(e));
      assertStringIncludes(message, "has no ONNX lowering");
      assertStringIncludes(message, "'onnx' field");
    } finally {
      model.dispose();
      unregisterActivation("no_onnx_test");
    }
  },
});

Deno.test({
  name: "a user activation with an ONNX lowering runs on ONNX Runtime like a built-in",
  ...options,
  fn: async () => {
    registerActivation({
      name: "xtanh_test",
      reference: (x) => x * Math.tanh(x),
      apply: (x) => tf.mul(x, tf.tanh(x)),
      onnx: (g, x) => g.op("Mul", [x, g.op("Tanh", [x])]),
    });
    const model = createGpt(
      gptConfig({ preset: "tiny", vocabSize: VOCAB, activation: "xtanh_test" }),
    );
    const onOrt = await OrtModel.fromGpt(model, { provider: "cpu" });
    try {
      const ids = batch(4);
      const want = tf.tidy(() => model.logits(tf.tensor2d(ids, undefined, "int32")).dataSync());
      assert(maxAbsDiff((await onOrt.logits(ids)).data, want) <= 1e-4);
      assertEquals(getUnary("xtanh_test").name, "xtanh_test");
    } finally {
      await onOrt.release();
      model.dispose();
      unregisterActivation("xtanh_test");
    }
  },
});
