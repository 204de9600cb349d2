/**
 * Running a study (see `study_file.ts` for its declaration): its cells as sweep folders, every
 * trial of a round in one pool of workers, resumable at any point; with a tuning stage, first the
 * selection grid per activation (widened while the best is at an edge) on the selection seeds,
 * then each activation at its chosen value on the confirmation seeds; finally the declared
 * comparisons as one corrected family. The study's folder:
 *
 * | path                          | what                                                           |
 * | ----------------------------- | -------------------------------------------------------------- |
 * | `study.json`                  | the declaration and its hash: a changed study is refused here  |
 * | `select/<cell>,lr=<v>/`       | selection sweeps (tuned studies), one folder per cell and value |
 * | `selection.json`              | per cell and activation: values tried, best, fit, chosen value |
 * | `confirm/<cell>,lr=<v>/`      | confirmation sweeps at the chosen values                       |
 * | `cells/<cell>/`               | the sweeps of a study without tuning                           |
 * | `tuned.csv` / `cells.csv`     | per cell and activation: value, runs, mean final loss [CI]     |
 * | `family.csv`                  | every comparison: difference [CI], p, p corrected over the family |
 *
 * The tables are named `*.partial.csv` until every trial they cover has finished.
 *
 * @module
 */
import * as aq from "arquero";
import type { SweepData } from "./data.ts";
import { interruptible } from "../core/interrupt.ts";
import { lockFolder } from "../core/lock.ts";
import { summarize } from "../core/stats.ts";
import { applyAxes, type AxisPoint, cellFolder } from "./axes.ts";
import { type FamilyCell, familyCsv, type FamilyRow, familyTests } from "./family.ts";
import { checkFolderPath, readFolder, removeIfPresent, writeIfChanged } from "./folder.ts";
import type { SweepOptions } from "./options.ts";
import type { TrialResult } from "./record.ts";
import type { ScheduleObservers } from "./schedule.ts";
import { finishPlan, planSweep, runPlans, type SweepPlan } from "./sweep.ts";
import { parseStudy, type Study, studyDeclaration, studyHash } from "./study_file.ts";
import { type Selection, selectValue, widenedValue } from "./tune.ts";

/** Options of {@link runStudy}. */
export interface StudyOptions extends ScheduleObservers {
  /** The study's folder. */
  readonly out: string;
  /** Trials side by side (`auto`: one per core). */
  readonly jobs?: number | "auto";
  /** Notices (left-out files, outliers, fewer jobs). Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** Each stage and round as it starts, e.g. "selection, round 2: 6 trials in 3 folders". */
  readonly onStage?: (message: string) => void;
  /** Stop after the selection stage (`select`), or run everything (`all`, the default). */
  readonly stage?: "select" | "all";
}

/** One cell of a study with what it found. */
export interface StudyCell {
  /** How tables name it: every axis value (`depth=4`), or `(all)` for a study without axes. */
  readonly name: string;
  /** Its key in `select/grids.json`: the axis values that differ from the base, or `(base)`. */
  readonly label: string;
  /** Its axis values. */
  readonly point: AxisPoint;
  /** Its activations. */
  readonly activations: readonly string[];
  /** The selection per activation (tuned studies, once selection has trials). */
  readonly selection: ReadonlyMap<string, Selection>;
  /** The trials each activation contributes: at its chosen value (tuned) or the cell's. */
  readonly trials: ReadonlyMap<string, readonly TrialResult[]>;
}

/** What {@link runStudy} and {@link readStudy} return. */
export interface StudyResult {
  /** The study. */
  readonly study: Study;
  /** Its cells. */
  readonly cells: readonly StudyCell[];
  /** The family of comparisons (declared and exploratory). */
  readonly family: readonly FamilyRow[];
  /** Whether selection has finished (every activation chose a value); true without tuning. */
  readonly selected: boolean;
  /** Whether every trial of the study has finished. */
  readonly complete: boolean;
  /** True when the signal stopped the run. */
  readonly interrupted: boolean;
}

/** A cell's key in `select/grids.json`: what differs from the base, or `(base)`. */
function labelOf(study: Study, point: AxisPoint): string {
  return cellFolder(study.base, point) || "(base)";
}

/**
 * How tables name a cell: every axis value, e.g. `depth=4`; `(all)` for a study without axes.
 *
 * @example
 * ```ts
 * import { cellName } from "@actlab/actlab/sweep";
 * cellName({ depth: 4 }); // "depth=4"
 * ```
 */
export function cellName(point: AxisPoint): string {
  return Object.entries(point).map(([k, v]) => `${k}=${v}`).join(",") || "(all)";
}

/** The folder of a cell (at a tuned value, when given) under a stage of the study. */
function folderOf(
  study: Study,
  out: string,
  stage: string,
  point: AxisPoint,
  value?: number,
): string {
  const full = value === undefined || !study.tune ? point : { ...point, [study.tune.axis]: value };
  const name = cellFolder(study.base, full);
  return name ? `${out}/${stage}/${name}` : `${out}/${stage}`;
}

/** A cell's options at a tuned value. */
function optionsOf(study: Study, point: AxisPoint, value?: number): SweepOptions {
  const full = value === undefined || !study.tune ? point : { ...point, [study.tune.axis]: value };
  const changed = Object.fromEntries(
    Object.entries(full).filter(([k, v]) => cellFolder(study.base, { [k]: v }) !== ""),
  );
  return applyAxes(study.base, changed);
}

/** The listed trials of a folder, or none when it has not run. */
async function trialsIn(dir: string): Promise<TrialResult[]> {
  try {
    return [...(await readFolder(dir, { checkDerived: false })).trials];
  } catch (e) {
    if ((e as Error).message.includes("not a sweep folder")) return [];
    throw e;
  }
}

/** Writes or checks `study.json`: the declaration a folder's results belong to. */
async function claimFolder(study: Study, out: string): Promise<void> {
  const hash = await studyHash(study);
  const path = `${out}/study.json`;
  let prior: { hash?: string } | undefined;
  try {
    prior = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`${path}: ${(e as Error).message}; restore it or delete the folder.`);
    }
  }
  if (prior && prior.hash !== hash) {
    throw new Error(
      `${out} holds the results of another declaration of study "${study.name}" (hash ` +
        `${prior.hash}, this one ${hash}): a study's cells and comparisons are fixed before it ` +
        `runs. Use another folder for the changed study, or restore the file it was run with.`,
    );
  }
  await Deno.mkdir(out, { recursive: true });
  const text = JSON.stringify({ hash, study: studyDeclaration(study) }, null, 2) + "\n";
  await writeIfChanged(path, text);
}

/** Prepares the plans of a round (one per folder), runs them in one pool, finishes them. */
async function runRound(
  data: SweepData,
  wanted: readonly { dir: string; options: SweepOptions }[],
  options: StudyOptions,
  what: string,
): Promise<boolean> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  const plans: SweepPlan[] = [];
  try {
    for (const w of wanted) plans.push(await planSweep(data, { ...w.options, out: w.dir }, notice));
    const todo = plans.reduce((n, p) => n + p.todo.length, 0);
    if (todo === 0) return false;
    options.onStage?.(
      `${what}: ${todo} trial(s) in ${plans.filter((p) => p.todo.length).length} folder(s)`,
    );
    const ran = await runPlans(plans.filter((p) => p.todo.length), {
      ...options,
      onNotice: notice,
    });
    return ran.discarded.some((d) => d.length > 0) || (options.signal?.aborted ?? false);
  } finally {
    for (const p of plans) await finishPlan(p, { onNotice: () => {} });
  }
}

/** The selection trials of one cell, by activation and tuned value. */
async function selectionTrials(
  study: Study,
  out: string,
  cell: Study["cells"][number],
  values: ReadonlyMap<string, readonly number[]>,
): Promise<Map<string, Map<number, TrialResult[]>>> {
  const byActivation = new Map<string, Map<number, TrialResult[]>>();
  const all = [...new Set([...values.values()].flat())];
  for (const v of all) {
    const trials = await trialsIn(folderOf(study, out, "select", cell.point, v));
    for (const a of cell.activations) {
      if (!values.get(a)?.includes(v)) continue;
      const mine = trials.filter((t) => t.activation === a && study.tune!.seeds.includes(t.seed));
      if (mine.length === 0) continue;
      const m = byActivation.get(a) ?? new Map<number, TrialResult[]>();
      byActivation.set(a, m.set(v, mine));
    }
  }
  return byActivation;
}

/** Per cell label and activation: the values it has tried or must try (`select/grids.json`). */
type Grids = Map<string, Map<string, number[]>>;

/** Writes the selection grids, so that a study read back knows the widened values. */
async function writeGrids(out: string, grids: Grids): Promise<void> {
  const plain = Object.fromEntries(
    [...grids].map(([cell, g]) => [cell, Object.fromEntries([...g].map(([a, v]) => [a, v]))]),
  );
  await Deno.mkdir(`${out}/select`, { recursive: true });
  await writeIfChanged(`${out}/select/grids.json`, JSON.stringify(plain, null, 2) + "\n");
}

/** The selection grids: as written by the last run, else the study's starting grid. */
async function readGrids(study: Study, out: string): Promise<Grids> {
  let saved: Record<string, Record<string, number[]>> = {};
  try {
    saved = JSON.parse(await Deno.readTextFile(`${out}/select/grids.json`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`${out}/select/grids.json: ${(e as Error).message}; delete it to rebuild.`);
    }
  }
  return new Map(study.cells.map((c) => {
    const label = labelOf(study, c.point);
    return [
      label,
      new Map(
        c.activations.map((
          a,
        ) => [a, [...(saved[label]?.[a] ?? c.tuneValues ?? study.tune!.values)]]),
      ),
    ];
  }));
}

/** Runs the selection stage: rounds of grids, widened while a best value sits at an edge. */
async function runSelection(
  data: SweepData,
  study: Study,
  options: StudyOptions,
): Promise<{ grids: Grids; interrupted: boolean }> {
  const tune = study.tune!;
  const grids = await readGrids(study, options.out);
  for (let round = 1;; round++) {
    await writeGrids(options.out, grids);
    const wanted = study.cells.flatMap((cell) => {
      const grid = grids.get(labelOf(study, cell.point))!;
      const values = [...new Set([...grid.values()].flat())].sort((a, b) => a - b);
      return values.map((v) => ({
        dir: folderOf(study, options.out, "select", cell.point, v),
        options: {
          ...optionsOf(study, cell.point, v),
          activations: cell.activations.filter((a) => grid.get(a)!.includes(v)),
          seeds: tune.seeds,
        },
      }));
    });
    if (await runRound(data, wanted, options, `selection, round ${round}`)) {
      return { grids, interrupted: true };
    }
    let widened = false;
    for (const cell of study.cells) {
      const grid = grids.get(labelOf(study, cell.point))!;
      const trials = await selectionTrials(study, options.out, cell, grid);
      for (const a of cell.activations) {
        const s = selectValue(a, trials.get(a) ?? new Map(), tune);
        const start = cell.tuneValues ?? tune.values;
        const next = s.atEdge ? widenedValue(grid.get(a)!, s.best, start, tune.widen) : undefined;
        if (next !== undefined && !grid.get(a)!.includes(next)) {
          grid.get(a)!.push(next);
          widened = true;
        }
      }
    }
    if (!widened) {
      await writeGrids(options.out, grids);
      return { grids, interrupted: false };
    }
  }
}

/**
 * Runs a study: every stage it declares, resuming whatever is already in `out` (see the module
 * doc for the folder). Returns the cells, the selection and the family as {@link readStudy} reads
 * them back; a stopped run (`signal`) returns what is finished with `interrupted: true`. In a
 * Jupyter kernel, Stop ends it with an `InterruptedError` and keeps the kernel.
 *
 * @example
 * ```ts ignore
 * import { loadStudy, runStudy } from "@actlab/actlab/sweep";
 * const study = await loadStudy("studies/tuned.json");
 * const r = await runStudy(data, study, { out: "notebooks/results/11_tuned", jobs: 2 });
 * console.table(r.family.filter((f) => f.role === "declared"));
 * ```
 */
export function runStudy(
  data: SweepData,
  study: Study,
  options: StudyOptions,
): Promise<StudyResult> {
  return interruptible((scope) => runStages(data, study, { ...options, signal: scope.signal }), {
    signal: options.signal,
  });
}

/** The work of {@link runStudy}: its stages, then the tables from what is on disk. */
async function runStages(
  data: SweepData,
  study: Study,
  options: StudyOptions,
): Promise<StudyResult> {
  const out = await checkFolderPath(options.out);
  await claimFolder(study, out);
  const lock = await lockFolder(out, "study");
  let interrupted = false;
  try {
    if (study.tune) {
      const selected = await runSelection(data, study, options);
      interrupted = selected.interrupted;
      if (!interrupted) await writeSelection(study, out, selected.grids);
      if (!interrupted && options.stage !== "select") {
        const read = await collect(study, out, selected.grids);
        const wanted = read.cells.flatMap((cell) => confirmFolders(study, out, cell));
        interrupted = await runRound(data, wanted, options, "confirmation");
      }
    } else {
      const wanted = study.cells.map((cell) => ({
        dir: folderOf(study, out, "cells", cell.point),
        options: {
          ...optionsOf(study, cell.point),
          activations: cell.activations,
          seeds: study.seeds,
        },
      }));
      interrupted = await runRound(data, wanted, options, "cells");
    }
  } finally {
    await lock.release();
  }
  const result = await readStudy(out, { study, onNotice: options.onNotice });
  await writeStudyTables(out, study, result.cells, result.family, result.complete);
  return { ...result, interrupted };
}

/** The confirmation folders of a selected cell: one per chosen value, with the activations that chose it. */
function confirmFolders(
  study: Study,
  out: string,
  cell: StudyCell,
): { dir: string; options: SweepOptions }[] {
  const byValue = new Map<number, string[]>();
  for (const a of cell.activations) {
    const s = cell.selection.get(a);
    if (s) byValue.set(s.chosen, [...(byValue.get(s.chosen) ?? []), a]);
  }
  return [...byValue].sort(([a], [b]) => a - b).map(([v, activations]) => ({
    dir: folderOf(study, out, "confirm", cell.point, v),
    options: { ...optionsOf(study, cell.point, v), activations, seeds: study.confirmSeeds },
  }));
}

/** Writes `selection.json`: per cell and activation, what selection decided. */
async function writeSelection(study: Study, out: string, grids: Grids): Promise<void> {
  const read = await collect(study, out, grids);
  const cells = read.cells.map((c) => ({
    cell: c.name,
    point: c.point,
    activations: Object.fromEntries([...c.selection].map(([a, s]) => [a, s])),
  }));
  await writeIfChanged(
    `${out}/selection.json`,
    JSON.stringify({ axis: study.tune!.axis, seeds: study.tune!.seeds, cells }, null, 2) + "\n",
  );
}

/** Reads every cell's selection and trials from the study's folders. */
async function collect(
  study: Study,
  out: string,
  grids?: Grids,
): Promise<{ cells: StudyCell[]; selected: boolean; complete: boolean }> {
  const cells: StudyCell[] = [];
  let selected = true, complete = true;
  const tuneGrids = study.tune ? grids ?? await readGrids(study, out) : undefined;
  for (const cell of study.cells) {
    const label = labelOf(study, cell.point);
    const selection = new Map<string, Selection>();
    const trials = new Map<string, TrialResult[]>();
    if (study.tune) {
      const grid = tuneGrids!.get(label)!;
      const byActivation = await selectionTrials(study, out, cell, grid);
      for (const a of cell.activations) {
        const tried = byActivation.get(a);
        const expected = grid.get(a)!.length * study.tune.seeds.length;
        const have = [...(tried?.values() ?? [])].reduce((n, ts) => n + ts.length, 0);
        if (have < expected || !tried) {
          selected = false;
          continue;
        }
        const s = selectValue(a, tried, study.tune);
        selection.set(a, s);
        const start = cell.tuneValues ?? study.tune.values;
        if (s.atEdge && widenedValue(grid.get(a)!, s.best, start, study.tune.widen)) {
          selected = false; // widening still pending
        }
      }
    }
    cells.push({
      name: cellName(cell.point),
      label,
      point: cell.point,
      activations: cell.activations,
      selection,
      trials,
    });
  }
  for (const cell of cells) {
    const folders = study.tune ? (selected ? confirmFolders(study, out, cell) : []) : [{
      dir: folderOf(study, out, "cells", cell.point),
      options: { activations: cell.activations, seeds: study.seeds },
    }];
    const seeds = study.tune ? study.confirmSeeds! : study.seeds!;
    for (const f of folders) {
      const found = await trialsIn(f.dir);
      for (const a of f.options.activations ?? []) {
        const mine = found.filter((t) => t.activation === a && seeds.includes(t.seed));
        (cell.trials as Map<string, TrialResult[]>).set(a, mine);
        if (mine.length < seeds.length) complete = false;
      }
    }
  }
  return { cells, selected, complete: complete && selected };
}

/** Options of {@link readStudy}. */
export interface ReadStudyOptions {
  /** The study (default: the declaration in the folder's `study.json`). */
  readonly study?: Study;
  /** Notices. Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/**
 * Reads a study's folder without running or writing anything: its declaration, every cell's
 * selection (for tuned studies) and trials, and the family of comparisons. (`runStudy` writes the
 * tables `tuned.csv`/`cells.csv` and `family.csv` from the same reading.)
 *
 * @example
 * ```ts ignore
 * import { readStudy } from "@actlab/actlab/sweep";
 * const r = await readStudy("notebooks/results/11_tuned");
 * console.log(r.complete, r.family.length);
 * ```
 */
export async function readStudy(dir: string, options: ReadStudyOptions = {}): Promise<StudyResult> {
  let study = options.study;
  if (!study) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/study.json`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new Error(`${dir} is not a study's folder (no study.json): give the --out of a study.`);
    }
    study = parseStudy(JSON.parse(text).study, `${dir}/study.json`);
  }
  const { cells, selected, complete } = await collect(study, dir);
  const familyCells: FamilyCell[] = cells.map((c) => ({
    label: c.name,
    point: c.point,
    trials: c.trials,
  }));
  const family = familyTests(familyCells, study.comparisons, study.exploratory, study.correction);
  return { study, cells, family, selected, complete, interrupted: false };
}

/** Per cell and activation: the chosen value (tuned), runs and the mean final loss with its CI. */
function cellRows(study: Study, cells: readonly StudyCell[]): Record<string, unknown>[] {
  return cells.flatMap((c) =>
    c.activations.map((a) => {
      const trials = c.trials.get(a) ?? [];
      const done = trials.filter((t) => t.status === "completed");
      const s = summarize(done.map((t) => t.finalValLoss));
      const sel = c.selection.get(a);
      return {
        cell: c.name,
        activation: a,
        ...(study.tune
          ? {
            [`chosen_${study.tune.axis}`]: sel?.chosen ?? NaN,
            rule: sel?.rule ?? "",
            best_cell: sel?.best ?? NaN,
            at_edge: sel?.atEdge ?? false,
            fit_optimum: sel?.fit?.optimum ?? NaN,
            fit_low: sel?.fit?.low ?? NaN,
            fit_high: sel?.fit?.high ?? NaN,
            tried: sel?.tried.map((t) => t.value).join(";") ?? "",
          }
          : {}),
        n: done.length,
        diverged: trials.length - done.length,
        val_loss_mean: s.mean,
        ci95_low: s.ciLow,
        ci95_high: s.ciHigh,
      };
    })
  );
}

/** Writes the study's tables: final names when complete, `.partial` otherwise. */
async function writeStudyTables(
  dir: string,
  study: Study,
  cells: readonly StudyCell[],
  family: readonly FamilyRow[],
  complete: boolean,
): Promise<void> {
  const name = study.tune ? "tuned" : "cells";
  const files: [string, string][] = [
    [name, aq.from(cellRows(study, cells)).toCSV()],
    ["family", familyCsv(family)],
  ];
  for (const [file, text] of files) {
    await writeIfChanged(`${dir}/${file}${complete ? "" : ".partial"}.csv`, text);
    await removeIfPresent(`${dir}/${file}${complete ? ".partial" : ""}.csv`);
  }
}

/**
 * The trials a study compares in one cell (its confirmation trials when tuned), activation by
 * activation in the cell's order: ready for `summarizeTrials`, loss curves, parameter plots.
 *
 * @example
 * ```ts ignore
 * import { cellTrials, readStudy } from "@actlab/actlab/sweep";
 * const trials = cellTrials(await readStudy("notebooks/results/tuned"), "depth=4");
 * ```
 */
export function cellTrials(result: Pick<StudyResult, "cells">, cell?: string): TrialResult[] {
  const c = cell === undefined ? result.cells[0] : result.cells.find((x) => x.name === cell);
  if (!c) {
    throw new Error(
      `no cell ${cell} in this study; its cells: ${result.cells.map((x) => x.name).join(", ")}.`,
    );
  }
  return c.activations.flatMap((a) => [...(c.trials.get(a) ?? [])]);
}

/**
 * The selection stage of one cell as rows for a figure: per activation and tried value, the mean
 * final loss over the selection seeds, and whether it is the value confirmed.
 *
 * @example
 * ```ts ignore
 * import { readStudy, selectionRows } from "@actlab/actlab/sweep";
 * const rows = selectionRows(await readStudy("notebooks/results/tuned"), "depth=4");
 * ```
 */
export function selectionRows(
  result: Pick<StudyResult, "cells">,
  cell?: string,
): { activation: string; value: number; loss: number; n: number; chosen: boolean }[] {
  const c = cell === undefined ? result.cells[0] : result.cells.find((x) => x.name === cell);
  if (!c) throw new Error(`no cell ${cell} in this study.`);
  return c.activations.flatMap((a) => {
    const s = c.selection.get(a);
    return (s?.tried ?? []).map((t) => ({
      activation: a,
      value: t.value,
      loss: t.mean,
      n: t.n,
      chosen: t.value === s!.chosen,
    }));
  });
}
