/**
 * Least-squares fits with their uncertainty: a polynomial in one variable (ordinary least
 * squares, the coefficients' covariance from the residual variance), and the vertex of a quadratic
 * with a delta-method interval. The learning-rate tuner fits loss against log(lr) with it; the
 * scaling analysis fits log-loss against log-compute.
 *
 * @module
 */
import { studentTQuantile } from "./stats.ts";

/** A least-squares polynomial fit y ≈ Σ c_k x^k. */
export interface PolyFit {
  /** Coefficients, constant first. */
  readonly coefficients: readonly number[];
  /** Their covariance matrix, σ²·(XᵀX)⁻¹ (NaN with no residual degrees of freedom). */
  readonly covariance: readonly (readonly number[])[];
  /** Residual standard deviation σ (NaN with no residual degrees of freedom). */
  readonly sigma: number;
  /** Residual degrees of freedom: points − coefficients. */
  readonly df: number;
  /** Coefficient of determination. */
  readonly r2: number;
  /** Number of points. */
  readonly n: number;
}

/** Inverts a small symmetric positive-definite matrix (Gauss–Jordan with partial pivoting). */
function invert(m: readonly (readonly number[])[]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-300) throw new Error("polyFit: the points do not determine the fit");
    [a[c], a[p]] = [a[p], a[c]];
    const pivot = a[c][c];
    for (let j = 0; j < 2 * n; j++) a[c][j] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row) => row.slice(n));
}

/**
 * Fits a polynomial of `degree` to the points by ordinary least squares (x is centred internally
 * for conditioning; the coefficients returned are in the original x). Needs more distinct x values
 * than the degree.
 *
 * @example
 * ```ts
 * import { polyFit } from "./fit.ts";
 * const f = polyFit([0, 1, 2, 3], [1, 3, 5, 7], 1);
 * console.assert(Math.abs(f.coefficients[0] - 1) < 1e-12 && Math.abs(f.coefficients[1] - 2) < 1e-12);
 * ```
 */
export function polyFit(xs: readonly number[], ys: readonly number[], degree: number): PolyFit {
  if (xs.length !== ys.length) throw new Error("polyFit: x and y differ in length");
  const k = degree + 1;
  if (new Set(xs).size < k) {
    throw new Error(
      `polyFit: a degree-${degree} fit needs ${k} distinct x values, got ${new Set(xs).size}`,
    );
  }
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const rows = xs.map((x) => Array.from({ length: k }, (_, j) => (x - mx) ** j));
  const xtx = Array.from(
    { length: k },
    (_, i) => Array.from({ length: k }, (_, j) => rows.reduce((s, r) => s + r[i] * r[j], 0)),
  );
  const xty = Array.from({ length: k }, (_, i) => rows.reduce((s, r, t) => s + r[i] * ys[t], 0));
  const inv = invert(xtx);
  const centred = inv.map((row) => row.reduce((s, v, j) => s + v * xty[j], 0));
  const fitted = rows.map((r) => r.reduce((s, v, j) => s + v * centred[j], 0));
  const rss = ys.reduce((s, y, t) => s + (y - fitted[t]) ** 2, 0);
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const tss = ys.reduce((s, y) => s + (y - my) ** 2, 0);
  const df = n - k;
  const sigma2 = df > 0 ? rss / df : NaN;
  // Back from centred x: c_j = Σ_{i≥j} d_i · C(i, j) · (−mx)^(i−j); the covariance goes alike.
  const binom = (a: number, b: number) => {
    let r = 1;
    for (let t = 1; t <= b; t++) r = (r * (a - b + t)) / t;
    return r;
  };
  const T = Array.from(
    { length: k },
    (_, j) => Array.from({ length: k }, (_, i) => (i >= j ? binom(i, j) * (-mx) ** (i - j) : 0)),
  );
  const coefficients = T.map((row) => row.reduce((s, v, i) => s + v * centred[i], 0));
  const covCentred = inv.map((row) => row.map((v) => v * sigma2));
  const covariance = T.map((ri) =>
    T.map((rj) =>
      ri.reduce((s, a, p) => s + a * rj.reduce((t, b, q) => t + b * covCentred[p][q], 0), 0)
    )
  );
  return {
    coefficients,
    covariance,
    sigma: Math.sqrt(sigma2),
    df,
    r2: tss > 0 ? 1 - rss / tss : NaN,
    n,
  };
}

/** The vertex of a fitted quadratic with its interval. */
export interface QuadraticVertex {
  /** x of the vertex, −b / 2c. */
  readonly x: number;
  /** The fitted y there. */
  readonly y: number;
  /** Curvature c: positive for a minimum. */
  readonly curvature: number;
  /** Lower end of the vertex's confidence interval (delta method, Student t on the fit's df). */
  readonly low: number;
  /** Upper end. */
  readonly high: number;
}

/**
 * The vertex of a quadratic fit (`polyFit(…, 2)`) and its confidence interval by the delta method:
 * Var(v) ≈ ∇ᵀ Σ ∇ for the vertex v = −b/2c, with ∇ = (∂v/∂b, ∂v/∂c) = (−1/2c, b/2c²), times the
 * Student-t quantile on the
 * fit's residual degrees of freedom. An interval that is not finite means the points do not
 * locate the vertex (no residual degrees of freedom, or a curvature not resolved from zero).
 *
 * @example
 * ```ts
 * import { polyFit, quadraticVertex } from "./fit.ts";
 * const xs = [-2, -1, 0, 1, 2], ys = xs.map((x) => (x - 0.5) ** 2 + 1);
 * const v = quadraticVertex(polyFit(xs, ys, 2));
 * console.assert(Math.abs(v.x - 0.5) < 1e-12 && v.curvature > 0);
 * ```
 */
export function quadraticVertex(fit: PolyFit, options: { level?: number } = {}): QuadraticVertex {
  const [a, b, c] = fit.coefficients;
  const x = -b / (2 * c);
  const y = a + b * x + c * x * x;
  const g = [-1 / (2 * c), b / (2 * c * c)];
  const s = fit.covariance;
  const v = g[0] * g[0] * s[1][1] + 2 * g[0] * g[1] * s[1][2] + g[1] * g[1] * s[2][2];
  const level = options.level ?? 0.95;
  const half = fit.df > 0 && v >= 0
    ? studentTQuantile(0.5 + level / 2, fit.df) * Math.sqrt(v)
    : NaN;
  return { x, y, curvature: c, low: x - half, high: x + half };
}
