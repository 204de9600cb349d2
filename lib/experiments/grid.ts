/**
 * Grids of sweeps over learning rates and step budgets: every cell of the grid is an ordinary
 * sweep (its own settings key, resume, lock and merge) in a sub-folder of `out` named after what
 * it changes (`lr=0.003`, `iters=500`, `lr=0.003,iters=500`); the base cell — the base learning
 * rate and budget — is `out` itself, so a finished sweep there is the grid's base cell without
 * being run again. Then: each activation at its best learning rate, the full grid, and cost
 * (FLOPs, wall-clock) per budget.
 *
 * @module
 */
import * as aq from "arquero";
import type { CharDataset } from "../../datasets/char_dataset.ts";
import { writeTextAtomic } from "../core/fs.ts";
import { mean, summarize } from "../core/stats.ts";
import { getActivation } from "../activations/registry.ts";
import { presets } from "../gpt/config.ts";
import { trialFlopsPerStep } from "./compute.ts";
import {
  summarizeTrials,
  sweep,
  type SweepOptions,
  type SweepResult,
  type SweepSettings,
  type TrialResult,
} from "./sweep.ts";

/** Options of {@link sweepGrid}: a sweep's options, plus the axes of the grid. */
export interface GridOptions extends SweepOptions {
  /**
   * Peak learning rates. The base one (`train.learningRate`, else the preset's) is always a cell.
   * Each other rate decays to the same fraction of itself as the base does (nano: lr / 10).
   */
  readonly lrs?: readonly number[];
  /**
   * Step budgets, each with the cosine schedule fitted to it (it decays over the budget; warmup
   * stays the preset's). The base budget (`iters`, else the preset's) is always a cell.
   */
  readonly budgets?: readonly number[];
  /** Called before each cell's sweep starts. */
  readonly onCell?: (cell: GridCell, index: number, total: number) => void;
}

/** One cell of a grid: a learning rate, a step budget, and the sweep that runs them. */
export interface GridCell {
  /** Peak learning rate. */
  readonly lr: number;
  /** Optimizer steps (the budget). */
  readonly iters: number;
  /**
   * The cell's folder under `out`: `""` for the base cell (`out` itself), else what differs from
   * the base, e.g. `lr=0.003`, `iters=500` or `lr=0.003,iters=500`.
   */
  readonly folder: string;
  /** The options of the cell's sweep (`out` is the cell's folder). */
  readonly options: SweepOptions;
}

/** A cell with the trials of its sweep. */
export interface GridCellResult extends GridCell {
  /**
   * What the cell's sweep returned, its `trials` and `summary` narrowed to the grid's activations
   * and seeds (the folder may hold more: see {@link sweepGrid}).
   */
  readonly result: SweepResult;
}

/** What {@link sweepGrid} returns. */
export interface GridResult {
  /** The cells run (or found finished), budget-major, learning rates ascending. */
  readonly cells: readonly GridCellResult[];
  /** The full grid: one row per activation × learning rate × budget (see {@link gridTable}). */
  readonly table: aq.ColumnTable;
  /** Each activation's best learning rate per budget (see {@link bestLearningRates}). */
  readonly best: aq.ColumnTable;
  /** True when the signal stopped the grid before every cell finished. */
  readonly interrupted: boolean;
}

/** What the grid's reading functions need of a cell. */
export type GridCellTrials = Pick<GridCell, "lr" | "iters" | "folder"> & {
  readonly result: Pick<SweepResult, "trials" | "settings">;
};

/** A number as the shortest text that reads back to it: 0.003, 0.0003, 1e-7. */
function numberText(x: number): string {
  return String(x);
}

/**
 * The cells of a grid, in the order {@link sweepGrid} runs them (budgets ascending, learning rates
 * ascending within), each with its folder and the options of its sweep. The base cell keeps the
 * options exactly as given (so its settings key is that of the plain sweep); another learning
 * rate sets `train.learningRate` and `train.minLearningRate` (the base's ratio of final to peak,
 * rounded to 12 significant digits); another budget sets `iters`.
 *
 * @example
 * ```ts
 * import { gridCells } from "@actlab/actlab/experiments";
 * const cells = gridCells({ preset: "nano", iters: 2000, lrs: [3e-4, 3e-3], out: "runs/g" });
 * console.assert(cells.map((c) => c.folder).join() === "lr=0.0003,,lr=0.003");
 * console.assert(cells[1].options.out === "runs/g" && cells[1].options.train === undefined);
 * console.assert(cells[2].options.train?.minLearningRate === 0.0003); // nano: lr / 10
 * ```
 */
export function gridCells(options: GridOptions): GridCell[] {
  const { lrs = [], budgets = [], onCell: _onCell, ...base } = options;
  const preset = presets[base.preset ?? "nano"];
  if (!preset) throw new Error(`sweepGrid: unknown preset "${base.preset}".`);
  const train = base.train ?? {};
  const baseLr = train.learningRate ?? preset.train.learningRate;
  const baseMin = train.minLearningRate !== undefined
    ? train.minLearningRate ?? baseLr / 10
    : preset.train.minLearningRate ?? baseLr / 10;
  const ratio = baseMin / baseLr;
  const baseIters = base.iters ?? preset.train.iters;
  const warmup = train.warmupIters ?? preset.train.warmupIters;
  for (const lr of lrs) {
    if (!(typeof lr === "number" && Number.isFinite(lr) && lr > 0 && lr <= 10)) {
      throw new Error(`sweepGrid: learning rate ${lr} is not a number in (0, 10].`);
    }
  }
  for (const n of budgets) {
    if (!Number.isInteger(n) || n <= warmup) {
      throw new Error(
        `sweepGrid: step budget ${n} must be a whole number above the ${warmup} warmup steps ` +
          `(the cosine decay is fitted to what follows them).`,
      );
    }
  }
  const sorted = (xs: readonly number[], first: number) =>
    [...new Set([first, ...xs])].sort((a, b) => a - b);
  const cells: GridCell[] = [];
  for (const iters of sorted(budgets, baseIters)) {
    for (const lr of sorted(lrs, baseLr)) {
      const parts = [
        ...(lr !== baseLr ? [`lr=${numberText(lr)}`] : []),
        ...(iters !== baseIters ? [`iters=${iters}`] : []),
      ];
      const folder = parts.join(",");
      const cell: SweepOptions = {
        ...base,
        ...(base.out !== undefined && folder ? { out: `${base.out}/${folder}` } : {}),
        ...(lr !== baseLr
          ? {
            train: {
              ...train,
              learningRate: lr,
              minLearningRate: Number((lr * ratio).toPrecision(12)),
            },
          }
          : {}),
        ...(iters !== baseIters ? { iters } : {}),
      };
      cells.push({ lr, iters, folder, options: cell });
    }
  }
  return cells;
}

/**
 * Runs a grid of sweeps over learning rates × step budgets: one ordinary sweep per cell (see
 * {@link gridCells} for the folders), one after another, each skipping the trials already in its
 * folder. With `out`, writes `grid.csv` (the full grid) and `grid_best.csv` (the best learning
 * rates) there. A stopped grid (`signal`) returns the cells finished so far with
 * `interrupted: true`; running it again resumes the interrupted cell.
 *
 * A cell folder that already lists more activations or seeds (the base cell of a larger published
 * sweep) keeps its listing: its sweep runs with the union, so its `trials.jsonl`, `summary.csv` and
 * `sweep.json` stay whole — and any trial of that listing not yet finished there is trained too
 * (said through `onNotice`). The grid's tables use the activations and seeds asked for.
 *
 * @example
 * ```ts ignore
 * import { loadTinyShakespeare } from "@actlab/actlab";
 * import { sweepGrid } from "@actlab/actlab/experiments";
 * const data = await loadTinyShakespeare();
 * const grid = await sweepGrid(data, {
 *   activations: ["relu", "gelu"], seeds: 3, iters: 2000, lrs: [3e-4, 3e-3], engine: "ort",
 *   out: "notebooks/results/03_activation_sweep",
 * });
 * grid.best.print();
 * ```
 */
export async function sweepGrid(data: CharDataset, options: GridOptions = {}): Promise<GridResult> {
  const cells = gridCells(options);
  const done: GridCellResult[] = [];
  let interrupted = false;
  for (const [k, cell] of cells.entries()) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    options.onCell?.(cell, k, cells.length);
    const asked = {
      activations: (cell.options.activations ?? ["relu", "gelu", "swiglu", "relu2"]).map((a) =>
        getActivation(a).name
      ),
      seeds: seedsOf(cell.options.seeds),
    };
    const listed = await listedIn(cell.options.out);
    const union = {
      activations: [...new Set([...(listed?.activations ?? []), ...asked.activations])],
      seeds: [...new Set([...(listed?.seeds ?? []), ...asked.seeds])],
    };
    const wider = union.activations.length > asked.activations.length ||
      union.seeds.length > asked.seeds.length;
    if (wider) {
      (options.onNotice ?? console.warn)(
        `${cell.options.out} lists ${union.activations.length} activations × ` +
          `${union.seeds.length} seeds; the grid keeps that listing (its files stay whole; ` +
          `unfinished trials of it run too) and reports ${asked.activations.join(", ")} × seeds ` +
          `${asked.seeds.join(", ")}.`,
      );
    }
    const whole = await sweep(data, { ...cell.options, ...(wider ? union : {}) });
    const trials = whole.trials.filter((t) =>
      asked.activations.includes(t.activation) && asked.seeds.includes(t.seed)
    );
    const result = wider
      ? {
        ...whole,
        trials,
        summary: summarizeTrials(trials, {
          activations: asked.activations,
          baseline: options.baseline,
          targetLoss: options.targetLoss,
        }),
      }
      : whole;
    done.push({ ...cell, result });
    if (result.interrupted) {
      interrupted = true;
      break;
    }
  }
  const table = gridTable(done);
  const best = bestLearningRates(done);
  if (options.out !== undefined && options.shard === undefined) {
    await writeTextAtomic(`${options.out}/grid.csv`, table.toCSV());
    await writeTextAtomic(`${options.out}/grid_best.csv`, best.toCSV());
  }
  return { cells: done, table, best, interrupted };
}

/** The seed list of a sweep's `seeds` option (a count N means 1…N; default 2). */
function seedsOf(seeds: SweepOptions["seeds"]): number[] {
  return typeof seeds === "number" || seeds === undefined
    ? Array.from({ length: (seeds as number | undefined) ?? 2 }, (_, i) => i + 1)
    : [...seeds];
}

/** The activations and seeds a sweep folder's `sweep.json` lists, if it holds a sweep. */
async function listedIn(
  out: string | undefined,
): Promise<{ activations: string[]; seeds: number[] } | undefined> {
  if (out === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(`${out}/sweep.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  let file: { activations?: unknown; seeds?: unknown; shard?: unknown };
  try {
    file = JSON.parse(text);
  } catch {
    return undefined; // the sweep itself says what is wrong with the file
  }
  if (file.shard !== undefined) return undefined; // a shard's listing is not the whole sweep's
  const known = (name: string) => {
    try {
      return getActivation(name) !== undefined;
    } catch {
      return false; // registered in another process: the sweep cannot run it here
    }
  };
  const names = Array.isArray(file.activations) ? file.activations.map(String).filter(known) : [];
  const seeds = Array.isArray(file.seeds) ? file.seeds.filter(Number.isInteger) : [];
  return { activations: names, seeds };
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

/** Per activation and budget: the cell with the lowest ranking loss (ties: the lower rate). */
function bestCells(
  cells: readonly GridCellTrials[],
): Map<string, { cell: GridCellTrials; loss: number }> {
  const best = new Map<string, { cell: GridCellTrials; loss: number }>();
  const sorted = [...cells].sort((a, b) => a.lr - b.lr);
  for (const activation of activationsOf(cells)) {
    for (const cell of sorted) {
      const loss = rankingLoss(cell.result.trials.filter((t) => t.activation === activation));
      if (Number.isNaN(loss)) continue;
      const key = `${activation}\u0000${cell.iters}`;
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
 * The full grid, one row per activation × learning rate × budget: `activation`, `lr`, `iters`,
 * `folder`, `n` (completed trials), `diverged`, the final validation loss (nats/char)
 * `val_loss_mean`, `val_loss_std`, `ci95_low/high` (Student-t over seeds), `flops_per_step`,
 * `train_flops` (per trial: FLOPs per step × steps), `wall_s` (mean wall-clock of a trial, its
 * evaluations included), `ms_per_step` and `best` (true in the row of the activation's best
 * learning rate at that budget, as {@link bestLearningRates} picks it).
 *
 * @example
 * ```ts ignore
 * import { gridTable } from "@actlab/actlab/experiments";
 * gridTable(grid.cells).print({ limit: Infinity });
 * ```
 */
export function gridTable(cells: readonly GridCellTrials[]): aq.ColumnTable {
  const best = bestCells(cells);
  const order = [...cells].sort((a, b) => a.iters - b.iters || a.lr - b.lr);
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
        best: best.get(`${activation}\u0000${cell.iters}`)?.cell === cell,
      }];
    })
  );
  return aq.from(rows);
}

/**
 * Each activation's best learning rate per budget: the rate with the lowest mean final validation
 * loss over its seeds (a rate at which any seed diverged ranks last). Columns: `activation`,
 * `iters`, `best_lr`, `lrs` (the rates tried, `;`-separated), `at_edge` (the best is the lowest
 * or highest rate tried: the optimum may lie outside the grid), `n`, `val_loss_mean`,
 * `ci95_low/high`, `train_flops`, `wall_s`, `folder`.
 *
 * The choice is made on the same trials it reports, so the best rate's mean is biased low (a
 * winner's curse that grows with the number of rates and shrinks with seeds): confirm a
 * difference at the chosen rates with fresh seeds before claiming it.
 *
 * @example
 * ```ts ignore
 * import { bestLearningRates } from "@actlab/actlab/experiments";
 * bestLearningRates(grid.cells).print();
 * ```
 */
export function bestLearningRates(cells: readonly GridCellTrials[]): aq.ColumnTable {
  const best = bestCells(cells);
  const budgets = [...new Set(cells.map((c) => c.iters))].sort((a, b) => a - b);
  const rows = activationsOf(cells).flatMap((activation) =>
    budgets.flatMap((iters) => {
      const tried = cells.filter((c) =>
        c.iters === iters && c.result.trials.some((t) => t.activation === activation)
      ).map((c) => c.lr).sort((a, b) => a - b);
      const pick = best.get(`${activation}\u0000${iters}`);
      if (!pick) return [];
      const mine = pick.cell.result.trials.filter((t) => t.activation === activation);
      const done = mine.filter((t) => t.status === "completed");
      const s = summarize(done.map((t) => t.finalValLoss));
      const lr = pick.cell.lr;
      return [{
        activation,
        iters,
        best_lr: lr,
        lrs: tried.map(numberText).join(";"),
        at_edge: tried.length > 1 && (lr === tried[0] || lr === tried[tried.length - 1]),
        n: done.length,
        val_loss_mean: s.mean,
        ci95_low: s.ciLow,
        ci95_high: s.ciHigh,
        train_flops: flopsOf(mine, pick.cell.result.settings) * iters,
        wall_s: mean(mine.map((t) => t.wallS)),
        folder: pick.cell.folder,
      }];
    })
  );
  return aq.from(rows);
}

/**
 * The trials of every activation at its best learning rate for one budget (default: the largest
 * budget of the grid), ready for `summarizeTrials` — whose paired comparisons then compare each
 * activation at its own best rate. The rates were chosen on these same trials (see
 * {@link bestLearningRates}): say so next to the p-values.
 *
 * @example
 * ```ts ignore
 * import { summarizeTrials, trialsAtBestLr } from "@actlab/actlab/experiments";
 * summarizeTrials(trialsAtBestLr(grid.cells), { baseline: "gelu" }).print();
 * ```
 */
export function trialsAtBestLr(
  cells: readonly GridCellTrials[],
  options: { iters?: number } = {},
): TrialResult[] {
  const iters = options.iters ?? Math.max(...cells.map((c) => c.iters));
  const best = bestCells(cells);
  return activationsOf(cells).flatMap((activation) => {
    const pick = best.get(`${activation}\u0000${iters}`);
    return pick ? pick.cell.result.trials.filter((t) => t.activation === activation) : [];
  });
}
