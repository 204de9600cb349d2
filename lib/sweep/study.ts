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
 * The tables are named `*.partial.csv` until every trial they cover has finished. Each round is
 * planned from the folder alone ({@link nextStudyRound}), so a study submitted to Slurm round by
 * round (`study_submit.ts`) runs exactly the rounds a local run does.
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
import { seedList, type SweepOptions } from "./options.ts";
import type { TrialResult, TrialSpec } from "./record.ts";
import type { ScheduleObservers } from "./schedule.ts";
import { sweepTrials } from "./shard.ts";
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

/**
 * Writes or checks a study folder's `study.json`: the declaration its results belong to. A folder
 * holding another declaration's results is refused, naming both hashes and the way out.
 *
 * @example
 * ```ts ignore
 * import { claimStudyFolder, loadStudy } from "@actlab/actlab/sweep";
 * await claimStudyFolder(await loadStudy("studies/tuned.json"), "results/tuned");
 * ```
 */
export async function claimStudyFolder(study: Study, out: string): Promise<void> {
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

/** A sweep folder of a study and the options of the trials it runs there. */
export interface StudyFolder {
  /** The folder (under the study's, or an array task's shard of it). */
  readonly dir: string;
  /** Its options: the cell's settings at its tuned value, its activations and seeds. */
  readonly options: SweepOptions;
}

/**
 * Runs the trials left in a round's folders in one pool of workers (one plan per folder, each
 * folder locked while it runs, finished with its derived files); says `what` through `onStage`
 * when there is work. Returns true when the run was stopped (trials discarded).
 *
 * @example
 * ```ts ignore
 * import { runStudyFolders } from "@actlab/actlab/sweep";
 * await runStudyFolders(data, round.folders, { out: "results/s", jobs: 2 }, "selection, round 1");
 * ```
 */
export async function runStudyFolders(
  data: SweepData,
  wanted: readonly StudyFolder[],
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

/** Per folder, the trials it asks for that are not finished there (in sweep order). */
async function unfinished(folders: readonly StudyFolder[]): Promise<TrialSpec[][]> {
  const todo: TrialSpec[][] = [];
  for (const f of folders) {
    const have = new Set((await trialsIn(f.dir)).map((t) => `${t.activation}\0${t.seed}`));
    const asked = sweepTrials(f.options.activations ?? [], seedList(f.options.seeds));
    todo.push(asked.filter((t) => !have.has(`${t.activation}\0${t.seed}`)));
  }
  return todo;
}

/** The selection folders of the grids: per cell, one per value any activation tries. */
function selectionFolders(study: Study, out: string, grids: Grids): StudyFolder[] {
  return study.cells.flatMap((cell) => {
    const grid = grids.get(labelOf(study, cell.point))!;
    const values = [...new Set([...grid.values()].flat())].sort((a, b) => a - b);
    return values.map((v) => ({
      dir: folderOf(study, out, "select", cell.point, v),
      options: {
        ...optionsOf(study, cell.point, v),
        activations: cell.activations.filter((a) => grid.get(a)!.includes(v)),
        seeds: study.tune!.seeds,
      },
    }));
  });
}

/** The selection round the grids are at: 1, plus the most values any activation's grid gained. */
function selectionRound(study: Study, grids: Grids): number {
  let added = 0;
  for (const cell of study.cells) {
    const start = cell.tuneValues ?? study.tune!.values;
    for (const values of grids.get(labelOf(study, cell.point))!.values()) {
      added = Math.max(added, values.length - start.length);
    }
  }
  return 1 + added;
}

/** After a finished selection round: adds one value beyond the edge where a best sits there. */
async function widenGrids(study: Study, out: string, grids: Grids): Promise<boolean> {
  const tune = study.tune!;
  let widened = false;
  for (const cell of study.cells) {
    const grid = grids.get(labelOf(study, cell.point))!;
    const trials = await selectionTrials(study, out, cell, grid);
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
  return widened;
}

/** A study's next round: its stage, its selection round, its folders and what each has left. */
export interface StudyRound {
  /**
   * `selection` (the grid of the tuned axis on the selection seeds), `confirmation` (each
   * activation at its chosen value on the confirmation seeds), or `cells` (a study without tuning).
   */
  readonly stage: "selection" | "confirmation" | "cells";
  /** The selection round: 1 for the starting grid, one more per widening; 1 for other stages. */
  readonly round: number;
  /** How progress names it: `selection, round 2`, `confirmation` or `cells`. */
  readonly label: string;
  /** Every folder of the round (finished ones too), with the options a run gives it. */
  readonly folders: readonly StudyFolder[];
  /** Per folder, in the same order, the trials not finished there (in sweep order). */
  readonly todo: readonly (readonly TrialSpec[])[];
}

/** Options of {@link nextStudyRound}. */
export interface NextRoundOptions {
  /** Plan the selection stage only (`select`), or every stage (`all`, the default). */
  readonly stage?: "select" | "all";
  /**
   * Write what planning decides, as a run does: `select/grids.json` (the widened grids) and, once
   * selection is over, `selection.json`. Default true; false writes nothing (a dry run).
   */
  readonly write?: boolean;
}

/**
 * The round a study runs next, planned from its folder alone (the same folder always gives the same
 * round): the selection grid's round while any of its trials is unfinished (widened, one value
 * beyond the edge, once a round finishes with an activation's best at an edge), then the
 * confirmation at the chosen values; undefined when every trial of the study is finished.
 * {@link runStudy} runs these rounds one after another; a study submitted to Slurm runs each as a
 * job array.
 *
 * @example
 * ```ts ignore
 * import { loadStudy, nextStudyRound } from "@actlab/actlab/sweep";
 * const study = await loadStudy("studies/tuned.json");
 * const round = await nextStudyRound(study, "notebooks/results/tuned", { write: false });
 * console.log(round?.label, round?.todo.flat().length); // "confirmation" 112
 * ```
 */
export async function nextStudyRound(
  study: Study,
  out: string,
  options: NextRoundOptions = {},
): Promise<StudyRound | undefined> {
  const write = options.write ?? true;
  const round = async (stage: StudyRound["stage"], n: number, folders: StudyFolder[]) => {
    const todo = await unfinished(folders);
    if (!todo.some((t) => t.length)) return undefined;
    const label = stage === "selection" ? `selection, round ${n}` : stage;
    return { stage, round: n, label, folders, todo };
  };
  if (!study.tune) {
    const folders = study.cells.map((cell) => ({
      dir: folderOf(study, out, "cells", cell.point),
      options: {
        ...optionsOf(study, cell.point),
        activations: cell.activations,
        seeds: study.seeds,
      },
    }));
    return await round("cells", 1, folders);
  }
  const grids = await readGrids(study, out);
  for (;;) {
    if (write) await writeGrids(out, grids);
    const next = await round(
      "selection",
      selectionRound(study, grids),
      selectionFolders(
        study,
        out,
        grids,
      ),
    );
    if (next) return next;
    if (!(await widenGrids(study, out, grids))) break;
  }
  if (write) await writeSelection(study, out, grids);
  if (options.stage === "select") return undefined;
  const read = await collect(study, out, grids);
  return await round("confirmation", 1, read.cells.flatMap((c) => confirmFolders(study, out, c)));
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

/** The work of {@link runStudy}: its rounds one after another, then the tables from disk. */
async function runStages(
  data: SweepData,
  study: Study,
  options: StudyOptions,
): Promise<StudyResult> {
  const out = await checkFolderPath(options.out);
  await claimStudyFolder(study, out);
  const lock = await lockFolder(out, "study");
  let interrupted = false;
  try {
    let last = "";
    for (;;) {
      const round = await nextStudyRound(study, out, { stage: options.stage });
      if (!round) break;
      const plan = JSON.stringify([round.label, round.todo]);
      if (plan === last) {
        throw new Error(
          `${out}: ${round.label} ran, but its trials are still not in its folders; ` +
            "see the notices above, then run the study again.",
        );
      }
      last = plan;
      if (await runStudyFolders(data, round.folders, options, round.label)) {
        interrupted = true;
        break;
      }
    }
  } finally {
    await lock.release();
  }
  return { ...await finishStudy(study, out, { onNotice: options.onNotice }), interrupted };
}

/**
 * Reads a study's folder and writes its tables, as a run ends: `tuned.csv` (or `cells.csv`) and
 * `family.csv`, named `*.partial.csv` until every trial is finished. Returns what it read.
 *
 * @example
 * ```ts ignore
 * import { finishStudy, loadStudy } from "@actlab/actlab/sweep";
 * const r = await finishStudy(await loadStudy("studies/tuned.json"), "results/tuned");
 * console.log(r.complete);
 * ```
 */
export async function finishStudy(
  study: Study,
  out: string,
  options: Pick<ReadStudyOptions, "onNotice"> = {},
): Promise<StudyResult> {
  const result = await readStudy(out, { study, onNotice: options.onNotice });
  await writeStudyTables(out, study, result.cells, result.family, result.complete);
  return result;
}

/** The confirmation folders of a selected cell: one per chosen value, with the activations that chose it. */
function confirmFolders(study: Study, out: string, cell: StudyCell): StudyFolder[] {
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
