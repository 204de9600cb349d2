/**
 * Floating-point operations of one training step of the mini-GPT, counted from its shapes: the
 * measure of compute that lets runs of different lengths and activations be compared at equal
 * cost ("equal compute") rather than at equal steps.
 *
 * @module
 */
import { getActivation } from "../activations/mod.ts";
import type { ActivationKind } from "../activations/types.ts";
import { type GptConfig, mlpHiddenSize } from "./config.ts";

/** The FLOPs of one training step, split into its passes. */
export interface StepFlops {
  /** Forward pass: every matrix product of the model on one batch. */
  readonly forward: number;
  /** Backward pass: twice the forward (each product's gradient for both of its operands). */
  readonly backward: number;
  /** `forward + backward`: the training FLOPs of one optimizer step. */
  readonly total: number;
}

/** Options of {@link trainingStepFlops}. */
export interface StepFlopsOptions {
  /** Sequences per batch B (the training config's `batchSize`). */
  readonly batchSize: number;
  /**
   * The MLP's kind, which sets its hidden width and up-projection (gated: [C, 2H]). Default: the
   * kind of `config.activation` in the registry.
   */
  readonly kind?: ActivationKind;
}

/**
 * FLOPs of one training step (forward and backward) of a GPT with this config on a batch of
 * `batchSize` sequences of `blockSize` tokens. A product of an [m, k] and a [k, n] matrix counts
 * 2·m·n·k (a multiply and an add per term). With N = B·T tokens, C = nEmbd, H the MLP hidden width
 * (U = H for unary MLPs, 2H for gated ones, whose up projection makes gate and value), L layers
 * and V the vocabulary, the forward pass counts, per layer,
 *
 * - the q, k, v projection 2·N·C·3C and the attention output projection 2·N·C·C;
 * - the attention scores QKᵀ, 2·N·T·C, and the weighted values A·V, 2·N·T·C (over all heads;
 *   the whole T×T square, as the model computes it before the causal mask);
 * - the MLP up projection 2·N·C·U and down projection 2·N·H·C;
 *
 * and once, the output head 2·N·C·V (the tied embedding, transposed). The backward pass counts
 * twice the forward: each product needs the gradient of both operands (input and weight, or both
 * activations in attention), each a product of the same size.
 *
 * Not counted (each at most a few percent at these sizes): the embedding lookups and their
 * scatter-add gradients, LayerNorm, softmax, the causal mask, the activation function itself and
 * the gate's product (so two activations of one MLP shape count the same), residual additions,
 * the cross-entropy, gradient clipping, AdamW and evaluations.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * import { trainingStepFlops } from "./flops.ts";
 * const cfg = gptConfig({ preset: "nano", vocabSize: 65, activation: "gelu" });
 * const f = trainingStepFlops(cfg, { batchSize: 12 });
 * console.assert(f.total === 3 * f.forward && f.backward === 2 * f.forward);
 * console.log((f.total / 1e9).toFixed(2), "GFLOP per step"); // 3.96
 * ```
 */
export function trainingStepFlops(config: GptConfig, options: StepFlopsOptions): StepFlops {
  const { batchSize: B } = options;
  if (!Number.isInteger(B) || B < 1) {
    throw new RangeError(`trainingStepFlops: batchSize must be an integer ≥ 1, got ${B}`);
  }
  const perToken = forwardFlopsPerToken(config, { kind: options.kind });
  const forward = B * config.blockSize * perToken.total;
  return { forward, backward: 2 * forward, total: 3 * forward };
}

/** Options of {@link forwardFlopsPerToken}. */
export interface ForwardFlopsOptions {
  /** The MLP's kind (sets H and the up projection's width). Default: `config.activation`'s. */
  readonly kind?: ActivationKind;
  /** Context length T of the attention counts. Default `config.blockSize`. */
  readonly context?: number;
  /**
   * `"dense"` (default): every query against all T keys, as the model computes QKᵀ and A·V on the
   * whole T×T square before the causal mask; `"causal"`: only the (T + 1)/2 keys a query attends
   * to on average, what a kernel that skips masked blocks would compute.
   */
  readonly attention?: "dense" | "causal";
}

/** FLOPs of one token's forward pass through the whole model, by part (2 per multiply-add). */
export interface ForwardFlops {
  /** Context length T the attention counts use. */
  readonly context: number;
  /** MLP hidden width H. */
  readonly hidden: number;
  /** q, k, v and output projections over all layers: L·2·(3C² + C²). */
  readonly attentionProjections: number;
  /** Attention scores QKᵀ and weighted values A·V over all layers: L·2·2·T′·C (T′ = T or (T+1)/2). */
  readonly attentionScores: number;
  /** MLP up projections over all layers: L·2·C·U (U = H, or 2H gated: gate and value). */
  readonly mlpUp: number;
  /** MLP down projections over all layers: L·2·H·C (what a zero in h lets a kernel skip). */
  readonly mlpDown: number;
  /** The output head: 2·C·V. */
  readonly lmHead: number;
  /** The sum of the parts. */
  readonly total: number;
}

/**
 * The forward pass's FLOPs per token of a GPT with this config, by part, counting the matrix
 * products only (2 FLOPs per multiply-add): with C = nEmbd, L layers, H the MLP hidden width
 * (U = H unary, 2H gated), T the context and V the vocabulary, per layer the q, k, v and output
 * projections 2·4C², the attention scores and weighted values 2·2·T·C, the MLP up projection
 * 2·C·U and down projection 2·H·C; once, the output head 2·C·V. Not counted: embedding lookups,
 * LayerNorm, softmax, the activation itself, residual additions (elementwise, a few percent here).
 * Forward pass only: a training step's backward pass costs about twice as much again, with other
 * sparsity (see `modelSkippableShare`).
 *
 * @example
 * ```ts
 * import { forwardFlopsPerToken, gptConfig } from "@actlab/actlab/gpt";
 * const f = forwardFlopsPerToken(gptConfig({ preset: "nano", vocabSize: 65, activation: "relu" }));
 * // per layer 2·(4·128² + 2·64·128 + 2·128·512) = 425,984; ×4 layers + 2·128·65 = 1,720,576
 * console.assert(f.total === 1_720_576 && f.mlpDown === 4 * 2 * 512 * 128);
 * ```
 */
export function forwardFlopsPerToken(
  config: GptConfig,
  options: ForwardFlopsOptions = {},
): ForwardFlops {
  const T = options.context ?? config.blockSize;
  if (!(Number.isInteger(T) && T >= 1)) {
    throw new RangeError(`forwardFlopsPerToken: context must be an integer ≥ 1, got ${T}`);
  }
  const kind = options.kind ?? getActivation(config.activation).kind;
  const { nEmbd: C, nLayer: L, vocabSize: V } = config;
  const H = mlpHiddenSize(config, kind);
  const U = kind === "gated" ? 2 * H : H;
  const keys = options.attention === "causal" ? (T + 1) / 2 : T;
  const parts = {
    attentionProjections: L * 2 * 4 * C * C,
    attentionScores: L * 2 * 2 * keys * C,
    mlpUp: L * 2 * C * U,
    mlpDown: L * 2 * H * C,
    lmHead: 2 * C * V,
  };
  const total = parts.attentionProjections + parts.attentionScores + parts.mlpUp + parts.mlpDown +
    parts.lmHead;
  return { context: T, hidden: H, ...parts, total };
}
