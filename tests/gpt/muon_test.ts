/**
 * Muon on the tfjs engine: the Newton–Schulz iteration against a float64 one written here, the
 * parameter split, no leaked tensors, state round trips, and five updates against the PyTorch
 * reference (`tools/muon_reference.py`, skipped with a message where torch is missing).
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { createRng } from "../../lib/core/mod.ts";
import {
  AdamW,
  createGpt,
  globalNorm,
  gptConfig,
  gptOptimizer,
  gradClipScale,
  isMuonParam,
  Muon,
  muonScale,
  newtonSchulz5,
  NS_COEFFICIENTS,
  NS_EPS,
  NS_STEPS,
  optimizerSettings,
  tensorMatrixArith,
  trainConfig,
} from "../../lib/gpt/mod.ts";
import { differences, muonCase, runMuonReference, torchMissing } from "./_muon_case.ts";

await initEngine({ backend: "wasm" });

/** NS₅ in float64 on row-major arrays, PyTorch's layout [r, c] (r = out, c = in), as the paper. */
function newtonSchulz64(g: Float64Array, r: number, c: number): Float64Array {
  const tall = r > c;
  const [m, n] = tall ? [c, r] : [r, c];
  let x = new Float64Array(m * n);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) x[tall ? j * n + i : i * n + j] = g[i * c + j];
  }
  const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0)) + NS_EPS;
  x = x.map((v) => v / norm);
  const [a, b, cc] = NS_COEFFICIENTS;
  for (let step = 0; step < NS_STEPS; step++) {
    const A = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[i * n + k] * x[j * n + k];
        A[i * m + j] = s;
      }
    }
    const B = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += A[i * m + k] * A[k * m + j];
        B[i * m + j] = b * A[i * m + j] + cc * s;
      }
    }
    const next = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += B[i * m + k] * x[k * n + j];
        next[i * n + j] = a * x[i * n + j] + s;
      }
    }
    x = next;
  }
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) out[i * c + j] = x[tall ? j * n + i : i * n + j];
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * cols }, () => rng.normal());
}

/** The transpose of a row-major [rows, cols] array. */
function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

for (const [rows, cols] of [[16, 48], [16, 16], [64, 16]] as const) {
  Deno.test(`NS₅ of a [${rows}, ${cols}] (in, out) weight matches float64 within 2e-6`, () => {
    const g = randomMatrix(rows, cols, rows * 100 + cols);
    const x = tf.tidy(() =>
      newtonSchulz5(tensorMatrixArith, tf.tensor2d(g, [rows, cols]), [rows, cols])
    );
    const got = x.dataSync();
    x.dispose();
    // The reference's layout is PyTorch's [out, in]: the transpose of ours.
    const want = transpose(newtonSchulz64(transpose(g, rows, cols), cols, rows), cols, rows);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert(worst < 2e-6, `max |Δ| ${worst}`);
  });
}

Deno.test("NS₅ brings every singular value of a random matrix into [0.6, 1.3]", () => {
  // XᵀX's eigenvalues are the squared singular values; check its diagonal and a power iteration.
  for (const [rows, cols] of [[32, 96], [48, 48], [96, 24]] as const) {
    const s = tf.tidy(() => {
      const g = tf.tensor2d(randomMatrix(rows, cols, 7), [rows, cols]);
      const x = newtonSchulz5(tensorMatrixArith, g, [rows, cols]) as tf.Tensor2D;
      const small = rows < cols ? tf.matMul(x, x, false, true) : tf.matMul(x, x, true, false);
      return tf.linalg.qr(small)[1]; // R of QR: |diag| ≈ eigenvalues for a near-identity matrix
    });
    const r = s.arraySync() as number[][];
    s.dispose();
    for (let i = 0; i < r.length; i++) {
      const sigma = Math.sqrt(Math.abs(r[i][i]));
      assert(sigma > 0.6 && sigma < 1.3, `[${rows}, ${cols}]: singular value ≈ ${sigma}`);
    }
  }
});

Deno.test("NS₅ of a weight stored either way is the same matrix, transposed, bit for bit", () => {
  const g = randomMatrix(12, 40, 3);
  const [a, b] = tf.tidy(() => {
    const wide = tf.tensor2d(g, [12, 40]);
    return [
      newtonSchulz5(tensorMatrixArith, wide, [12, 40]),
      tf.transpose(newtonSchulz5(tensorMatrixArith, tf.transpose(wide), [40, 12])),
    ];
  });
  assertEquals(a.dataSync(), b.dataSync());
  tf.dispose([a, b]);
});

Deno.test("Muon's scale is √max(1, out/in) of an [in, out] weight, as the reference's of [out, in]", () => {
  assertEquals(muonScale([32, 96]), Math.sqrt(3)); // c_attn: in 32, out 96
  assertEquals(muonScale([32, 32]), 1);
  assertEquals(muonScale([128, 32]), 1); // the MLP's down projection
  assertEquals(muonScale([32, 128]), 2);
});

Deno.test("gptOptimizer: AdamW unless asked; Muon takes the blocks' matrices and nothing else", () => {
  const model = createGpt(
    gptConfig({
      preset: "tiny",
      vocabSize: 20,
      activation: "prelu",
      bias: true,
      tiedEmbeddings: false,
    }),
  );
  try {
    const adamw = gptOptimizer(model, trainConfig({ preset: "tiny" }));
    assert(adamw instanceof AdamW);
    adamw.dispose();
    const muon = gptOptimizer(model, trainConfig({ preset: "tiny", optimizer: "muon" }));
    assert(muon instanceof Muon);
    muon.dispose();
    const taken = model.specs.filter(isMuonParam).map((s) => s.name);
    assertEquals(taken, [
      "h.0.attn.c_attn.weight",
      "h.0.attn.c_proj.weight",
      "h.0.mlp.c_fc.weight",
      "h.0.mlp.c_proj.weight",
      "h.1.attn.c_attn.weight",
      "h.1.attn.c_proj.weight",
      "h.1.mlp.c_fc.weight",
      "h.1.mlp.c_proj.weight",
    ]);
    // Embeddings, the head, LayerNorms, biases and PReLU's slopes stay with AdamW.
    for (const name of ["wte.weight", "wpe.weight", "lm_head.weight", "h.0.mlp.act.a"]) {
      assert(!taken.includes(name) && model.specs.some((s) => s.name === name), name);
    }
  } finally {
    model.dispose();
  }
});

Deno.test("the optimizer fields: absent means AdamW and adds nothing to a config", () => {
  const plain = trainConfig({ preset: "tiny" });
  assertEquals("optimizer" in plain, false);
  assertEquals(trainConfig({ preset: "tiny", optimizer: "adamw", muonMomentum: 0.95 }), plain);
  const muon = trainConfig({ preset: "tiny", optimizer: "muon", muonLrRatio: 10 });
  assertEquals(optimizerSettings(muon), {
    optimizer: "muon",
    muonLrRatio: 10,
    muonMomentum: 0.95,
    muonWeightDecay: 0,
  });
  assertThrows(
    () => trainConfig({ optimizer: "sgd" as "muon" }),
    TypeError,
    "optimizer must be adamw or muon",
  );
});

Deno.test("Muon steps leave no tensor behind, and a restored state continues bit for bit", async () => {
  const c = muonCase(4);
  const vars = () =>
    c.specs.map((s) => ({
      name: s.name,
      variable: tf.variable(tf.tensor(c.params.get(s.name)!, [...s.shape])),
      decay: s.decay,
      muon: isMuonParam(s),
    }));
  const settings = optimizerSettings(c.train);
  const make = (params: ReturnType<typeof vars>) =>
    new Muon(params, {
      momentum: settings.muonMomentum,
      lrRatio: settings.muonLrRatio,
      weightDecay: settings.muonWeightDecay,
    });
  const grads = c.grads.map((g) =>
    new Map(c.specs.map((s) => [s.name, tf.tensor(g.get(s.name)!, [...s.shape])]))
  );
  const a = vars(), b = vars();
  const straight = make(a);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) straight.step(grads[i], c.lrs[i], { gradScale: 0.5 });
  assertEquals(tf.memory().numTensors, before, "tensors leaked by Muon.step");
  const first = make(b);
  for (let i = 0; i < 2; i++) first.step(grads[i], c.lrs[i], { gradScale: 0.5 });
  const saved = await first.state();
  first.dispose();
  assertEquals(saved.step, 2);
  const resumed = make(b);
  resumed.restore(saved);
  for (let i = 2; i < 4; i++) resumed.step(grads[i], c.lrs[i], { gradScale: 0.5 });
  for (let i = 0; i < a.length; i++) {
    assertEquals(a[i].variable.dataSync(), b[i].variable.dataSync(), a[i].name);
  }
  const other = await straight.state(), mine = await resumed.state();
  for (const [name, data] of other.buffers) assertEquals(mine.buffers.get(name), data, name);
  assertThrows(
    () => resumed.restore({ ...saved, optimizer: "adamw" }),
    Error,
    "the state is adamw's but the optimizer is muon",
  );
  for (const o of [straight, resumed]) o.dispose();
  tf.dispose([...a, ...b].map((p) => p.variable));
  tf.dispose(grads.flatMap((g) => [...g.values()]));
});

const missing = torchMissing();
if (missing !== null) {
  console.warn(
    `muon_test: PyTorch comparison skipped — /usr/bin/python3 cannot import torch (${missing}). ` +
      `Install Debian python3-torch (CI does).`,
  );
}

Deno.test({
  name: "tfjs Muon + AdamW match the PyTorch reference over five steps (float32 tolerance)",
  ignore: missing !== null,
  permissions: { read: true, write: true, run: true, env: true },
  async fn() {
    const c = muonCase(5);
    const want = await runMuonReference(c);
    // The engine's path: gptOptimizer's split and settings, clipping as Trainer.step does it.
    const params = new Map(
      c.specs.map((s) => [s.name, tf.variable(tf.tensor(c.params.get(s.name)!, [...s.shape]))]),
    );
    const settings = optimizerSettings(c.train);
    const opt = new Muon(
      c.specs.map((s) => ({
        name: s.name,
        variable: params.get(s.name)!,
        decay: s.decay,
        muon: isMuonParam(s),
      })),
      {
        momentum: settings.muonMomentum,
        lrRatio: settings.muonLrRatio,
        weightDecay: settings.muonWeightDecay,
        adamw: {
          beta1: c.train.beta1,
          beta2: c.train.beta2,
          eps: c.train.adamEps,
          weightDecay: c.train.weightDecay,
        },
      },
    );
    const norms: number[] = [];
    for (let step = 0; step < c.lrs.length; step++) {
      const grads = new Map(
        c.specs.map((s) => [s.name, tf.tensor(c.grads[step].get(s.name)!, [...s.shape])]),
      );
      const norm = tf.tidy(() => globalNorm(grads)).dataSync()[0];
      norms.push(norm);
      opt.step(grads, c.lrs[step], { gradScale: gradClipScale(norm, c.train.gradClip) });
      tf.dispose([...grads.values()]);
    }
    const got = new Map<string, Float32Array>();
    for (const [name, v] of params) got.set(name, v.dataSync() as Float32Array);
    for (const [name, data] of (await opt.state()).buffers) got.set(name, data);
    opt.dispose();
    tf.dispose([...params.values()]);
    const muonNames = c.specs.filter(isMuonParam).map((s) => s.name);
    const adamNames = c.specs.filter((s) => !isMuonParam(s)).map((s) => s.name);
    const m = differences(got, want.values, muonNames);
    const a = differences(got, want.values, adamNames);
    const buffers = differences(got, want.values, [...got.keys()].filter((n) => n.includes("/")));
    console.log(
      `tfjs vs PyTorch after 5 steps: Muon weights max |Δ| ${m.maxAbs.toExponential(2)} ` +
        `(rel ${m.maxRel.toExponential(2)}, ${m.worst}); AdamW weights ${
          a.maxAbs.toExponential(2)
        } (rel ${a.maxRel.toExponential(2)}); buffers rel ${buffers.maxRel.toExponential(2)} ` +
        `(${buffers.worst})`,
    );
    for (let i = 0; i < norms.length; i++) {
      assert(Math.abs(norms[i] - want.gradNorms[i]) <= 1e-5 * want.gradNorms[i], "grad norm");
    }
    assert(m.maxRel <= 1e-5, `Muon weights differ by ${m.maxRel} relative (${m.worst})`);
    assert(a.maxRel <= 1e-5, `AdamW weights differ by ${a.maxRel} relative (${a.worst})`);
    assert(buffers.maxRel <= 1e-5, `buffers differ by ${buffers.maxRel} (${buffers.worst})`);
    // The comparison is not vacuous: Muon moved its weights by more than the tolerance.
    const moved = differences(got, c.params, muonNames);
    assert(moved.maxAbs > 1e-3, `Muon hardly moved: ${moved.maxAbs}`);
  },
});
