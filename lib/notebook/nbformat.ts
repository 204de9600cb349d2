/**
 * Jupyter notebooks (nbformat 4) as data: types, reading, and writing in the layout Jupyter
 * itself writes (one-space indent, sorted keys, multi-line strings split into lines), atomically.
 *
 * @module
 */
import { writeTextAtomic } from "../core/fs.ts";

/** A MIME bundle as stored in a notebook: strings (or lists of lines) and JSON objects. */
export type OutputData = Record<string, string | string[] | object>;

/**
 * One output of a code cell (nbformat 4): a stream, a display, a cell's value, or an error.
 */
export type Output =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string | string[] }
  | {
    output_type: "display_data";
    data: OutputData;
    metadata: Record<string, unknown>;
  }
  | {
    output_type: "execute_result";
    data: OutputData;
    metadata: Record<string, unknown>;
    execution_count: number | null;
  }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

/** A notebook cell. */
export interface Cell {
  /** Code, markdown, or raw text. */
  cell_type: "code" | "markdown" | "raw";
  /** The cell's id (nbformat 4.5). */
  id?: string;
  /** The cell's text, whole or split into lines. */
  source: string | string[];
  /** Cell metadata (`tags`, …). */
  metadata: Record<string, unknown>;
  /** Outputs of a code cell. */
  outputs?: Output[];
  /** The execution counter of a code cell (null before it ran). */
  execution_count?: number | null;
  /** Files attached to a markdown cell. */
  attachments?: Record<string, unknown>;
}

/** A whole notebook. */
export interface Notebook {
  /** Major format version (4). */
  nbformat: number;
  /** Minor format version. */
  nbformat_minor: number;
  /** Notebook metadata (`kernelspec`, `language_info`, …). */
  metadata: Record<string, unknown>;
  /** The cells in order. */
  cells: Cell[];
}

/** A cell's source as one string. */
export function sourceOf(cell: Pick<Cell, "source">): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Joins a notebook string field that may be split into lines. */
export function joinText(text: string | string[] | object | undefined): string {
  if (text === undefined) return "";
  if (Array.isArray(text)) return text.join("");
  return typeof text === "string" ? text : JSON.stringify(text);
}

/**
 * Reads and checks a notebook file. Throws naming the file when it is not nbformat 4 JSON.
 *
 * @example
 * ```ts ignore
 * import { readNotebook } from "./nbformat.ts";
 * const nb = await readNotebook("notebooks/00_quickstart.ipynb");
 * console.log(nb.cells.length);
 * ```
 */
export async function readNotebook(path: string): Promise<Notebook> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read notebook ${path}: ${(e as Error).message}`);
  }
  let nb: Notebook;
  try {
    nb = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); is it a notebook?`);
  }
  if (typeof nb !== "object" || nb === null || !Array.isArray(nb.cells)) {
    throw new Error(`${path} has no "cells" list; is it a Jupyter notebook?`);
  }
  if (nb.nbformat !== 4) {
    throw new Error(
      `${path} is nbformat ${nb.nbformat}; only nbformat 4 is supported ` +
        "(convert with `jupyter nbconvert --to notebook`)",
    );
  }
  return nb;
}

function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === "" ? [] : lines;
}

const SPLIT_SKIP = /json$/;

/** Puts a notebook into the shape Jupyter writes (lines split, keys sorted by the serialiser). */
function normalise(nb: Notebook): Notebook {
  const fixData = (data: OutputData): OutputData =>
    Object.fromEntries(
      Object.entries(data).map(([mime, value]) => [
        mime,
        typeof value === "string" && !SPLIT_SKIP.test(mime) && mime.startsWith("text/")
          ? splitLines(value)
          : mime.startsWith("image/") && Array.isArray(value)
          ? value.join("")
          : value,
      ]),
    );
  return {
    ...nb,
    cells: nb.cells.map((cell) => {
      const out: Cell = { ...cell, source: splitLines(sourceOf(cell)) };
      if (cell.outputs) {
        out.outputs = cell.outputs.map((o) => {
          if (o.output_type === "stream") return { ...o, text: splitLines(joinText(o.text)) };
          if (o.output_type === "display_data" || o.output_type === "execute_result") {
            return { ...o, data: fixData(o.data) };
          }
          return o;
        });
      }
      return out;
    }),
  };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Serialises a notebook as Jupyter does: one-space indent, sorted keys, text split into lines,
 * trailing newline.
 *
 * @example
 * ```ts
 * import { notebookToJson } from "./nbformat.ts";
 * const json = notebookToJson({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "code", source: "1 + 1", metadata: {}, outputs: [], execution_count: null }],
 * });
 * console.assert(json.endsWith("}\n"));
 * ```
 */
export function notebookToJson(nb: Notebook): string {
  return JSON.stringify(sortKeys(normalise(nb)), null, 1) + "\n";
}

/**
 * Writes a notebook atomically (a temporary file in the same folder, then a rename).
 *
 * @example
 * ```ts ignore
 * import { readNotebook, writeNotebook } from "./nbformat.ts";
 * const nb = await readNotebook("in.ipynb");
 * await writeNotebook("out.ipynb", nb);
 * ```
 */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  await writeTextAtomic(path, notebookToJson(nb));
}

export { writeTextAtomic };
