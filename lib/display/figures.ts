/**
 * Ready-made figures for activation research, one family per file — kept as one import for the
 * code that already imports it:
 *
 * | file | figures |
 * |---|---|
 * | `activation_curves.ts` | {@link activationCurves}, {@link activationDifference}, {@link geluTanhDifference} |
 * | `distribution_figure.ts` | {@link distributionFigure}, {@link outputDistributions} |
 * | `loss_curves.ts` | {@link lossCurves} (and {@link rateLabel} for rate axes) |
 * | `interval_chart.ts` | {@link intervalChart} |
 *
 * They take activation names (resolved through the registry) or plain data: arrays, records, or
 * an arquero table.
 *
 * @example
 * ```ts
 * import { activationCurves, lossCurves } from "./figures.ts";
 * const curves = activationCurves(["relu", "gelu"]);
 * const loss = lossCurves([{ activation: "relu", step: 0, loss: 4 }, { activation: "relu", step: 1, loss: 3 }]);
 * console.assert(String(curves).startsWith("Figure:") && String(loss).startsWith("Figure:"));
 * ```
 *
 * @module
 */
export type { ActivationLike } from "./_activation_like.ts";
export type { DataRows } from "./_rows.ts";
export {
  activationCurves,
  activationDifference,
  type CurveOptions,
  type DifferenceOptions,
  geluTanhDifference,
} from "./activation_curves.ts";
export {
  distributionFigure,
  type DistributionOptions,
  outputDistributions,
} from "./distribution_figure.ts";
export {
  type LossBand,
  type LossCurveOptions,
  lossCurves,
  OVERLAP_SHARE,
  rateLabel,
} from "./loss_curves.ts";
export { intervalChart, type IntervalOptions, type IntervalRow } from "./interval_chart.ts";
