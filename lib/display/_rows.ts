/**
 * Tabular input as the display helpers accept it.
 *
 * @module
 */

/** Rows of plain records, or anything with arquero's `objects()` (an arquero table). */
export type DataRows = readonly Record<string, unknown>[] | { objects(): object[] };

/** Column names, when `rows` is an arquero table (`columnNames()`), else undefined. */
export function columnNamesOf(rows: DataRows): string[] | undefined {
  const t = rows as { columnNames?: () => string[] };
  return !Array.isArray(rows) && typeof t.columnNames === "function" ? t.columnNames() : undefined;
}

/** Turns {@link DataRows} into an array of records. */
export function toRecords(rows: DataRows): Record<string, unknown>[] {
  if (Array.isArray(rows)) return rows as Record<string, unknown>[];
  const table = rows as { objects?: () => object[] };
  if (typeof table.objects === "function") return table.objects() as Record<string, unknown>[];
  throw new TypeError(
    "expected an array of records or an arquero table (something with .objects())",
  );
}
