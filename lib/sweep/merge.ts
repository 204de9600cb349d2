/**
 * Merging the folders of a sweep's shards (run anywhere: array tasks, machines without a shared
 * disk) into one folder: every cell of a grid, never a fraction of it. Every input is read through
 * the checked folder reader; shards of different settings refuse to merge; a trial found twice
 * with different numbers is an error; a missing shard, cell or trial is said. The merged folder
 * is written whole under a temporary name and then renamed, so an interrupted merge leaves nothing
 * that blocks the next one.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import {
  cellFolders,
  checkFolderPath,
  type FolderView,
  type Listing,
  readFolder,
  writeDerived,
  writeListing,
  writeTrial,
} from "./folder.ts";
import { bestLearningRates, type GridCellResult, type GridListing, gridTable } from "./grid.ts";
import type { SweepSettings, TrialResult, TrialSpec } from "./record.ts";
import { describeSettings } from "./settings.ts";
import { type Shard, sweepTrials } from "./shard.ts";
import { summarizeTrials, summaryCsv, type SummaryRow } from "./summary.ts";

/** Options of {@link mergeSweeps}. */
export interface MergeOptions {
  /** The baseline of the summaries (default: gelu when present, else the first activation). */
  readonly baseline?: string;
  /** The target loss of steps-to-target. */
  readonly targetLoss?: number;
  /** Write the merged folder here: a new folder (or an empty one), never one of the inputs. */
  readonly out?: string;
  /** Missing shards, cells and trials, and files left out of the inputs. Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/** One merged cell: its folder under the merged folder, settings, trials and summary. */
export interface MergedCell {
  /** `""` for the base cell (the folder itself), else the grid cell's folder name. */
  readonly folder: string;
  /** The cell's settings. */
  readonly settings: SweepSettings;
  /** Its listing: every activation and seed any input listed. */
  readonly listing: Listing;
  /** The merged trials, in listing order. */
  readonly trials: TrialResult[];
  /** Its summary. */
  readonly summary: SummaryRow[];
  /** Listed trials no input holds. */
  readonly missing: readonly TrialSpec[];
}

/** What {@link mergeSweeps} returns: the base cell's trials, summary and settings, and every cell. */
export interface MergeResult {
  /** The base cell's trials (the first cell's when the inputs have no base cell). */
  readonly trials: TrialResult[];
  /** Its summary. */
  readonly summary: SummaryRow[];
  /** Its settings. */
  readonly settings: SweepSettings;
  /** Every merged cell (one for plain sweeps). */
  readonly cells: readonly MergedCell[];
  /** The merged grid's listing, when the inputs are grids. */
  readonly grid?: GridListing;
}

/** Refuses a merge target that is one of the inputs or a folder with files in it. */
async function checkTarget(out: string, dirs: readonly string[]): Promise<void> {
  await checkFolderPath(out, "merge --out");
  const target = resolve(out);
  if (dirs.some((d) => resolve(d) === target)) {
    throw new Error(
      `sweep merge: --out ${out} is one of the folders being merged; give a new folder.`,
    );
  }
  const entries = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
  if (entries.length > 0) {
    throw new Error(`sweep merge: ${out} exists and is not empty; give a new folder.`);
  }
}

/** Reads a grid's listing, if the folder has one. */
async function gridListing(dir: string): Promise<GridListing | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/grid.json`)) as GridListing;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${dir}/grid.json: ${(e as Error).message}; restore it or delete it.`);
  }
}

/** The cells to merge: every sweep folder in any input (the base `""` and sub-folders). */
async function cellsOf(dirs: readonly string[]): Promise<Map<string, string[]>> {
  const cells = new Map<string, string[]>();
  for (const dir of dirs) {
    const found = await cellFolders(dir);
    const hasBase = await Deno.stat(`${dir}/sweep.json`).then(() => true, () => false);
    if (!hasBase && found.length === 0) {
      throw new Error(
        `${dir} is not a sweep folder (no sweep.json, no cells): pass the --out folders of the shards.`,
      );
    }
    for (const folder of hasBase ? ["", ...found] : found) {
      cells.set(folder, [...(cells.get(folder) ?? []), folder ? `${dir}/${folder}` : dir]);
    }
  }
  return cells;
}

/** Merges one cell's folders: same settings, union listing, each trial once. */
async function mergeCell(
  folder: string,
  dirs: readonly string[],
  options: MergeOptions,
  notice: (m: string) => void,
): Promise<MergedCell> {
  const views: FolderView[] = [];
  for (const dir of dirs) {
    const view = await readFolder(dir);
    for (const n of view.notices) notice(n.message);
    if (views.length && view.listing.key !== views[0].listing.key) {
      throw new Error(
        `${dir} has other settings than ${views[0].dir}: they are different sweeps ` +
          `(${describeSettings(view.listing)} vs ${describeSettings(views[0].listing)}).`,
      );
    }
    views.push(view);
  }
  const union = <T>(xs: (readonly T[])[]) => [...new Set(xs.flat())];
  const { activations: _a, seeds: _s, shard: _h, mergedFrom: _m, ...settings } = views[0].listing;
  const listing: Listing = {
    ...settings,
    activations: union(views.map((v) => v.listing.activations)),
    seeds: union(views.map((v) => v.listing.seeds)),
    mergedFrom: [...dirs],
  };
  const shards = new Map<number, Set<number>>();
  for (const s of views.map((v) => v.listing.shard).filter((s): s is Shard => !!s)) {
    shards.set(s.count, (shards.get(s.count) ?? new Set()).add(s.index));
  }
  for (const [count, seen] of shards) {
    const absent = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
    if (absent.length) {
      notice(
        `sweep merge${folder ? ` (cell ${folder})` : ""}: shard${absent.length > 1 ? "s" : ""} ` +
          `${absent.map((i) => `${i}/${count}`).join(", ")} of ${count} ` +
          `${absent.length > 1 ? "are" : "is"} not among the folders given: ` +
          `${absent.length > 1 ? "their" : "its"} trials are absent from the merge.`,
      );
    }
  }
  const byKey = new Map<string, { trial: TrialResult; dir: string }>();
  for (const view of views) {
    for (const t of view.trials) {
      const key = `${t.activation}\0${t.seed}`;
      const seen = byKey.get(key);
      if (seen && JSON.stringify(seen.trial) !== JSON.stringify(t)) {
        throw new Error(
          `${t.activation} seed ${t.seed} is in ${seen.dir} and ${view.dir} with different ` +
            `records (final loss ${seen.trial.finalValLoss} vs ${t.finalValLoss}): the same ` +
            `trial ran twice and did not reproduce; keep one of the two files.`,
        );
      }
      byKey.set(key, seen ?? { trial: t, dir: view.dir });
    }
  }
  const expected = sweepTrials(listing.activations, listing.seeds);
  const trials = expected.flatMap((t) => byKey.get(`${t.activation}\0${t.seed}`)?.trial ?? []);
  const missing = expected.filter((t) => !byKey.has(`${t.activation}\0${t.seed}`));
  if (missing.length) {
    notice(
      `sweep merge${folder ? ` (cell ${folder})` : ""}: ${missing.length} trial(s) not finished ` +
        `in the shards: ${missing.map((t) => `${t.activation} seed ${t.seed}`).join(", ")}.`,
    );
  }
  const summary = summarizeTrials(trials, {
    activations: listing.activations.filter((a) => trials.some((t) => t.activation === a)),
    baseline: options.baseline,
    targetLoss: options.targetLoss,
  });
  return { folder, settings, listing, trials, summary, missing };
}

/** Writes the merged cells (and grid tables) into a new folder, whole or not at all. */
async function writeMerged(
  out: string,
  cells: readonly MergedCell[],
  grid: GridListing | undefined,
): Promise<void> {
  const tmp = `${dirname(resolve(out))}/.${basename(resolve(out))}.merging-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    for (const c of cells) {
      const dir = c.folder ? `${tmp}/${c.folder}` : tmp;
      await Deno.mkdir(`${dir}/trials`, { recursive: true });
      await writeListing(dir, c.listing);
      for (const t of c.trials) await writeTrial(dir, t);
      await writeDerived(dir, undefined, c.trials, summaryCsv(c.summary), c.missing.length === 0);
    }
    if (grid) {
      await Deno.writeTextFile(`${tmp}/grid.json`, JSON.stringify(grid, null, 2) + "\n");
      const done = gridCellsOf(cells, grid);
      const complete = done.length === grid.cells.length && cells.every((c) => !c.missing.length);
      const suffix = complete ? "" : ".partial";
      await Deno.writeTextFile(`${tmp}/grid${suffix}.csv`, gridTable(done).toCSV());
      await Deno.writeTextFile(`${tmp}/grid_best${suffix}.csv`, bestLearningRates(done).toCSV());
    }
    await Deno.remove(out).catch(() => {}); // an empty folder given as the target
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** The merged cells as grid cells, in the grid's order, narrowed to its activations and seeds. */
function gridCellsOf(cells: readonly MergedCell[], grid: GridListing): GridCellResult[] {
  return grid.cells.flatMap((g) => {
    const c = cells.find((m) => m.folder === g.folder);
    if (!c) return [];
    const trials = c.trials.filter((t) =>
      grid.activations.includes(t.activation) && grid.seeds.includes(t.seed)
    );
    return [{
      ...g,
      options: {},
      result: {
        trials,
        summary: summarizeTrials(trials),
        settings: c.settings,
        interrupted: false,
        discarded: [],
        jobs: 0,
      },
    }];
  });
}

/**
 * Joins the folders of several shards of one sweep or grid (run anywhere) and summarizes them:
 * every cell found in any input (the base folder and each `axis=value` sub-folder), each merged
 * from the inputs that have it. All inputs of a cell must hold the same settings (engine, device
 * and threads included). With `out`, writes the merged sweep there as a folder of its own (a new
 * folder, never one of the inputs), with the grid's listing and tables when the inputs are grids.
 * Says through `onNotice` when a shard, a grid cell or a listed trial is missing.
 *
 * @example
 * ```ts ignore
 * import { mergeSweeps } from "@actlab/actlab/sweep";
 * const { summary, cells } = await mergeSweeps(["runs/shard0", "runs/shard1"], { out: "runs/all" });
 * ```
 */
export async function mergeSweeps(
  dirs: readonly string[],
  options: MergeOptions = {},
): Promise<MergeResult> {
  if (dirs.length === 0) throw new Error("sweep merge: give at least one sweep folder.");
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  for (const d of dirs) await checkFolderPath(d, "sweep merge");
  if (options.out !== undefined) await checkTarget(options.out, dirs);
  const found = await cellsOf(dirs);
  const grids = (await Promise.all(dirs.map(gridListing))).filter((g): g is GridListing => !!g);
  const grid = grids[0];
  for (const g of grids.slice(1)) {
    if (JSON.stringify(g.cells) !== JSON.stringify(grid.cells)) {
      throw new Error(
        "sweep merge: the folders hold different grids (their grid.json list other cells); " +
          "merge the shards of one grid at a time.",
      );
    }
  }
  for (const c of grid?.cells ?? []) {
    const have = found.get(c.folder)?.length ?? 0;
    if (have < dirs.length) {
      notice(
        `sweep merge: cell ${c.folder || "(base)"} of the grid is in ${have} of the ` +
          `${dirs.length} folders: the others never ran it, so its trials there are absent.`,
      );
    }
  }
  const cells: MergedCell[] = [];
  for (const [folder, cellDirs] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    cells.push(await mergeCell(folder, cellDirs, options, notice));
  }
  if (options.out !== undefined) await writeMerged(options.out, cells, grid);
  const base = cells.find((c) => c.folder === "") ?? cells[0];
  return { trials: base.trials, summary: base.summary, settings: base.settings, cells, grid };
}
