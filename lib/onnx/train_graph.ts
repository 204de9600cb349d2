/**
 * The compiled training step of the mini-GPT as one ONNX graph: forward pass (the model's own
 * definition, recorded by a {@link GradientTape}), cross-entropy loss, backward pass, global
 * gradient-norm clipping and the optimizer's update — AdamW, or Muon for the blocks' matrices
 * with AdamW for the rest (the config's `optimizer`; Muon's update is `lib/gpt/muon.ts`'s, written
 * once and built here from graph values: matrix products, transposes, elementwise arithmetic).
 * Inputs are every parameter, the optimizer's buffers, the step scalars and the batch; outputs the
 * updated parameters and buffers, the loss and the gradient norm. A training loop feeds the
 * outputs back as the next step's inputs, so nothing is re-encoded per step.
 *
 * Value names: a parameter is its checkpoint key (`h.0.attn.c_attn.weight`); its optimizer
 * buffers are `adam_m/<key>` and `adam_v/<key>` (AdamW), or `muon_m/<key>` (Muon's momentum;
 * `lib/gpt/optimizer.ts`); updated values are prefixed `next/`, gradients `grad/`.
 *
 * @module
 */
import type { ActivationDef } from "../activations/types.ts";
import type { OrtProvider } from "../engine/ort.ts";
import { type GptConfig, optimizerSettings, type TrainConfig } from "../gpt/config.ts";
import { assembleParams, gptLoss, gptParamSpecs, type ParamSpec } from "../gpt/model.ts";
import { type MatrixArith, muonUpdate } from "../gpt/muon.ts";
import { adamBufferNames, muonBufferName, optimizerBuffers } from "../gpt/optimizer.ts";
import { GraphBuilder, ONNX_TYPES, type ValueSpec } from "./builder.ts";
import { GradientTape } from "./tape.ts";
import { onnxTraceOps } from "./trace.ts";
import { lowerForProvider } from "./provider_ops.ts";
import { addAll } from "./_reverse.ts";

/**
 * Names of the AdamW moment inputs of parameter `name`.
 *
 * @example
 * ```ts
 * import { adamNames } from "@actlab/actlab/onnx";
 * console.assert(adamNames("wte.weight").m === "adam_m/wte.weight");
 * ```
 */
export const adamNames = (name: string): { m: string; v: string } => adamBufferNames(name);

/**
 * Name of the updated value of an input in the step graph's outputs.
 *
 * @example
 * ```ts
 * import { nextName } from "@actlab/actlab/onnx";
 * console.assert(nextName("adam_v/wte.weight") === "next/adam_v/wte.weight");
 * ```
 */
export const nextName = (name: string): string => `next/${name}`;

/**
 * Name of a parameter's gradient in the gradient graph's outputs.
 *
 * @example
 * ```ts
 * import { gradName } from "@actlab/actlab/onnx";
 * console.assert(gradName("ln_f.weight") === "grad/ln_f.weight");
 * ```
 */
export const gradName = (name: string): string => `grad/${name}`;

/**
 * The step graph's scalar inputs, computed per step t on the host (float64, then float32):
 * `step_size` = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), `eps_hat` = ε·√(1 − β2ᵗ), `decay_factor` = 1 − lr·wd.
 *
 * @example
 * ```ts
 * import { STEP_SCALARS } from "@actlab/actlab/onnx";
 * console.assert(STEP_SCALARS.length === 3);
 * ```
 */
export const STEP_SCALARS = ["step_size", "eps_hat", "decay_factor"] as const;

/**
 * The values of {@link STEP_SCALARS} for AdamW step `t` (1-based) at learning rate `lr`.
 *
 * @example
 * ```ts
 * import { stepScalars } from "@actlab/actlab/onnx";
 * const [stepSize] = stepScalars(1, 1e-3, { beta1: 0.9, beta2: 0.99, adamEps: 1e-8, weightDecay: 0.1 });
 * console.assert(Math.abs(stepSize - 1e-3 * Math.sqrt(0.01) / 0.1) < 1e-12);
 * ```
 */
export function stepScalars(
  t: number,
  lr: number,
  config: Pick<TrainConfig, "beta1" | "beta2" | "adamEps" | "weightDecay">,
): [stepSize: number, epsHat: number, decayFactor: number] {
  const bc2Sqrt = Math.sqrt(1 - config.beta2 ** t);
  return [
    lr * bc2Sqrt / (1 - config.beta1 ** t),
    config.adamEps * bc2Sqrt,
    1 - lr * config.weightDecay,
  ];
}

/** The training-config fields a step graph bakes in or computes its step scalars from. */
export type StepGraphTrain = Pick<
  TrainConfig,
  | "beta1"
  | "beta2"
  | "adamEps"
  | "weightDecay"
  | "gradClip"
  | "optimizer"
  | "muonLrRatio"
  | "muonMomentum"
  | "muonWeightDecay"
>;

/**
 * The step graph's float scalar inputs for a config: {@link STEP_SCALARS} (AdamW's, for the
 * parameters AdamW updates), and with Muon `muon_lr` (Muon's learning rate this step) and, when
 * Muon has weight decay, `muon_decay_factor` = 1 − muon_lr·wd.
 *
 * @example
 * ```ts
 * import { stepScalarNames } from "@actlab/actlab/onnx";
 * console.assert(stepScalarNames({}).length === 3);
 * console.assert(stepScalarNames({ optimizer: "muon" }).at(-1) === "muon_lr");
 * ```
 */
export function stepScalarNames(
  train: Pick<TrainConfig, "optimizer" | "muonWeightDecay">,
): string[] {
  const s = optimizerSettings(train);
  if (s.optimizer === "adamw") return [...STEP_SCALARS];
  return [...STEP_SCALARS, "muon_lr", ...(s.muonWeightDecay !== 0 ? ["muon_decay_factor"] : [])];
}

/**
 * The values of {@link stepScalarNames} for optimizer step `t` (1-based) at the schedule's
 * learning rate `lr` (AdamW's; Muon's is `lr · muonLrRatio`).
 *
 * @example
 * ```ts
 * import { stepScalarValues } from "@actlab/actlab/onnx";
 * const train = { beta1: 0.9, beta2: 0.99, adamEps: 1e-8, weightDecay: 0.1, optimizer: "muon" as const };
 * console.assert(Math.abs(stepScalarValues(1, 1e-3, train)[3] - 0.02) < 1e-15); // 20 × lr
 * ```
 */
export function stepScalarValues(
  t: number,
  lr: number,
  train: Pick<
    StepGraphTrain,
    "beta1" | "beta2" | "adamEps" | "weightDecay" | "optimizer" | "muonLrRatio" | "muonWeightDecay"
  >,
): number[] {
  const s = optimizerSettings(train);
  const adam = stepScalars(t, lr, train);
  if (s.optimizer === "adamw") return adam;
  const muonLr = lr * s.muonLrRatio;
  return [...adam, muonLr, ...(s.muonWeightDecay !== 0 ? [1 - muonLr * s.muonWeightDecay] : [])];
}

/**
 * The int32 scalar input of a training graph whose model has dropout: the optimizer step t, mixed
 * into every dropout mask (so each step drops different elements, the same on every provider).
 *
 * @example
 * ```ts
 * import { DROPOUT_STEP } from "@actlab/actlab/onnx";
 * console.assert(DROPOUT_STEP === "dropout_step");
 * ```
 */
export const DROPOUT_STEP = "dropout_step";

/** What a compiled graph takes and gives, with the bytes. */
export interface CompiledGraph {
  /** The encoded ONNX ModelProto. */
  readonly bytes: Uint8Array;
  /** Parameter specs, in the order of the inputs. */
  readonly specs: readonly ParamSpec[];
  /** Batch shape [B, T] the graph is compiled for. */
  readonly batchShape: readonly [number, number];
  /** Number of nodes. */
  readonly nodeCount: number;
}

/** Options of {@link gptTrainingGraph}. */
export interface TrainingGraphOptions {
  /** Sequences per batch B. */
  readonly batchSize: number;
  /** Sequence length T (≤ blockSize). Default the config's blockSize. */
  readonly seqLen?: number;
  /**
   * `step`: the whole optimizer step (needs `train`); `gradients`: loss and the raw gradients
   * (`grad/<key>`) only, for checks against another engine.
   */
  readonly kind?: "step" | "gradients";
  /**
   * Training hyper-parameters baked into a `step` graph: the optimizer, β1, β2, ε, weight decay,
   * clip, and Muon's momentum (its learning rate and decay factor are step scalars).
   */
  readonly train?: StepGraphTrain;
  /** Seed of the dropout nodes (when the config's dropout is > 0). Default 0. */
  readonly dropoutSeed?: number;
  /**
   * The execution provider the graph is for: ops it lacks are rewritten into primitives it has
   * (`lowerForProvider`). Default `cpu` (no rewrite).
   */
  readonly provider?: OrtProvider;
}

/**
 * Removes nodes whose outputs reach no graph output (e.g. a transpose the tied head bypasses),
 * and initializers nothing reads; and renames values that feed a graph output through an
 * `Identity` (from `g.output`) to the output's name, so ONNX Runtime writes them in place
 * instead of copying.
 */
function prune(g: GraphBuilder, outputs: readonly string[], inputs: readonly string[]): void {
  const producer = new Map<string, number>();
  g.nodes.forEach((node, i) => {
    for (const o of node.output as string[]) producer.set(o, i);
  });
  const isOutput = new Set(outputs);
  const graphInputs = new Set(inputs);
  const rename = new Map<string, string>();
  const dropped = new Set<number>();
  g.nodes.forEach((node, i) => {
    if (node.opType !== "Identity" || !isOutput.has(node.output[0])) return;
    const source = node.input[0] as string;
    // Not for graph inputs, initializers, outputs, or values already renamed.
    if (graphInputs.has(source) || isOutput.has(source) || rename.has(source)) return;
    if (!producer.has(source)) return;
    rename.set(source, node.output[0]);
    dropped.add(i);
  });
  if (rename.size > 0) {
    const nodes = g.nodes.filter((_, i) => !dropped.has(i));
    for (const node of nodes) {
      node.input = (node.input as string[]).map((n) => rename.get(n) ?? n);
      node.output = (node.output as string[]).map((n) => rename.get(n) ?? n);
    }
    g.nodes.length = 0;
    g.nodes.push(...nodes);
  }
  const needed = new Set(outputs);
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i];
    if ((node.output as string[]).some((o) => needed.has(o))) {
      keep[i] = true;
      for (const input of node.input as string[]) if (input) needed.add(input);
    }
  }
  const kept = g.nodes.filter((_, i) => keep[i]);
  g.nodes.length = 0;
  g.nodes.push(...kept);
  const inits = g.initializers.filter((t) => needed.has(t.name));
  g.initializers.length = 0;
  g.initializers.push(...inits);
}

/**
 * The mini-GPT's training step (or gradient computation) as an ONNX graph for a fixed batch
 * shape. Static shapes let the backward pass resolve broadcasting while building and let ONNX
 * Runtime plan memory once.
 *
 * Step graph inputs: every parameter (checkpoint keys), the optimizer's buffers (`adam_m/<key>`,
 * `adam_v/<key>`, and with Muon `muon_m/<key>`: `optimizerBuffers` of `lib/gpt/optimizer.ts`), the
 * float scalars of {@link stepScalarNames}, `x`, `y` int32 [B, T] and, when the model has dropout,
 * the int32 scalar {@link DROPOUT_STEP}. Outputs: `loss`, `grad_norm` (before clipping) and
 * `next/<name>` for every parameter and buffer. The AdamW update is `torch.optim.AdamW`'s after
 * `clip_grad_norm_`: g ← g·min(1, clip/(‖g‖ + 1e-6)); m ← β1m + (1 − β1)g; v ← β2v + (1 − β2)g²;
 * p ← p·(1 − lr·wd) (decay group only) − lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + ε), computed as
 * step_size·m/(√v + eps_hat). Muon's (`muonUpdate`) takes the clipped gradient too.
 *
 * @example
 * ```ts
 * import { getActivation, gptConfig } from "@actlab/actlab";
 * import { gptTrainingGraph } from "@actlab/actlab/onnx";
 * import { trainConfig } from "@actlab/actlab/gpt";
 * const config = gptConfig({ preset: "tiny", vocabSize: 12 });
 * const graph = gptTrainingGraph(config, getActivation("gelu"), {
 *   batchSize: 4,
 *   train: trainConfig({ preset: "tiny" }),
 * });
 * console.assert(graph.bytes.length > 0 && graph.batchShape.join() === "4,16");
 * ```
 */
export function gptTrainingGraph(
  config: GptConfig,
  activation: ActivationDef,
  options: TrainingGraphOptions,
): CompiledGraph {
  const { g, inputs, outputs, specs, batchShape, kind } = buildTrainingGraph(
    config,
    activation,
    options,
  );
  const bytes = g.model({
    inputs,
    outputs,
    name: `gpt_${activation.name}_${kind}`,
    docString: JSON.stringify({ actlab: `mini-GPT ${kind} graph`, config, batch: batchShape }),
  });
  return { bytes, specs, batchShape, nodeCount: g.nodes.length };
}

/** The step (or gradient) graph before encoding, pruned and rewritten for the provider. */
function buildTrainingGraph(
  config: GptConfig,
  activation: ActivationDef,
  options: TrainingGraphOptions,
) {
  const kind = options.kind ?? "step";
  const b = options.batchSize;
  const t = options.seqLen ?? config.blockSize;
  if (!Number.isInteger(b) || b < 1 || !Number.isInteger(t) || t < 1 || t > config.blockSize) {
    throw new RangeError(
      `gptTrainingGraph: batch [${b}, ${t}] must be positive integers with T ≤ blockSize ` +
        `${config.blockSize}`,
    );
  }
  const specs = gptParamSpecs(config, activation);
  const g = new GraphBuilder();
  const training = config.dropout > 0;
  const tape = new GradientTape(g, {
    training,
    dropoutSeed: options.dropoutSeed ?? 0,
    dropoutStep: training ? DROPOUT_STEP : undefined,
    fusedLayerNorm: (options.provider ?? "cpu") === "cpu",
  });
  const inputs: Record<string, ValueSpec> = {};
  const outputs: Record<string, ValueSpec> = {};
  if (training) inputs[DROPOUT_STEP] = { dims: [], type: "int32" };
  for (const s of specs) {
    tape.input(s.name, s.shape, { requiresGrad: true });
    inputs[s.name] = [...s.shape];
  }
  const idx = { dims: [b, t], type: "int32" as const };
  inputs.x = idx;
  inputs.y = idx;
  tape.input("x", [b, t], { dtype: "int32" });
  tape.input("y", [b, t], { dtype: "int32" });
  const params = assembleParams(config, activation, (name) => name);
  const loss = gptLoss(tape.ops, params, config, activation, "x", "y");
  const grads = tape.gradients(loss, specs.map((s) => s.name));
  g.output(loss, "loss");
  outputs.loss = [];

  if (kind === "gradients") {
    for (const s of specs) {
      g.output(grads.get(s.name)!, gradName(s.name));
      outputs[gradName(s.name)] = [...s.shape];
    }
  } else {
    const train = options.train;
    if (!train) throw new TypeError("gptTrainingGraph: kind 'step' needs options.train");
    appendOptimizerStep(g, specs, grads, train, { inputs, outputs });
  }
  prune(g, Object.keys(outputs), Object.keys(inputs));
  lowerForProvider(g, options.provider ?? "cpu");
  // The values a step carries to the next: parameters, then the optimizer's buffers.
  const state = kind === "step"
    ? [...specs.map((s) => s.name), ...optimizerBuffers(specs, options.train!).map((b) => b.name)]
    : [];
  return { g, inputs, outputs, specs, state, batchShape: [b, t] as [number, number], kind };
}

/**
 * Appends the optimizer's step to a graph that has the parameters (graph inputs named by their
 * checkpoint keys) and their gradients (`grads`): the global gradient norm (output `grad_norm`),
 * the clipping factor, and each parameter's AdamW or Muon update with its buffers as new inputs
 * and `next/<name>` outputs; the step scalars ({@link stepScalarNames}) become inputs.
 */
function appendOptimizerStep(
  g: GraphBuilder,
  specs: readonly ParamSpec[],
  grads: ReadonlyMap<string, string>,
  train: StepGraphTrain,
  { inputs, outputs }: {
    readonly inputs: Record<string, ValueSpec>;
    readonly outputs: Record<string, ValueSpec>;
  },
): void {
  const { beta1, beta2, weightDecay, gradClip } = train;
  const settings = optimizerSettings(train);
  // Global gradient norm and the clipping coefficient.
  const squares = specs.map((s) => g.op("ReduceSumSquare", [grads.get(s.name)!], { keepdims: 0 }));
  const norm = g.op("Sqrt", [addAll(g, squares)]);
  g.output(norm, "grad_norm");
  outputs.grad_norm = [];
  const coef = gradClip > 0
    ? g.op("Min", [
      g.constant(1),
      g.op("Div", [g.constant(gradClip), g.op("Add", [norm, g.constant(1e-6)])]),
    ])
    : g.constant(1);
  const next = (value: string, target: string, shape: readonly number[]) => {
    g.output(value, nextName(target));
    outputs[nextName(target)] = [...shape];
  };
  // AdamW's scalars shared by every parameter: (1 − β1)·coef and (1 − β2)·coef².
  const c1 = g.op("Mul", [coef, g.constant(1 - beta1)]);
  const c2 = g.op("Mul", [g.op("Mul", [coef, coef]), g.constant(1 - beta2)]);
  for (const name of stepScalarNames(train)) inputs[name] = [];
  const [stepSize, epsHat, decayFactor] = STEP_SCALARS;
  const b1 = g.constant(beta1), b2 = g.constant(beta2);
  // Muon's update (lib/gpt/muon.ts) for its matrices; its learning rate and decay are step inputs.
  const muon = settings.optimizer !== "muon" ? undefined : {
    o: graphMatrixArith(g),
    k: {
      gradScale: coef,
      momentum: g.constant(settings.muonMomentum),
      oneMinusMomentum: g.constant(1 - settings.muonMomentum),
      lr: "muon_lr",
      shrink: settings.muonWeightDecay !== 0 ? "muon_decay_factor" : undefined,
    },
    buffers: new Set(optimizerBuffers(specs, train).map((b) => b.name)),
  };
  for (const s of specs) {
    const grad = grads.get(s.name)!;
    if (muon?.buffers.has(muonBufferName(s.name))) {
      const m = muonBufferName(s.name);
      inputs[m] = [...s.shape];
      const [pNext, mNext] = muonUpdate(muon.o, muon.k, s.name, grad, m, s.shape);
      next(pNext, s.name, s.shape);
      next(mNext, m, s.shape);
      continue;
    }
    const { m, v } = adamNames(s.name);
    inputs[m] = [...s.shape];
    inputs[v] = [...s.shape];
    const mNext = g.op("Add", [g.op("Mul", [m, b1]), g.op("Mul", [grad, c1])]);
    const vNext = g.op("Add", [
      g.op("Mul", [v, b2]),
      g.op("Mul", [g.op("Mul", [grad, grad]), c2]),
    ]);
    // lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + ε) = step_size·m/(√v + eps_hat): one pass fewer
    const denom = g.op("Add", [g.op("Sqrt", [vNext]), epsHat]);
    const update = g.op("Mul", [g.op("Div", [mNext, denom]), stepSize]);
    const decayed = s.decay && weightDecay !== 0 ? g.op("Mul", [s.name, decayFactor]) : s.name;
    const pNext = g.op("Sub", [decayed, update]);
    for (const [value, target] of [[pNext, s.name], [mNext, m], [vNext, v]]) {
      next(value, target, s.shape);
    }
  }
}

/**
 * The optimizer's step alone as an ONNX graph, for checks against another implementation of the
 * same update: the step graph's optimizer part ({@link gptTrainingGraph} builds it with the same
 * code) with the gradients as inputs. Inputs: every parameter, the optimizer's buffers, the
 * gradients `grad/<key>` and the step scalars ({@link stepScalarNames}); outputs: `grad_norm`
 * (before clipping) and `next/<name>` for every parameter and buffer.
 *
 * @example
 * ```ts
 * import { getActivation, gptConfig } from "@actlab/actlab";
 * import { gptParamSpecs, trainConfig } from "@actlab/actlab/gpt";
 * import { optimizerStepGraph } from "@actlab/actlab/onnx";
 * const specs = gptParamSpecs(gptConfig({ preset: "tiny", vocabSize: 12 }), getActivation("gelu"));
 * const bytes = optimizerStepGraph(specs, trainConfig({ preset: "tiny", optimizer: "muon" }));
 * console.assert(bytes.length > 0);
 * ```
 */
export function optimizerStepGraph(
  specs: readonly ParamSpec[],
  train: StepGraphTrain,
  options: { readonly provider?: OrtProvider } = {},
): Uint8Array {
  const g = new GraphBuilder();
  const inputs: Record<string, ValueSpec> = {};
  const outputs: Record<string, ValueSpec> = {};
  const grads = new Map<string, string>();
  for (const s of specs) {
    inputs[s.name] = [...s.shape];
    inputs[gradName(s.name)] = [...s.shape];
    grads.set(s.name, gradName(s.name));
  }
  appendOptimizerStep(g, specs, grads, train, { inputs, outputs });
  prune(g, Object.keys(outputs), Object.keys(inputs));
  lowerForProvider(g, options.provider ?? "cpu");
  return g.model({ inputs, outputs, name: `${optimizerSettings(train).optimizer}_step` });
}

/** Muon's {@link MatrixArith} on graph values: each operation one node. */
function graphMatrixArith(g: GraphBuilder): MatrixArith<string> {
  return {
    constant: (x) => g.constant(x),
    add: (a, b) => g.op("Add", [a, b]),
    sub: (a, b) => g.op("Sub", [a, b]),
    mul: (a, b) => g.op("Mul", [a, b]),
    div: (a, b) => g.op("Div", [a, b]),
    matMul: (a, b) => g.op("MatMul", [a, b]),
    transpose: (a) => g.op("Transpose", [a], { perm: [1, 0] }),
    frobeniusNorm: (a) => g.op("Sqrt", [g.op("ReduceSumSquare", [a], { keepdims: 0 })]),
  };
}

/**
 * Name of a per-step input of the K-step graph ({@link gptTrainingLoopGraph}): the values of
 * step-graph input `name` for all K steps, stacked on a new first axis.
 *
 * @example
 * ```ts
 * import { stackedName } from "@actlab/actlab/onnx";
 * console.assert(stackedName("x") === "steps/x");
 * ```
 */
export const stackedName = (name: string): string => `steps/${name}`;

/**
 * K optimizer steps in one graph: the step graph of {@link gptTrainingGraph} as the body of an
 * ONNX `Loop` whose state is every parameter and optimizer buffer. A session call moves the state between
 * host and device once for K steps — the way to amortise those copies on ONNX Runtime's CUDA
 * provider, whose outputs onnxruntime-node can only deliver to host memory.
 *
 * Inputs: every parameter and optimizer buffer (as the step graph), and per step, stacked on a
 * first axis of length K ({@link stackedName}): `steps/x`, `steps/y` int32 [K, B, T], the float
 * scalars `steps/<stepScalarNames>` [K] and, with dropout, `steps/dropout_step` int32 [K]. Outputs:
 * `next/<name>` after the K steps, and `losses`, `grad_norms` [K].
 *
 * @example
 * ```ts
 * import { getActivation, gptConfig } from "@actlab/actlab";
 * import { gptTrainingLoopGraph } from "@actlab/actlab/onnx";
 * import { trainConfig } from "@actlab/actlab/gpt";
 * const graph = gptTrainingLoopGraph(gptConfig({ preset: "tiny", vocabSize: 12 }), getActivation("relu"), {
 *   batchSize: 2,
 *   steps: 4,
 *   train: trainConfig({ preset: "tiny" }),
 * });
 * console.assert(graph.bytes.length > 0);
 * ```
 */
export function gptTrainingLoopGraph(
  config: GptConfig,
  activation: ActivationDef,
  options: Omit<TrainingGraphOptions, "kind"> & { readonly steps: number },
): CompiledGraph & { readonly steps: number } {
  const k = options.steps;
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`gptTrainingLoopGraph: steps must be a positive integer, got ${k}`);
  }
  const step = buildTrainingGraph(config, activation, { ...options, kind: "step" });
  const body = step.g;
  const state = step.state;
  const perStep = Object.keys(step.inputs).filter((name) => !state.includes(name));
  // Each iteration picks its slice of the stacked inputs: x = steps/x[iter], …
  const picks = perStep.map((name) => ({
    opType: "Gather",
    input: [stackedName(name), "loop_iter"],
    output: [name],
    name: `pick_${name}`,
    attribute: [{ name: "axis", type: 2, i: 0 }],
  }));
  body.nodes.unshift(...picks);
  // The body's own names for the state and its results, so none shadows an outer value (SSA).
  const inner = (name: string) => `iter/${name}`;
  const renamed = new Set([...state, ...state.map(nextName), "loss", "grad_norm"]);
  for (const node of body.nodes) {
    node.input = (node.input as string[]).map((n) => (renamed.has(n) ? inner(n) : n));
    node.output = (node.output as string[]).map((n) => (renamed.has(n) ? inner(n) : n));
  }
  body.output("loop_cond", "loop_cond_out");
  const bodyInputs: Record<string, ValueSpec> = {
    loop_iter: { dims: [], type: "int64" },
    loop_cond: { dims: [], type: "bool" },
  };
  const bodyOutputs: Record<string, ValueSpec> = { loop_cond_out: { dims: [], type: "bool" } };
  for (const name of state) {
    bodyInputs[inner(name)] = step.inputs[name];
    bodyOutputs[inner(nextName(name))] = step.inputs[name];
  }
  bodyOutputs[inner("loss")] = [];
  bodyOutputs[inner("grad_norm")] = [];
  const graph = body.graph({ inputs: bodyInputs, outputs: bodyOutputs, name: "step" });

  const g = new GraphBuilder();
  const inputs: Record<string, ValueSpec> = {};
  for (const name of state) inputs[name] = step.inputs[name];
  for (const name of perStep) {
    const spec = step.inputs[name];
    inputs[stackedName(name)] = Array.isArray(spec)
      ? [k, ...spec]
      : { dims: [k, ...spec.dims], type: spec.type };
  }
  const trips = g.fresh("trips");
  g.initializers.push({ name: trips, dataType: ONNX_TYPES.int64, dims: [], rawData: int64(k) });
  const always = g.fresh("always");
  g.initializers.push({
    name: always,
    dataType: ONNX_TYPES.bool,
    dims: [],
    rawData: Uint8Array.of(1),
  });
  const outputs: Record<string, ValueSpec> = {};
  for (const name of state) outputs[nextName(name)] = step.inputs[name];
  outputs.losses = [k];
  outputs.grad_norms = [k];
  g.nodes.push({
    opType: "Loop",
    input: [trips, always, ...state],
    output: [...state.map(nextName), "losses", "grad_norms"],
    name: "steps",
    attribute: [{ name: "body", type: 5, g: graph }],
  });
  const bytes = g.model({
    inputs,
    outputs,
    name: `gpt_${activation.name}_loop${k}`,
    docString: JSON.stringify({
      actlab: `mini-GPT ${k}-step graph`,
      config,
      batch: step.batchShape,
    }),
  });
  return {
    bytes,
    specs: step.specs,
    batchShape: step.batchShape,
    nodeCount: body.nodes.length,
    steps: k,
  };
}

/** Little-endian bytes of an int64 scalar. */
const int64 = (v: number) => new Uint8Array(BigInt64Array.of(BigInt(v)).buffer);

/**
 * The mini-GPT's mean cross-entropy with the parameters as graph inputs (not initializers), so an
 * evaluation session reads the weights a training session produced without re-encoding.
 * Inputs: every parameter, `x` and `y` int32 [batch, seq] (dynamic); output `loss`. With
 * `provider`, ops it lacks are rewritten into primitives.
 *
 * @example
 * ```ts
 * import { getActivation, gptConfig } from "@actlab/actlab";
 * import { gptLossGraph } from "@actlab/actlab/onnx";
 * const bytes = gptLossGraph(gptConfig({ preset: "tiny", vocabSize: 12 }), getActivation("relu"));
 * console.assert(bytes.length > 0);
 * ```
 */
export function gptLossGraph(
  config: GptConfig,
  activation: ActivationDef,
  options: { readonly provider?: OrtProvider } = {},
): Uint8Array {
  const specs = gptParamSpecs(config, activation);
  const g = new GraphBuilder();
  const inputs: Record<string, ValueSpec> = {};
  for (const s of specs) inputs[s.name] = [...s.shape];
  const idx = { dims: ["batch", "seq"], type: "int32" as const };
  inputs.x = idx;
  inputs.y = idx;
  const params = assembleParams(config, activation, (name) => name);
  g.output(gptLoss(onnxTraceOps(g), params, config, activation, "x", "y"), "loss");
  lowerForProvider(g, options.provider ?? "cpu");
  return g.model({ inputs, outputs: { loss: [] }, name: `gpt_${activation.name}_eval` });
}
