/**
 * Notebook parameters, papermill's convention for Deno notebooks: the cell tagged `parameters`
 * declares one object literal (`const SETTINGS = { iters: 600, seeds: [1, 2] };`), and values
 * given on the command line (`-p iters=2000`) are assigned into it by a cell tagged
 * `injected-parameters` inserted after it. Only the object's own keys are accepted, and a value
 * must have the type of the key's default.
 *
 * The object literal is read as TypeScript source, not run: comments, strings and nested
 * brackets are skipped, so a word in a comment or an expression (`"tiny" as const : "nano"`) is
 * never taken for a key. A default whose type cannot be read from the source (a call, a
 * variable) is checked when the injected cell runs instead.
 *
 * @module
 */
import type { Cell, Notebook } from "./nbformat.ts";
import { sourceOf } from "./nbformat.ts";

/** The type of a value as parameters compare them. */
export type ParameterType = "number" | "string" | "boolean" | "array" | "object" | "null";

/** One key of the parameters object and what its default can be. */
export interface ParameterInfo {
  /** The key. */
  readonly name: string;
  /** The default's source text, e.g. `FAST ? 20 : 600`. */
  readonly source: string;
  /**
   * The types the default can have (both branches of a ternary), `null` standing for `null` and
   * `undefined`; empty when the source does not say (a call, a variable).
   */
  readonly types: readonly ParameterType[];
}

/** The cell tagged `parameters`: its index, the object's name and its keys. */
export interface ParametersCell {
  /** Index of the cell among all cells. */
  readonly index: number;
  /** Name of the declared object, e.g. `SETTINGS`. */
  readonly object: string;
  /** Its keys, in order. */
  readonly keys: readonly ParameterInfo[];
}

function tagsOf(cell: Cell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.map(String) : [];
}

/** Index just past the string or template literal starting at `i` (its quote). */
function skipString(src: string, i: number): number {
  const quote = src[i];
  let j = i + 1;
  while (j < src.length) {
    const ch = src[j];
    if (ch === "\\") j += 2;
    else if (ch === quote) return j + 1;
    else if (quote === "`" && ch === "$" && src[j + 1] === "{") j = skipBalanced(src, j + 1);
    else j++;
  }
  return j;
}

/** Index just past the comment starting at `i`, or `i` when none starts there. */
function skipComment(src: string, i: number): number {
  if (src[i] !== "/") return i;
  if (src[i + 1] === "/") {
    const end = src.indexOf("\n", i);
    return end < 0 ? src.length : end + 1;
  }
  if (src[i + 1] === "*") {
    const end = src.indexOf("*/", i + 2);
    return end < 0 ? src.length : end + 2;
  }
  return i;
}

/** Index just past the bracket group opening at `i` (`{`, `[` or `(`). */
function skipBalanced(src: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < src.length) {
    const after = skipComment(src, j);
    if (after !== j) {
      j = after;
      continue;
    }
    const ch = src[j];
    if (ch === '"' || ch === "'" || ch === "`") {
      j = skipString(src, j);
      continue;
    }
    if (ch === "{" || ch === "[" || ch === "(") depth++;
    else if (ch === "}" || ch === "]" || ch === ")") {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return j;
}

/** Index of the next character that is neither white space nor part of a comment. */
function skipBlank(src: string, i: number): number {
  let j = i;
  while (j < src.length) {
    const after = skipComment(src, j);
    if (after !== j) j = after;
    else if (/\s/.test(src[j])) j++;
    else break;
  }
  return j;
}

/** The source with comments removed and white space collapsed (strings kept as they are). */
function stripComments(src: string): string {
  let out = "";
  let j = 0;
  while (j < src.length) {
    const after = skipComment(src, j);
    if (after !== j) {
      out += " ";
      j = after;
      continue;
    }
    if (src[j] === '"' || src[j] === "'" || src[j] === "`") {
      const end = skipString(src, j);
      out += src.slice(j, end);
      j = end;
      continue;
    }
    out += src[j++];
  }
  return out.replace(/\s+/g, " ").trim();
}

/**
 * Top-level pieces of `src` split at `sep` characters outside brackets and strings (the
 * separator `?` and `:` of a ternary, or `,`).
 */
function splitTop(src: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let j = 0;
  while (j < src.length) {
    const ch = src[j];
    if (ch === '"' || ch === "'" || ch === "`") j = skipString(src, j);
    else if (ch === "{" || ch === "[" || ch === "(") j = skipBalanced(src, j);
    else if (ch === sep) {
      parts.push(src.slice(start, j));
      start = ++j;
    } else j++;
  }
  parts.push(src.slice(start));
  return parts.map((p) => p.trim());
}

/** The types a default's source can evaluate to (see {@link ParameterInfo.types}). */
function typesOf(expr: string): ParameterType[] {
  const e = expr.replace(/\s+as\s+(const|[\w.<>[\]| ]+)$/, "").trim();
  // A ternary: either branch (cond ? a : b, the first "?" and its ":" outside brackets).
  const q = splitTop(e, "?");
  if (q.length >= 2 && !e.includes("??") && !e.includes("?.")) {
    const branches = splitTop(q.slice(1).join("?"), ":");
    if (branches.length === 2) {
      const [a, b] = branches.map(typesOf);
      return a.length && b.length ? [...new Set([...a, ...b])] : [];
    }
  }
  if (/^[-+]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?$/.test(e)) return ["number"];
  if (/^[-+]?(Infinity|NaN)$/.test(e)) return ["number"];
  if (/^(true|false)$/.test(e)) return ["boolean"];
  if (/^(null|undefined)$/.test(e)) return ["null"];
  if (/^"([^"\\]|\\.)*"$|^'([^'\\]|\\.)*'$|^`[^`]*`$/s.test(e)) return ["string"];
  if (e.startsWith("[") && skipBalanced(e, 0) === e.length) return ["array"];
  if (e.startsWith("{") && skipBalanced(e, 0) === e.length) return ["object"];
  return [];
}

/**
 * The keys of the object literal whose body starts at `start` (just after its `{`), with their
 * default's source: a key is a name (or quoted name) at a property's start, followed by `:` or
 * ending a shorthand property; spreads and methods are skipped.
 */
function objectKeys(src: string, start: number): ParameterInfo[] {
  const keys: ParameterInfo[] = [];
  let j = start;
  while (j < src.length) {
    j = skipBlank(src, j);
    if (src[j] === "}" || j >= src.length) break;
    // One property: from here to the next "," or "}" outside brackets and strings.
    let end = j;
    while (end < src.length && src[end] !== "," && src[end] !== "}") {
      const after = skipComment(src, end);
      if (after !== end) end = after;
      else if (src[end] === '"' || src[end] === "'" || src[end] === "`") {
        end = skipString(src, end);
      } else if (src[end] === "{" || src[end] === "[" || src[end] === "(") {
        end = skipBalanced(src, end);
      } else end++;
    }
    const prop = src.slice(j, end);
    const m = /^(?:([A-Za-z_$][\w$]*)|"([^"]*)"|'([^']*)'|(\d+))\s*(:|$)/.exec(prop.trim()) ??
      /^([A-Za-z_$][\w$]*)\s*$/.exec(stripComments(prop));
    if (m) {
      const name = m[1] ?? m[2] ?? m[3] ?? m[4];
      const source = m[5] === ":" ? stripComments(prop.trim().slice(m[0].length)) : name;
      keys.push({ name, source, types: m[5] === ":" ? typesOf(source) : [] });
    }
    j = src[end] === "," ? end + 1 : end;
  }
  return keys;
}

/**
 * The cell tagged `parameters` of `nb` and the keys of the object it declares, read from its
 * source. Throws when there is no such cell or it declares no object literal.
 *
 * @example
 * ```ts
 * import { parametersCell } from "./parameters.ts";
 * const nb = {
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{
 *     cell_type: "code" as const, metadata: { tags: ["parameters"] }, outputs: [],
 *     execution_count: null,
 *     source: 'const S = {\n  iters: FAST ? 20 : 600, // recipe: steps\n  preset: FAST ? "tiny" as const : "nano",\n};',
 *   }],
 * };
 * const p = parametersCell(nb, "study.ipynb");
 * console.assert(p.object === "S" && p.keys.map((k) => k.name).join() === "iters,preset");
 * console.assert(p.keys[0].types.join() === "number");
 * ```
 */
export function parametersCell(nb: Notebook, name: string): ParametersCell {
  const index = nb.cells.findIndex((c) =>
    c.cell_type === "code" && tagsOf(c).includes("parameters")
  );
  if (index < 0) {
    throw new Error(
      `${name} has no cell tagged "parameters", so -p has nothing to set: tag the cell that ` +
        `declares the settings object (papermill's convention).`,
    );
  }
  const source = sourceOf(nb.cells[index]);
  const decl = /(?:^|[;\s])(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*\{/m.exec(
    stripCommentsKeepLength(source),
  );
  if (!decl) {
    throw new Error(
      `${name}: the parameters cell declares no object (e.g. const SETTINGS = { iters: 600 });` +
        ` -p assigns into that object.`,
    );
  }
  return { index, object: decl[1], keys: objectKeys(source, decl.index + decl[0].length) };
}

/** The source with every comment blanked out (same length, so indices still match). */
function stripCommentsKeepLength(src: string): string {
  let out = "";
  let j = 0;
  while (j < src.length) {
    const after = skipComment(src, j);
    if (after !== j) {
      out += src.slice(j, after).replace(/[^\n]/g, " ");
      j = after;
    } else if (src[j] === '"' || src[j] === "'" || src[j] === "`") {
      const end = skipString(src, j);
      out += src.slice(j, end);
      j = end;
    } else out += src[j++];
  }
  return out;
}

/**
 * The type of a value given with -p (after JSON parsing), as {@link ParameterType}.
 *
 * @example
 * ```ts
 * import { parameterType } from "./parameters.ts";
 * console.assert(parameterType([1, 2]) === "array" && parameterType(undefined) === "null");
 * ```
 */
export function parameterType(value: unknown): ParameterType {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  return t === "number" || t === "string" || t === "boolean" ? t : "object";
}

/** "a number", "an array", "null". */
function article(type: string): string {
  return type === "null" ? "null" : `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/**
 * Checks `values` against the parameters cell of `nb` before anything runs: every name must be
 * a key of the declared object, and every value the type of its default or `null` (a default
 * that is only `null` or `undefined` takes anything; so does one whose type the source does not
 * show, which the injected cell checks when it runs). Throws an error naming the notebook, the keys, and both
 * types. Returns the parameters cell.
 *
 * @example
 * ```ts
 * import { checkParameters } from "./parameters.ts";
 * const nb = {
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{
 *     cell_type: "code" as const, metadata: { tags: ["parameters"] }, outputs: [],
 *     execution_count: null, source: "const S = { iters: 600, label: 'a' };",
 *   }],
 * };
 * checkParameters(nb, { iters: 2000 }, "nb.ipynb"); // fine
 * let message = "";
 * try { checkParameters(nb, { iters: "many" }, "nb.ipynb"); } catch (e) { message = String(e); }
 * console.assert(message.includes("is a number (600), got a string"));
 * ```
 */
export function checkParameters(
  nb: Notebook,
  values: Readonly<Record<string, unknown>>,
  name: string,
): ParametersCell {
  const cell = parametersCell(nb, name);
  const byName = new Map(cell.keys.map((k) => [k.name, k]));
  const unknown = Object.keys(values).filter((k) => !byName.has(k));
  if (unknown.length) {
    throw new Error(
      `${name}: -p ${unknown.join(", ")}: not among the parameters of ${cell.object} ` +
        `(${cell.keys.map((k) => k.name).join(", ") || "it has none"}).`,
    );
  }
  const wrong: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const { types, source } = byName.get(key)!;
    const given = parameterType(value);
    const open = types.length === 0 || types.every((t) => t === "null");
    if (open || types.includes(given) || given === "null") continue;
    const hint = given === "number" && types.includes("string")
      ? ` (for text, quote it: -p '${key}="${value}"')`
      : "";
    wrong.push(
      `-p ${key}: the notebook's default is ${types.map(article).join(" or ")} (${source}), ` +
        `got ${article(given)} (${JSON.stringify(value)})${hint}`,
    );
  }
  if (wrong.length) throw new TypeError(`${name}: ${wrong.join("; ")}.`);
  return cell;
}

/**
 * Inserts, after the cell tagged `parameters`, a cell tagged `injected-parameters` that assigns
 * `values` into the object the parameters cell declares, after {@link checkParameters}. Keys
 * whose default's type the source does not show are checked by the injected cell when it runs.
 *
 * @example
 * ```ts
 * import { injectParameters } from "./parameters.ts";
 * const nb = {
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{
 *     cell_type: "code" as const, metadata: { tags: ["parameters"] }, outputs: [],
 *     execution_count: null, source: "const S = { iters: 600 };",
 *   }],
 * };
 * injectParameters(nb, { iters: 2000 }, "nb.ipynb");
 * console.assert(nb.cells.length === 2 && nb.cells[1].source.includes("Object.assign(S"));
 * ```
 */
export function injectParameters(
  nb: Notebook,
  values: Record<string, unknown>,
  name: string,
): void {
  const { index, object, keys } = checkParameters(nb, values, name);
  const unchecked = keys.filter((k) => k.types.length === 0 && k.name in values);
  // Defaults whose type the source does not show: checked in the kernel, before assigning.
  const check = unchecked.length === 0
    ? ""
    : `for (const [key, want, source] of ${
      JSON.stringify(unchecked.map((k) => [k.name, parameterType(values[k.name]), k.source]))
    }) {
  const v = ${object}[key], t = v == null ? "null" : Array.isArray(v) ? "array" : typeof v;
  if (t !== "null" && t !== want) {
    throw new TypeError(\`-p \${key}: the notebook's value is of type \${t} (\${source}), -p gave \${want}\`);
  }
}
`;
  const cell: Cell = {
    cell_type: "code",
    metadata: { tags: ["injected-parameters"] },
    source: `// Injected parameters (deno task notebooks -p)\n${check}Object.assign(${object}, ${
      JSON.stringify(values, null, 2)
    });\n${object};`,
    outputs: [],
    execution_count: null,
  };
  nb.cells.splice(index + 1, 0, cell);
}
