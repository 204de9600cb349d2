/**
 * The small set of tensor operations the mini-GPT is written against.
 *
 * The model (`model.ts`) calls only these, so one definition runs on more than one engine:
 * `tfjsOps()` executes them eagerly on a tfjs backend (with gradients); the ONNX engine implements
 * the same interface with operations that record graph nodes (tracing), so the traced graph is the
 * model itself, not a second copy.
 *
 * Rules that keep an implementation traceable:
 * - Ops never ask for concrete batch or sequence sizes: shapes that depend on the input are derived
 *   inside the op (`splitHeads`, `positionEmbedding`, `causalMask`), so a trace keeps batch and
 *   sequence length dynamic.
 * - Static sizes (heads, widths) come from the config, passed as plain numbers.
 * - Activations arrive as registry definitions; an implementation calls `def.apply` (tfjs) or the
 *   definition's ONNX lowering (tracing).
 *
 * Shapes below: B batch, T sequence length, C = nEmbd, nh heads, hs = C / nh, V vocabulary.
 *
 * @module
 */
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";

/**
 * Tensor operations over an engine's tensor type `T` (a `tf.Tensor` for tfjs, a symbolic value for
 * an ONNX trace).
 *
 * @example
 * ```ts
 * import type { Ops } from "./ops.ts";
 * import type { UnaryActivation } from "../activations/types.ts";
 * // A residual MLP written once against the interface:
 * function mlp<T>(ops: Ops<T>, x: T, wFc: T, wProj: T, act: UnaryActivation): T {
 *   return ops.add(x, ops.linear(ops.activation(act, ops.linear(x, wFc)), wProj));
 * }
 * ```
 */
export interface Ops<T> {
  /** Engine name, for messages (`"tfjs"`, `"onnx-trace"`). */
  readonly name: string;
  /** Whether dropout is active (training). Inference implementations return false. */
  readonly training: boolean;

  /** Rows of `table` [V, C] picked by integer `ids` [B, T] → [B, T, C]. */
  embedding(table: T, ids: T): T;
  /** The first T rows of the position table [blockSize, C], T = the length of `ids` [B, T] → [T, C]. */
  positionEmbedding(table: T, ids: T): T;
  /** `x @ w (+ bias)` over the last axis: [..., in] @ [in, out] (+ [out]) → [..., out]. */
  linear(x: T, w: T, bias?: T): T;
  /**
   * `split(linear(x, w, bias), sizes)`: a linear layer whose output is cut into consecutive parts
   * of the last axis (the attention's q, k, v; a gated MLP's gate and value). An engine may split
   * the small weight [in, out] and bias [out] instead of the large output, one product per part;
   * the parameters stay one tensor each.
   */
  linearSplit(x: T, w: T, bias: T | undefined, sizes: readonly number[]): T[];
  /** Elementwise sum with broadcasting. */
  add(a: T, b: T): T;
  /** Elementwise product with broadcasting. */
  mul(a: T, b: T): T;
  /** `x · s` for a constant s. */
  scale(x: T, s: number): T;
  /** LayerNorm over the last axis: (x − mean) / √(var + eps) · weight (+ bias); biased variance. */
  layerNorm(x: T, weight: T, bias: T | undefined, eps: number): T;
  /** Splits the last axis into consecutive parts of the given sizes. */
  split(x: T, sizes: readonly number[]): T[];
  /** [B, T, C] → [B, T, nh, C / nh] (a reshape). */
  splitHeads(x: T, nHead: number): T;
  /** [B, T, nh, hs] → [B, T, nh · hs] (a reshape). */
  mergeHeads(x: T): T;
  /** Permutes axes. */
  transpose(x: T, perm: readonly number[]): T;
  /** Batched matrix product over the last two axes: [..., m, k] @ [..., k, n] → [..., m, n]. */
  matmul(a: T, b: T): T;
  /** Attention scores [..., T, T] with entries above the diagonal (future positions) set to −∞. */
  causalMask(scores: T): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  /**
   * A unary registry activation applied to x [..., H]: elementwise, or over the last axis where
   * the definition says `overChannels`; `params` are its trainable parameters (scalars [],
   * per channel [H]) when it declares some.
   */
  activation(def: UnaryActivation, x: T, params?: Readonly<Record<string, T>>): T;
  /** A gated registry activation: f(gate, value), elementwise. */
  gatedActivation(def: GatedActivation, gate: T, value: T): T;
  /** Inverted dropout with rate `rate` when training; the identity otherwise. */
  dropout(x: T, rate: number): T;
  /** Mean cross-entropy of `logits` [B, T, V] against integer `targets` [B, T] → scalar. */
  crossEntropy(logits: T, targets: T): T;
}
