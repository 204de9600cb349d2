/**
 * Choosing a value of the tuned axis (the learning rate) for one activation from its selection
 * trials: the best cell (lowest mean final loss over the selection seeds; a value where a seed
 * diverged ranks last), a quadratic fit of loss against log(value) around it with the optimum's
 * interval, whether the best lies inside the grid, and where to widen the grid when it does not.
 *
 * @module
 */
import { polyFit, quadraticVertex } from "../core/fit.ts";
import { mean } from "../core/stats.ts";
import type { TrialResult } from "./record.ts";
import type { TuneSpec } from "./study_file.ts";

/** One tried value: its seeds' final losses. */
export interface TriedValue {
  /** The value (e.g. a peak learning rate). */
  readonly value: number;
  /** Completed seeds. */
  readonly n: number;
  /** Diverged seeds. */
  readonly diverged: number;
  /** Mean final loss of the completed seeds (+∞ ranks a value with a diverged seed last). */
  readonly mean: number;
}

/** The quadratic fit of loss against ln(value) near the best cell. */
export interface TuneFit {
  /** The fitted optimum (a value, not its log). */
  readonly optimum: number;
  /** Its 95% interval (delta method), as values; NaN when the points do not locate it. */
  readonly low: number;
  /** Upper end. */
  readonly high: number;
  /** The fitted loss at the optimum. */
  readonly loss: number;
  /** Curvature in ln(value): positive when the fit has a minimum. */
  readonly curvature: number;
  /** R² of the fit over its points. */
  readonly r2: number;
  /** The values the fit used (the best and up to two neighbours each side). */
  readonly window: readonly number[];
}

/** What the selection stage decided for one activation in one cell. */
export interface Selection {
  /** The activation. */
  readonly activation: string;
  /** Every value tried, ascending, with its losses. */
  readonly tried: readonly TriedValue[];
  /** The best cell's value. */
  readonly best: number;
  /** The best is the lowest or highest value tried. */
  readonly atEdge: boolean;
  /** The fit, when at least three values near the best completed. */
  readonly fit?: TuneFit;
  /** The value the confirmation stage runs. */
  readonly chosen: number;
  /** Why: `fit` (nearest the fitted optimum) or `best` (the best cell), with the reason. */
  readonly rule: string;
}

/**
 * The tried values of one activation, ascending, each with its completed and diverged seeds and
 * its ranking mean (+∞ when a seed diverged).
 *
 * @example
 * ```ts
 * import { triedValues } from "@actlab/actlab/sweep";
 * const t = (finalValLoss: number) => ({ status: "completed", finalValLoss }) as never;
 * triedValues(new Map([[3e-3, [t(1.8), t(1.9)]]]))[0].mean; // 1.85
 * ```
 */
export function triedValues(byValue: ReadonlyMap<number, readonly TrialResult[]>): TriedValue[] {
  return [...byValue].sort(([a], [b]) => a - b).map(([value, trials]) => {
    const done = trials.filter((t) => t.status === "completed");
    const diverged = trials.length - done.length;
    return {
      value,
      n: done.length,
      diverged,
      mean: diverged > 0 ? Infinity : mean(done.map((t) => t.finalValLoss)),
    };
  });
}

/** The quadratic fit in ln(value) over the best value and up to two neighbours on each side. */
function fitAround(
  byValue: ReadonlyMap<number, readonly TrialResult[]>,
  tried: readonly TriedValue[],
  bestIndex: number,
): TuneFit | undefined {
  const window = tried.slice(Math.max(0, bestIndex - 2), bestIndex + 3)
    .filter((t) => t.diverged === 0 && t.n > 0);
  if (window.length < 3) return undefined;
  const xs: number[] = [], ys: number[] = [];
  for (const t of window) {
    for (const trial of byValue.get(t.value) ?? []) {
      xs.push(Math.log(t.value));
      ys.push(trial.finalValLoss);
    }
  }
  const fit = polyFit(xs, ys, 2);
  const v = quadraticVertex(fit);
  return {
    optimum: Math.exp(v.x),
    low: Math.exp(v.low),
    high: Math.exp(v.high),
    loss: v.y,
    curvature: v.curvature,
    r2: fit.r2,
    window: window.map((t) => t.value),
  };
}

/**
 * Chooses the value to confirm for one activation from its selection trials by value: the best
 * cell, the fit around it, and — with `choose: "fit"` — the tried value nearest (in log) to the
 * fitted optimum when the fit has a minimum inside the range it was fitted on; otherwise the best
 * cell, with the reason in `rule`.
 *
 * @example
 * ```ts
 * import { selectValue } from "@actlab/actlab/sweep";
 * const t = (lr: number, seed: number) => {
 *   const loss = 1.8 + (Math.log(lr / 3e-3)) ** 2 / 10 + seed * 1e-3;
 *   return { activation: "gelu", seed, status: "completed" as const, finalValLoss: loss } as never;
 * };
 * const lrs = [1e-3, 1.5e-3, 2.2e-3, 3.3e-3, 5e-3, 7.5e-3];
 * const s = selectValue("gelu", new Map(lrs.map((lr) => [lr, [t(lr, 1), t(lr, 2)]])), { choose: "fit" });
 * console.assert(s.chosen === 3.3e-3 && !s.atEdge && Math.abs(s.fit!.optimum - 3e-3) < 1e-6);
 * ```
 */
export function selectValue(
  activation: string,
  byValue: ReadonlyMap<number, readonly TrialResult[]>,
  spec: Pick<TuneSpec, "choose">,
): Selection {
  const tried = triedValues(byValue).filter((t) => t.n + t.diverged > 0);
  let bestIndex = -1;
  for (const [i, t] of tried.entries()) {
    if (bestIndex < 0 || t.mean < tried[bestIndex].mean) bestIndex = i;
  }
  if (bestIndex < 0) throw new Error(`selectValue: ${activation} has no selection trials yet.`);
  const best = tried[bestIndex].value;
  const atEdge = tried.length > 1 && (bestIndex === 0 || bestIndex === tried.length - 1);
  let fit: TuneFit | undefined;
  try {
    fit = fitAround(byValue, tried, bestIndex);
  } catch {
    fit = undefined; // too few distinct values
  }
  let chosen = best, rule = "best: the lowest mean final loss over the selection seeds";
  if (spec.choose === "fit") {
    const lo = fit ? Math.min(...fit.window) : NaN, hi = fit ? Math.max(...fit.window) : NaN;
    if (!fit) rule = "best (no fit: fewer than 3 completed values near the best)";
    else if (!(fit.curvature > 0)) {
      rule = "best (the fit has no minimum: the loss is not convex there)";
    } else if (!(fit.optimum >= lo && fit.optimum <= hi)) {
      rule = "best (the fitted optimum lies outside the values it was fitted on)";
    } else {
      const near = tried.filter((t) => t.diverged === 0 && t.n > 0).reduce((a, t) =>
        Math.abs(Math.log(t.value / fit!.optimum)) < Math.abs(Math.log(a.value / fit!.optimum))
          ? t
          : a
      );
      chosen = near.value;
      rule = "fit: the tried value nearest the fitted optimum";
    }
  }
  return { activation, tried, best, atEdge, ...(fit ? { fit } : {}), chosen, rule };
}

/** A value one step of `ratio` beyond `edge`, to two significant digits when that keeps it ≤ 1.6× away. */
function stepBeyond(edge: number, ratio: number): number {
  const exact = edge * ratio;
  for (const digits of [2, 3, 6]) {
    const v = Number(exact.toPrecision(digits));
    const r = Math.max(v / edge, edge / v);
    if (v !== edge && r <= 1.6 + 1e-9) return v;
  }
  return Number(exact.toPrecision(6));
}

/**
 * The next value to try when an activation's best is at an edge of its grid: one step beyond that
 * edge (the spacing of the two values there, rounded to two significant digits when that keeps the
 * step at most 1.6×), unless the grid has already been widened `widen` times on that side.
 * Undefined when the best is inside, or no widening is left.
 *
 * @example
 * ```ts
 * import { widenedValue } from "@actlab/actlab/sweep";
 * widenedValue([1e-3, 1.5e-3, 2.25e-3], 2.25e-3, [1e-3, 1.5e-3, 2.25e-3], 3); // 0.0034
 * ```
 */
export function widenedValue(
  tried: readonly number[],
  best: number,
  start: readonly number[],
  widen: number,
): number | undefined {
  const sorted = [...tried].sort((a, b) => a - b);
  if (sorted.length < 2) return undefined;
  const lo = sorted[0], hi = sorted[sorted.length - 1];
  if (best === hi) {
    const added = sorted.filter((v) => v > Math.max(...start)).length;
    if (added >= widen) return undefined;
    return stepBeyond(hi, hi / sorted[sorted.length - 2]);
  }
  if (best === lo) {
    const added = sorted.filter((v) => v < Math.min(...start)).length;
    if (added >= widen) return undefined;
    return stepBeyond(lo, lo / sorted[1]);
  }
  return undefined;
}
