/**
 * Output distributions of activations for standard-normal inputs: exact moments and sign
 * fractions by quadrature, and sampled histograms. Plain data; never draws.
 *
 * @module
 */
import { createRng } from "../core/rng.ts";
import { normalCdf } from "../activations/_math.ts";
import { type ActivationRef, resolveActivationRef, scalarOf } from "./_ref.ts";

export type { ActivationRef };

/** Statistics of f(X) for X ~ N(0, 1). */
export interface NormalOutputStats {
  /** The activation's registry name. */
  readonly activation: string;
  /** E[f(X)]. */
  readonly mean: number;
  /** √Var[f(X)]. */
  readonly std: number;
  /** P(f(X) = 0): the mass of inputs mapped to exactly zero. */
  readonly zeroFraction: number;
  /** P(f(X) < 0). */
  readonly negativeFraction: number;
  /** P(f(X) > 0). */
  readonly positiveFraction: number;
}

/** Options of {@link normalOutputStats}. */
export interface NormalStatsOptions {
  /** Integration range [−L, L]; the normal mass outside (2·Φ(−L), 1.2e-32 at 12) is ignored. */
  readonly limit?: number;
  /** Simpson subintervals (even); the grid has a node at every integer. Default 24,000. */
  readonly intervals?: number;
}

const SQRT2PI = Math.sqrt(2 * Math.PI);

/**
 * Exact statistics of an activation's output for inputs X ~ N(0, 1): E[f(X)], its standard
 * deviation (composite Simpson quadrature of f·φ and f²·φ on a grid with nodes at every integer,
 * so kinks at 0 or 6 cost no accuracy), and the probability that f(X) is zero, negative or
 * positive (sign changes located by bisection, masses from Φ). Gated activations are taken along
 * the gate with value 1. Accurate to about 1e-9 for the registry's activations.
 *
 * @example
 * ```ts
 * import { normalOutputStats } from "@actlab/actlab/experiments";
 * const relu = normalOutputStats("relu");
 * console.assert(Math.abs(relu.mean - 1 / Math.sqrt(2 * Math.PI)) < 1e-9); // 0.3989
 * console.assert(Math.abs(relu.zeroFraction - 0.5) < 1e-9);
 * const gelu = normalOutputStats("gelu");
 * console.assert(Math.abs(gelu.mean - 1 / (2 * Math.sqrt(Math.PI))) < 1e-9); // 0.2821
 * ```
 */
export function normalOutputStats(
  act: ActivationRef,
  options: NormalStatsOptions = {},
): NormalOutputStats {
  const def = resolveActivationRef(act);
  const f = scalarOf(def);
  const limit = options.limit ?? 12;
  const n = options.intervals ?? 24_000;
  if (n % 2 !== 0 || n < 2) {
    throw new RangeError(`normalOutputStats: intervals must be even and ≥ 2, got ${n}`);
  }
  const h = (2 * limit) / n;
  let m1 = 0, m2 = 0;
  const values = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    const x = -limit + i * h;
    const y = f(x);
    values[i] = y;
    const w = (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(-0.5 * x * x) / SQRT2PI;
    m1 += w * y;
    m2 += w * y * y;
  }
  m1 *= h / 3;
  m2 *= h / 3;
  // Sign masses: whole subintervals where the sign class is the same at both ends and the
  // midpoint; otherwise the boundary is found by bisection.
  const cls = (y: number) => (y === 0 ? 0 : y < 0 ? -1 : 1);
  const mass = { [-1]: 0, 0: 0, 1: 0 } as Record<number, number>;
  for (let i = 0; i < n; i++) {
    const a = -limit + i * h, b = a + h;
    const ca = cls(values[i]), cb = cls(values[i + 1]), cm = cls(f(a + h / 2));
    if (ca === cb && cb === cm) {
      mass[ca] += normalCdf(b) - normalCdf(a);
      continue;
    }
    // Split at the first class change (from a) and the last one (from b); the middle goes to cm.
    const edge = (from: number, to: number, c: number) => {
      let lo = from, hi = to;
      for (let k = 0; k < 60; k++) {
        const mid = (lo + hi) / 2;
        if (cls(f(mid)) === c) lo = mid;
        else hi = mid;
      }
      return lo;
    };
    const left = ca === cm ? a + h / 2 : edge(a, a + h / 2, ca);
    const right = cb === cm ? a + h / 2 : edge(b, a + h / 2, cb);
    mass[ca] += normalCdf(left) - normalCdf(a);
    mass[cm] += normalCdf(Math.max(left, right)) - normalCdf(left);
    mass[cb] += normalCdf(b) - normalCdf(Math.max(left, right));
  }
  const total = mass[-1] + mass[0] + mass[1];
  return {
    activation: def.name,
    mean: m1,
    std: Math.sqrt(Math.max(0, m2 - m1 * m1)),
    zeroFraction: mass[0] / total,
    negativeFraction: mass[-1] / total,
    positiveFraction: mass[1] / total,
  };
}

/** A histogram and the sample statistics of f(X) for sampled X ~ N(0, 1). */
export interface SampledDistribution {
  /** The activation's registry name. */
  readonly activation: string;
  /** Samples drawn. */
  readonly n: number;
  /** Sample mean of f(X). */
  readonly mean: number;
  /** Sample standard deviation of f(X). */
  readonly std: number;
  /** Smallest f(x) drawn. */
  readonly min: number;
  /** Largest f(x) drawn. */
  readonly max: number;
  /** Fraction of samples with f(x) exactly 0. */
  readonly zeroFraction: number;
  /** Fraction of samples with f(x) below 0. */
  readonly negativeFraction: number;
  /** Bin edges (bins + 1 values). */
  readonly edges: number[];
  /** Counts per bin (values outside the range are clipped into the end bins). */
  readonly counts: number[];
  /** The outputs themselves (float64), for plotting. */
  readonly values: Float64Array;
}

/** Options of {@link sampledDistribution}. */
export interface SampledOptions {
  /** Samples. Default 20,000. */
  readonly n?: number;
  /** Seed of the normal draws (the same seed gives the same inputs for every activation). */
  readonly seed?: number;
  /** Histogram bins. Default 60. */
  readonly bins?: number;
  /** Histogram range; default [min, max] of the outputs. */
  readonly range?: readonly [number, number];
}

/**
 * Draws X ~ N(0, 1) (seeded), applies the activation's float64 reference, and returns sample
 * statistics, a histogram and the outputs. Gated activations take the draw as gate, value 1.
 *
 * @example
 * ```ts
 * import { sampledDistribution } from "@actlab/actlab";
 * const d = sampledDistribution("relu", { n: 10_000, seed: 1 });
 * console.assert(Math.abs(d.zeroFraction - 0.5) < 0.02 && d.counts.length === 60);
 * ```
 */
export function sampledDistribution(
  act: ActivationRef,
  options: SampledOptions = {},
): SampledDistribution {
  const def = resolveActivationRef(act);
  const f = scalarOf(def);
  const n = options.n ?? 20_000;
  const bins = options.bins ?? 60;
  if (!(n >= 1 && bins >= 1)) throw new RangeError("sampledDistribution: n and bins must be ≥ 1");
  const rng = createRng(options.seed ?? 0);
  const values = new Float64Array(n);
  let sum = 0, zeros = 0, neg = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const y = f(rng.normal());
    values[i] = y;
    sum += y;
    if (y === 0) zeros++;
    if (y < 0) neg++;
    if (y < min) min = y;
    if (y > max) max = y;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const [lo, hi] = options.range ?? [min, max === min ? min + 1 : max];
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const k = Math.min(bins - 1, Math.max(0, Math.floor((values[i] - lo) / width)));
    counts[k]++;
  }
  return {
    activation: def.name,
    n,
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
    min,
    max,
    zeroFraction: zeros / n,
    negativeFraction: neg / n,
    edges,
    counts,
    values,
  };
}

/**
 * {@link normalOutputStats} for several activations, as rows for a table.
 *
 * @example
 * ```ts
 * import { normalStatsTable } from "@actlab/actlab";
 * const rows = normalStatsTable(["relu", "gelu", "silu"]);
 * console.assert(rows.length === 3 && rows[0].activation === "relu");
 * ```
 */
export function normalStatsTable(
  activations: readonly ActivationRef[],
  options: NormalStatsOptions = {},
): NormalOutputStats[] {
  return activations.map((a) => normalOutputStats(a, options));
}
