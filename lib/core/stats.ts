/**
 * The statistics behind convergence tables: mean, standard deviation, Student-t confidence
 * intervals and Welch's unequal-variance t-test, with the t distribution computed from the
 * regularized incomplete beta function (no tables, any degrees of freedom, fractional included).
 *
 * @module
 */

/**
 * Arithmetic mean (NaN for an empty sample).
 *
 * @example
 * ```ts
 * import { mean } from "@actlab/actlab";
 * mean([1, 2, 3, 4]); // 2.5
 * ```
 */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/**
 * The median of a sample: the middle value, or the mean of the two middle values when the count
 * is even (NaN for an empty sample). The one median of the library: trials' ms/step, robust
 * spreads, bench rounds.
 *
 * @example
 * ```ts
 * import { median } from "@actlab/actlab/core";
 * median([3, 1, 2]); // 2
 * median([1, 9]); // 5
 * ```
 */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  const s = Array.from(xs).sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Sample variance with Bessel's correction (n − 1); NaN below two values.
 *
 * @example
 * ```ts
 * import { variance } from "@actlab/actlab/core";
 * variance([1, 2, 3, 4]); // 1.6666666666666667
 * ```
 */
export function variance(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
}

/**
 * Sample standard deviation (n − 1).
 *
 * @example
 * ```ts
 * import { std } from "@actlab/actlab";
 * std([2, 4, 4, 4, 5, 5, 7, 9]); // 2.138089935299395
 * ```
 */
export function std(xs: ArrayLike<number>): number {
  return Math.sqrt(variance(xs));
}

/** ln Γ(x) for x > 0: Stirling's series past 10, the recurrence Γ(x + 1) = xΓ(x) below. */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const x2 = 1 / (x * x);
  // Bernoulli terms B_2k / (2k(2k − 1) x^(2k − 1)), k = 1..6.
  const series = (1 / 12 - x2 * (1 / 360 - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 *
                  (1 / 1188 - x2 * (691 / 360360)))))) / x;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return h;
}

/**
 * Regularized incomplete beta function I_x(a, b).
 *
 * @example
 * ```ts
 * import { incompleteBeta } from "@actlab/actlab/core";
 * incompleteBeta(0.5, 2, 2); // 0.5
 * ```
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x),
  );
  // The continued fraction converges fast for x < (a + 1)/(a + b + 2); use symmetry otherwise.
  return x < (a + 1) / (a + b + 2)
    ? front * betaContinuedFraction(a, b, x) / a
    : 1 - front * betaContinuedFraction(b, a, 1 - x) / b;
}

/**
 * CDF of Student's t distribution with `df` degrees of freedom (df > 0, fractional allowed).
 *
 * @example
 * ```ts
 * import { studentTCdf } from "@actlab/actlab/core";
 * studentTCdf(2.262157162740992, 9); // 0.975
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/**
 * Quantile of Student's t: the t with CDF p (bisection on the CDF to 1e-12).
 *
 * @example
 * ```ts
 * import { studentTQuantile } from "@actlab/actlab/core";
 * studentTQuantile(0.975, 9); // 2.262157162740992
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** A sample's summary with a confidence interval for its mean. */
export interface Summary {
  /** Number of values. */
  readonly n: number;
  /** Sample mean. */
  readonly mean: number;
  /** Sample standard deviation (n − 1). */
  readonly std: number;
  /** Standard error of the mean, std/√n. */
  readonly sem: number;
  /** Half-width of the confidence interval: t_{1−α/2, n−1}·sem. */
  readonly ciHalfWidth: number;
  /** Lower end of the interval. */
  readonly ciLow: number;
  /** Upper end of the interval. */
  readonly ciHigh: number;
  /** The confidence level, e.g. 0.95. */
  readonly level: number;
}

/**
 * Mean, std and the Student-t confidence interval of the mean (default 95%). With one value
 * the interval is unbounded (NaN half-width): one seed says nothing about spread.
 *
 * @example
 * ```ts
 * import { summarize } from "@actlab/actlab";
 * const s = summarize([1.91, 1.93, 1.92]);
 * s.ciHalfWidth; // 0.0248... (t_{0.975,2} = 4.303 · 0.01/√3)
 * ```
 */
export function summarize(xs: readonly number[], options: { level?: number } = {}): Summary {
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) {
    throw new Error(`summarize: level must be in (0, 1), got ${level}.`);
  }
  const n = xs.length;
  const m = mean(xs);
  const s = std(xs);
  const sem = s / Math.sqrt(n);
  const half = n >= 2 ? studentTQuantile(0.5 + level / 2, n - 1) * sem : NaN;
  return { n, mean: m, std: s, sem, ciHalfWidth: half, ciLow: m - half, ciHigh: m + half, level };
}

/** The result of {@link welchTTest}. */
export interface WelchResult {
  /** t statistic of mean(a) − mean(b). */
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number;
  /** Two-sided p-value. */
  readonly p: number;
  /** mean(a) − mean(b). */
  readonly difference: number;
}

/**
 * Welch's two-sample t-test (unequal variances), two-sided. Needs two values on each side.
 *
 * @example
 * ```ts
 * import { welchTTest } from "@actlab/actlab";
 * const r = welchTTest([1.90, 1.91, 1.92], [1.95, 1.97, 1.96]);
 * r.p < 0.05; // true
 * ```
 */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) {
    throw new Error(
      `welchTTest needs at least 2 values per group (got ${a.length} and ${b.length}); ` +
        `run more seeds.`,
    );
  }
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const difference = mean(a) - mean(b);
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    return {
      t: difference === 0 ? 0 : Math.sign(difference) * Infinity,
      df: NaN,
      p: difference === 0 ? 1 : 0,
      difference,
    };
  }
  const t = difference / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const p = Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
  return { t, df, p, difference };
}

/** The result of {@link pairedTTest}. */
export interface PairedResult {
  /** Number of pairs. */
  readonly n: number;
  /** Mean of the differences a_i − b_i. */
  readonly difference: number;
  /** Standard deviation of the differences (n − 1). */
  readonly std: number;
  /** t statistic: difference / (std/√n). */
  readonly t: number;
  /** Degrees of freedom, n − 1. */
  readonly df: number;
  /** Two-sided p-value. */
  readonly p: number;
  /** Lower end of the confidence interval of the mean difference. */
  readonly ciLow: number;
  /** Upper end of the confidence interval of the mean difference. */
  readonly ciHigh: number;
  /** The confidence level, e.g. 0.95. */
  readonly level: number;
}

/**
 * The paired t-test, two-sided: `a[i]` and `b[i]` belong together (in a sweep, the same seed:
 * same initial weights where shapes agree, same batches), so the test works on the differences
 * and the seed-to-seed variation they share cancels. Needs two pairs.
 *
 * @example
 * ```ts
 * import { pairedTTest } from "./stats.ts";
 * const r = pairedTTest([1.90, 1.95, 1.99], [1.92, 1.98, 2.01]);
 * r.difference; // -0.0233…
 * r.p < 0.05; // true: the seeds vary a lot, the differences little
 * ```
 */
export function pairedTTest(
  a: readonly number[],
  b: readonly number[],
  options: { level?: number } = {},
): PairedResult {
  if (a.length !== b.length) {
    throw new Error(
      `pairedTTest needs pairs: got ${a.length} and ${b.length} values; pass the values of the ` +
        `same seeds in the same order.`,
    );
  }
  if (a.length < 2) {
    throw new Error(`pairedTTest needs at least 2 pairs (got ${a.length}); run more seeds.`);
  }
  const level = options.level ?? 0.95;
  const d = a.map((x, i) => x - b[i]);
  const s = summarize(d, { level });
  const df = d.length - 1;
  const base = { n: d.length, difference: s.mean, std: s.std, df, level };
  if (s.sem === 0) {
    return {
      ...base,
      t: s.mean === 0 ? 0 : Math.sign(s.mean) * Infinity,
      p: s.mean === 0 ? 1 : 0,
      ciLow: s.mean,
      ciHigh: s.mean,
    };
  }
  const t = s.mean / s.sem;
  const p = Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
  return { ...base, t, p, ciLow: s.ciLow, ciHigh: s.ciHigh };
}

/**
 * Holm's step-down adjustment of p-values for multiple comparisons (controls the family-wise
 * error rate, uniformly more powerful than Bonferroni): sorted ascending, the k-th smallest is
 * multiplied by (m − k + 1), kept monotone and capped at 1. NaN entries (no test) stay NaN and
 * do not count in m. Returned in the input order.
 *
 * @example
 * ```ts
 * import { holmAdjust } from "./stats.ts";
 * holmAdjust([0.01, 0.04, 0.03, 0.005]); // [0.03, 0.06, 0.06, 0.02], as R's p.adjust(…, "holm")
 * ```
 */
export function holmAdjust(ps: readonly number[]): number[] {
  const order = ps.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p))
    .sort((x, y) => x[0] - y[0]);
  const m = order.length;
  const out = ps.map(() => NaN);
  let running = 0;
  for (const [k, [p, i]] of order.entries()) {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  }
  return out;
}

/**
 * The smallest true mean difference a paired t-test of `n` pairs whose differences have standard
 * deviation `std` detects with probability `power` (default 0.8) at two-sided level `alpha`
 * (default 0.05): (t_{1−α/2, n−1} + t_{power, n−1}) · std/√n, the usual approximation of the
 * noncentral t. Pass `alpha / m` for a Bonferroni-style bound across m comparisons.
 *
 * @example
 * ```ts
 * import { minimumDetectableDifference } from "./stats.ts";
 * minimumDetectableDifference(0.02, 5); // 0.0332…: 5 seeds resolve about 0.03 nats here
 * ```
 */
export function minimumDetectableDifference(
  std: number,
  n: number,
  options: { alpha?: number; power?: number } = {},
): number {
  const alpha = options.alpha ?? 0.05, power = options.power ?? 0.8;
  if (n < 2 || !(std >= 0)) return NaN;
  const df = n - 1;
  return (studentTQuantile(1 - alpha / 2, df) + studentTQuantile(power, df)) * std / Math.sqrt(n);
}
