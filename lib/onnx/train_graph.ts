/**
 * The compiled training step of the mini-GPT as one ONNX graph: forward pass (the model's own
 * definition, recorded by a {@link GradientTape}), cross-entropy loss, backward pass, global
 * gradient-norm clipping and the AdamW update. Inputs are every parameter, AdamW's two moments per
 * parameter, three step scalars and the batch; outputs the updated parameters and moments, the
 * loss and the gradient norm. A training loop feeds the outputs back as the next step's inputs, so
 * nothing is re-encoded per step.
 *
 * Value names: a parameter is its checkpoint key (`h.0.attn.c_attn.weight`); its moments are
 * `adam_m/<key>` and `adam_v/<key>`; updated values are prefixed `next/`, gradients `grad/`.
 *
 * @module
 */
import type { ActivationDef } from "../activations/types.ts";
import type { OrtProvider } from "../engine/ort.ts";
import type { GptConfig, TrainConfig } from "../gpt/config.ts";
import { assembleParams, gptLoss, gptParamSpecs, type ParamSpec } from "../gpt/model.ts";
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
export const adamNames = (name: string): { m: string; v: string } => ({
  m: `adam_m/${name}`,
  v: `adam_v/${name}`,
});

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
  /** Training hyper-parameters (β1, β2, ε, weight decay, clip) baked into a `step` graph. */
  readonly train?: Pick<TrainConfig, "beta1" | "beta2" | "adamEps" | "weightDecay" | "gradClip">;
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
 * Step graph inputs: every parameter (checkpoint keys), `adam_m/<key>`, `adam_v/<key>`, the
 * float scalars of {@link STEP_SCALARS}, `x`, `y` int32 [B, T] and, when the model has dropout,
 * the int32 scalar {@link DROPOUT_STEP}. Outputs: `loss`, `grad_norm` (before clipping) and
 * `next/<name>` for every parameter and moment. The update is `torch.optim.AdamW`'s after
 * `clip_grad_norm_`: g ← g·min(1, clip/(‖g‖ + 1e-6)); m ← β1m + (1 − β1)g; v ← β2v + (1 − β2)g²;
 * p ← p·(1 − lr·wd) (decay group only) − lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + ε), computed as
 * step_size·m/(√v + eps_hat).
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
    const { beta1, beta2, weightDecay, gradClip } = train;
    // Global gradient norm and the clipping coefficient.
    const squares = specs.map((s) =>
      g.op("ReduceSumSquare", [grads.get(s.name)!], { keepdims: 0 })
    );
    const norm = g.op("Sqrt", [addAll(g, squares)]);
    g.output(norm, "grad_norm");
    outputs.grad_norm = [];
    const coef = gradClip > 0
      ? g.op("Min", [
        g.constant(1),
        g.op("Div", [g.constant(gradClip), g.op("Add", [norm, g.constant(1e-6)])]),
      ])
      : g.constant(1);
    // Scalars shared by every parameter: (1 − β1)·coef and (1 − β2)·coef².
    const c1 = g.op("Mul", [coef, g.constant(1 - beta1)]);
    const c2 = g.op("Mul", [g.op("Mul", [coef, coef]), g.constant(1 - beta2)]);
    for (const name of STEP_SCALARS) inputs[name] = [];
    const [stepSize, epsHat, decayFactor] = STEP_SCALARS;
    const b1 = g.constant(beta1), b2 = g.constant(beta2);
    for (const s of specs) {
      const { m, v } = adamNames(s.name);
      inputs[m] = [...s.shape];
      inputs[v] = [...s.shape];
      const grad = grads.get(s.name)!;
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
        g.output(value, nextName(target));
        outputs[nextName(target)] = [...s.shape];
      }
    }
  }
  prune(g, Object.keys(outputs), Object.keys(inputs));
  lowerForProvider(g, options.provider ?? "cpu");
  return { g, inputs, outputs, specs, batchShape: [b, t] as [number, number], kind };
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
 * ONNX `Loop` whose state is every parameter and moment. A session call moves the state between
 * host and device once for K steps — the way to amortise those copies on ONNX Runtime's CUDA
 * provider, whose outputs onnxruntime-node can only deliver to host memory.
 *
 * Inputs: every parameter and moment (as the step graph), and per step, stacked on a first axis
 * of length K ({@link stackedName}): `steps/x`, `steps/y` int32 [K, B, T], the float scalars
 * `steps/<STEP_SCALARS>` [K] and, with dropout, `steps/dropout_step` int32 [K]. Outputs:
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
  const state = [
    ...step.specs.map((s) => s.name),
    ...step.specs.flatMap((s) => [adamNames(s.name).m, adamNames(s.name).v]),
  ];
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
