/**
 * Grids of sweeps over axes (learning rate, step budget, model size, any config field): every cell
 * is an ordinary sweep (its own settings key, resume, lock and merge) in a sub-folder of `out`
 * named after what it changes (`lr=0.003`, `iters=500`, `depth=2,lr=0.003`); the base cell — the
 * options as given — is `out` itself, so a finished sweep there is the grid's base cell without
 * being run again. `grid.json` lists the grid's axes and cells; `grid.csv` and `grid_best.csv`
 * hold its tables once every cell is finished (`grid.partial.csv`, `grid_best.partial.csv` until
 * then). Then: each activation at its best value of one axis (the learning rate) for every
 * combination of the others, and cost (FLOPs, wall-clock) per cell.
 *
 * @module
 */
import * as aq from "arquero";
import type { SweepData } from "./data.ts";
import { interruptible } from "../core/interrupt.ts";
import { mean, summarize } from "../core/stats.ts";
import { getActivation } from "../activations/registry.ts";
import {
  applyAxes,
  type Axis,
  axisKind,
  type AxisPoint,
  axisPoints,
  type AxisValue,
  axisValueText,
  cellFolder,
  checkAxes,
} from "./axes.ts";
import { trialFlopsPerStep } from "./cost.ts";
import { checkFolderPath, readFolder, removeIfPresent, writeIfChanged } from "./folder.ts";
import { DEFAULT_ACTIVATIONS, seedList, type SweepOptions } from "./options.ts";
import type { SweepSettings, TrialResult } from "./record.ts";
import { sweep, type SweepResult } from "./sweep.ts";
import { summarizeTrials } from "./summary.ts";

/** Options of {@link sweepGrid}: a sweep's options, plus the axes of the grid. */
export interface GridOptions extends SweepOptions {
  /** The axes: each a name and its values (`{ name: "n_layer", values: [2, 4, 6] }`). */
  readonly axes?: readonly Axis[];
  /**
   * Shorthand for an `lr` axis that always includes the base rate (`train.learningRate`, else the
   * preset's). Each other rate decays to the same fraction of itself as the base does (nano: lr / 10).
   */
  readonly lrs?: readonly number[];
  /**
   * Shorthand for an `iters` axis that always includes the base budget (`iters`, else the
   * preset's), each with the cosine schedule fitted to it (warmup stays the preset's).
   */
  readonly budgets?: readonly number[];
  /** Called before each cell's sweep starts. */
  readonly onCell?: (cell: GridCell, index: number, total: number) => void;
}

/** One cell of a grid: a value per axis, and the sweep that runs them. */
export interface GridCell {
  /** The cell's value of every axis of the grid. */
  readonly point: AxisPoint;
  /** Peak learning rate (whether or not it is an axis). */
  readonly lr: number;
  /** Optimizer steps (the budget, whether or not it is an axis). */
  readonly iters: number;
  /** The cell's folder under `out`: `""` for the base cell (`out` itself), else what differs. */
  readonly folder: string;
  /** The options of the cell's sweep (`out` is the cell's folder). */
  readonly options: SweepOptions;
}

/** A cell with the trials of its sweep. */
export interface GridCellResult extends GridCell {
  /** What the cell's sweep returned: the grid's activations and seeds. */
  readonly result: SweepResult;
}

/** What {@link sweepGrid} returns. */
export interface GridResult {
  /** The grid's axes (checked, values sorted). */
  readonly axes: readonly Axis[];
  /** The cells run (or found finished), in grid order. */
  readonly cells: readonly GridCellResult[];
  /** The full grid: one row per activation × cell (see {@link gridTable}). */
  readonly table: aq.ColumnTable;
  /** Each activation's best learning rate per combination of the other axes. */
  readonly best: aq.ColumnTable;
  /** True when the signal stopped the grid before every cell finished. */
  readonly interrupted: boolean;
}

/** What the grid's reading functions need of a cell. */
export type GridCellTrials = Pick<GridCell, "lr" | "iters" | "folder"> & {
  /** The cell's axis values (absent in hand-made cells: then only lr and iters). */
  readonly point?: AxisPoint;
  readonly result: Pick<SweepResult, "trials" | "settings">;
};

/**
 * The grid's axes from its options: `axes`, then the `lrs` and `budgets` shorthands (each with the
 * base value included), checked.
 *
 * @example
 * ```ts
 * import { gridAxes } from "@actlab/actlab/sweep";
 * gridAxes({ preset: "nano", lrs: [3e-3] }); // [{ name: "lr", values: [0.001, 0.003] }]
 * ```
 */
export function gridAxes(options: GridOptions): Axis[] {
  const { axes = [], lrs = [], budgets = [], onCell: _onCell, ...base } = options;
  const given = [...axes];
  if (lrs.length) {
    given.push({ name: "lr", values: [axisKind("lr").valueOf(base)!, ...lrs] });
  }
  if (budgets.length) {
    given.push({ name: "iters", values: [axisKind("iters").valueOf(base)!, ...budgets] });
  }
  return checkAxes(given, base);
}

/**
 * The cells of a grid, in the order {@link sweepGrid} runs them (the product of the axes, the first
 * varying fastest), each with its folder and the options of its sweep. Only the axes whose value
 * differs from the base are applied, so the base cell keeps the options exactly as given (its
 * settings key is that of the plain sweep); another learning rate sets `train.learningRate` and
 * `train.minLearningRate` (the base's ratio of final to peak, to 12 significant digits).
 *
 * @example
 * ```ts
 * import { gridCells } from "@actlab/actlab/sweep";
 * const cells = gridCells({ preset: "nano", iters: 2000, lrs: [3e-4, 3e-3], out: "runs/g" });
 * console.assert(cells.map((c) => c.folder).join() === "lr=0.0003,,lr=0.003");
 * console.assert(cells[1].options.out === "runs/g" && cells[1].options.train === undefined);
 * console.assert(cells[2].options.train?.minLearningRate === 0.0003); // nano: lr / 10
 * ```
 */
export function gridCells(options: GridOptions): GridCell[] {
  const axes = gridAxes(options);
  const { axes: _a, lrs: _l, budgets: _b, onCell: _c, ...base } = options;
  return axisPoints(axes).map((point) => {
    const folder = cellFolder(base, point);
    const changed = Object.fromEntries(
      Object.entries(point).filter(([name, v]) => axisKind(name).valueOf(base) !== v),
    );
    const applied = applyAxes(base, changed);
    const cellOptions: SweepOptions = {
      ...applied,
      ...(base.out !== undefined && folder ? { out: `${base.out}/${folder}` } : {}),
    };
    return {
      point,
      lr: axisKind("lr").valueOf(applied) as number,
      iters: axisKind("iters").valueOf(applied) as number,
      folder,
      options: cellOptions,
    };
  });
}

/** What `grid.json` holds: the grid's axes, activations, seeds and cells. */
export interface GridListing {
  /** The axes. */
  readonly axes: readonly Axis[];
  /** The activations every cell runs. */
  readonly activations: readonly string[];
  /** The seeds every cell runs. */
  readonly seeds: readonly number[];
  /** Every cell: its folder, axis values, learning rate and budget. */
  readonly cells: readonly { folder: string; point: AxisPoint; lr: number; iters: number }[];
}

/** The grid's derived tables, as files: final when every cell is done, partial otherwise. */
async function writeGridTables(out: string, grid: GridResult, complete: boolean): Promise<void> {
  const files: [string, aq.ColumnTable][] = [["grid", grid.table], ["grid_best", grid.best]];
  for (const [name, table] of files) {
    await writeIfChanged(`${out}/${name}${complete ? "" : ".partial"}.csv`, table.toCSV());
    await removeIfPresent(`${out}/${name}${complete ? ".partial" : ""}.csv`);
  }
}

/**
 * Runs a grid of sweeps over its axes: one ordinary sweep per cell (see {@link gridCells} for the
 * folders), one after another, each skipping the trials already in its folder. With `out`, writes
 * `grid.json` (the grid's listing) first, and `grid.csv` and `grid_best.csv` when every cell is
 * finished (`*.partial.csv` if stopped). A stopped grid (`signal`) returns the cells finished so
 * far with `interrupted: true`; running it again resumes the interrupted cell. In a Jupyter
 * kernel, Stop ends it with an `InterruptedError` and keeps the kernel.
 *
 * @example
 * ```ts ignore
 * import { loadTinyShakespeare } from "@actlab/actlab";
 * import { sweepGrid } from "@actlab/actlab/sweep";
 * const data = await loadTinyShakespeare();
 * const grid = await sweepGrid(data, {
 *   activations: ["relu", "gelu"], seeds: 3, iters: 2000, engine: "ort",
 *   axes: [{ name: "depth", values: [2, 4] }, { name: "lr", values: [1e-3, 3e-3] }],
 *   out: "results/size-grid",
 * });
 * grid.best.print();
 * ```
 */
export function sweepGrid(data: SweepData, options: GridOptions = {}): Promise<GridResult> {
  return interruptible((scope) => runGrid(data, { ...options, signal: scope.signal }), {
    signal: options.signal,
  });
}

/** The work of {@link sweepGrid}: the cells one after another, then the tables. */
async function runGrid(data: SweepData, options: GridOptions): Promise<GridResult> {
  const axes = gridAxes(options);
  const cells = gridCells(options);
  const activations = (options.activations ?? DEFAULT_ACTIVATIONS).map((a) =>
    getActivation(a).name
  );
  const seeds = seedList(options.seeds);
  if (options.out !== undefined) {
    await checkFolderPath(options.out);
    const listing: GridListing = {
      axes,
      activations,
      seeds,
      cells: cells.map(({ folder, point, lr, iters }) => ({ folder, point, lr, iters })),
    };
    await Deno.mkdir(options.out, { recursive: true });
    await writeIfChanged(`${options.out}/grid.json`, JSON.stringify(listing, null, 2) + "\n");
  }
  const done: GridCellResult[] = [];
  let interrupted = false;
  for (const [k, cell] of cells.entries()) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    options.onCell?.(cell, k, cells.length);
    const result = await sweep(data, { ...cell.options, activations, seeds });
    done.push({ ...cell, result });
    if (result.interrupted) {
      interrupted = true;
      break;
    }
  }
  const grid = {
    axes,
    cells: done,
    table: gridTable(done),
    best: bestLearningRates(done),
    interrupted,
  };
  if (options.out !== undefined && options.shard === undefined) {
    const complete = !interrupted && done.length === cells.length &&
      done.every((c) => c.result.trials.length === activations.length * seeds.length);
    await writeGridTables(options.out, grid, complete);
  }
  return grid;
}

/**
 * Reads a grid's folder without running anything: its `grid.json` and every cell through the
 * checked folder reader, each cell's trials narrowed to the grid's activations and seeds. Cells
 * not run yet are left out and said through `onNotice`.
 *
 * @example
 * ```ts ignore
 * import { readGrid } from "@actlab/actlab/sweep";
 * const grid = await readGrid("notebooks/results/03_activation_sweep");
 * grid.best.print();
 * ```
 */
export async function readGrid(
  dir: string,
  options: { onNotice?: (message: string) => void } = {},
): Promise<GridResult & { listing: GridListing }> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/grid.json`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      `${dir} is not a grid's folder (no grid.json): give the --out folder of a grid ` +
        `(deno task sweep --axis … or --lrs …).`,
    );
  }
  const listing = JSON.parse(text) as GridListing;
  const cells: GridCellResult[] = [];
  for (const c of listing.cells) {
    const path = c.folder ? `${dir}/${c.folder}` : dir;
    let view;
    try {
      view = await readFolder(path);
    } catch (e) {
      if ((e as Error).message.includes("not a sweep folder")) {
        notice(`${dir}: cell ${c.folder || "(base)"} has not run yet: left out.`);
        continue;
      }
      throw e;
    }
    for (const n of view.notices) notice(n.message);
    const trials = view.trials.filter((t) =>
      listing.activations.includes(t.activation) && listing.seeds.includes(t.seed)
    );
    const { activations: _a, seeds: _s, shard: _h, mergedFrom: _m, ...settings } = view.listing;
    const result: SweepResult = {
      trials,
      summary: summarizeTrials(trials, { activations: listing.activations }),
      settings,
      interrupted: false,
      discarded: [],
      jobs: 0,
    };
    cells.push({ ...c, options: {}, result });
  }
  return {
    listing,
    axes: listing.axes,
    cells,
    table: gridTable(cells),
    best: bestLearningRates(cells),
    interrupted: false,
  };
}

/** Activations in the order they first appear across the cells. */
function activationsOf(cells: readonly GridCellTrials[]): string[] {
  return [...new Set(cells.flatMap((c) => c.result.trials.map((t) => t.activation)))];
}

/** The mean final loss that ranks a cell: +∞ when any trial diverged, NaN when none ran. */
function rankingLoss(trials: readonly TrialResult[]): number {
  if (trials.length === 0) return NaN;
  if (trials.some((t) => t.status !== "completed")) return Infinity;
  return mean(trials.map((t) => t.finalValLoss));
}

/** A cell's value of `axis` (lr and iters are known for every cell). */
function valueIn(cell: GridCellTrials, axis: string): AxisValue | undefined {
  if (axis === "lr") return cell.lr;
  if (axis === "iters") return cell.iters;
  return cell.point?.[axis];
}

/** The axes other than `axis` (and other than lr and iters, which are always columns). */
function otherAxes(cells: readonly GridCellTrials[], axis: string): string[] {
  const names = new Set(cells.flatMap((c) => Object.keys(c.point ?? {})));
  return [...names].filter((n) => n !== axis && n !== "lr" && n !== "iters");
}

/** The key of a cell's group when choosing the best `axis`: its values of every other axis. */
function groupOf(cell: GridCellTrials, axis: string, others: readonly string[]): string {
  const parts = ["iters", ...others].filter((n) => n !== axis).map((n) => valueIn(cell, n));
  if (axis !== "lr") parts.push(cell.lr);
  return JSON.stringify(parts);
}

/** Per activation and group: the cell with the lowest ranking loss (ties: the lower value). */
function bestOf(
  cells: readonly GridCellTrials[],
  axis: string,
): Map<string, { cell: GridCellTrials; loss: number }> {
  const others = otherAxes(cells, axis);
  const best = new Map<string, { cell: GridCellTrials; loss: number }>();
  const sorted = [...cells].sort((a, b) => Number(valueIn(a, axis)) - Number(valueIn(b, axis)));
  for (const activation of activationsOf(cells)) {
    for (const cell of sorted) {
      const loss = rankingLoss(cell.result.trials.filter((t) => t.activation === activation));
      if (Number.isNaN(loss)) continue;
      const key = `${activation}\u0000${groupOf(cell, axis, others)}`;
      const seen = best.get(key);
      if (!seen || loss < seen.loss) best.set(key, { cell, loss });
    }
  }
  return best;
}

/** Mean FLOPs per step of a cell's trials of one activation. */
function flopsOf(trials: readonly TrialResult[], settings: SweepSettings): number {
  return mean(trials.map((t) => trialFlopsPerStep(t, settings)));
}

/**
 * The full grid, one row per activation × cell: `activation`, `lr`, `iters`, a column per other
 * axis, `folder`, `n` (completed trials), `diverged`, the final validation loss `val_loss_mean`,
 * `val_loss_std`, `ci95_low/high` (Student-t over seeds), `flops_per_step`, `train_flops` (per
 * trial: FLOPs per step × steps), `wall_s` (mean wall-clock of a trial, evaluations included),
 * `ms_per_step` and `best` (the activation's best learning rate for its other axes' values).
 *
 * @example
 * ```ts ignore
 * import { gridTable } from "@actlab/actlab/sweep";
 * gridTable(grid.cells).print({ limit: Infinity });
 * ```
 */
export function gridTable(cells: readonly GridCellTrials[]): aq.ColumnTable {
  const best = bestOf(cells, "lr");
  const others = otherAxes(cells, "lr");
  const order = [...cells].sort((a, b) =>
    a.iters - b.iters || groupOf(a, "lr", others).localeCompare(groupOf(b, "lr", others)) ||
    a.lr - b.lr
  );
  const rows = activationsOf(cells).flatMap((activation) =>
    order.flatMap((cell) => {
      const mine = cell.result.trials.filter((t) => t.activation === activation);
      if (mine.length === 0) return [];
      const done = mine.filter((t) => t.status === "completed");
      const s = summarize(done.map((t) => t.finalValLoss));
      const fps = flopsOf(mine, cell.result.settings);
      return [{
        activation,
        lr: cell.lr,
        iters: cell.iters,
        ...Object.fromEntries(others.map((n) => [n, valueIn(cell, n)])),
        folder: cell.folder,
        n: done.length,
        diverged: mine.length - done.length,
        val_loss_mean: s.mean,
        val_loss_std: s.std,
        ci95_low: s.ciLow,
        ci95_high: s.ciHigh,
        flops_per_step: fps,
        train_flops: fps * cell.iters,
        wall_s: mean(mine.map((t) => t.wallS)),
        ms_per_step: mean(mine.map((t) => t.msPerStep)),
        best: best.get(`${activation}\u0000${groupOf(cell, "lr", others)}`)?.cell === cell,
      }];
    })
  );
  return aq.from(rows);
}

/**
 * Each activation's best value of `axis` (default `lr`) for every combination of the other axes:
 * the value with the lowest mean final validation loss over its seeds (a value at which any seed
 * diverged ranks last). Columns: `activation`, `iters`, a column per other axis, `best_<axis>`,
 * `<axis>s` (the values tried, `;`-separated), `at_edge` (the best is the lowest or highest tried:
 * the optimum may lie outside the grid), `n`, `val_loss_mean`, `ci95_low/high`, `train_flops`,
 * `wall_s`, `folder`.
 *
 * The choice is made on the same trials it reports, so the best value's mean is biased low (a
 * winner's curse that grows with the number of values and shrinks with seeds): confirm a
 * difference at the chosen values with fresh seeds (a study's confirmation stage) before claiming it.
 *
 * @example
 * ```ts ignore
 * import { bestLearningRates } from "@actlab/actlab/sweep";
 * bestLearningRates(grid.cells).print();
 * ```
 */
export function bestLearningRates(
  cells: readonly GridCellTrials[],
  options: { axis?: string } = {},
): aq.ColumnTable {
  const axis = options.axis ?? "lr";
  const best = bestOf(cells, axis);
  const others = otherAxes(cells, axis);
  const groups = [...new Map(cells.map((c) => [groupOf(c, axis, others), c])).values()]
    .sort((a, b) => a.iters - b.iters);
  const rows = activationsOf(cells).flatMap((activation) =>
    groups.flatMap((g) => {
      const key = groupOf(g, axis, others);
      const tried = cells.filter((c) =>
        groupOf(c, axis, others) === key && c.result.trials.some((t) => t.activation === activation)
      ).map((c) => valueIn(c, axis) as number).sort((a, b) => a - b);
      const pick = best.get(`${activation}\u0000${key}`);
      if (!pick) return [];
      const mine = pick.cell.result.trials.filter((t) => t.activation === activation);
      const done = mine.filter((t) => t.status === "completed");
      const s = summarize(done.map((t) => t.finalValLoss));
      const value = valueIn(pick.cell, axis) as number;
      return [{
        activation,
        ...(axis !== "iters" ? { iters: g.iters } : {}),
        ...Object.fromEntries(others.map((n) => [n, valueIn(g, n)])),
        ...(axis !== "lr" ? { lr: g.lr } : {}),
        [`best_${axis}`]: value,
        [`${axis}s`]: tried.map(axisValueText).join(";"),
        at_edge: tried.length > 1 && (value === tried[0] || value === tried[tried.length - 1]),
        n: done.length,
        val_loss_mean: s.mean,
        ci95_low: s.ciLow,
        ci95_high: s.ciHigh,
        train_flops: flopsOf(mine, pick.cell.result.settings) * pick.cell.iters,
        wall_s: mean(mine.map((t) => t.wallS)),
        folder: pick.cell.folder,
      }];
    })
  );
  return aq.from(rows);
}

/**
 * The trials of every activation at its best learning rate for one budget (default: the largest
 * budget of the grid) and, with `where`, at the given values of other axes: ready for
 * `summarizeTrials`, whose paired comparisons then compare each activation at its own best rate.
 * The rates were chosen on these same trials (see {@link bestLearningRates}): say so next to the
 * p-values, or confirm on fresh seeds. A grid with other axes (a tokenizer, a size) has a best
 * rate per value of them: without a `where` that picks one, it is an error (trials of different
 * sizes are no seeds of one mean); {@link trialsAtBestLrByGroup} gives every group.
 *
 * @example
 * ```ts ignore
 * import { summarizeTrials, trialsAtBestLr } from "@actlab/actlab/sweep";
 * summarizeTrials(trialsAtBestLr(grid.cells), { baseline: "gelu" });
 * ```
 */
export function trialsAtBestLr(
  cells: readonly GridCellTrials[],
  options: { iters?: number; where?: AxisPoint } = {},
): TrialResult[] {
  const iters = options.iters ?? Math.max(...cells.map((c) => c.iters));
  const keep = cells.filter((c) =>
    c.iters === iters &&
    Object.entries(options.where ?? {}).every(([n, v]) => valueIn(c, n) === v)
  );
  const best = bestOf(keep, "lr");
  const others = otherAxes(keep, "lr");
  const groups = [...new Set(keep.map((c) => groupOf(c, "lr", others)))];
  if (groups.length > 1) {
    throw new Error(
      `trialsAtBestLr: the grid varies ${others.join(", ")} besides the rate, so each value has ` +
        `its own best rate; pick one with where: { ${others[0]}: … }, or take every group from ` +
        `trialsAtBestLrByGroup.`,
    );
  }
  return activationsOf(keep).flatMap((activation) =>
    groups.flatMap((g) => {
      const pick = best.get(`${activation}\u0000${g}`);
      return pick ? pick.cell.result.trials.filter((t) => t.activation === activation) : [];
    })
  );
}

/** One group of {@link trialsAtBestLrByGroup}: the values of the other axes and its trials. */
export interface BestLrGroup {
  /** The group's value of every axis besides the rate and the budget (empty without others). */
  readonly where: AxisPoint;
  /** Each activation's trials at its best rate in this group. */
  readonly trials: TrialResult[];
  /** The settings of one of the group's cells (its tokenizer, size: the group's units). */
  readonly settings: GridCellTrials["result"]["settings"];
}

/**
 * Every group of values of the axes other than the rate (one group when there are none), each with
 * {@link trialsAtBestLr}'s trials for one budget (default: the largest): the comparisons at the
 * best rates, never pooling trials of different tokenizers, sizes or optimizers.
 *
 * @example
 * ```ts ignore
 * import { summarizeTrials, trialsAtBestLrByGroup } from "@actlab/actlab/sweep";
 * for (const g of trialsAtBestLrByGroup(grid.cells)) {
 *   console.log(g.where, summarizeTrials(g.trials, { baseline: "gelu" }).length);
 * }
 * ```
 */
export function trialsAtBestLrByGroup(
  cells: readonly GridCellTrials[],
  options: { iters?: number } = {},
): BestLrGroup[] {
  const iters = options.iters ?? Math.max(...cells.map((c) => c.iters));
  const others = otherAxes(cells.filter((c) => c.iters === iters), "lr");
  const groups = new Map<string, BestLrGroup>();
  for (const c of cells.filter((c) => c.iters === iters)) {
    const where: AxisPoint = Object.fromEntries(others.map((n) => [n, valueIn(c, n)!]));
    const key = JSON.stringify(where);
    if (groups.has(key)) continue;
    groups.set(key, {
      where,
      trials: trialsAtBestLr(cells, { iters, where }),
      settings: c.result.settings,
    });
  }
  return [...groups.values()];
}
