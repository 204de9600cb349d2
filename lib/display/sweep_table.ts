/**
 * The study engine's tables for people: a sweep's summary and a grid's tables, each formatted
 * once as a text grid by `lib/sweep/format.ts` and drawn by {@link TableView} as HTML (notebooks,
 * reports), markdown and aligned text (the terminal) — the same cells in every medium.
 *
 * @module
 */
import {
  familyGrid,
  gridGrids,
  lossUnit,
  type StudyCellsView,
  summaryGrid,
  type SummaryGridOptions,
  type TextGrid,
  tunedGrid,
} from "../sweep/format.ts";
import type { FamilyRow } from "../sweep/family.ts";
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

/** Options of {@link studyTables}. */
export interface StudyTablesOptions {
  /** Only this cell (its name, e.g. `depth=4`); default every cell. */
  readonly cell?: string;
  /** Only the family's tests of these pairs `[a, b]` (either order); default every test. */
  readonly pairs?: readonly (readonly [string, string])[];
  /** Only these activations in the tuned table; default all. */
  readonly activations?: readonly string[];
  /** The loss's unit (default: from the study's tokenizer, `nats/char` or `nats/token`). */
  readonly unit?: string;
}

/** The loss unit of a study's trials: per token unless every cell trains on characters. */
function studyUnit(study: StudyCellsView["study"]): string {
  const s = study as {
    readonly base?: { readonly tokenizer?: string };
    readonly cells?: readonly { readonly point?: Readonly<Record<string, unknown>> }[];
  };
  const tokenizers = [
    s.base?.tokenizer,
    ...(s.cells ?? []).map((c) => c.point?.tokenizer as string | undefined),
  ];
  return tokenizers.every((t) => lossUnit({ tokenizer: t }) === "nats/char")
    ? "nats/char"
    : "nats/token";
}

/**
 * A study's two tables: `tuned` (per cell and activation: the chosen learning rate, how it was
 * chosen, the values tried, the fitted optimum, and the confirmation's mean final loss [95% CI])
 * and `family` (every comparison: the paired difference [95% CI], p, and p corrected over the whole
 * study's family), optionally narrowed to one cell, some pairs, some activations. Narrowing changes
 * what is shown, never the correction: p family is always over the whole declared family.
 *
 * @example
 * ```ts ignore
 * import { readStudy, studyTables } from "@actlab/actlab";
 * const t = studyTables(await readStudy("notebooks/results/tuned"), { cell: "depth=4" });
 * t.tuned; // in a notebook cell: the table
 * ```
 */
export function studyTables(
  result: StudyCellsView & { readonly family: readonly FamilyRow[] },
  options: StudyTablesOptions = {},
): { tuned: TableView; family: TableView } {
  const unit = options.unit ?? studyUnit(result.study);
  const keepCell = (name: string) => options.cell === undefined || name === options.cell;
  const cells = result.cells.filter((c) => keepCell(c.name)).map((c) => ({
    ...c,
    activations: c.activations.filter((a) =>
      !options.activations || options.activations.includes(a)
    ),
  }));
  const pairOk = (r: FamilyRow) =>
    !options.pairs ||
    options.pairs.some(([a, b]) => (r.a === a && r.b === b) || (r.a === b && r.b === a));
  const family = result.family.filter((r) => keepCell(r.cell) && pairOk(r));
  return {
    tuned: new TableView(tunedGrid({ ...result, cells }, { unit })),
    family: new TableView(familyGrid(family, { unit })),
  };
}
