/**
 * The mini-GPT, top to bottom: LayerNorm, causal self-attention, MLP, block, GPT — in the order
 * and with the names of nanoGPT's `model.py`. Pre-LayerNorm blocks, learned positions, the MLP
 * activation taken from the registry by name (unary or gated), optional biases and tied
 * embeddings.
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
import type { ActivationDef } from "../activations/types.ts";
import { createRng } from "../core/rng.ts";
import type { CharTokenizer } from "../core/tokenizer.ts";
import { type GptConfig, mlpHiddenSize } from "./config.ts";
import type { Ops } from "./ops.ts";
import { tfjsOps } from "./tfjs_ops.ts";

// ---------------------------------------------------------------------------------------------
// Parameters

/** A linear layer: weight [in, out], optional bias [out]. */
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
  /** MLP: up projection [C, H] (gated: [C, 2H], gate then value) and down projection [H, C]. */
  readonly mlp: { readonly c_fc: LinearParams<T>; readonly c_proj: LinearParams<T> };
}

/** All parameters of the GPT (nanoGPT names). */
export interface GptParams<T> {
  /** Token embedding [V, C]. */
  readonly wte: T;
  /** Position embedding [blockSize, C]. */
  readonly wpe: T;
  /** The blocks. */
  readonly h: readonly BlockParams<T>[];
  /** Final LayerNorm. */
  readonly ln_f: LayerNormParams<T>;
  /** Output head [C, V] when embeddings are not tied; tied: `wteᵀ`. */
  readonly lm_head?: T;
}

/** How a parameter is initialised. */
export type ParamInit =
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "ones" }
  | { readonly kind: "zeros" };

/** Name, shape, init and weight-decay group of one parameter. */
export interface ParamSpec {
  /** Dotted nanoGPT-style name, e.g. `h.0.attn.c_attn.weight` (the checkpoint key). */
  readonly name: string;
  /** Shape. */
  readonly shape: readonly number[];
  /** Initialisation. */
  readonly init: ParamInit;
  /** AdamW weight decay applies (2-D weights: embeddings and matrices). */
  readonly decay: boolean;
}

/**
 * Every parameter of a GPT with this config and activation kind, in a fixed order. The one source
 * for initialisation, checkpoints, the optimizer's decay groups and ONNX initializers.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { gptParamSpecs } from "./model.ts";
 * const specs = gptParamSpecs(gptConfig({ preset: "tiny", vocabSize: 10 }), "unary");
 * console.assert(specs[0].name === "wte.weight" && specs[0].shape.join() === "10,32");
 * ```
 */
export function gptParamSpecs(config: GptConfig, kind: "unary" | "gated"): ParamSpec[] {
  const { vocabSize: v, blockSize, nEmbd: c, nLayer, bias, initStd: std } = config;
  const hidden = mlpHiddenSize(config, kind);
  const residualStd = std / Math.sqrt(2 * nLayer); // GPT-2: scale residual projections
  const specs: ParamSpec[] = [];
  const normal = (name: string, shape: number[], s = std) =>
    specs.push({ name, shape, init: { kind: "normal", std: s }, decay: true });
  const norm = (name: string) => {
    specs.push({ name: `${name}.weight`, shape: [c], init: { kind: "ones" }, decay: false });
    if (bias) {
      specs.push({ name: `${name}.bias`, shape: [c], init: { kind: "zeros" }, decay: false });
    }
  };
  const linear = (name: string, inDim: number, outDim: number, s = std) => {
    normal(`${name}.weight`, [inDim, outDim], s);
    if (bias) {
      specs.push({ name: `${name}.bias`, shape: [outDim], init: { kind: "zeros" }, decay: false });
    }
  };
  normal("wte.weight", [v, c]);
  normal("wpe.weight", [blockSize, c]);
  for (let i = 0; i < nLayer; i++) {
    norm(`h.${i}.ln_1`);
    linear(`h.${i}.attn.c_attn`, c, 3 * c);
    linear(`h.${i}.attn.c_proj`, c, c, residualStd);
    norm(`h.${i}.ln_2`);
    linear(`h.${i}.mlp.c_fc`, c, kind === "gated" ? 2 * hidden : hidden);
    linear(`h.${i}.mlp.c_proj`, hidden, c, residualStd);
  }
  norm("ln_f");
  if (!config.tiedEmbeddings) normal("lm_head.weight", [c, v]);
  return specs;
}

/**
 * Builds the structured parameters from a lookup by name (`get` is called once per spec, in spec
 * order). Used with tfjs variables here and with symbolic initializers by the ONNX tracer.
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
  kind: "unary" | "gated",
  get: (name: string, spec: ParamSpec) => T,
): GptParams<T> {
  const byName = new Map<string, T>();
  for (const spec of gptParamSpecs(config, kind)) byName.set(spec.name, get(spec.name, spec));
  const opt = (name: string) => byName.get(name);
  const req = (name: string) => byName.get(name)!;
  const norm = (p: string): LayerNormParams<T> => ({
    weight: req(`${p}.weight`),
    bias: opt(`${p}.bias`),
  });
  const lin = (p: string): LinearParams<T> => ({
    weight: req(`${p}.weight`),
    bias: opt(`${p}.bias`),
  });
  return {
    wte: req("wte.weight"),
    wpe: req("wpe.weight"),
    h: Array.from({ length: config.nLayer }, (_, i) => ({
      ln_1: norm(`h.${i}.ln_1`),
      attn: { c_attn: lin(`h.${i}.attn.c_attn`), c_proj: lin(`h.${i}.attn.c_proj`) },
      ln_2: norm(`h.${i}.ln_2`),
      mlp: { c_fc: lin(`h.${i}.mlp.c_fc`), c_proj: lin(`h.${i}.mlp.c_proj`) },
    })),
    ln_f: norm("ln_f"),
    lm_head: opt("lm_head.weight"),
  };
}

// ---------------------------------------------------------------------------------------------
// The model, written once against Ops

function layerNorm<T>(ops: Ops<T>, p: LayerNormParams<T>, x: T, config: GptConfig): T {
  return ops.layerNorm(x, p.weight, p.bias, config.layerNormEps);
}

function causalSelfAttention<T>(
  ops: Ops<T>,
  p: BlockParams<T>["attn"],
  x: T, // [B, T, C]
  config: GptConfig,
): T {
  const { nEmbd: c, nHead: nh } = config;
  const hs = c / nh;
  const qkv = ops.linear(x, p.c_attn.weight, p.c_attn.bias); // [B, T, 3C]
  const [q, k, v] = ops.split(qkv, [c, c, c]); // 3 × [B, T, C]
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

function mlp<T>(
  ops: Ops<T>,
  p: BlockParams<T>["mlp"],
  x: T, // [B, T, C]
  config: GptConfig,
  act: ActivationDef,
): T {
  const up = ops.linear(x, p.c_fc.weight, p.c_fc.bias); // [B, T, H] (gated: [B, T, 2H])
  let h: T;
  if (act.kind === "gated") {
    const hidden = mlpHiddenSize(config, "gated");
    const [gate, value] = ops.split(up, [hidden, hidden]); // 2 × [B, T, H]
    h = ops.gatedActivation(act, gate, value); // [B, T, H]
  } else {
    h = ops.activation(act, up); // [B, T, H]
  }
  return ops.dropout(ops.linear(h, p.c_proj.weight, p.c_proj.bias), config.dropout); // [B, T, C]
}

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
  const tok = ops.embedding(params.wte, idx); // [B, T, C]
  const pos = ops.positionEmbedding(params.wpe, idx); // [T, C]
  let x = ops.dropout(ops.add(tok, pos), config.dropout); // [B, T, C]
  for (const p of params.h) x = block(ops, p, x, config, act); // [B, T, C]
  x = layerNorm(ops, params.ln_f, x, config); // [B, T, C]
  const head = params.lm_head ?? ops.transpose(params.wte, [1, 0]); // [C, V]
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
  tokenizer: CharTokenizer | undefined;

  /**
   * Wraps existing tensors (one per spec, matching shapes; copied into new variables).
   * Prefer {@link createGpt} or `loadCheckpoint`.
   */
  constructor(
    config: GptConfig,
    values: ReadonlyMap<string, tf.Tensor>,
    options: { readonly tokenizer?: CharTokenizer; readonly activation?: ActivationDef } = {},
  ) {
    this.config = config;
    this.activation = options.activation ?? resolveActivation(config.activation);
    this.hidden = mlpHiddenSize(config, this.activation.kind);
    this.specs = gptParamSpecs(config, this.activation.kind);
    if (options.tokenizer && options.tokenizer.size !== config.vocabSize) {
      throw new RangeError(
        `Gpt: the tokenizer has ${options.tokenizer.size} tokens but config.vocabSize is ` +
          `${config.vocabSize}`,
      );
    }
    const vars = new Map<string, tf.Variable>();
    for (const spec of this.specs) {
      const t = values.get(spec.name);
      if (t === undefined) throw new Error(`Gpt: missing parameter ${spec.name}`);
      if (t.shape.join() !== spec.shape.join()) {
        throw new RangeError(
          `Gpt: parameter ${spec.name} has shape [${t.shape}] but the config needs [${spec.shape}]`,
        );
      }
      // A copy: `values` stay the caller's to dispose.
      vars.set(spec.name, tf.tidy(() => tf.variable(t.toFloat(), true)));
    }
    this.variables = vars;
    this.params = assembleParams(config, this.activation.kind, (name) => vars.get(name)!);
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

/**
 * Initial values for every parameter, as nanoGPT: N(0, initStd) for weights and embeddings,
 * N(0, initStd/√(2·nLayer)) for residual projections, ones for LayerNorm scales, zeros for biases.
 * Drawn from a seeded generator in a fixed order: the same seed gives the same weights on every
 * backend.
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
    else if (spec.init.kind === "normal") {
      for (let i = 0; i < n; i++) v[i] = rng.normal() * spec.init.std;
    }
    out.set(spec.name, v);
  }
  return out;
}

/** Options of {@link createGpt}. */
export interface CreateGptOptions {
  /** Seed of the initial weights. Default 1337. */
  readonly seed?: number;
  /** The tokenizer to carry (its size must equal `config.vocabSize`). */
  readonly tokenizer?: CharTokenizer;
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
  const specs = gptParamSpecs(config, activation.kind);
  const values = initParamValues(specs, options.seed ?? 1337);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const s of specs) tensors.set(s.name, tf.tensor(values.get(s.name)!, [...s.shape]));
    return new Gpt(config, tensors, { tokenizer: options.tokenizer, activation });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
