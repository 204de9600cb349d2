/**
 * Compiled training on ONNX Runtime against the tfjs engine: gradients on the same weights and
 * batch, loss curves over 50 steps, determinism, divergence, user activations, checkpoints.
 * Tiny preset, synthetic data: each test runs in about a second on two cores.
 */
import * as tf from "@tensorflow/tfjs";
import { trainCli } from "../cli/_cli.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  createRng,
  gptConfig,
  initEngine,
  registerActivation,
  syntheticDataset,
  trainGpt,
  unregisterActivation,
} from "@actlab/actlab";
import { estimateLoss } from "@actlab/actlab/train";
import { ortCudaStatus } from "@actlab/actlab/engine";
import { OrtTrainer, registerOnnxGradient } from "@actlab/actlab/onnx";
import { sampleBatch } from "@actlab/actlab/core";
import { trainConfig, TrainingDivergedError } from "@actlab/actlab/gpt";
import type { Gpt } from "@actlab/actlab";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 20_000 });
const tiny = (activation: string, extra: Record<string, unknown> = {}) =>
  gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, activation, ...extra });
const cpu = { provider: "cpu" as const, threads: 1 };
const options = { sanitizeOps: false, sanitizeResources: false };

/** ‖a − b‖ / ‖b‖. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

/** The loss and every parameter's gradient on tfjs, by checkpoint key. */
function tfjsGradients(model: Gpt, x: Int32Array, y: Int32Array, shape: [number, number]) {
  const vars = [...model.variables.values()];
  const byVar = new Map([...model.variables].map(([name, v]) => [v.name, name]));
  const { value, grads } = tf.tidy(() =>
    tf.variableGrads(
      () => model.loss(tf.tensor2d(x, shape, "int32"), tf.tensor2d(y, shape, "int32")),
      vars,
    )
  );
  const out = new Map<string, Float32Array>();
  for (const [v, g] of Object.entries(grads)) out.set(byVar.get(v)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/** Compares ORT's gradients with tfjs's for one activation; returns the worst relative error. */
async function compareGradients(
  activation: string,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const model = createGpt(tiny(activation, extra), { seed: 3 });
  const trainer = await OrtTrainer.create(model, trainConfig({ preset: "tiny" }), cpu);
  try {
    const batch = sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, createRng(5));
    const want = tfjsGradients(model, batch.x, batch.y, [4, 16]);
    const got = await trainer.gradients(batch);
    assert(Math.abs(got.loss - want.loss) < 1e-5, `loss ORT ${got.loss} vs tfjs ${want.loss}`);
    let worst = 0;
    for (const spec of model.specs) {
      const err = relativeError(got.grads.get(spec.name)!, want.grads.get(spec.name)!);
      assert(err <= 1e-4, `${activation}: ${spec.name} differs by ${err.toExponential(2)}`);
      worst = Math.max(worst, err);
    }
    return worst;
  } finally {
    await trainer.dispose();
    model.dispose();
  }
}

for (const activation of ["gelu", "gelu_tanh", "relu", "mish", "hardswish", "selu"]) {
  Deno.test({
    name: `${activation}: ORT gradients match tfjs's within 1e-4 relative for every parameter`,
    ...options,
    fn: async () => void await compareGradients(activation),
  });
}

for (const activation of ["prelu", "xielu", "polynorm"]) {
  Deno.test({
    name:
      `${activation} (trainable): ORT gradients match tfjs's within 1e-4, its own parameters too`,
    ...options,
    fn: async () => void await compareGradients(activation),
  });
}

for (const activation of ["swiglu", "geglu", "gtu"]) {
  Deno.test({
    name: `${activation} (gated): ORT gradients match tfjs's within 1e-4 relative per parameter`,
    ...options,
    fn: async () => void await compareGradients(activation),
  });
}

Deno.test({
  name: "with biases and an untied output head, ORT gradients still match tfjs's within 1e-4",
  ...options,
  fn: async () => void await compareGradients("swiglu", { bias: true, tiedEmbeddings: false }),
});

Deno.test({
  name: "a user-registered activation trains on ORT through its lowering, with tfjs's gradients",
  ...options,
  fn: async () => {
    // x·σ(2x) written with elementwise ONNX ops; no gradient code anywhere
    registerActivation({
      name: "test_xsigmoid2",
      reference: (x) => x / (1 + Math.exp(-2 * x)),
      apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(2, x))),
      onnx: (g, x) => {
        const e = g.op("Exp", [g.op("Neg", [g.op("Mul", [x, g.constant(2)])])]);
        return g.op("Mul", [x, g.op("Reciprocal", [g.op("Add", [e, g.constant(1)])])]);
      },
    }, { override: true });
    try {
      await compareGradients("test_xsigmoid2");
    } finally {
      unregisterActivation("test_xsigmoid2");
    }
  },
});

Deno.test({
  name: "a lowering with an op that has no gradient rule fails naming the op and the activation",
  ...options,
  fn: async () => {
    registerActivation({
      name: "test_sine",
      reference: Math.sin,
      apply: (x) => tf.sin(x),
      onnx: (g, x) => g.op("Sin", [x]),
    }, { override: true });
    const model = createGpt(tiny("test_sine"), { seed: 1 });
    try {
      const err = await assertRejects(() => OrtTrainer.create(model, trainConfig(), cpu));
      const msg = (err as Error).message;
      assert(msg.includes("'Sin'") && msg.includes("'test_sine'"), msg);
      assert(msg.includes("registerOnnxGradient"), msg);
      // With a rule, the same activation trains and matches tfjs.
      registerOnnxGradient(
        "Sin",
        ({ g }, node, dy) => [g.op("Mul", [dy, g.op("Cos", [node.inputs[0]])])],
        { override: true },
      );
      await compareGradients("test_sine");
    } finally {
      model.dispose();
      unregisterActivation("test_sine");
    }
  },
});

Deno.test("registerOnnxGradient() refuses to replace a rule without override", () => {
  assertThrows(
    () => registerOnnxGradient("Tanh", (_c, _n, dy) => [dy]),
    Error,
    "already has a gradient rule",
  );
});

async function curves(activation: string, engine: "tfjs" | "ort", seed = 1) {
  const model = createGpt(tiny(activation), { seed });
  try {
    const r = await trainGpt(model, ds, {
      preset: "tiny",
      iters: 50,
      evalEvery: 25,
      seed,
      engine,
      engineOptions: cpu,
    });
    return {
      losses: r.steps.array("loss") as number[],
      norms: r.steps.array("grad_norm") as number[],
      vals: r.evals.map((e) => e.valLoss),
      history: r.history,
    };
  } finally {
    model.dispose();
  }
}

for (const activation of ["gelu", "swiglu"]) {
  Deno.test({
    name: `${activation}: 50-step loss curves of the ORT and tfjs engines agree within 1e-3`,
    ...options,
    fn: async () => {
      const a = await curves(activation, "tfjs"), b = await curves(activation, "ort");
      assertEquals(b.losses.length, 50);
      assertEquals(b.history.columnNames(), a.history.columnNames());
      const maxDiff = (x: number[], y: number[]) =>
        Math.max(...x.map((v, i) => Math.abs(v - y[i])));
      assert(
        maxDiff(a.losses, b.losses) <= 1e-3,
        `step losses differ by ${maxDiff(a.losses, b.losses)}`,
      );
      assert(maxDiff(a.vals, b.vals) <= 1e-3, `val losses differ by ${maxDiff(a.vals, b.vals)}`);
      const normDiff = Math.max(...a.norms.map((v, i) => Math.abs(v - b.norms[i]) / v));
      assert(normDiff <= 1e-3, `gradient norms differ by ${normDiff} relative`);
      assert(b.losses[49] < b.losses[0] - 0.5, `ORT loss ${b.losses[0]} → ${b.losses[49]}`);
    },
  });
}

Deno.test({
  name: "the same seed gives exactly the same numbers on ORT; another seed does not",
  ...options,
  fn: async () => {
    const a = await curves("swiglu", "ort", 3), b = await curves("swiglu", "ort", 3);
    const c = await curves("swiglu", "ort", 4);
    assertEquals([...a.losses, ...a.vals], [...b.losses, ...b.vals]);
    assert(a.losses[0] !== c.losses[0]);
  },
});

Deno.test({
  name: "dropout on ORT is seeded: same seed, same losses, and it changes the trajectory",
  ...options,
  fn: async () => {
    const run = async (dropout: number) => {
      const model = createGpt(tiny("gelu", { dropout }), { seed: 2 });
      const r = await trainGpt(model, ds, {
        preset: "tiny",
        iters: 5,
        evalEvery: 0,
        engine: "ort",
        engineOptions: cpu,
      });
      model.dispose();
      return r.steps.array("loss") as number[];
    };
    const a = await run(0.2), b = await run(0.2), c = await run(0);
    assertEquals(a, b);
    assert(a[0] !== c[0]);
  },
});

Deno.test({
  name: "a NaN loss stops ORT training with an error naming the step and the activation",
  ...options,
  fn: async () => {
    // x·eˣ overflows once the weights grow: with lr 10 and no clipping, within a few steps
    registerActivation({
      name: "test_xexp",
      reference: (x) => x * Math.exp(x),
      apply: (x) => tf.mul(x, tf.exp(x)),
      onnx: (g, x) => g.op("Mul", [x, g.op("Exp", [x])]),
    }, { override: true });
    const model = createGpt(tiny("test_xexp"), { seed: 1 });
    try {
      const err = await assertRejects(
        () =>
          trainGpt(model, ds, {
            preset: "tiny",
            iters: 200,
            evalEvery: 0,
            learningRate: 10,
            warmupIters: 0,
            gradClip: 0,
            engine: "ort",
            engineOptions: cpu,
          }),
        TrainingDivergedError,
      );
      assertEquals(err.activation, "test_xexp");
      assert(err.iter > 0, `diverged at step ${err.iter}`);
      assert(err.message.includes(`step ${err.iter}`), err.message);
      assertEquals(err.steps.length, err.iter); // the steps before divergence are kept
      // the model holds the last finite weights (written back before the error surfaced)
      const w = await model.variables.get("h.0.mlp.c_fc.weight")!.data();
      assert(w.every(Number.isFinite) || err.iter === 0);
    } finally {
      model.dispose();
      unregisterActivation("test_xexp");
    }
  },
});

Deno.test({
  name: "ORT-trained weights land in the model: tfjs evaluates them to ORT's loss, checkpoints too",
  ...options,
  fn: async () => {
    const model = createGpt(tiny("gelu"), { seed: 1 });
    try {
      const r = await trainGpt(model, ds, {
        preset: "tiny",
        iters: 30,
        evalEvery: 0,
        evalIters: 4,
        seed: 9,
        engine: "ort",
        engineOptions: cpu,
      });
      // The final evaluation ran on ORT; the same batches on tfjs, from the synced weights:
      const evalRng = createRng(9).fork(1);
      const onTfjs = await estimateLoss(model, ds, { batchSize: 4, evalIters: 4, rng: evalRng });
      assert(Math.abs(onTfjs.val - r.final.valLoss) < 1e-4, `${onTfjs.val} vs ${r.final.valLoss}`);
      // A checkpoint of the ORT-trained model reloads to the same tfjs loss.
      const loaded = checkpointFromBytes(await checkpointBytes(model));
      const batch = sampleBatch(ds.val, { batchSize: 4, blockSize: 16 }, createRng(2));
      const lossOf = (m: Gpt) =>
        tf.tidy(() =>
          m.loss(tf.tensor2d(batch.x, [4, 16], "int32"), tf.tensor2d(batch.y, [4, 16], "int32"))
            .dataSync()[0]
        );
      assertEquals(lossOf(loaded.model), lossOf(model));
      loaded.model.dispose();
    } finally {
      model.dispose();
    }
  },
});

Deno.test({
  name: "trainGpt() on ORT leaves no tfjs tensors behind apart from the model",
  ...options,
  fn: async () => {
    const model = createGpt(tiny("gelu"), { seed: 1 });
    const withModel = tf.memory().numTensors;
    await trainGpt(model, ds, {
      preset: "tiny",
      iters: 20,
      evalEvery: 10,
      engine: "ort",
      engineOptions: cpu,
    });
    assertEquals(tf.memory().numTensors, withModel);
    model.dispose();
  },
});

Deno.test({
  name: "trainGpt() names the engines it knows when asked for another",
  ...options,
  fn: async () => {
    const model = createGpt(tiny("gelu"), { seed: 1 });
    try {
      await assertRejects(
        () => trainGpt(model, ds, { preset: "tiny", iters: 1, engine: "nope" }),
        Error,
        "known are tfjs, ort",
      );
    } finally {
      model.dispose();
    }
  },
});

const cuda = ortCudaStatus();
Deno.test({
  name: `the CUDA provider trains like the CPU one within 1e-3 over 10 steps${
    cuda.available ? "" : ` (skipped: ${cuda.reason})`
  }`,
  ignore: !cuda.available,
  ...options,
  fn: async () => {
    const run = async (provider: "cpu" | "cuda") => {
      const model = createGpt(tiny("gelu"), { seed: 1 });
      const r = await trainGpt(model, ds, {
        preset: "tiny",
        iters: 10,
        evalEvery: 0,
        engine: "ort",
        engineOptions: { provider },
      });
      model.dispose();
      return r.steps.array("loss") as number[];
    };
    const a = await run("cpu"), b = await run("cuda");
    for (let i = 0; i < a.length; i++) assert(Math.abs(a[i] - b[i]) <= 1e-3, `step ${i}`);
  },
});

const cli = trainCli;

Deno.test("deno task train --engine ort prints the same JSON lines as the tfjs engine", async () => {
  const common = ["--preset", "tiny", "--dataset", "synthetic", "--iters", "10", "--eval-every"];
  const rest = ["5", "--eval-iters", "2", "--backend", "wasm", "--json"];
  const ort = await cli(
    ...common,
    ...rest,
    "--engine",
    "ort",
    "--provider",
    "cpu",
    "--threads",
    "1",
  );
  const tfjs = await cli(...common, ...rest);
  assertEquals(ort.code, 0, ort.stderr);
  assertEquals(tfjs.code, 0, tfjs.stderr);
  const a = ort.lines.map((l) => JSON.parse(l)), b = tfjs.lines.map((l) => JSON.parse(l));
  assertEquals(a[0].engine, "ort");
  assertEquals(a.slice(1).map((o) => o.iter), [0, 5, 10]);
  // every line says where the steps ran: ONNX Runtime's provider, or null on tfjs
  assertEquals(a.map((o) => o.provider), a.map(() => "cpu"));
  assertEquals(b.map((o) => o.provider), b.map(() => null));
  assertEquals(a[0].provider_reason, "CPU requested");
  for (let i = 1; i < a.length; i++) {
    assertEquals(Object.keys(a[i]), Object.keys(b[i]));
    assert(Math.abs(a[i].val_loss - b[i].val_loss) <= 1e-3, `${a[i].val_loss} vs ${b[i].val_loss}`);
  }
});

Deno.test("deno task train --engine ort --time-only N reports ms per step on ORT", async () => {
  const { code, lines, stderr } = await cli(
    "--preset",
    "tiny",
    "--dataset",
    "synthetic",
    "--time-only",
    "3",
    "--engine",
    "ort",
    "--json",
  );
  assertEquals(code, 0, stderr);
  const t = JSON.parse(lines.at(-1)!);
  assert(t.median_ms_per_step > 0);
  assertEquals(t.backend, "ort");
  assert(["cpu", "webgpu", "cuda"].includes(t.provider), `provider ${t.provider}`);
});
