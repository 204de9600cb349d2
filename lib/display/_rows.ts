/**
 * Tabular input as the display helpers accept it.
 *
 * @module
 */

/** Rows of plain records, or anything with arquero's `objects()` (an arquero table). */
export type Rows = readonly Record<string, unknown>[] | { objects(): Record<string, unknown>[] };

/** Column names, when `rows` is an arquero table (`columnNames()`), else undefined. */
export function columnNamesOf(rows: Rows): string[] | undefined {
  const t = rows as { columnNames?: () => string[] };
  return !Array.isArray(rows) && typeof t.columnNames === "function" ? t.columnNames() : undefined;
}

/** Turns {@link Rows} into an array of records. */
export function toRecords(rows: Rows): Record<string, unknown>[] {
  if (Array.isArray(rows)) return rows as Record<string, unknown>[];
  const table = rows as { objects?: () => Record<string, unknown>[] };
  if (typeof table.objects === "function") return table.objects();
  throw new TypeError(
    "expected an array of records or an arquero table (something with .objects())",
  );
}
