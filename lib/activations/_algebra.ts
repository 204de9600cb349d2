/**
 * An activation's math written once. A {@link UnaryMath} is f and f′ side by side, written
 * against an {@link Algebra}: a small set of operations that each place the math runs in
 * implements its own way. Evaluated on {@link F64} it is the registry's float64 reference and
 * derivative; on {@link TENSORS}, the tfjs forward and gradient; on a source emitter
 * (`_kernel_source.ts`), the float32 WGSL and C of the fused kernels.
 *
 * An operation is added here (and to the emitter with its WGSL and C helper) when a new
 * activation needs one; the activations themselves live in `unary.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ERFCX_F32, ERFCX_K } from "./_erfcx_coefficients.ts";
import {
  gateProduct as gate64,
  INV_SQRT_2PI,
  normalCdf,
  normalPdf,
  sigmoid as sigmoid64,
} from "./_math.ts";

/** The operations an activation's math is written with, over values of type T. */
export interface Algebra<T> {
  /** The constant v (float64 here; rounded once to float32 in tensors and kernels). */
  c(v: number): T;
  /** a + b. */
  add(a: T, b: T): T;
  /** a − b. */
  sub(a: T, b: T): T;
  /** a·b. */
  mul(a: T, b: T): T;
  /** a/b. */
  div(a: T, b: T): T;
  /** eˣ. */
  exp(x: T): T;
  /** √x (NaN below 0). */
  sqrt(x: T): T;
  /** |x|. */
  abs(x: T): T;
  /** The smaller of a and b; NaN if either is NaN (as Math.min, unlike C's fminf). */
  min(a: T, b: T): T;
  /** The larger of a and b; NaN if either is NaN (so relu = max(x, 0) keeps NaN). */
  max(a: T, b: T): T;
  /** x·g, but 0 where the gate g is exactly 0 (so x = ±∞ gives the limit 0, not NaN). */
  gate(x: T, g: T): T;
  /** σ(z) = 1/(1 + e^(−z)), without overflow on either side. */
  sigmoid(z: T): T;
  /** σ′(z) = σ(z)·σ(−z), without the cancellation of σ(z)·(1 − σ(z)) for large z. */
  sigmoidSlope(z: T): T;
  /** Φ(x), the standard normal CDF, accurate in the lower tail. */
  normalCdf(x: T): T;
  /** φ(x) = e^(−x²/2)/√(2π). */
  normalPdf(x: T): T;
}

/**
 * An activation f and its derivative f′ written once, side by side, against any algebra (as
 * llm.c writes `gelu_forward` next to `gelu_backward`).
 *
 * @example
 * ```ts
 * import { F64, type UnaryMath } from "./_algebra.ts";
 * // SiLU: f = x·σ(x), f′ = σ(x) + x·σ′(x)
 * const silu: UnaryMath = {
 *   f: (m, x) => m.gate(x, m.sigmoid(x)),
 *   df: (m, x) => m.add(m.sigmoid(x), m.gate(x, m.sigmoidSlope(x))),
 * };
 * silu.f(F64, 1); // 0.7310585786300049
 * ```
 */
export interface UnaryMath {
  /** f(x). */
  f<T>(m: Algebra<T>, x: T): T;
  /** f′(x). */
  df<T>(m: Algebra<T>, x: T): T;
}

/** float64 numbers: the registry's reference and derivative. */
export const F64: Algebra<number> = {
  c: (v) => v,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
  min: Math.min,
  max: Math.max,
  gate: gate64,
  sigmoid: sigmoid64,
  sigmoidSlope: (z) => {
    // σ(z)·σ(−z) = e/(1 + e)² with e = e^(−|z|): one exp, no cancellation, 0 at z = ±∞
    const e = Math.exp(-Math.abs(z));
    return e / ((1 + e) * (1 + e));
  },
  normalCdf,
  normalPdf,
};

/**
 * x·g for a gate g that may underflow to exactly 0: gives 0 where g is 0, so x = ±∞ yields the
 * limit 0 instead of ∞·0 = NaN. NaN inputs stay NaN (their gate is NaN).
 */
export function gateProduct(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  return tf.where(tf.equal(g, 0), g, tf.mul(x, g));
}

/**
 * Φ(x) from tfjs ops without tf.erf, whose polynomial (Abramowitz & Stegun 7.1.26) has an
 * absolute error of 1.5e-7 that GELU's x then scales up. Uses ½·e^(−x²/2)·erfcx(|x|/√2) with
 * the float32 erfcx polynomial of `tools/fit_erfcx.py` (Horner), so the lower tail keeps its
 * relative accuracy.
 */
function normalCdfTensor(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.mul(tf.abs(x), Math.SQRT1_2);
    // (z − K)/(z + K), finite at z = ∞
    const t = tf.sub(1, tf.div(2 * ERFCX_K, tf.add(z, ERFCX_K)));
    let p: tf.Tensor = tf.fill(x.shape, ERFCX_F32[ERFCX_F32.length - 1]);
    for (let i = ERFCX_F32.length - 2; i >= 0; i--) p = tf.add(tf.mul(p, t), ERFCX_F32[i]);
    const tail = tf.mul(tf.mul(0.5, tf.exp(tf.mul(-0.5, tf.square(x)))), p);
    return tf.where(tf.less(x, 0), tail, tf.sub(1, tail));
  });
}

/**
 * min or max that keeps NaN, as Math.min and Math.max do: tfjs-wasm's minimum and maximum return
 * the first operand when only the second is NaN (tfjs 4.22: maximum(0, NaN) = 0).
 */
function nanAwarePick(pick: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) {
  return (a: tf.Tensor, b: tf.Tensor) =>
    tf.where(tf.logicalOr(tf.isNaN(a), tf.isNaN(b)), tf.add(a, b), pick(a, b));
}

/** tfjs tensors (float32): the composite forward and gradient, used where no fused kernel runs. */
export const TENSORS: Algebra<tf.Tensor> = {
  c: (v) => tf.scalar(v),
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  exp: (x) => tf.exp(x),
  sqrt: (x) => tf.sqrt(x),
  abs: (x) => tf.abs(x),
  min: nanAwarePick((a, b) => tf.minimum(a, b)),
  max: nanAwarePick((a, b) => tf.maximum(a, b)),
  gate: gateProduct,
  sigmoid: (z) => tf.sigmoid(z),
  sigmoidSlope: (z) => tf.mul(tf.sigmoid(z), tf.sigmoid(tf.neg(z))),
  normalCdf: normalCdfTensor,
  normalPdf: (x) => tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(x)))),
};
