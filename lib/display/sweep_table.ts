/**
 * The study engine's tables for people: a sweep's summary and a grid's tables, each formatted
 * once as a text grid by `lib/sweep/format.ts` and drawn by {@link TableView} as HTML (notebooks,
 * reports), markdown and aligned text (the terminal) — the same cells in every medium.
 *
 * @module
 */
import { gridGrids, summaryGrid, type SummaryGridOptions, type TextGrid } from "../sweep/format.ts";
import type { SummaryRow } from "../sweep/summary.ts";
import { TableView } from "./table.ts";

/**
 * A sweep's summary rows as a table: runs, final loss [95% CI], the paired difference from the
 * baseline [95% CI], p paired and Holm, MDD80, steps to target, ms/step, parameters; the best mean
 * in bold; what each column means under it.
 *
 * @example
 * ```ts ignore
 * import { sweepTable } from "@actlab/actlab/display";
 * console.log(sweepTable(result.summary).toText()); // the CLI's table
 * sweepTable(result.summary); // in a notebook cell: the same table as HTML
 * ```
 */
export function sweepTable(
  rows: readonly SummaryRow[],
  options: SummaryGridOptions = {},
): TableView {
  return new TableView(summaryGrid(rows, options));
}

/**
 * A grid's tables: `full` (every cell, ★ at each activation's best rate) and `best` (each
 * activation's best learning rate for the other axes' values), from `gridTable` and
 * `bestLearningRates`.
 *
 * @example
 * ```ts ignore
 * import { gridTables } from "@actlab/actlab/display";
 * const { full, best } = gridTables(grid.table.objects(), grid.best.objects());
 * console.log(best.toText());
 * ```
 */
export function gridTables(
  table: readonly object[],
  best: readonly object[],
  options: { unit?: string } = {},
): { full: TableView; best: TableView } {
  const g = gridGrids(table, best, options);
  return { full: new TableView(g.full), best: new TableView(g.best) };
}

/**
 * Any text grid of the study engine as a table.
 *
 * @example
 * ```ts ignore
 * import { textGridTable } from "@actlab/actlab/display";
 * console.log(textGridTable(summaryGrid(rows)).toMarkdown());
 * ```
 */
export function textGridTable(grid: TextGrid): TableView {
  return new TableView(grid);
}
