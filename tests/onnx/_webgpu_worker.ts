/**
 * The WebGPU side of `webgpu_test.ts`, run as its own process: the Vulkan loader reads
 * `VK_DRIVER_FILES` / `VK_ICD_FILENAMES` when ONNX Runtime's WebGPU provider (Dawn) starts, and
 * `deno test` runs every test file in one process, so the test chooses the driver
 * (`planWebgpuEnv`: the hardware GPU when there is one, SwiftShader only when there is none or when
 * asked for) and passes it in this process's environment. This file sets no driver itself.
 *
 * `deno run -A tests/onnx/_webgpu_worker.ts status` prints one JSON line: whether ONNX Runtime's
 * WebGPU provider starts, the Vulkan drivers its process then holds (ONNX Runtime does not name
 * its adapter), and the adapter Deno's `navigator.gpu` reports. `… all` then prints one JSON line
 * per result: `train` (30 steps on CPU and WebGPU per activation), `logits` (OrtModel on both),
 * `dropout`, `biases` (SwiGLU with biases and an untied head), `ops` (each op of the WebGPU table's
 * probe list opened alone with CPU fallback disabled), `fallback` (a graph with an op WebGPU
 * lacks). `ACTLAB_WEBGPU_ACTIVATIONS` (comma-separated names) narrows the per-activation rows, for
 * quick runs.
 */
import * as ort from "onnxruntime-node";
import { createGpt, createRng, gptConfig, initEngine, syntheticDataset } from "@actlab/actlab";
import { sampleBatch } from "@actlab/actlab/core";
import { listActivations } from "@actlab/actlab/activations";
import {
  createOrtSession,
  ortWebgpuAdapter,
  resolveOrtProvider,
  webgpuAdapter,
} from "@actlab/actlab/engine";
import { trainConfig } from "@actlab/actlab/gpt";
import { trainGpt } from "@actlab/actlab/train";
import {
  GraphBuilder,
  OrtModel,
  OrtTrainer,
  PROVIDER_OPS,
  type ValueSpec,
} from "@actlab/actlab/onnx";

const print = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

/**
 * The activations the per-activation rows cover: `ACTLAB_WEBGPU_ACTIVATIONS` when set, else all.
 *
 * @example
 * ```ts ignore
 * import { webgpuTestActivations } from "./_webgpu_worker.ts";
 * webgpuTestActivations(); // ["relu", "gelu", …]
 * ```
 */
export function webgpuTestActivations(): string[] {
  const all = listActivations().map((d) => d.name);
  const only = Deno.env.get("ACTLAB_WEBGPU_ACTIVATIONS")?.split(",").map((s) => s.trim())
    .filter(Boolean);
  if (!only?.length) return all;
  const unknown = only.filter((n) => !all.includes(n));
  if (unknown.length) throw new Error(`ACTLAB_WEBGPU_ACTIVATIONS: unknown ${unknown.join(", ")}`);
  return only;
}

/** The model of the parity runs: one block, small enough for SwiftShader (~300 nodes a step). */
const SMALL = { preset: "tiny", nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 8 } as const;
const BATCH = 2;
const STEPS = 30;

async function trainBoth(activation: string, dropout = 0, extras = {}) {
  const ds = syntheticDataset({ length: 20_000 });
  const config = gptConfig({
    ...SMALL,
    vocabSize: ds.tokenizer.size,
    activation,
    dropout,
    ...extras,
  });
  const train = trainConfig({ preset: "tiny", batchSize: BATCH });
  const out: Record<string, { losses: number[]; params: Map<string, Float32Array> }> = {};
  let transfer = {};
  for (const provider of ["cpu", "webgpu"] as const) {
    const model = createGpt(config, { seed: 1 });
    const trainer = await OrtTrainer.create(model, train, { provider });
    const rng = createRng(5);
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const batch = sampleBatch(ds.train, { batchSize: BATCH, blockSize: config.blockSize }, rng);
      losses.push((await trainer.step(batch, i)).loss);
    }
    out[provider] = { losses, params: await trainer.parameters() };
    if (provider === "webgpu") transfer = trainer.transferBytes;
    await trainer.dispose();
    model.dispose();
  }
  let maxParamDiff = 0;
  for (const [name, a] of out.cpu.params) {
    const b = out.webgpu.params.get(name)!;
    for (let i = 0; i < a.length; i++) maxParamDiff = Math.max(maxParamDiff, Math.abs(a[i] - b[i]));
  }
  return {
    cpu: out.cpu.losses,
    webgpu: out.webgpu.losses,
    maxLossDiff: Math.max(...out.cpu.losses.map((l, i) => Math.abs(l - out.webgpu.losses[i]))),
    maxParamDiff,
    transfer,
  };
}

/**
 * Muon on both providers: 4 steps, the optimizer state read back (through the copy session on
 * WebGPU), a fresh trainer given it, 4 more steps; the losses, weights and buffers.
 */
async function muonBoth() {
  const ds = syntheticDataset({ length: 20_000 });
  const config = gptConfig({ ...SMALL, vocabSize: ds.tokenizer.size });
  const train = trainConfig({ preset: "tiny", batchSize: BATCH, optimizer: "muon" });
  const out: Record<string, { losses: number[]; values: Map<string, Float32Array> }> = {};
  for (const provider of ["cpu", "webgpu"] as const) {
    const model = createGpt(config, { seed: 1 });
    const rng = createRng(5);
    const losses: number[] = [];
    let trainer = await OrtTrainer.create(model, train, { provider });
    for (let i = 0; i < 8; i++) {
      if (i === 4) {
        const state = await trainer.optimizerState();
        await trainer.syncModel();
        await trainer.dispose();
        trainer = await OrtTrainer.create(model, train, { provider });
        await trainer.loadOptimizerState(state);
      }
      const batch = sampleBatch(ds.train, { batchSize: BATCH, blockSize: config.blockSize }, rng);
      losses.push((await trainer.step(batch, i)).loss);
    }
    const values = new Map([
      ...await trainer.parameters(),
      ...(await trainer.optimizerState()).buffers,
    ]);
    out[provider] = { losses, values };
    await trainer.dispose();
    model.dispose();
  }
  let maxValueDiff = 0;
  for (const [name, a] of out.cpu.values) {
    const b = out.webgpu.values.get(name)!;
    for (let i = 0; i < a.length; i++) maxValueDiff = Math.max(maxValueDiff, Math.abs(a[i] - b[i]));
  }
  return {
    webgpu: out.webgpu.losses,
    maxLossDiff: Math.max(...out.cpu.losses.map((l, i) => Math.abs(l - out.webgpu.losses[i]))),
    maxValueDiff,
  };
}

async function logitsBoth(activation: string) {
  const ds = syntheticDataset({ length: 5_000 });
  const config = gptConfig({ ...SMALL, vocabSize: ds.tokenizer.size, activation });
  const model = createGpt(config, { seed: 3 });
  const rng = createRng(9);
  const batch = sampleBatch(ds.train, { batchSize: 2, blockSize: config.blockSize }, rng);
  const ids = { data: batch.x, shape: [2, config.blockSize] as [number, number] };
  const targets = { data: batch.y, shape: ids.shape };
  const results = [];
  for (const provider of ["cpu", "webgpu"] as const) {
    const m = await OrtModel.fromGpt(model, { provider });
    results.push({
      logits: (await m.logits(ids)).data,
      short: (await m.logits({ data: batch.x.subarray(0, 5), shape: [1, 5] })).data,
      loss: await m.loss(ids, targets),
    });
    await m.release();
  }
  model.dispose();
  const [c, w] = results;
  const diff = (a: Float32Array, b: Float32Array) =>
    a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  return {
    maxDiff: Math.max(diff(c.logits, w.logits), diff(c.short, w.short)),
    lossDiff: Math.abs(c.loss - w.loss),
  };
}

/** trainGpt on both providers: evaluations read the device-resident weights. */
async function trainGptBoth() {
  const ds = syntheticDataset({ length: 20_000 });
  const config = gptConfig({ ...SMALL, vocabSize: ds.tokenizer.size });
  const results = [];
  for (const provider of ["cpu", "webgpu"] as const) {
    const model = createGpt(config, { seed: 2 });
    const r = await trainGpt(model, ds, {
      preset: "tiny",
      iters: 10,
      evalEvery: 5,
      evalIters: 2,
      batchSize: BATCH,
      engine: "ort",
      engineOptions: { provider },
    });
    const weights = await model.variables.get("wte.weight")!.data() as Float32Array;
    results.push({ val: r.evals.map((e) => e.valLoss), weights });
    model.dispose();
  }
  const [c, w] = results;
  return {
    val: w.val,
    maxValDiff: Math.max(...c.val.map((v, i) => Math.abs(v - w.val[i]))),
    maxWeightDiff: c.weights.reduce((m, v, i) => Math.max(m, Math.abs(v - w.weights[i])), 0),
  };
}

// ---------------------------------------------------------------------------------------------
// One-node graphs of the ops in the WebGPU table's probe lists

type Inputs = Record<string, ValueSpec>;
const F: ValueSpec = [4, 8];
const unaryOp = (op: string) => ({ inputs: { x: F }, build: (g: GraphBuilder) => g.op(op, ["x"]) });
const binaryOp = (op: string) => ({
  inputs: { x: F, z: F },
  build: (g: GraphBuilder) => g.op(op, ["x", "z"]),
});
interface Probe {
  readonly inputs: Inputs;
  build(g: GraphBuilder): string;
  /** The output's element type when not float32. */
  readonly out?: "bool" | "int32" | "int64";
}
const PROBES: Record<string, Probe> = {
  And: {
    inputs: { p: { dims: [4, 8], type: "bool" }, q: { dims: [4, 8], type: "bool" } },
    build: (g) => g.op("And", ["p", "q"]),
    out: "bool",
  },
  Cast: { inputs: { x: F }, build: (g) => g.op("Cast", ["x"], { to: 6 }), out: "int32" },
  Clip: { inputs: { x: F }, build: (g) => g.op("Clip", ["x", g.constant(-1), g.constant(1)]) },
  Concat: { inputs: { x: F, z: F }, build: (g) => g.op("Concat", ["x", "z"], { axis: -1 }) },
  CumSum: { inputs: { x: F }, build: (g) => g.op("CumSum", ["x", g.constantInt32([0], [])]) },
  Dropout: {
    inputs: { x: F },
    build: (g) =>
      g.op("Dropout", ["x", g.constant(0.5), g.op("Cast", [g.constant(1)], { to: 9 })], {
        seed: 1,
      }),
  },
  Expand: {
    inputs: { x: [1, 8] },
    build: (g) => g.op("Expand", ["x", g.constantInt64([4, 8])]),
  },
  Gather: {
    inputs: { x: F, i: { dims: [3], type: "int32" } },
    build: (g) => g.op("Gather", ["x", "i"], { axis: 0 }),
  },
  GatherElements: {
    inputs: { x: F, i: { dims: [4, 1], type: "int32" } },
    build: (g) => g.op("GatherElements", ["x", "i"], { axis: 1 }),
  },
  Gemm: { inputs: { x: F, z: [8, 4] }, build: (g) => g.op("Gemm", ["x", "z"]) },
  LayerNormalization: {
    inputs: { x: F },
    build: (g) =>
      g.op("LayerNormalization", ["x", g.initializer("w", new Float32Array(8).fill(1), [8])], {
        axis: -1,
      }),
  },
  MatMul: { inputs: { x: F, z: [8, 4] }, build: (g) => g.op("MatMul", ["x", "z"]) },
  NegativeLogLikelihoodLoss: {
    inputs: { x: F, t: { dims: [4], type: "int64" } },
    build: (g) => g.op("NegativeLogLikelihoodLoss", ["x", "t"]),
  },
  OneHot: {
    inputs: { i: { dims: [4], type: "int32" } },
    build: (g) =>
      g.op("OneHot", ["i", g.constantInt64([8]), g.initializer("v", Float32Array.of(0, 1), [2])]),
  },
  Pad: { inputs: { x: F }, build: (g) => g.op("Pad", ["x", g.constantInt64([0, 0, 2, 0])]) },
  RandomUniformLike: {
    inputs: { x: F },
    build: (g) => g.op("RandomUniformLike", ["x"], { dtype: 1, seed: 1 }),
  },
  ReduceLogSumExp: { inputs: { x: F }, build: (g) => reduce(g, "ReduceLogSumExp") },
  ReduceMax: { inputs: { x: F }, build: (g) => reduce(g, "ReduceMax") },
  ReduceMean: { inputs: { x: F }, build: (g) => reduce(g, "ReduceMean") },
  ReduceSum: { inputs: { x: F }, build: (g) => reduce(g, "ReduceSum") },
  ReduceSumSquare: { inputs: { x: F }, build: (g) => reduce(g, "ReduceSumSquare") },
  Reshape: { inputs: { x: F }, build: (g) => g.op("Reshape", ["x", g.constantInt64([8, 4])]) },
  Shape: { inputs: { x: F }, build: (g) => g.op("Shape", ["x"]), out: "int64" },
  Slice: {
    inputs: { x: F },
    build: (g) =>
      g.op("Slice", ["x", g.constantInt64([0]), g.constantInt64([2]), g.constantInt64([0])]),
  },
  Softmax: { inputs: { x: F }, build: (g) => g.op("Softmax", ["x"], { axis: -1 }) },
  SoftmaxCrossEntropyLoss: {
    inputs: { x: F, t: { dims: [4], type: "int64" } },
    build: (g) => g.op("SoftmaxCrossEntropyLoss", ["x", "t"]),
  },
  Split: {
    inputs: { x: F },
    build: (g) => g.opMulti("Split", ["x", g.constantInt64([3, 5])], 2, { axis: -1 })[0],
  },
  Sum: { inputs: { x: F, z: F }, build: (g) => g.op("Sum", ["x", "z", "x"]) },
  Trilu: { inputs: { x: [8, 8] }, build: (g) => g.op("Trilu", ["x"]) },
  Where: {
    inputs: { p: { dims: [4, 8], type: "bool" }, x: F, z: F },
    build: (g) => g.op("Where", ["p", "x", "z"]),
  },
};
for (const op of ["Add", "Sub", "Mul", "Div", "Pow", "Min", "Max"]) PROBES[op] = binaryOp(op);
for (const op of ["Equal", "Greater", "GreaterOrEqual", "Less"]) {
  PROBES[op] = { ...binaryOp(op), out: "bool" };
}

function reduce(g: GraphBuilder, op: string): string {
  return g.op(op, ["x", g.constantInt64([-1])], { keepdims: 1 });
}

/** Whether a one-node graph of `op` opens and runs on WebGPU with CPU fallback disabled. */
async function opRuns(op: string): Promise<{ runs: boolean; message?: string }> {
  const probe: Probe = PROBES[op] ?? unaryOp(op);
  const g = new GraphBuilder();
  g.output(probe.build(g), "y");
  const y: ValueSpec = probe.out ? { dims: ["n"], type: probe.out } : ["d0", "d1"];
  const bytes = g.model({ inputs: probe.inputs, outputs: { y } });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, spec] of Object.entries(probe.inputs)) {
    const { dims: d, type } = Array.isArray(spec) ? { dims: spec, type: "float32" } : spec;
    const dims = d as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[name] = type === "float32"
      ? new ort.Tensor("float32", Float32Array.from({ length: n }, (_, i) => Math.sin(i)), dims)
      : type === "int32"
      ? new ort.Tensor("int32", Int32Array.from({ length: n }, (_, i) => i % 3), dims)
      : type === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3)), dims)
      : new ort.Tensor("bool", Uint8Array.from({ length: n }, (_, i) => i % 2), dims);
  }
  try {
    const { session } = await createOrtSession(bytes, { provider: "webgpu" });
    await session.run(feeds);
    await session.release();
    return { runs: true };
  } catch (e) {
    return { runs: false, message: String(e).split("\n")[0].slice(0, 200) };
  }
}

async function main(job: string): Promise<void> {
  const icd = Deno.env.get("VK_DRIVER_FILES") ?? Deno.env.get("VK_ICD_FILENAMES") ?? null;
  let ok = true, reason = "";
  try {
    await resolveOrtProvider("webgpu");
  } catch (e) {
    ok = false;
    reason = (e as Error).message.split("\n")[0];
  }
  // ONNX Runtime's drivers first, before Deno's own WebGPU loads any into this process.
  const ortAdapter = await ortWebgpuAdapter();
  const deno = await webgpuAdapter();
  print({
    kind: "status",
    ok,
    reason,
    icd,
    ort: {
      name: ortAdapter.name,
      drivers: ortAdapter.drivers.map((d) => d.name),
      software: ortAdapter.software ?? null,
    },
    deno,
  });
  if (!ok || job === "status") return;
  await initEngine({ backend: "cpu" });
  for (const name of webgpuTestActivations()) {
    const t0 = performance.now();
    try {
      const result = await trainBoth(name);
      print({ kind: "train", activation: name, ...result, ms: performance.now() - t0 });
    } catch (e) {
      print({ kind: "train", activation: name, error: String(e) });
    }
    try {
      print({ kind: "logits", activation: name, ...await logitsBoth(name) });
    } catch (e) {
      print({ kind: "logits", activation: name, error: String(e) });
    }
  }
  try {
    print({ kind: "trainGpt", ...await trainGptBoth() });
  } catch (e) {
    print({ kind: "trainGpt", error: String(e) });
  }
  try {
    print({ kind: "muon", ...await muonBoth() });
  } catch (e) {
    print({ kind: "muon", error: String(e) });
  }
  try {
    print({ kind: "dropout", activation: "gelu", ...await trainBoth("gelu", 0.2) });
  } catch (e) {
    print({ kind: "dropout", error: String(e) });
  }
  try {
    // biases as Gemm C inputs, split by linearSplit; the untied head as its own weight
    const extras = { bias: true, tiedEmbeddings: false };
    print({ kind: "biases", activation: "swiglu", ...await trainBoth("swiglu", 0, extras) });
  } catch (e) {
    print({ kind: "biases", error: String(e) });
  }
  const probed = PROVIDER_OPS.providers.webgpu as unknown as {
    probed: { present: string[]; absent: string[] };
  };
  for (const [expected, ops] of [[true, probed.probed.present], [false, probed.probed.absent]]) {
    for (const op of ops as string[]) print({ kind: "ops", op, expected, ...await opRuns(op) });
  }
  // A graph with an op WebGPU lacks, opened without rewriting: must fail, not fall back.
  const g = new GraphBuilder();
  g.output(g.op("Celu", ["x"]), "y");
  const fallback = await opRunsBytes(g.model({ inputs: { x: [4] }, outputs: { y: [4] } }));
  print({ kind: "fallback", ...fallback });
}

async function opRunsBytes(bytes: Uint8Array): Promise<{ opened: boolean; message?: string }> {
  try {
    const { session } = await createOrtSession(bytes, { provider: "webgpu" });
    await session.release();
    return { opened: true };
  } catch (e) {
    return { opened: false, message: (e as Error).message.split("\n")[0] };
  }
}

if (import.meta.main) await main(Deno.args[0] ?? "status");
