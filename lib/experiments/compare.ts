/**
 * Paired comparisons of sweep trials: trials of one seed share batches (and, where shapes agree,
 * initial weights), so two activations are compared on their per-seed differences, with a paired
 * t-test, a confidence interval of the mean difference, Holm's adjustment across the comparisons
 * made together, and the smallest difference the pairs could detect.
 *
 * @module
 */
import * as aq from "arquero";
import {
  holmAdjust,
  minimumDetectableDifference,
  type PairedResult,
  pairedTTest,
  summarize,
  welchTTest,
} from "../core/stats.ts";
import { median, type TrialResult } from "./_trial.ts";

/** The completed trials' final validation losses of one activation, by seed. */
function finalsBySeed(trials: readonly TrialResult[], activation: string): Map<number, number> {
  return new Map(
    trials.filter((t) => t.activation === activation && t.status === "completed")
      .map((t) => [t.seed, t.finalValLoss]),
  );
}

/**
 * The paired test of `a` against `b` over the seeds both completed (`a − b`; negative: `a` has
 * the lower loss). `result` is undefined with fewer than two shared seeds.
 */
export function pairBySeed(
  trials: readonly TrialResult[],
  a: string,
  b: string,
): { readonly seeds: number[]; readonly result?: PairedResult } {
  const mine = finalsBySeed(trials, a), theirs = finalsBySeed(trials, b);
  const seeds = [...mine.keys()].filter((k) => theirs.has(k)).sort((x, y) => x - y);
  if (seeds.length < 2) return { seeds };
  const result = pairedTTest(seeds.map((k) => mine.get(k)!), seeds.map((k) => theirs.get(k)!));
  return { seeds, result };
}

/**
 * Compares pairs of activations on the final validation loss of a sweep's trials, one row per
 * pair `[a, b]`: `a_mean`, `b_mean` (over each one's completed seeds), and paired by seed:
 * `pairs`, the mean difference `diff_mean` (a − b; negative = `a` lower) with its 95% CI
 * `diff_ci95_low/high`, the paired t-test's `p_paired`, `p_holm` (Holm-adjusted across the rows
 * of this call, which is the family the adjustment covers) and `mdd80` (the smallest difference
 * these pairs detect with 80% power at α = 0.05, from the observed spread of the differences);
 * `p_welch`: Welch's unpaired test, for comparison.
 *
 * @example
 * ```ts ignore
 * import { comparePairs } from "@actlab/actlab";
 * comparePairs(trials, [["reglu", "relu"], ["geglu", "gelu"], ["swiglu", "silu"]]).print();
 * ```
 */
export function comparePairs(
  trials: readonly TrialResult[],
  pairs: readonly (readonly [string, string])[],
): aq.ColumnTable {
  const tests = pairs.map(([a, b]) => pairBySeed(trials, a, b));
  const holm = holmAdjust(tests.map((t) => t.result?.p ?? NaN));
  return aq.from(pairs.map(([a, b], i) => {
    const r = tests[i].result;
    const xa = [...finalsBySeed(trials, a).values()], xb = [...finalsBySeed(trials, b).values()];
    return {
      a,
      b,
      a_mean: summarize(xa).mean,
      b_mean: summarize(xb).mean,
      pairs: tests[i].seeds.length,
      diff_mean: r?.difference ?? NaN,
      diff_ci95_low: r?.ciLow ?? NaN,
      diff_ci95_high: r?.ciHigh ?? NaN,
      p_paired: r?.p ?? NaN,
      p_holm: holm[i],
      mdd80: r ? minimumDetectableDifference(r.std, r.n) : NaN,
      p_welch: xa.length >= 2 && xb.length >= 2 ? welchTTest(xa, xb).p : NaN,
    };
  }));
}

/** A completed trial whose final loss lies far above the other seeds of its activation. */
export interface SeedOutlier {
  readonly activation: string;
  readonly seed: number;
  readonly finalValLoss: number;
  /** The median final loss of the activation's other completed seeds. */
  readonly othersMedian: number;
  /** `finalValLoss − othersMedian`. */
  readonly excess: number;
}

/**
 * Completed trials whose final validation loss exceeds the median of their activation's other
 * seeds by more than `minExcess` (default 0.1 nats/char) and by more than `spreads` (default 5)
 * robust standard deviations of those others (1.4826 × their median absolute deviation): a run
 * that stalled or failed without diverging, which a mean over seeds silently absorbs. Only
 * activations with at least three completed seeds are checked (with two, neither is the odd one).
 *
 * @example
 * ```ts
 * import { seedOutliers } from "@actlab/actlab/experiments";
 * const trial = (seed: number, finalValLoss: number) =>
 *   ({ activation: "swiglu", seed, status: "completed", finalValLoss }) as never;
 * const [o] = seedOutliers([trial(1, 1.771), trial(2, 2.468), trial(3, 1.761)]);
 * console.assert(o.seed === 2 && Math.abs(o.excess - 0.702) < 1e-9);
 * ```
 */
export function seedOutliers(
  trials: readonly TrialResult[],
  options: { readonly minExcess?: number; readonly spreads?: number } = {},
): SeedOutlier[] {
  const minExcess = options.minExcess ?? 0.1, spreads = options.spreads ?? 5;
  const out: SeedOutlier[] = [];
  for (const activation of new Set(trials.map((t) => t.activation))) {
    const finals = [...finalsBySeed(trials, activation)].filter(([, v]) => Number.isFinite(v));
    if (finals.length < 3) continue;
    for (const [seed, loss] of finals) {
      const others = finals.filter(([s]) => s !== seed).map(([, v]) => v);
      const mid = median(others);
      const mad = median(others.map((v) => Math.abs(v - mid)));
      const excess = loss - mid;
      if (excess > minExcess && excess > spreads * 1.4826 * mad) {
        out.push({ activation, seed, finalValLoss: loss, othersMedian: mid, excess });
      }
    }
  }
  return out;
}

/**
 * The notice for an outlying trial (see {@link seedOutliers}): which trial, by how much, and what
 * to do about it; `where` (a sweep folder) prefixes it.
 *
 * @example
 * ```ts
 * import { seedOutlierNotice } from "@actlab/actlab/experiments";
 * const o = { activation: "swiglu", seed: 2, finalValLoss: 2.468, othersMedian: 1.766, excess: 0.702 };
 * console.assert(seedOutlierNotice(o).startsWith("swiglu seed 2 ended at a validation loss of 2.468"));
 * ```
 */
export function seedOutlierNotice(o: SeedOutlier, where?: string): string {
  return `${where ? `${where}: ` : ""}${o.activation} seed ${o.seed} ended at a validation loss ` +
    `of ${o.finalValLoss.toFixed(3)}, ${o.excess.toFixed(3)} above the median of its other ` +
    `seeds (${o.othersMedian.toFixed(3)}): the run may have stalled or failed without ` +
    `diverging. It is counted in the means; look at its loss curve before reading them.`;
}
