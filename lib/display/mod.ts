/**
 * Everything a person sees: Plotly figures, tables, progress bars, live charts and cell helpers,
 * as Jupyter display objects with a `text/plain` fallback, so the same call shows a rich output in
 * Deno's kernel and prints sensibly in a terminal.
 *
 * @example
 * ```ts
 * import { activationCurves, convergenceTable, progress } from "@actlab/actlab";
 * const fig = activationCurves(["relu", "gelu", "silu"]); // a cell's value displays it
 * const bar = progress(10, { label: "demo" });
 * for (let i = 1; i <= 10; i++) bar.update(i, { loss: 1 / i });
 * await bar.done();
 * convergenceTable([{ activation: "relu", loss: 1.7 }, { activation: "gelu", loss: 1.6 }]);
 * ```
 *
 * @module
 */
export {
  DisplayObject,
  inNotebook,
  isDisplayable,
  jupyter,
  JUPYTER_DISPLAY,
  show,
} from "./display.ts";
export type { Displayable, JupyterApi, MimeBundle, ShowOptions } from "./display.ts";
export {
  DASHES,
  Figure,
  figure,
  PALETTE,
  seriesColor,
  seriesDash,
  seriesLine,
  STATIC_WIDTH,
} from "./figure.ts";
export type { FigureJson, FigureOptions, LineStyle, PlotlyLayout, PlotlyTrace } from "./figure.ts";
export {
  activationCurves,
  activationDifference,
  distributionFigure,
  geluTanhDifference,
  intervalChart,
  lossCurves,
  outputDistributions,
  rateLabel,
} from "./figures.ts";
export type {
  ActivationLike,
  CurveOptions,
  DataRows,
  DifferenceOptions,
  DistributionOptions,
  IntervalOptions,
  IntervalRow,
  LossBand,
  LossCurveOptions,
} from "./figures.ts";
export { ConvergenceTable, convergenceTable, table, TableView } from "./table.ts";
export { gridTables, studyTables, sweepTable, textGridTable } from "./sweep_table.ts";
export {
  differenceChart,
  multiplierChart,
  scalingFigure,
  selectionFigure,
} from "./study_figures.ts";
export type { SelectionPoint } from "./study_figures.ts";
export type { StudyTablesOptions } from "./sweep_table.ts";
export type { ConvergenceOptions, ConvergenceRow, TableOptions } from "./table.ts";
export { Progress, progress, track } from "./progress.ts";
export { studyStatusView, watchStudy } from "./study_status.ts";
export type { WatchStudyOptions } from "./study_status.ts";
export type { ProgressMetrics, ProgressOptions } from "./progress.ts";
export { LiveChart, liveLossChart } from "./live_chart.ts";
export type { LiveChartOptions } from "./live_chart.ts";
export { cached, isFast, timed, versions, VersionsView } from "./cells.ts";
export type { CachedOptions, VersionInfo } from "./cells.ts";
