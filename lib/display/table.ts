/**
 * Tables that display as HTML, markdown and plain text: any arquero table or array of records,
 * and a convergence table that formats mean ± 95% CI per activation and marks the best.
 *
 * @module
 */
import { DisplayObject, type MimeBundle } from "./display.ts";
import { escapeHtml } from "./_util.ts";
import { columnNamesOf, type DataRows, toRecords } from "./_rows.ts";
import { summarize } from "./_stats.ts";

/** Options for {@link table}. */
export interface TableOptions {
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
  /** A caption shown above the table. */
  caption?: string;
  /** Show at most this many rows, then "… N more rows" (default 50). */
  maxRows?: number;
  /** Which columns, in which order (default: all, in table order). */
  columns?: readonly string[];
}

/** A formatted table: header, cell text, alignment and emphasis (what a TableView draws). */
export interface Grid {
  /** Column headers. */
  columns: string[];
  /** Cell text, row by row. */
  cells: string[][];
  /** Whether each column is numeric (right-aligned). */
  numeric: boolean[];
  /** Whether each row is emphasised. */
  bold: boolean[];
  /** A caption above the table. */
  caption?: string;
  /** Notes under the table (what the columns mean), one paragraph per line. */
  notes?: string;
  /** Rows left out. */
  more: number;
}

/** Formats a number with `digits` significant digits; exponent form for very large/small. */
function formatNumber(x: number, digits: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(Math.max(0, digits - 1));
  return String(Number(x.toPrecision(digits)));
}

function formatCell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return formatNumber(v, digits);
  if (typeof v === "bigint") return String(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * A table as a display object (`text/html`, `text/markdown`, `text/plain`). Build one with
 * {@link table} or {@link convergenceTable}.
 *
 * @example
 * ```ts
 * import { table } from "./table.ts";
 * const t = table([{ activation: "relu", loss: 1.7312 }, { activation: "gelu", loss: 1.6904 }]);
 * console.log(t.toMarkdown());
 * ```
 */
export class TableView extends DisplayObject {
  #grid: Grid;

  /** Use {@link table}. */
  constructor(grid: Grid) {
    super();
    this.#grid = grid;
  }

  /** Column names as shown. */
  get columns(): string[] {
    return [...this.#grid.columns];
  }

  /** The formatted cell text, row by row. */
  get cells(): string[][] {
    return this.#grid.cells.map((r) => [...r]);
  }

  /**
   * An HTML `<table>` (the best row, if any, in bold) in a box that scrolls sideways when the
   * table is wider than the page.
   */
  toHtml(): string {
    const g = this.#grid;
    const th = "padding:4px 10px;border-bottom:2px solid #888;";
    const td = "padding:3px 10px;border-bottom:1px solid #ddd;";
    const head = g.columns.map((c, j) =>
      `<th style="${th}text-align:${g.numeric[j] ? "right" : "left"}">${escapeHtml(c)}</th>`
    ).join("");
    const body = g.cells.map((row, i) =>
      "<tr>" + row.map((cell, j) => {
        const text = g.bold[i] ? `<b>${escapeHtml(cell)}</b>` : escapeHtml(cell);
        return `<td style="${td}text-align:${
          g.numeric[j] ? "right" : "left"
        };font-variant-numeric:tabular-nums">${text}</td>`;
      }).join("") + "</tr>"
    ).join("\n");
    const caption = g.caption
      ? `<caption style="caption-side:top;text-align:left;font-weight:600;padding:4px 0">${
        escapeHtml(g.caption)
      }</caption>`
      : "";
    const more = g.more > 0
      ? `\n<tr><td colspan="${g.columns.length}" style="${td}color:#666">… ${g.more} more rows</td></tr>`
      : "";
    const notes = g.notes
      ? g.notes.split("\n").map((p) =>
        `<p style="font-size:12px;color:#444;margin:4px 0;max-width:60em">${escapeHtml(p)}</p>`
      ).join("")
      : "";
    // A table wider than the page scrolls inside its own box instead of widening the page.
    return `<div class="actlab-table-box" style="overflow-x:auto;max-width:100%">` +
      `<table class="actlab-table" style="border-collapse:collapse;font-size:13px">` +
      `${caption}\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}${more}\n</tbody></table>` +
      `${notes}</div>`;
  }

  /** A GitHub-flavoured markdown table. */
  toMarkdown(): string {
    const g = this.#grid;
    const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
    const lines = [
      "| " + g.columns.map(esc).join(" | ") + " |",
      "|" + g.numeric.map((n) => (n ? " ---: " : " --- ")).join("|") + "|",
      ...g.cells.map((row, i) =>
        "| " + row.map((c) => (g.bold[i] && c ? `**${esc(c)}**` : esc(c))).join(" | ") + " |"
      ),
    ];
    if (g.more > 0) lines.push(`\n… ${g.more} more rows`);
    const notes = g.notes ? `\n\n${g.notes.split("\n").join("\n\n")}` : "";
    return (g.caption ? `**${esc(g.caption)}**\n\n` : "") + lines.join("\n") + notes;
  }

  /** Aligned plain text with a rule under the header. */
  toText(): string {
    const g = this.#grid;
    const widths = g.columns.map((c, j) =>
      Math.max(c.length, ...g.cells.map((r) => [...r[j]].length))
    );
    const fit = (s: string, j: number) => {
      const padding = " ".repeat(Math.max(0, widths[j] - [...s].length));
      return g.numeric[j] ? padding + s : s + padding;
    };
    const lines = [
      g.columns.map(fit).join("  "),
      widths.map((w) => "─".repeat(w)).join("  "),
      ...g.cells.map((row) => row.map(fit).join("  ")),
    ];
    if (g.more > 0) lines.push(`… ${g.more} more rows`);
    const notes = g.notes ? `\n\n${g.notes}` : "";
    return (g.caption ? g.caption + "\n" : "") + lines.map((l) => l.trimEnd()).join("\n") + notes;
  }

  /** The table's MIME bundle. */
  override bundle(): MimeBundle {
    return {
      "text/plain": this.toText(),
      "text/html": this.toHtml(),
      "text/markdown": this.toMarkdown(),
    };
  }
}

/**
 * Displays an arquero table or an array of records as HTML, markdown and plain text, with
 * numbers rounded to `digits` significant digits.
 *
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { table } from "./table.ts";
 * const t = aq.table({ activation: ["relu", "gelu"], loss: [1.7312, 1.6904] });
 * console.log(String(table(t, { caption: "Validation loss" })));
 * ```
 */
export function table(data: DataRows, options: TableOptions = {}): TableView {
  return new TableView(makeGrid(data, options));
}

/** Formats rows into a {@link Grid} (the work behind {@link table}). */
export function makeGrid(data: DataRows, options: TableOptions = {}): Grid {
  const records = toRecords(data);
  const digits = options.digits ?? 4;
  const maxRows = options.maxRows ?? 50;
  const columns = options.columns
    ? [...options.columns]
    : columnNamesOf(data) ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  const shown = records.slice(0, maxRows);
  const numeric = columns.map((c) =>
    records.some((r) => typeof r[c] === "number") &&
    records.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === "number")
  );
  return {
    columns,
    cells: shown.map((r) => columns.map((c) => formatCell(r[c], digits))),
    numeric,
    bold: shown.map(() => false),
    caption: options.caption,
    more: records.length - shown.length,
  };
}

/** Options for {@link convergenceTable}. */
export interface ConvergenceOptions {
  /** Field naming the compared thing (default "activation"). */
  group?: string;
  /** Field of the per-run metric (default "loss"). */
  value?: string;
  /** Whether a lower value is better (default true: losses). */
  lowerIsBetter?: boolean;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Caption above the table. */
  caption?: string;
}

/** One row of a {@link ConvergenceTable}: the statistics behind the formatted cells. */
export interface ConvergenceRow {
  /** The group's name (e.g. the activation). */
  group: string;
  /** Number of runs. */
  n: number;
  /** Mean of the metric over runs. */
  mean: number;
  /** Half-width of the confidence interval (NaN with one run). */
  ci: number;
  /** Sample standard deviation over runs. */
  std: number;
  /** Smallest run. */
  min: number;
  /** Largest run. */
  max: number;
  /** Difference of the mean from the best mean (0 for the best). */
  delta: number;
  /** Whether this is the best group. */
  best: boolean;
}

/**
 * The table {@link convergenceTable} returns: a {@link TableView} that also carries the numbers.
 *
 * @example
 * ```ts
 * import { convergenceTable } from "./table.ts";
 * const t = convergenceTable([{ activation: "relu", loss: 1.7 }, { activation: "relu", loss: 1.8 }]);
 * console.log(t.stats[0].mean); // 1.75
 * ```
 */
export class ConvergenceTable extends TableView {
  /** Per-group statistics, best first. */
  readonly stats: ConvergenceRow[];

  /** Use {@link convergenceTable}. */
  constructor(grid: Grid, stats: ConvergenceRow[]) {
    super(grid);
    this.stats = stats;
  }
}

/** Formats mean ± ci with the ci to two significant digits and the mean to the same place. */
function plusMinus(m: number, ci: number, fallbackDigits = 4): string {
  if (!Number.isFinite(ci) || ci <= 0) return formatNumber(m, fallbackDigits);
  const decimals = Math.max(0, Math.min(10, 1 - Math.floor(Math.log10(ci))));
  return `${m.toFixed(decimals)} ± ${ci.toFixed(decimals)}`;
}

/**
 * A convergence table: per activation, the number of runs, mean ± confidence interval (Student
 * t, 95% by default) of a final metric, the spread, and the gap to the best; sorted best first,
 * the best marked ★ (and bold in HTML and markdown). Input: one row per run.
 *
 * @example
 * ```ts
 * import { convergenceTable } from "./table.ts";
 * const runs = [
 *   { activation: "relu", seed: 0, loss: 1.74 }, { activation: "relu", seed: 1, loss: 1.71 },
 *   { activation: "gelu", seed: 0, loss: 1.66 }, { activation: "gelu", seed: 1, loss: 1.69 },
 * ];
 * console.log(String(convergenceTable(runs, { caption: "final validation loss" })));
 * ```
 */
export function convergenceTable(
  results: DataRows,
  options: ConvergenceOptions = {},
): ConvergenceTable {
  const g = options.group ?? "activation", v = options.value ?? "loss";
  const level = options.level ?? 0.95;
  const lower = options.lowerIsBetter ?? true;
  const records = toRecords(results);
  const by = new Map<string, number[]>();
  for (const r of records) {
    const y = Number(r[v]);
    if (r[v] === null || r[v] === undefined || !Number.isFinite(y)) continue;
    const k = String(r[g]);
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(y);
  }
  if (by.size === 0) {
    throw new Error(
      `convergenceTable: no rows with a numeric '${v}' field (fields seen: ${
        Object.keys(records[0] ?? {}).join(", ") || "none"
      }); pass { group, value } to name your fields`,
    );
  }
  const stats: ConvergenceRow[] = [...by].map(([group, values]) => {
    const s = summarize(values, level);
    return { group, ...s, delta: 0, best: false };
  });
  stats.sort((a, b) => (lower ? a.mean - b.mean : b.mean - a.mean));
  const best = stats[0].mean;
  for (const s of stats) {
    s.delta = s.mean - best;
    s.best = s.mean === best;
  }
  const pct = Math.round(level * 100);
  const columns = [g, "runs", `${v} (mean ± ${pct}% CI)`, "min", "max", "Δ best"];
  const cells = stats.map((s) => [
    s.best ? `${s.group} ★` : s.group,
    String(s.n),
    plusMinus(s.mean, s.ci),
    formatNumber(s.min, 4),
    formatNumber(s.max, 4),
    s.best ? "—" : `${s.delta >= 0 ? "+" : "−"}${formatNumber(Math.abs(s.delta), 3)}`,
  ]);
  return new ConvergenceTable({
    columns,
    cells,
    numeric: [false, true, true, true, true, true],
    bold: stats.map((s) => s.best),
    caption: options.caption ??
      `${v}: mean ± ${pct}% CI over runs (${lower ? "lower" : "higher"} is better; ★ best)`,
    more: 0,
  }, stats);
}
