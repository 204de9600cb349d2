/**
 * Reports that combine experiment results with displays: the sweep's offline HTML page
 * (convergence table, confidence intervals, loss curves).
 *
 * @example
 * ```ts ignore
 * import { writeSweepReport } from "./mod.ts";
 * await writeSweepReport("results/sweep", result.trials, result.summary, result.settings);
 * ```
 *
 * @module
 */
export { writeSweepReport } from "./sweep_report.ts";
