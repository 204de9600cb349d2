/**
 * A study file: a study's cells and its planned comparisons, declared before any trial runs.
 * JSON (or a TypeScript module whose default export is the same object):
 *
 * ```jsonc
 * {
 *   "name": "tuned",                        // letters, digits, - and _
 *   "description": "…",                     // free text
 *   "base": { "preset": "nano", "iters": 2000, "evalEvery": 100, "evalIters": 10, "engine": "ort" },
 *   "activations": ["relu", "gelu", "swiglu"],
 *   "cells": [{ "depth": 4 }, { "depth": 2, "activations": ["relu", "gelu"],
 *               "tuneValues": [4e-3, 6.3e-3, 1e-2] }],   // or "axes" (every activation in each)
 *   "seeds": [1, 2, 3],                     // without "tune": the seeds of every cell
 *   "tune": { "axis": "lr", "values": [1e-3, 1.5e-3, 2.2e-3, 3.3e-3], "seeds": [101, 102],
 *             "widen": 3, "choose": "fit" },
 *   "confirm": { "seeds": [1, 2, 3, 4, 5, 6, 7, 8] },
 *   "comparisons": [{ "baseline": "gelu" }, { "a": "relu2", "b": "relu" }],
 *   "exploratory": [{ "a": "swiglu", "b": "relu2", "where": { "depth": 4 } }],
 *   "correction": "holm"
 * }
 * ```
 *
 * The cells are the product of `axes` (every activation in each), or the explicit `cells` list
 * (each may name its own activations). With `tune`, each activation of each cell first runs a grid
 * of `tune.axis` values on the selection seeds (widened outward while its best value is at an
 * edge), then runs at its chosen value on the confirmation seeds — never the same seeds. The
 * declared comparisons (in every cell where both activations ran) form one family, corrected
 * together; exploratory ones are reported beside it, marked so.
 *
 * @module
 */
import { sha256Hex } from "../core/hash.ts";
import { getActivation } from "../activations/registry.ts";
import { type Axis, axisKind, type AxisPoint, axisPoints, checkAxes } from "./axes.ts";
import type { SweepOptions } from "./options.ts";
import { seedList } from "./options.ts";

/** A planned comparison: `a − b` (or every activation against a baseline), optionally in some cells. */
export type Comparison =
  | { readonly a: string; readonly b: string; readonly where?: AxisPoint }
  | { readonly baseline: string; readonly where?: AxisPoint };

/** The tuning stage of a study. */
export interface TuneSpec {
  /** The axis tuned per activation (default `lr`). */
  readonly axis: string;
  /** The starting grid: at most 1.6× apart (widened outward while the best is at an edge). */
  readonly values: readonly number[];
  /** The selection seeds (never used for confirmation). */
  readonly seeds: readonly number[];
  /** Values added outward on each side while the best is at an edge (default 3). */
  readonly widen: number;
  /** How the value to confirm is chosen: `fit` (the grid value nearest the fitted optimum when the
   * fit locates one inside the grid, else the best cell) or `best` (the best cell). Default `fit`. */
  readonly choose: "fit" | "best";
}

/** A study, checked: everything resolved to canonical names and lists. */
export interface Study {
  /** Its name. */
  readonly name: string;
  /** What it asks. */
  readonly description: string;
  /** The options every trial shares (preset, steps, engine, overrides…). */
  readonly base: SweepOptions;
  /**
   * The cells: each a point of the study's axes, its activations, and (tuned studies) optionally
   * its own starting grid of the tuned axis (a larger model may want lower rates).
   */
  readonly cells: readonly {
    readonly point: AxisPoint;
    readonly activations: readonly string[];
    readonly tuneValues?: readonly number[];
  }[];
  /** The axes the cells vary (for folder names and tables). */
  readonly axes: readonly Axis[];
  /** Without tuning: the seeds of every cell. */
  readonly seeds?: readonly number[];
  /** The tuning stage, if any. */
  readonly tune?: TuneSpec;
  /** The confirmation seeds (with tuning). */
  readonly confirmSeeds?: readonly number[];
  /** The declared comparisons: one family. */
  readonly comparisons: readonly Comparison[];
  /** Comparisons reported outside the family. */
  readonly exploratory: readonly Comparison[];
  /** How the family is corrected. */
  readonly correction: "holm" | "bonferroni" | "none";
}

const BASE_KEYS = new Set([
  "preset",
  "iters",
  "evalEvery",
  "evalIters",
  "finalEval",
  "engine",
  "engineOptions",
  "train",
  "model",
  "baseline",
  "tokenizer",
  "corpus",
]);

/** A checker that names the study file and the field. */
function checker(where: string) {
  return (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${where}: ${what}`);
  };
}

function checkComparisons(
  raw: unknown,
  field: string,
  known: readonly string[],
  check: ReturnType<typeof checker>,
): Comparison[] {
  if (raw === undefined) return [];
  check(Array.isArray(raw), `"${field}" must be a list of {a, b} or {baseline} objects`);
  return (raw as Record<string, unknown>[]).map((c, i) => {
    const name = (x: unknown, key: string) => {
      check(typeof x === "string", `${field}[${i}].${key} must be an activation name`);
      const canonical = getActivation(x as string).name;
      check(
        known.includes(canonical),
        `${field}[${i}].${key}: ${x} is not one of the study's activations`,
      );
      return canonical;
    };
    const where = c.where as AxisPoint | undefined;
    if (where !== undefined) {
      check(typeof where === "object" && where !== null, `${field}[${i}].where must be an object`);
      for (const k of Object.keys(where)) axisKind(k);
    }
    if ("baseline" in c) {
      return { baseline: name(c.baseline, "baseline"), ...(where ? { where } : {}) };
    }
    check("a" in c && "b" in c, `${field}[${i}] needs "a" and "b", or "baseline"`);
    const a = name(c.a, "a"), b = name(c.b, "b");
    check(a !== b, `${field}[${i}] compares ${a} with itself`);
    return { a, b, ...(where ? { where } : {}) };
  });
}

/** A starting grid of the tuned axis: at least 3 positive values, at most 1.6× apart. */
function checkGrid(raw: unknown, field: string, check: ReturnType<typeof checker>): number[] {
  check(Array.isArray(raw) && raw.length >= 3, `"${field}" needs at least 3 values`);
  const values = [...new Set(raw as number[])].sort((a, b) => a - b);
  check(values.every((v) => typeof v === "number" && v > 0), `"${field}" must be positive numbers`);
  for (let i = 1; i < values.length; i++) {
    check(
      values[i] / values[i - 1] <= 1.6 + 1e-9,
      `"${field}" ${values[i - 1]} and ${values[i]} are ${
        (values[i] / values[i - 1]).toFixed(2)
      }× ` +
        `apart; space them at most 1.6× apart`,
    );
  }
  return values;
}

function checkTune(raw: unknown, check: ReturnType<typeof checker>): TuneSpec | undefined {
  if (raw === undefined) return undefined;
  check(typeof raw === "object" && raw !== null, `"tune" must be an object`);
  const t = raw as Record<string, unknown>;
  const axis = axisKind(String(t.axis ?? "lr")).name;
  const values = checkGrid(t.values, "tune.values", check);
  const widen = t.widen === undefined ? 3 : t.widen;
  check(Number.isInteger(widen) && (widen as number) >= 0, `"tune.widen" must be a whole number`);
  const choose = t.choose ?? "fit";
  check(choose === "fit" || choose === "best", `"tune.choose" is "fit" or "best"`);
  return {
    axis,
    values,
    seeds: seedList(t.seeds as number[]),
    widen: widen as number,
    choose: choose as "fit" | "best",
  };
}

/** The study's cells: the product of `axes`, or the explicit `cells` list. */
function checkCells(
  o: Record<string, unknown>,
  activations: readonly string[],
  base: SweepOptions,
  check: ReturnType<typeof checker>,
): { cells: Study["cells"]; axes: Axis[] } {
  check(!(o.axes && o.cells), `give "axes" or "cells", not both`);
  if (o.cells === undefined) {
    const axes = checkAxes((o.axes ?? []) as Axis[], base);
    return { cells: axisPoints(axes).map((point) => ({ point, activations })), axes };
  }
  check(Array.isArray(o.cells) && o.cells.length > 0, `"cells" must be a non-empty list`);
  const cells = (o.cells as Record<string, unknown>[]).map((c, i) => {
    const { activations: own, tuneValues, ...point } = c;
    const names = own === undefined
      ? activations
      : (own as string[]).map((a) => getActivation(a).name);
    check(
      names.every((a) => activations.includes(a)),
      `cells[${i}] names an activation the study does not list`,
    );
    const values = tuneValues === undefined
      ? undefined
      : checkGrid(tuneValues, `cells[${i}].tuneValues`, check);
    return {
      point: point as AxisPoint,
      activations: names,
      ...(values ? { tuneValues: values } : {}),
    };
  });
  const names = [...new Set(cells.flatMap((c) => Object.keys(c.point)))];
  const axes = checkAxes(
    names.map((name) => ({ name, values: [...new Set(cells.map((c) => c.point[name]))] })),
    base,
  );
  for (const c of cells) {
    check(names.every((n) => n in c.point), `every cell must give ${names.join(", ")}`);
  }
  return { cells, axes };
}

/**
 * Checks a study declaration (parsed JSON) and resolves it: canonical activation names, cells,
 * seeds, tuning, comparisons. Errors name `where` (the file) and the field.
 *
 * @example
 * ```ts
 * import { parseStudy } from "@actlab/actlab/sweep";
 * const s = parseStudy({
 *   name: "demo", base: { preset: "tiny", iters: 20 }, activations: ["relu", "gelu"], seeds: [1, 2],
 *   comparisons: [{ baseline: "gelu" }],
 * }, "demo.json");
 * console.assert(s.cells.length === 1 && s.correction === "holm");
 * ```
 */
export function parseStudy(raw: unknown, where: string): Study {
  const check = checker(where);
  check(typeof raw === "object" && raw !== null && !Array.isArray(raw), "a study is a JSON object");
  const o = raw as Record<string, unknown>;
  const known = new Set([
    "name",
    "description",
    "base",
    "activations",
    "axes",
    "cells",
    "seeds",
    "tune",
    "confirm",
    "comparisons",
    "exploratory",
    "correction",
  ]);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  check(
    unknown.length === 0,
    `unknown field(s) ${unknown.join(", ")}; known: ${[...known].join(", ")}`,
  );
  check(
    typeof o.name === "string" && /^[\w-]+$/.test(o.name),
    `"name" must be letters, digits, - or _`,
  );
  const base = (o.base ?? {}) as SweepOptions;
  check(typeof base === "object", `"base" must be an object of sweep options`);
  const badBase = Object.keys(base).filter((k) => !BASE_KEYS.has(k));
  check(
    badBase.length === 0,
    `"base" cannot set ${badBase.join(", ")} (known: ${[...BASE_KEYS].join(", ")})`,
  );
  check(Array.isArray(o.activations) && o.activations.length > 0, `"activations" must list names`);
  const activations = [...new Set((o.activations as string[]).map((a) => getActivation(a).name))];
  check(activations.length === (o.activations as string[]).length, `"activations" names one twice`);
  const { cells, axes } = checkCells(o, activations, base, check);
  const tune = checkTune(o.tune, check);
  let seeds: number[] | undefined, confirmSeeds: number[] | undefined;
  if (tune) {
    check(
      tune.axis !== undefined && !axes.some((a) => a.name === tune.axis),
      `the tuned axis cannot also be a cell axis`,
    );
    const confirm = o.confirm as { seeds?: number[] } | undefined;
    check(confirm?.seeds !== undefined, `a tuned study needs "confirm": { "seeds": [...] }`);
    confirmSeeds = seedList(confirm!.seeds);
    const shared = confirmSeeds.filter((s) => tune.seeds.includes(s));
    check(
      shared.length === 0,
      `seeds ${
        shared.join(", ")
      } are both selection and confirmation seeds; use fresh seeds to confirm`,
    );
    check(o.seeds === undefined, `with "tune", give seeds in "tune.seeds" and "confirm.seeds"`);
  } else {
    check(o.confirm === undefined, `"confirm" needs a "tune" stage`);
    seeds = seedList(o.seeds as number[] | number | undefined);
  }
  const comparisons = checkComparisons(o.comparisons, "comparisons", activations, check);
  const exploratory = checkComparisons(o.exploratory, "exploratory", activations, check);
  const correction = (o.correction ?? "holm") as Study["correction"];
  check(
    ["holm", "bonferroni", "none"].includes(correction),
    `"correction" is holm, bonferroni or none`,
  );
  return {
    name: o.name as string,
    description: String(o.description ?? ""),
    base,
    cells,
    axes,
    ...(seeds ? { seeds } : {}),
    ...(tune ? { tune, confirmSeeds } : {}),
    comparisons,
    exploratory,
    correction,
  };
}

/**
 * The default export of a TypeScript or JavaScript study file, as plain data: the module runs in a
 * `deno eval` of its own (with this process's permissions to read it), which prints the export as
 * JSON — so a study module is data, whatever it computes to build it.
 */
async function moduleDefault(path: string): Promise<unknown> {
  const url = new URL(path, `file://${Deno.cwd()}/`).href;
  const script = `const m = await import(${JSON.stringify(url)});` +
    `console.log(JSON.stringify(m.default ?? null));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" ");
    throw new Error(`study file ${path} could not be loaded: ${why}`);
  }
  const value = JSON.parse(new TextDecoder().decode(out.stdout));
  if (value === null) {
    throw new Error(`study file ${path} has no default export: export the study.`);
  }
  return value;
}

/**
 * Reads a study file: JSON, or a TypeScript/JavaScript module whose default export is the study.
 *
 * @example
 * ```ts ignore
 * import { loadStudy } from "@actlab/actlab/sweep";
 * const study = await loadStudy("studies/tuned.json");
 * ```
 */
export async function loadStudy(path: string): Promise<Study> {
  if (/\.[mc]?[jt]s$/.test(path)) return parseStudy(await moduleDefault(path), path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`study file ${path} does not exist.`);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}).`);
  }
  return parseStudy(raw, path);
}

/**
 * A 12-hex-digit hash of a checked study's declaration (what it runs and what it tests), stored in
 * its folder so a changed declaration is never mixed with the old one's results.
 *
 * @example
 * ```ts ignore
 * import { loadStudy, studyHash } from "@actlab/actlab/sweep";
 * console.log(await studyHash(await loadStudy("studies/tuned.json")));
 * ```
 */
export async function studyHash(study: Study): Promise<string> {
  const { description: _d, exploratory: _e, ...decl } = study;
  return (await sha256Hex(new TextEncoder().encode(JSON.stringify(decl)))).slice(0, 12);
}

/**
 * A checked study written back as a declaration (explicit `cells`), which {@link parseStudy} reads
 * to the same study: what a study's folder keeps in `study.json`.
 *
 * @example
 * ```ts
 * import { parseStudy, studyDeclaration } from "@actlab/actlab/sweep";
 * const s = parseStudy({ name: "d", activations: ["relu", "gelu"], seeds: [1, 2] }, "d.json");
 * const again = parseStudy(studyDeclaration(s), "study.json");
 * console.assert(JSON.stringify(again) === JSON.stringify(s));
 * ```
 */
export function studyDeclaration(study: Study): Record<string, unknown> {
  const activations = [...new Set(study.cells.flatMap((c) => c.activations))];
  return {
    name: study.name,
    description: study.description,
    base: study.base,
    activations,
    ...(study.axes.length
      ? {
        cells: study.cells.map((c) => ({
          ...c.point,
          activations: c.activations,
          ...(c.tuneValues ? { tuneValues: c.tuneValues } : {}),
        })),
      }
      : {}),
    ...(study.seeds ? { seeds: study.seeds } : {}),
    ...(study.tune ? { tune: study.tune, confirm: { seeds: study.confirmSeeds } } : {}),
    comparisons: study.comparisons,
    exploratory: study.exploratory,
    correction: study.correction,
  };
}
