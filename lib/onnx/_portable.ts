/**
 * Graph pieces written with ops that every execution provider actlab targets has (CPU, CUDA,
 * WebGPU; see `provider_ops.ts`), shared by the training tape (`op_rules.ts`, `tape.ts`) and the
 * inference trace (`trace.ts`):
 *
 * - cross-entropy as a log-softmax (ReduceMax, Sub, Exp, ReduceSum, Log) and a `GatherElements`
 *   of the targets' log-probabilities — ONNX Runtime's `SoftmaxCrossEntropyLoss` has no CUDA
 *   kernel outside its training build and none on WebGPU, and WebGPU has no `LogSoftmax`;
 * - one-hot rows as `Equal(ids, 0…V−1)` cast to float — WebGPU has no `OneHot` and no int64;
 * - dropout masks from a counter-based integer hash — WebGPU has no `Dropout` and no random
 *   ops; the hash uses int32 `Mul`/`Add`/`Div` only, whose wrap-around and truncation are the
 *   same on every provider, so a step's mask is bit-identical on CPU, CUDA and WebGPU and depends
 *   only on (seed, step, element), not on how many times a session ran.
 *
 * @module
 */
import { type GraphBuilder, ONNX_TYPES } from "./builder.ts";

/** The parts of a log-softmax over the last axis of `x`. */
export interface LogSoftmax {
  /** e = exp(x − max): the unnormalised probabilities. */
  readonly e: string;
  /** s = Σ e over the last axis (keepdims). */
  readonly s: string;
  /** log p = (x − max) − log s. */
  readonly logp: string;
}

/** log-softmax over the last axis, from primitives, keeping e and Σe for a backward pass. */
export function logSoftmax(g: GraphBuilder, x: string): LogSoftmax {
  const last = g.constantInt64([-1]);
  const shifted = g.op("Sub", [x, g.op("ReduceMax", [x, last], { keepdims: 1 })]);
  const e = g.op("Exp", [shifted]);
  const s = g.op("ReduceSum", [e, last], { keepdims: 1 });
  return { e, s, logp: g.op("Sub", [shifted, g.op("Log", [s])]) };
}

/**
 * Mean negative log-likelihood of int32 `labels` (one per row, shaped like `logp` with a last
 * axis of 1) under `logp`: −mean(GatherElements(logp, labels, last axis)), a scalar.
 */
export function meanNll(g: GraphBuilder, logp: string, labels: string, rank: number): string {
  const picked = g.op("GatherElements", [logp, labels], { axis: rank - 1 });
  return g.op("Neg", [g.op("ReduceMean", [picked], { keepdims: 0 })]);
}

/** One-hot rows [N, V] (the builder's float type) of int32 ids reshaped to [N, 1]. */
export function oneHotRows(g: GraphBuilder, ids: string, n: number, depth: number): string {
  const column = g.op("Reshape", [ids, g.constantInt64([n, 1])]); // [N, 1]
  const classes = g.constantInt32(Array.from({ length: depth }, (_, i) => i), [1, depth]);
  return g.op("Cast", [g.op("Equal", [column, classes])], { to: ONNX_TYPES[g.floatType] });
}

/** Odd int32 constants of the hash (wrapping arithmetic). */
const GOLDEN = 0x9e3779b1 | 0;
const STEP_MIX = 0x27d4eb2d | 0;
const SEED_MIX = 0x165667b1 | 0;
const KEY_OFFSET = 0x3c6ef372 | 0;
const ROUND_OFFSETS = [0x6c8e9cf5 | 0, 0x2545f491 | 0, 0x1b873593 | 0];

/**
 * The dropout scale of every element of a tensor of static `shape`: 1/(1 − rate) where kept,
 * 0 where dropped, with P(kept) = 1 − rate. `step` names an int32 scalar (the optimizer step, fed
 * per run) and `seed` tells dropout nodes apart.
 *
 * The uniform u ∈ [0, 1] of an element comes from its row-major index i and the key
 * k = step·K₁ + seed·K₂ + K₃: h = i·φ + k, then three rounds of h ← h + h/2¹⁶ (integer
 * division), h ← h·(2h + 1) + cᵣ (a quadratic permutation of 32-bit integers), a last fold, and
 * u = (h/2⁹)·2⁻²³ + ½. Exact in float32 and float64 (|h/2⁹| ≤ 2²²). Measured over 2²⁰ indices:
 * neighbour, step-to-step and stride-256 correlations below 2e-3, χ² of 64 bins 56 (63 degrees of
 * freedom).
 */
export function dropoutScale(
  g: GraphBuilder,
  shape: readonly number[],
  options: { readonly seed: number; readonly step: string; readonly rate: number },
): string {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel >= 2 ** 31) {
    throw new RangeError(`dropout over [${shape}]: more than 2³¹ elements to index in int32`);
  }
  const int = (v: number) => g.constantInt32([v | 0], []);
  // Row-major element index, as a broadcast sum of one iota per axis: [d0,1,…] + [1,d1,1,…] + …
  let index: string | undefined;
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis];
    if (d > 1) {
      const dims = shape.map((_, i) => (i === axis ? d : 1));
      const iota = g.constantInt32(Array.from({ length: d }, (_, i) => i * stride), dims);
      index = index === undefined ? iota : g.op("Add", [index, iota]);
    }
    stride *= d;
  }
  if (index === undefined) index = g.constantInt32([0], shape.map(() => 1));
  const key = g.op("Add", [
    g.op("Mul", [options.step, int(STEP_MIX)]),
    int(Math.imul(options.seed, SEED_MIX) + KEY_OFFSET),
  ]);
  const fold = (h: string) => g.op("Add", [h, g.op("Div", [h, int(65536)])]);
  let h = g.op("Add", [g.op("Mul", [index, int(GOLDEN)]), key]);
  for (const offset of ROUND_OFFSETS) {
    h = fold(h);
    const odd = g.op("Add", [g.op("Add", [h, h]), int(1)]);
    h = g.op("Add", [g.op("Mul", [h, odd]), int(offset)]);
  }
  h = fold(h);
  const float = ONNX_TYPES[g.floatType];
  const u = g.op("Add", [
    g.op("Mul", [g.op("Cast", [g.op("Div", [h, int(512)])], { to: float }), g.constant(2 ** -23)]),
    g.constant(0.5),
  ]);
  return g.op("Where", [
    g.op("GreaterOrEqual", [u, g.constant(options.rate)]),
    g.constant(1 / (1 - options.rate)),
    g.constant(0),
  ]);
}
