/**
 * Trials measured by compute: the training FLOPs of each trial (recorded, or computed from its
 * sweep's settings for trials recorded before FLOPs were), its validation curve against steps,
 * FLOPs and wall-clock, and the equal-compute view: every activation's validation loss at one
 * common FLOP budget, interpolated along its curve, next to the loss at equal steps.
 *
 * @module
 */
import * as aq from "arquero";
import { summarize } from "../core/stats.ts";
import type { TrialResult } from "../sweep/record.ts";

export { trialFlopsPerStep } from "../sweep/cost.ts";

/** One point of a trial's validation curve, on the three axes of cost (a plain row for tables). */
export type CurvePoint = {
  /** The activation. */
  readonly activation: string;
  /** The seed. */
  readonly seed: number;
  /** Optimizer steps taken before the evaluation. */
  readonly step: number;
  /** Training FLOPs spent before it: `step × flopsPerStep`. */
  readonly flops: number;
  /** Seconds since the trial's training started (earlier evaluations included). */
  readonly seconds: number;
  /** Validation loss, nats/char. */
  readonly loss: number;
};

/**
 * The validation curves of the completed trials as rows (one per evaluation) with steps, training
 * FLOPs and wall-clock seconds: ready for `lossCurves(rows, { x: "flops" })`. `flopsPerStep` says
 * where each trial's FLOPs come from (default: its own record, NaN without one).
 *
 * @example
 * ```ts ignore
 * import { trialCurves, trialFlopsPerStep } from "@actlab/actlab/experiments";
 * const rows = trialCurves(r.trials, { flopsPerStep: (t) => trialFlopsPerStep(t, r.settings) });
 * ```
 */
export function trialCurves(
  trials: readonly TrialResult[],
  options: { flopsPerStep?: (trial: TrialResult) => number } = {},
): CurvePoint[] {
  const fps = options.flopsPerStep ?? ((t: TrialResult) => t.flopsPerStep ?? NaN);
  return trials.filter((t) => t.status === "completed").flatMap((t) => {
    const f = fps(t);
    return t.evals.map((e) => ({
      activation: t.activation,
      seed: t.seed,
      step: e.iter,
      flops: e.iter * f,
      seconds: e.elapsedS,
      loss: e.valLoss,
    }));
  });
}

/**
 * The validation loss of a curve at `x`, linear between the evaluations around it; NaN beyond
 * the curve's ends. `points` are sorted by x.
 */
function interpolate(points: readonly { x: number; y: number }[], x: number): number {
  for (let i = 0; i < points.length; i++) {
    const b = points[i];
    if (b.x === x) return b.y;
    if (b.x > x) {
      if (i === 0) return NaN;
      const a = points[i - 1];
      return a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
    }
  }
  return NaN;
}

/** Options of {@link equalComputeTable}. */
export interface EqualComputeOptions {
  /** Where each trial's FLOPs per step come from (default: its own `flopsPerStep`). */
  readonly flopsPerStep?: (trial: TrialResult) => number;
  /**
   * The common budget in training FLOPs. Default: the smallest total of any completed trial, the
   * largest budget every trial reaches.
   */
  readonly budget?: number;
  /** Rows in this order (default: as the activations first appear). */
  readonly activations?: readonly string[];
}

/**
 * The equal-compute view: per activation, the validation loss at one common budget of training
 * FLOPs (each trial's curve interpolated linearly between its evaluations at
 * `budget / flopsPerStep` steps; mean and 95% CI over seeds) next to the final loss at equal
 * steps. Columns: `activation`, `n`, `flops_per_step`, `budget_flops`, `steps_at_budget`,
 * `loss_at_budget_mean`, `loss_at_budget_ci95_low/high`, `final_steps`, `final_flops`,
 * `final_loss_mean`, `final_loss_ci95_low/high`, `seconds_at_budget` (wall-clock to reach the
 * budget, interpolated alike; mean).
 *
 * The interpolated loss mixes what the evaluations measured: intermediate ones are sampled
 * batches, a sweep's final one may be the whole validation split. An activation whose steps cost
 * the least FLOPs reaches the budget before its last step, so its value comes from the curve, not
 * from its final evaluation.
 *
 * @example
 * ```ts ignore
 * import { equalComputeTable, trialFlopsPerStep } from "@actlab/actlab/experiments";
 * equalComputeTable(r.trials, { flopsPerStep: (t) => trialFlopsPerStep(t, r.settings) }).print();
 * ```
 */
export function equalComputeTable(
  trials: readonly TrialResult[],
  options: EqualComputeOptions = {},
): aq.ColumnTable {
  const fps = options.flopsPerStep ?? ((t: TrialResult) => t.flopsPerStep ?? NaN);
  const done = trials.filter((t) => t.status === "completed" && t.evals.length > 0);
  const names = options.activations ?? [...new Set(done.map((t) => t.activation))];
  const totals = done.map((t) => t.evals[t.evals.length - 1].iter * fps(t));
  const budget = options.budget ??
    (totals.length && totals.every(Number.isFinite) ? Math.min(...totals) : NaN);
  const rows = names.map((activation) => {
    const mine = done.filter((t) => t.activation === activation);
    const f = mine.length ? fps(mine[0]) : NaN;
    const at = mine.map((t) => {
      const pts = t.evals.map((e) => ({ x: e.iter * fps(t), y: e.valLoss, s: e.elapsedS }));
      return {
        loss: interpolate(pts, budget),
        seconds: interpolate(pts.map((p) => ({ x: p.x, y: p.s })), budget),
      };
    });
    const atBudget = summarize(at.map((a) => a.loss).filter(Number.isFinite));
    const finals = summarize(mine.map((t) => t.finalValLoss));
    const finalSteps = mine.length ? Math.max(...mine.map((t) => t.evals.at(-1)!.iter)) : NaN;
    return {
      activation,
      n: mine.length,
      flops_per_step: f,
      budget_flops: budget,
      steps_at_budget: budget / f,
      loss_at_budget_mean: atBudget.mean,
      loss_at_budget_ci95_low: atBudget.ciLow,
      loss_at_budget_ci95_high: atBudget.ciHigh,
      final_steps: finalSteps,
      final_flops: finalSteps * f,
      final_loss_mean: finals.mean,
      final_loss_ci95_low: finals.ciLow,
      final_loss_ci95_high: finals.ciHigh,
      seconds_at_budget: summarize(at.map((a) => a.seconds).filter(Number.isFinite)).mean,
    };
  });
  return aq.from(rows);
}
