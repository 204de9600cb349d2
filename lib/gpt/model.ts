/**
 * The mini-GPT, top to bottom: its parameters (one table), then LayerNorm, causal self-attention,
 * MLP, block, GPT — in the order and with the names of nanoGPT's `model.py`. Pre-LayerNorm
 * blocks, learned positions, the MLP activation taken from the registry by name (unary or gated),
 * optional biases and tied embeddings.
 *
 * The forward pass is written once against {@link Ops}, generic in the tensor type, so the same
 * code runs eagerly on tfjs ({@link Gpt}) and is traced into an ONNX graph by the ONNX engine.
 * Weights are stored `[in, out]` (as GPT-2's Conv1D), so every product is a plain `x @ W`.
 *
 * Shapes: B batch, T sequence length, C = nEmbd, nh = nHead, hs = C / nh, H = MLP hidden, V vocab.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getActivation } from "../activations/mod.ts";
import type { ActivationDef, ActivationKind, TrainableParamSpec } from "../activations/types.ts";
import { createRng } from "../core/rng.ts";
import type { Tokenizer } from "../core/tokenizer.ts";
import { type GptConfig, mlpHiddenSize } from "./config.ts";
import type { Ops } from "./ops.ts";
import { tfjsOps } from "./tfjs_ops.ts";

// ---------------------------------------------------------------------------------------------
// Parameters: one table
//
// `gptParamTable` declares every parameter once — its place in the structure below (whose dotted
// path is its name and checkpoint key), shape, initialisation and weight decay. The specs, the
// structured parameters the forward pass reads, the initial values and the checkpoint keys are all
// derived from it.

/** How a parameter is initialised. */
export type ParamInit =
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "ones" }
  | { readonly kind: "zeros" }
  | { readonly kind: "constant"; readonly value: number };

/** One entry of the parameter table: shape, initialisation and weight decay. */
export interface ParamDecl {
  /** Shape. */
  readonly shape: readonly number[];
  /** Initialisation. */
  readonly init: ParamInit;
  /** AdamW weight decay applies (2-D weights: embeddings and matrices). */
  readonly decay: boolean;
}

/** A table entry with its name. */
export interface ParamSpec extends ParamDecl {
  /** Dotted nanoGPT-style name, e.g. `h.0.attn.c_attn.weight` (the checkpoint key). */
  readonly name: string;
}

/** A linear layer: weight [in, out] (stored as GPT-2's Conv1D, so `y = x @ W`), optional bias. */
export interface LinearParams<T> {
  /** [in, out]. */
  readonly weight: T;
  /** [out], present when `config.bias`. */
  readonly bias?: T;
}

/** A LayerNorm: weight [C], optional bias [C]. */
export interface LayerNormParams<T> {
  /** Scale γ [C]. */
  readonly weight: T;
  /** Shift β [C], present when `config.bias`. */
  readonly bias?: T;
}

/** One transformer block's parameters (nanoGPT names). */
export interface BlockParams<T> {
  /** LayerNorm before attention. */
  readonly ln_1: LayerNormParams<T>;
  /** Attention: fused q, k, v projection [C, 3C] and output projection [C, C]. */
  readonly attn: { readonly c_attn: LinearParams<T>; readonly c_proj: LinearParams<T> };
  /** LayerNorm before the MLP. */
  readonly ln_2: LayerNormParams<T>;
  /**
   * MLP: up projection [C, H] (gated: [C, 2H], gate then value), down projection [H, C], and
   * the activation's own trainable parameters by name (scalars [], per channel [H]), present
   * when the activation declares some (PReLU, xIELU, PolyNorm).
   */
  readonly mlp: {
    readonly c_fc: LinearParams<T>;
    readonly c_proj: LinearParams<T>;
    readonly act?: Readonly<Record<string, T>>;
  };
}

/**
 * All parameters of the GPT (nanoGPT names), with leaves of type `T`: tfjs variables, symbolic
 * names in an ONNX trace, or {@link ParamDecl} in {@link gptParamTable}.
 */
export interface GptParams<T> {
  /** Token embedding: weight [V, C]. */
  readonly wte: { readonly weight: T };
  /** Position embedding: weight [blockSize, C]. */
  readonly wpe: { readonly weight: T };
  /** The blocks. */
  readonly h: readonly BlockParams<T>[];
  /** Final LayerNorm. */
  readonly ln_f: LayerNormParams<T>;
  /** Output head: weight [C, V], absent when embeddings are tied (the head is then `wteᵀ`). */
  readonly lm_head?: { readonly weight: T };
}

/**
 * The parameter table: every parameter of a GPT with this config and activation (or activation
 * kind), in the structure the forward pass reads, with shape, initialisation (as nanoGPT:
 * N(0, initStd) for weights and embeddings, N(0, initStd/√(2·nLayer)) for the residual
 * projections, ones for LayerNorm scales, zeros for biases) and weight decay (2-D weights only).
 * Absent parameters (no biases, tied head) are `undefined`. Given an activation definition that
 * declares trainable parameters, each block's `mlp.act` holds them (`h.{l}.mlp.act.{name}`),
 * with the activation's init and decay; they draw nothing from the seed, so the other weights
 * of a seed stay the same.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { gptParamTable } from "./model.ts";
 * const table = gptParamTable(gptConfig({ preset: "tiny", vocabSize: 10 }), "gated");
 * console.assert(table.h[0].mlp.c_fc.weight.shape.join() === "32,176"); // [C, 2H]
 * console.assert(table.ln_f.weight.init.kind === "ones" && !table.ln_f.weight.decay);
 * ```
 */
export function gptParamTable(
  config: GptConfig,
  activation: ActivationKind | ActivationDef,
): GptParams<ParamDecl> {
  const { vocabSize: V, blockSize, nEmbd: C, nLayer, initStd: std } = config;
  const kind = typeof activation === "string" ? activation : activation.kind;
  const H = mlpHiddenSize(config, kind);
  const trainable = typeof activation === "string" || activation.kind !== "unary"
    ? undefined
    : activation.trainable;
  const residualStd = std / Math.sqrt(2 * nLayer); // GPT-2: residual projections scaled down
  // Matrices and embeddings: N(0, s), decayed. Vectors (LayerNorm, biases): constant, not decayed.
  const matrix = (shape: number[], s = std): ParamDecl => ({
    shape,
    init: { kind: "normal", std: s },
    decay: true,
  });
  const vector = (n: number, init: "ones" | "zeros"): ParamDecl => ({
    shape: [n],
    init: { kind: init },
    decay: false,
  });
  const bias = (n: number) => config.bias ? vector(n, "zeros") : undefined;
  const linear = (inDim: number, outDim: number, s = std): LinearParams<ParamDecl> => ({
    weight: matrix([inDim, outDim], s),
    bias: bias(outDim),
  });
  const layerNorm = (): LayerNormParams<ParamDecl> => ({
    weight: vector(C, "ones"),
    bias: bias(C),
  });
  const actParam = (p: TrainableParamSpec): ParamDecl => ({
    shape: p.shape === "channel" ? [H] : [],
    init: { kind: "constant", value: p.init },
    decay: p.decay,
  });
  const act = () =>
    trainable?.length ? Object.fromEntries(trainable.map((p) => [p.name, actParam(p)])) : undefined;
  return {
    wte: { weight: matrix([V, C]) },
    wpe: { weight: matrix([blockSize, C]) },
    h: Array.from({ length: nLayer }, () => ({
      ln_1: layerNorm(),
      attn: { c_attn: linear(C, 3 * C), c_proj: linear(C, C, residualStd) },
      ln_2: layerNorm(),
      mlp: {
        c_fc: linear(C, kind === "gated" ? 2 * H : H),
        c_proj: linear(H, C, residualStd),
        act: act(),
      },
    })),
    ln_f: layerNorm(),
    lm_head: config.tiedEmbeddings ? undefined : { weight: matrix([C, V]) },
  };
}

/**
 * The table with every entry replaced by `f(entry, name)`, visiting entries in table order (the
 * name is the dotted path: `h.0.attn.c_attn.weight`).
 */
function mapTable<T>(
  table: GptParams<ParamDecl>,
  f: (decl: ParamDecl, name: string) => T,
): GptParams<T> {
  const visit = (node: unknown, path: string): unknown => {
    if (node === undefined) return undefined;
    if (Array.isArray(node)) return node.map((child, i) => visit(child, `${path}.${i}`));
    const obj = node as Record<string, unknown>;
    if ("init" in obj) return f(node as ParamDecl, path);
    const entries = Object.entries(obj).map(([key, child]) => {
      return [key, visit(child, path === "" ? key : `${path}.${key}`)];
    });
    return Object.fromEntries(entries);
  };
  return visit(table, "") as GptParams<T>;
}

/**
 * The parameter table as a list in canonical order: name (the checkpoint key), shape, init and
 * decay of every parameter. The order fixes the initial weights of a seed and the checkpoint
 * layout.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { gptParamSpecs } from "./model.ts";
 * const specs = gptParamSpecs(gptConfig({ preset: "tiny", vocabSize: 10 }), "unary");
 * console.assert(specs[0].name === "wte.weight" && specs[0].shape.join() === "10,32");
 * ```
 */
export function gptParamSpecs(
  config: GptConfig,
  activation: ActivationKind | ActivationDef,
): ParamSpec[] {
  const specs: ParamSpec[] = [];
  mapTable(gptParamTable(config, activation), (decl, name) => specs.push({ name, ...decl }));
  return specs;
}

/**
 * Builds the structured parameters from a lookup by name (`get` is called once per spec, in spec
 * order). Used with tfjs variables here and with symbolic inputs by the ONNX tracer.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { assembleParams } from "./model.ts";
 * const p = assembleParams(gptConfig({ preset: "tiny", vocabSize: 10 }), "unary", (name) => name);
 * console.assert(p.h[1].mlp.c_fc.weight === "h.1.mlp.c_fc.weight");
 * ```
 */
export function assembleParams<T>(
  config: GptConfig,
  activation: ActivationKind | ActivationDef,
  get: (name: string, spec: ParamSpec) => T,
): GptParams<T> {
  return mapTable(gptParamTable(config, activation), (decl, name) => get(name, { name, ...decl }));
}

/**
 * Initial values for every parameter, drawn as the specs say from a seeded generator in spec
 * order: the same seed gives the same weights on every backend.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { gptParamSpecs, initParamValues } from "./model.ts";
 * const specs = gptParamSpecs(gptConfig({ preset: "tiny", vocabSize: 10 }), "unary");
 * const a = initParamValues(specs, 7), b = initParamValues(specs, 7);
 * console.assert(a.get("wte.weight")![0] === b.get("wte.weight")![0]);
 * ```
 */
export function initParamValues(
  specs: readonly ParamSpec[],
  seed: number,
): Map<string, Float32Array> {
  const rng = createRng(seed);
  const out = new Map<string, Float32Array>();
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (spec.init.kind === "ones") v.fill(1);
    else if (spec.init.kind === "constant") v.fill(spec.init.value);
    else if (spec.init.kind === "normal") {
      for (let i = 0; i < n; i++) v[i] = rng.normal() * spec.init.std;
    }
    out.set(spec.name, v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The model, written once against Ops

/** LayerNorm over the channels: [B, T, C] → [B, T, C]. */
function layerNorm<T>(ops: Ops<T>, p: LayerNormParams<T>, x: T, config: GptConfig): T {
  return ops.layerNorm(x, p.weight, p.bias, config.layerNormEps);
}

/** Multi-head attention of every position over itself and the positions before it. */
function causalSelfAttention<T>(
  ops: Ops<T>,
  p: BlockParams<T>["attn"],
  x: T, // [B, T, C]
  config: GptConfig,
): T {
  const { nEmbd: c, nHead: nh } = config;
  const hs = c / nh;
  const [q, k, v] = ops.linearSplit(x, p.c_attn.weight, p.c_attn.bias, [c, c, c]); // 3 × [B, T, C]
  const qh = ops.transpose(ops.splitHeads(q, nh), [0, 2, 1, 3]); // [B, nh, T, hs]
  const kt = ops.transpose(ops.splitHeads(k, nh), [0, 2, 3, 1]); // [B, nh, hs, T]
  const vh = ops.transpose(ops.splitHeads(v, nh), [0, 2, 1, 3]); // [B, nh, T, hs]
  let att = ops.scale(ops.matmul(qh, kt), 1 / Math.sqrt(hs)); // [B, nh, T, T]
  att = ops.softmax(ops.causalMask(att)); // [B, nh, T, T], rows sum to 1 over the past
  att = ops.dropout(att, config.dropout);
  const y = ops.transpose(ops.matmul(att, vh), [0, 2, 1, 3]); // [B, T, nh, hs]
  const merged = ops.mergeHeads(y); // [B, T, C]
  return ops.dropout(ops.linear(merged, p.c_proj.weight, p.c_proj.bias), config.dropout); // [B, T, C]
}

/** Up projection, the activation (unary, or gated on a split of the up projection), down. */
function mlp<T>(
  ops: Ops<T>,
  p: BlockParams<T>["mlp"],
  x: T, // [B, T, C]
  config: GptConfig,
  act: ActivationDef,
): T {
  let h: T;
  if (act.kind === "gated") {
    const hidden = mlpHiddenSize(config, "gated");
    const sizes = [hidden, hidden]; // c_fc is [C, 2H]: gate columns, then value columns
    const [gate, value] = ops.linearSplit(x, p.c_fc.weight, p.c_fc.bias, sizes); // 2 × [B, T, H]
    h = ops.gatedActivation(act, gate, value); // [B, T, H]
  } else {
    const up = ops.linear(x, p.c_fc.weight, p.c_fc.bias); // [B, T, H]
    h = ops.activation(act, up, p.act); // [B, T, H] (p.act: the activation's own parameters)
  }
  return ops.dropout(ops.linear(h, p.c_proj.weight, p.c_proj.bias), config.dropout); // [B, T, C]
}

/** A pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
function block<T>(
  ops: Ops<T>,
  p: BlockParams<T>,
  x: T, // [B, T, C]
  config: GptConfig,
  act: ActivationDef,
): T {
  x = ops.add(x, causalSelfAttention(ops, p.attn, layerNorm(ops, p.ln_1, x, config), config));
  x = ops.add(x, mlp(ops, p.mlp, layerNorm(ops, p.ln_2, x, config), config, act));
  return x; // [B, T, C]
}

/**
 * The GPT forward pass: token ids [B, T] → logits [B, T, V]. Generic in the engine (`ops`).
 *
 * @example
 * ```ts ignore
 * import { gptForward } from "./model.ts";
 * import { tfjsOps } from "./tfjs_ops.ts";
 * const logits = gptForward(tfjsOps(), model.params, model.config, model.activation, ids);
 * ```
 */
export function gptForward<T>(
  ops: Ops<T>,
  params: GptParams<T>,
  config: GptConfig,
  act: ActivationDef,
  idx: T, // [B, T] int
): T {
  const tok = ops.embedding(params.wte.weight, idx); // [B, T, C]
  const pos = ops.positionEmbedding(params.wpe.weight, idx); // [T, C]
  let x = ops.dropout(ops.add(tok, pos), config.dropout); // [B, T, C]
  for (const p of params.h) x = block(ops, p, x, config, act); // [B, T, C]
  x = layerNorm(ops, params.ln_f, x, config); // [B, T, C]
  const head = params.lm_head?.weight ?? ops.transpose(params.wte.weight, [1, 0]); // [C, V]
  return ops.linear(x, head); // [B, T, V]
}

/**
 * Mean next-token cross-entropy of the model on inputs `idx` [B, T] and `targets` [B, T].
 *
 * @example
 * ```ts ignore
 * const loss = gptLoss(tfjsOps(), model.params, model.config, model.activation, x, y);
 * ```
 */
export function gptLoss<T>(
  ops: Ops<T>,
  params: GptParams<T>,
  config: GptConfig,
  act: ActivationDef,
  idx: T,
  targets: T,
): T {
  return ops.crossEntropy(gptForward(ops, params, config, act, idx), targets);
}

// ---------------------------------------------------------------------------------------------
// The tfjs model object

/**
 * Resolves a config's activation in the registry, with a message that says what to do when the
 * name is unknown.
 */
function resolveActivation(name: string): ActivationDef {
  try {
    return getActivation(name);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `GPT config names activation "${name}", which the registry does not know (${msg}). ` +
        `Register it with register() before building or loading the model.`,
      { cause: err },
    );
  }
}

/** A copy of `values` as trainable variables, checked name by name and shape by shape. */
function variablesFor(
  specs: readonly ParamSpec[],
  values: ReadonlyMap<string, tf.Tensor>,
): Map<string, tf.Variable> {
  const vars = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const t = values.get(spec.name);
    if (t === undefined && spec.name.includes(".mlp.act.")) {
      throw new Error(
        `Gpt: missing parameter ${spec.name}: the activation is trainable and this model's ` +
          `values have none of its parameters (saved by a version without trainable ` +
          `activations, or for another activation). Train a new model for this activation.`,
      );
    }
    if (t === undefined) throw new Error(`Gpt: missing parameter ${spec.name}`);
    if (t.shape.join() !== spec.shape.join()) {
      throw new RangeError(
        `Gpt: parameter ${spec.name} has shape [${t.shape}] but the config needs [${spec.shape}]`,
      );
    }
    // A copy: `values` stay the caller's to dispose.
    vars.set(spec.name, tf.tidy(() => tf.variable(t.toFloat(), true)));
  }
  return vars;
}

/**
 * A mini-GPT on tfjs: config, resolved activation, and parameters as tfjs variables.
 * Create one with {@link createGpt}; load one with `loadCheckpoint`.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs";
 * import { createGpt, gptConfig } from "./mod.ts";
 * const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 10 }), { seed: 1 });
 * const logits = tf.tidy(() => model.logits(tf.tensor2d([[1, 2, 3]], [1, 3], "int32")));
 * console.log(logits.shape); // [1, 3, 10]
 * ```
 */
export class Gpt {
  /** The model config. */
  readonly config: GptConfig;
  /** The MLP activation, resolved from the registry. */
  readonly activation: ActivationDef;
  /** MLP hidden width H. */
  readonly hidden: number;
  /** Parameter specs in canonical order. */
  readonly specs: readonly ParamSpec[];
  /** Parameters by name (checkpoint keys), in spec order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Parameters, structured as the forward pass reads them. */
  readonly params: GptParams<tf.Variable>;
  /** The tokenizer, when the model knows its vocabulary (from training data or a checkpoint). */
  tokenizer: Tokenizer | undefined;

  /**
   * Wraps existing tensors (one per spec, matching shapes; copied into new variables).
   * Prefer {@link createGpt} or `loadCheckpoint`.
   */
  constructor(
    config: GptConfig,
    values: ReadonlyMap<string, tf.Tensor>,
    options: { readonly tokenizer?: Tokenizer; readonly activation?: ActivationDef } = {},
  ) {
    this.config = config;
    this.activation = options.activation ?? resolveActivation(config.activation);
    this.hidden = mlpHiddenSize(config, this.activation.kind);
    this.specs = gptParamSpecs(config, this.activation);
    if (options.tokenizer && options.tokenizer.size !== config.vocabSize) {
      throw new RangeError(
        `Gpt: the tokenizer has ${options.tokenizer.size} tokens but config.vocabSize is ` +
          `${config.vocabSize}`,
      );
    }
    const vars = variablesFor(this.specs, values);
    this.variables = vars;
    this.params = assembleParams(config, this.activation, (name) => vars.get(name)!);
    this.tokenizer = options.tokenizer;
  }

  /** Number of parameters (tied embeddings counted once). */
  get numParams(): number {
    return this.specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Logits [B, T, V] for ids [B, T] (int32). Call inside `tf.tidy` or dispose the result.
   * Pass `ops` to run with dropout (training) or through another implementation.
   */
  logits(idx: tf.Tensor, ops: Ops<tf.Tensor> = tfjsOps()): tf.Tensor3D {
    this.#checkIds(idx);
    return gptForward(ops, this.params, this.config, this.activation, idx) as tf.Tensor3D;
  }

  /** Mean cross-entropy on ids [B, T] and targets [B, T] → scalar. */
  loss(idx: tf.Tensor, targets: tf.Tensor, ops: Ops<tf.Tensor> = tfjsOps()): tf.Scalar {
    this.#checkIds(idx);
    return gptLoss(ops, this.params, this.config, this.activation, idx, targets) as tf.Scalar;
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }

  #checkIds(idx: tf.Tensor): void {
    if (idx.rank !== 2 || idx.dtype !== "int32") {
      throw new TypeError(
        `Gpt: ids must be an int32 tensor [B, T], got ${idx.dtype} [${idx.shape}]`,
      );
    }
    if (idx.shape[1]! > this.config.blockSize) {
      throw new RangeError(
        `Gpt: sequence length ${idx.shape[1]} exceeds blockSize ${this.config.blockSize}; ` +
          `crop the input to its last ${this.config.blockSize} tokens`,
      );
    }
  }
}

/** Options of {@link createGpt}. */
export interface CreateGptOptions {
  /** Seed of the initial weights. Default 1337. */
  readonly seed?: number;
  /** The tokenizer to carry (its size must equal `config.vocabSize`). */
  readonly tokenizer?: Tokenizer;
}

/**
 * A freshly initialised GPT on the active tfjs backend.
 *
 * @example
 * ```ts ignore
 * import { createGpt, gptConfig } from "./mod.ts";
 * const model = createGpt(gptConfig({ preset: "nano", vocabSize: 65, activation: "swiglu" }));
 * console.log(model.numParams, model.hidden); // 796800 344
 * ```
 */
export function createGpt(config: GptConfig, options: CreateGptOptions = {}): Gpt {
  const activation = resolveActivation(config.activation);
  const specs = gptParamSpecs(config, activation);
  const values = initParamValues(specs, options.seed ?? 1337);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const s of specs) tensors.set(s.name, tf.tensor(values.get(s.name)!, [...s.shape]));
    return new Gpt(config, tensors, { tokenizer: options.tokenizer, activation });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
