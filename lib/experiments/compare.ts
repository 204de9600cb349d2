/**
 * Paired comparisons of sweep trials, pair by pair: trials of one seed share batches (and, where
 * shapes agree, initial weights), so two activations are compared on their per-seed differences,
 * with a paired t-test, a confidence interval of the mean difference, Holm's adjustment across the
 * comparisons made together, and the smallest difference the pairs could detect. (A study's family
 * of comparisons, corrected together, is `familyTests` in lib/sweep.)
 *
 * @module
 */
import * as aq from "arquero";
import { holmAdjust, minimumDetectableDifference, summarize, welchTTest } from "../core/stats.ts";
import type { TrialResult } from "../sweep/record.ts";
import { pairBySeed } from "../sweep/summary.ts";

/** The completed trials' final validation losses of one activation, by seed. */
function finalsBySeed(trials: readonly TrialResult[], activation: string): Map<number, number> {
  return new Map(
    trials.filter((t) => t.activation === activation && t.status === "completed")
      .map((t) => [t.seed, t.finalValLoss]),
  );
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
