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
  const kind = options.kind ?? getActivation(config.activation).kind;
  const { blockSize: T, nEmbd: C, nLayer: L, vocabSize: V } = config;
  const H = mlpHiddenSize(config, kind);
  const U = kind === "gated" ? 2 * H : H;
  const N = B * T;
  const attention = 2 * N * C * 3 * C + 2 * N * T * C + 2 * N * T * C + 2 * N * C * C;
  const mlp = 2 * N * C * U + 2 * N * H * C;
  const forward = L * (attention + mlp) + 2 * N * C * V;
  return { forward, backward: 2 * forward, total: 3 * forward };
}
