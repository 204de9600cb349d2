/**
 * float64 special functions behind the reference activations: erf, erfc, the normal CDF and
 * density, a stable logistic sigmoid and softplus. Accurate to a few ulps in float64 (checked
 * against mpmath in tests/activations/reference_test.ts).
 *
 * @module
 */
import { ERFCX_CHEBYSHEV, ERFCX_K } from "./_erfcx_coefficients.ts";

/** 1/√(2π). */
export const INV_SQRT_2PI = 0.3989422804014327;
/** √(2/π), the constant inside the tanh form of GELU. */
export const SQRT_2_OVER_PI = 0.7978845608028654;

/**
 * Scaled complementary error function exp(z²)·erfc(z) for z ≥ 0 (finite, no underflow): the
 * Chebyshev series of `tools/fit_erfcx.py` in t = (z − K)/(z + K), by Clenshaw's recurrence.
 */
function erfcxNonNegative(z: number): number {
  if (z === Infinity) return 0;
  const t = (z - ERFCX_K) / (z + ERFCX_K);
  const t2 = 2 * t;
  let d = 0;
  let dd = 0;
  for (let j = ERFCX_CHEBYSHEV.length - 1; j > 0; j--) {
    const next = t2 * d - dd + ERFCX_CHEBYSHEV[j];
    dd = d;
    d = next;
  }
  return t * d - dd + 0.5 * ERFCX_CHEBYSHEV[0];
}

/**
 * Complementary error function erfc(x) = 1 − erf(x), without cancellation for large x.
 *
 * @example
 * ```ts
 * import { erfc } from "./_math.ts";
 * erfc(0); // 1
 * ```
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 0) return erfcxNonNegative(x) * Math.exp(-x * x);
  return 2 - erfcxNonNegative(-x) * Math.exp(-x * x);
}

/**
 * Error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.
 *
 * Small |x| uses the Maclaurin series (no cancellation); larger |x| uses 1 − erfc(|x|).
 *
 * @example
 * ```ts
 * import { erf } from "./_math.ts";
 * erf(1); // 0.8427007929497149
 * ```
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); 14 terms reach 1e-18 at |x| = 0.5.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 14; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return sum * 1.1283791670955126;
  }
  const r = 1 - erfcxNonNegative(ax) * Math.exp(-ax * ax);
  return x < 0 ? -r : r;
}

/**
 * Standard normal CDF Φ(x) = ½·erfc(−x/√2), accurate in both tails.
 *
 * @example
 * ```ts
 * import { normalCdf } from "./_math.ts";
 * normalCdf(0); // 0.5
 * ```
 */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

/**
 * Standard normal density φ(x) = e^(−x²/2)/√(2π).
 *
 * @example
 * ```ts
 * import { normalPdf } from "./_math.ts";
 * normalPdf(0); // 0.3989422804014327
 * ```
 */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/**
 * Logistic sigmoid 1/(1 + e^(−x)), evaluated without overflow on either side.
 *
 * @example
 * ```ts
 * import { sigmoid } from "./_math.ts";
 * sigmoid(-100); // 3.720075976020836e-44
 * ```
 */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Softplus log(1 + e^x) = max(x, 0) + log1p(e^(−|x|)), without overflow or cancellation.
 *
 * @example
 * ```ts
 * import { softplus } from "./_math.ts";
 * softplus(100); // 100
 * ```
 */
export function softplus(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** x·g where g is a gate in [0, 1]: returns 0 (not NaN) for x = ±∞ when the gate is exactly 0. */
export function gateProduct(x: number, g: number): number {
  return g === 0 ? 0 * Math.sign(x) : x * g;
}
