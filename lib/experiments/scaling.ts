/**
 * Loss against training compute across model sizes: a power law fitted per activation
 * (log L = α + β·log C over the sizes, each size's mean loss over seeds), and each activation's
 * compute multiplier against a baseline — how much more compute the baseline's fitted curve needs
 * to reach this activation's loss. Uncertainty comes from a bootstrap over seeds: at each size the
 * seeds are resampled together for every activation (a seed shares batches and, where shapes agree,
 * initial weights across activations), the fits redone, and percentile intervals taken.
 *
 * What such a fit supports depends on the sizes: a few small models trained for the same number of
 * steps give a local slope of loss against model size at fixed data, not a compute-optimal scaling
 * law; an extrapolation beyond the sizes measured is not supported.
 *
 * @module
 */
import { polyFit } from "../core/fit.ts";
import { createRng } from "../core/rng.ts";
import { mean } from "../core/stats.ts";

/** One trial as the scaling fit reads it. */
export interface ScalingPoint {
  /** The activation. */
  readonly activation: string;
  /** The model size's label (e.g. `depth=2`). */
  readonly size: string;
  /** Training compute of the trial, FLOPs. */
  readonly compute: number;
  /** The seed (pairs trials across activations). */
  readonly seed: number;
  /** Final validation loss. */
  readonly loss: number;
}

/** One activation's fitted power law. */
export interface ScalingFitRow {
  /** The activation. */
  readonly activation: string;
  /** Intercept α of log L = α + β·log C (natural logs). */
  readonly alpha: number;
  /** Slope β: the exponent of compute (negative: the loss falls with compute). */
  readonly beta: number;
  /** β's bootstrap interval, lower end. */
  readonly betaLow: number;
  /** Upper end. */
  readonly betaHigh: number;
  /** R² of the fit on the size means. */
  readonly r2: number;
  /** The sizes fitted, in compute order. */
  readonly sizes: readonly string[];
}

/** One activation's compute multiplier against the baseline at one size. */
export interface MultiplierRow {
  /** The activation. */
  readonly activation: string;
  /** The baseline. */
  readonly baseline: string;
  /** The size. */
  readonly size: string;
  /** The activation's training compute at that size, FLOPs. */
  readonly compute: number;
  /**
   * The baseline's compute to reach the activation's fitted loss at that compute, divided by that
   * compute: above 1 the activation needs less compute than the baseline for the same loss.
   */
  readonly multiplier: number;
  /** Its bootstrap interval, lower end. */
  readonly low: number;
  /** Upper end. */
  readonly high: number;
}

/** Options of {@link scalingFit}. */
export interface ScalingOptions {
  /** The activation the multipliers are against (default `gelu`). */
  readonly baseline?: string;
  /** Bootstrap resamples (default 2000). */
  readonly resamples?: number;
  /** Interval level (default 0.95). */
  readonly level?: number;
  /** Seed of the bootstrap (default 1). */
  readonly seed?: number;
}

/** Size means of one resample: per activation, per size, the mean loss and compute. */
type Means = Map<string, Map<string, { loss: number; compute: number }>>;

function sizeMeans(
  points: readonly ScalingPoint[],
  seedsOf: ReadonlyMap<string, readonly number[]>,
): Means {
  const out: Means = new Map();
  const by = new Map<string, ScalingPoint>();
  for (const p of points) by.set(`${p.activation}\0${p.size}\0${p.seed}`, p);
  for (const a of new Set(points.map((p) => p.activation))) {
    const m = new Map<string, { loss: number; compute: number }>();
    for (const [size, seeds] of seedsOf) {
      const mine = seeds.map((s) => by.get(`${a}\0${size}\0${s}`)).filter((p) => p !== undefined);
      if (mine.length === 0) continue;
      m.set(size, {
        loss: mean(mine.map((p) => p!.loss)),
        compute: mean(mine.map((p) => p!.compute)),
      });
    }
    out.set(a, m);
  }
  return out;
}

/** The power law of one activation's size means (needs two sizes). */
function fitOne(m: ReadonlyMap<string, { loss: number; compute: number }>) {
  const rows = [...m.values()];
  if (rows.length < 2) return undefined;
  const f = polyFit(rows.map((r) => Math.log(r.compute)), rows.map((r) => Math.log(r.loss)), 1);
  return { alpha: f.coefficients[0], beta: f.coefficients[1], r2: f.r2 };
}

/** The baseline's compute to reach `loss`, over `compute` (its fitted curve, inverted). */
function multiplierOf(
  base: { alpha: number; beta: number },
  loss: number,
  compute: number,
): number {
  return Math.exp((Math.log(loss) - base.alpha) / base.beta) / compute;
}

/** A percentile of sorted values (linear between ranks). */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = q * (sorted.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

/**
 * Fits loss against training compute per activation over model sizes, and each activation's
 * compute multiplier against the baseline at every size, with bootstrap intervals over seeds (the
 * seeds of a size resampled together for all activations). Sizes where an activation has no trial
 * are left out of its fit; an activation needs two sizes.
 *
 * @example
 * ```ts
 * import { scalingFit } from "@actlab/actlab/experiments";
 * const points = ["a", "b"].flatMap((activation) =>
 *   [1e12, 1e13, 1e14].flatMap((compute, k) =>
 *     [1, 2, 3].map((seed) => ({
 *       activation,
 *       size: `s${k}`,
 *       compute,
 *       seed,
 *       loss: (activation === "a" ? 3 : 2.9) * compute ** -0.05 * (1 + 0.001 * seed),
 *     }))
 *   )
 * );
 * const { fits, multipliers } = scalingFit(points, { baseline: "a", resamples: 200 });
 * console.assert(Math.abs(fits[0].beta + 0.05) < 1e-3);
 * console.assert(multipliers.find((m) => m.activation === "b")!.multiplier > 1);
 * ```
 */
export function scalingFit(
  points: readonly ScalingPoint[],
  options: ScalingOptions = {},
): { fits: ScalingFitRow[]; multipliers: MultiplierRow[] } {
  const baseline = options.baseline ?? "gelu";
  const level = options.level ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const sizes = [...new Set(points.map((p) => p.size))];
  const seedsOf = new Map(sizes.map((s) => [
    s,
    [...new Set(points.filter((p) => p.size === s).map((p) => p.seed))].sort((a, b) => a - b),
  ]));
  const activations = [...new Set(points.map((p) => p.activation))];
  const estimate = (means: Means) => {
    const fits = new Map(activations.map((a) => [a, fitOne(means.get(a)!)]));
    const base = fits.get(baseline);
    const mult = new Map<string, number>();
    for (const a of activations) {
      for (const [size, v] of means.get(a) ?? []) {
        const f = fits.get(a);
        if (!f || !base) continue;
        const fitted = Math.exp(f.alpha + f.beta * Math.log(v.compute));
        mult.set(`${a}\0${size}`, multiplierOf(base, fitted, v.compute));
      }
    }
    return { fits, mult };
  };
  const point = estimate(sizeMeans(points, seedsOf));
  const rng = createRng(options.seed ?? 1);
  const betas = new Map<string, number[]>(), mults = new Map<string, number[]>();
  for (let b = 0; b < resamples; b++) {
    const drawn = new Map([...seedsOf].map(([s, seeds]) => [
      s,
      seeds.map(() => seeds[rng.int(seeds.length)]),
    ]));
    const e = estimate(sizeMeans(points, drawn));
    for (const [a, f] of e.fits) if (f) betas.set(a, [...(betas.get(a) ?? []), f.beta]);
    for (const [k, m] of e.mult) mults.set(k, [...(mults.get(k) ?? []), m]);
  }
  const interval = (xs: number[] | undefined) => {
    const s = (xs ?? []).filter(Number.isFinite).sort((x, y) => x - y);
    return [percentile(s, (1 - level) / 2), percentile(s, (1 + level) / 2)];
  };
  const fits: ScalingFitRow[] = activations.flatMap((a) => {
    const f = point.fits.get(a);
    if (!f) return [];
    const [betaLow, betaHigh] = interval(betas.get(a));
    const m = sizeMeans(points, seedsOf).get(a)!;
    const order = [...m].sort(([, x], [, y]) => x.compute - y.compute).map(([s]) => s);
    return [{ activation: a, ...f, betaLow, betaHigh, sizes: order }];
  });
  const means = sizeMeans(points, seedsOf);
  const multipliers: MultiplierRow[] = activations.filter((a) => a !== baseline).flatMap((a) =>
    [...(means.get(a) ?? [])].sort(([, x], [, y]) => x.compute - y.compute).flatMap(
      ([size, v]) => {
        const m = point.mult.get(`${a}\0${size}`);
        if (m === undefined) return [];
        const [low, high] = interval(mults.get(`${a}\0${size}`));
        return [{ activation: a, baseline, size, compute: v.compute, multiplier: m, low, high }];
      },
    )
  );
  return { fits, multipliers };
}
