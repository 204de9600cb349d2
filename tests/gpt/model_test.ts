import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { registerActivation, unregisterActivation } from "../../lib/activations/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import { createGpt, gptConfig, gptParamSpecs, tfjsOps } from "../../lib/gpt/mod.ts";

await initEngine({ backend: "wasm" });

const ids = (rows: number[][]) => tf.tensor2d(rows.flat(), [rows.length, rows[0].length], "int32");

Deno.test("the nano model has the PyTorch reference's parameter count (804,096 for GELU)", () => {
  const cfg = gptConfig({ preset: "nano", vocabSize: 65 });
  const count = (kind: "unary" | "gated") =>
    gptParamSpecs(cfg, kind).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assertEquals(count("unary"), 804_096);
  assertEquals(
    count("gated"),
    65 * 128 + 64 * 128 + 4 * (2 * 128 + 4 * 128 * 128 + 3 * 128 * 344) + 128,
  );
});

Deno.test("logits have shape [B, T, V] and start near the uniform loss ln(V)", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 30 }), { seed: 1 });
  try {
    const logits = tf.tidy(() => model.logits(ids([[1, 2, 3, 4], [5, 6, 7, 8]])));
    assertEquals(logits.shape, [2, 4, 30]);
    logits.dispose();
    const loss = tf.tidy(() => model.loss(ids([[1, 2, 3]]), ids([[2, 3, 4]])));
    // Small init gives nearly uniform predictions (tied embeddings favour the input token a little).
    assertAlmostEquals((await loss.data())[0], Math.log(30), 0.2);
    loss.dispose();
  } finally {
    model.dispose();
  }
});

Deno.test("attention is causal: changing a later token leaves earlier logits unchanged (exactly)", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 30 }), { seed: 2 });
  try {
    const a = tf.tidy(() => model.logits(ids([[1, 2, 3, 4, 5, 6]])));
    const b = tf.tidy(() => model.logits(ids([[1, 2, 3, 4, 29, 0]])));
    const [da, db] = [await a.data(), await b.data()];
    for (let i = 0; i < 4 * 30; i++) assertEquals(da[i], db[i]);
    assert(da[4 * 30] !== db[4 * 30]);
    tf.dispose([a, b]);
  } finally {
    model.dispose();
  }
});

Deno.test("every parameter gets a finite, non-zero gradient on wasm (embeddings included)", () => {
  for (const activation of ["gelu", "swiglu"]) {
    const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 30, activation }), { seed: 3 });
    try {
      const vars = [...model.variables.values()];
      const norms = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => model.loss(ids([[1, 2, 3, 4]]), ids([[2, 3, 4, 5]])),
          vars,
        );
        return vars.map((v) => tf.norm(grads[v.name]).dataSync()[0]);
      });
      model.specs.forEach((s, i) => {
        assert(
          Number.isFinite(norms[i]) && norms[i] > 0,
          `${activation}: ${s.name} grad ${norms[i]}`,
        );
      });
    } finally {
      model.dispose();
    }
  }
});

Deno.test("the same seed gives the same weights; a different seed different ones", async () => {
  const cfg = gptConfig({ preset: "tiny", vocabSize: 30 });
  const [a, b, c] = [
    createGpt(cfg, { seed: 5 }),
    createGpt(cfg, { seed: 5 }),
    createGpt(cfg, { seed: 6 }),
  ];
  try {
    const w = async (m: typeof a) => [...await m.variables.get("h.0.attn.c_attn.weight")!.data()];
    assertEquals(await w(a), await w(b));
    assert((await w(a))[0] !== (await w(c))[0]);
  } finally {
    [a, b, c].forEach((m) => m.dispose());
  }
});

Deno.test("init follows nanoGPT: std 0.02, residual projections 0.02/√(2·layers), LayerNorm ones", async () => {
  const model = createGpt(gptConfig({ preset: "nano", vocabSize: 65 }), { seed: 1 });
  try {
    const std = async (name: string) => {
      const v = [...await model.variables.get(name)!.data()];
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    };
    assertAlmostEquals(await std("h.0.mlp.c_fc.weight"), 0.02, 0.0005);
    assertAlmostEquals(await std("h.0.mlp.c_proj.weight"), 0.02 / Math.sqrt(8), 0.0005);
    assertEquals([...await model.variables.get("ln_f.weight")!.data()].every((x) => x === 1), true);
  } finally {
    model.dispose();
  }
});

Deno.test("biases and untied embeddings add the expected parameters", () => {
  const base = gptConfig({ preset: "tiny", vocabSize: 30 });
  const names = (cfg: typeof base) => gptParamSpecs(cfg, "unary").map((s) => s.name);
  const withBias = names({ ...base, bias: true });
  assert(withBias.includes("h.1.attn.c_attn.bias") && withBias.includes("ln_f.bias"));
  assert(names({ ...base, tiedEmbeddings: false }).includes("lm_head.weight"));
  assert(!names(base).includes("lm_head.weight"));
  const m = createGpt({ ...base, bias: true, tiedEmbeddings: false }, { seed: 1 });
  const l = tf.tidy(() => m.logits(ids([[1, 2]])));
  assertEquals(l.shape, [1, 2, 30]);
  l.dispose();
  m.dispose();
});

Deno.test("a user-registered activation plugs into the MLP like a built-in", async () => {
  let calls = 0;
  registerActivation({
    name: "test_softsign_gpt",
    reference: (x) => x / (1 + Math.abs(x)),
    apply: (x) => {
      calls++;
      return tf.div(x, tf.add(1, tf.abs(x)));
    },
  }, { override: true });
  calls = 0; // the registration probe called apply once
  try {
    const model = createGpt(
      gptConfig({ preset: "tiny", vocabSize: 30, activation: "test_softsign_gpt" }),
    );
    const loss = tf.tidy(() => model.loss(ids([[1, 2, 3]]), ids([[2, 3, 4]])));
    assert(Number.isFinite((await loss.data())[0]));
    assertEquals(calls, 2); // once per block
    loss.dispose();
    model.dispose();
  } finally {
    unregisterActivation("test_softsign_gpt");
  }
});

Deno.test("an unknown activation name is an error that says how to register one", () => {
  assertThrows(
    () => createGpt(gptConfig({ preset: "tiny", vocabSize: 30, activation: "gelux" })),
    Error,
    "register",
  );
});

Deno.test("a sequence longer than blockSize or non-int32 ids are rejected with a clear message", () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 30, blockSize: 4 }));
  try {
    assertThrows(() => model.logits(ids([[1, 2, 3, 4, 5]])), RangeError, "exceeds blockSize 4");
    assertThrows(() => model.logits(tf.tensor2d([[1, 2]])), TypeError, "int32");
  } finally {
    model.dispose();
  }
});

Deno.test("cpu and wasm backends give the same logits within 1e-5", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 30 }), { seed: 4 });
  try {
    const run = async () => {
      const l = tf.tidy(() => model.logits(ids([[3, 1, 4, 1, 5, 9, 2, 6]])));
      const d = await l.data();
      l.dispose();
      return d;
    };
    const wasm = await run();
    await initEngine({ backend: "cpu" });
    const cpu = await run();
    let max = 0;
    for (let i = 0; i < wasm.length; i++) max = Math.max(max, Math.abs(wasm[i] - cpu[i]));
    assert(max < 1e-5, `max |Δ| ${max}`);
  } finally {
    await initEngine({ backend: "wasm" });
    model.dispose();
  }
});

Deno.test("tfjsOps() layerNorm, causalMask and crossEntropy match float64 definitions (1e-5)", () => {
  const ops = tfjsOps();
  tf.tidy(() => {
    const x = [0.5, -1, 2, 0.25];
    const y = ops.layerNorm(tf.tensor3d([[x]]), tf.tensor1d([1, 2, 1, 1]), undefined, 1e-5)
      .dataSync();
    const mean = x.reduce((a, b) => a + b) / 4;
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    x.forEach((xi, i) =>
      assertAlmostEquals(y[i], ((xi - mean) / Math.sqrt(v + 1e-5)) * [1, 2, 1, 1][i], 1e-5)
    );
    const m = ops.softmax(ops.causalMask(tf.zeros([1, 3, 3]))).arraySync() as number[][][];
    assertEquals(m[0][0], [1, 0, 0]);
    assertAlmostEquals(m[0][2][1], 1 / 3, 1e-6);
    const logits = [[1, 2, 3], [0, 0, 0]];
    const ce =
      ops.crossEntropy(tf.tensor3d([logits]), tf.tensor2d([[2, 0]], [1, 2], "int32")).dataSync()[0];
    const lse = (r: number[]) => Math.log(r.reduce((a, b) => a + Math.exp(b), 0));
    assertAlmostEquals(ce, ((lse(logits[0]) - 3) + (lse(logits[1]) - 0)) / 2, 1e-5);
  });
});

Deno.test("tfjsOps().split on wasm equals tf.split, gradient included (exact)", () => {
  const ops = tfjsOps();
  tf.tidy(() => {
    const x = tf.randomNormal([3, 5, 9], 0, 1, "float32", 8);
    const w = [tf.randomNormal([3, 5, 2]), tf.randomNormal([3, 5, 3]), tf.randomNormal([3, 5, 4])];
    const sizes = [2, 3, 4];
    const ours = ops.split(x, sizes), ref = tf.split(x, sizes, -1);
    ours.forEach((p, i) => assertEquals([...p.dataSync()], [...ref[i].dataSync()]));
    const loss = (parts: tf.Tensor[]) => tf.addN(parts.map((p, i) => tf.sum(tf.mul(p, w[i]))));
    const g1 = tf.grad((t: tf.Tensor) => loss(ops.split(t, sizes)))(x);
    const g2 = tf.grad((t: tf.Tensor) => loss(tf.split(t, sizes, -1)))(x);
    assertEquals([...g1.dataSync()], [...g2.dataSync()]);
    assertThrows(() => ops.split(x, [4, 4]), RangeError, "do not add up");
  });
});
