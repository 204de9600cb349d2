/**
 * A study submitted to a scheduler (a Slurm job array, a Kubernetes Indexed Job) is a folder: its
 * script, its record, its logs, each task's shard and the merged result side by side.
 *
 * | path                              | what                                                      |
 * | --------------------------------- | --------------------------------------------------------- |
 * | `slurm/job.sh`                    | the array script (readable, editable; `--retry` reuses it) |
 * | `slurm/submit.json`               | the record: tasks, flags, settings keys, every submission  |
 * | `slurm/logs/task-<i>.<job>.out`   | task i's output in array job `<job>` (each attempt kept)   |
 * | `k8s/job.yaml`, `k8s/submit.json` | the same for Kubernetes (`kubectl apply -f`)               |
 * | `shards/<i>/`                     | task i's `--out`: a sweep (or grid) folder of shard i/n    |
 * | `merged/`                         | every shard merged (every grid cell), once all are complete |
 * | `shards/<round>/<i>/<folder>/`    | a study's round: task i's shard of each of its folders     |
 * | `.lock`                           | held while merging                                        |
 *
 * A study submitted round by round (`submit --study`) keeps its results where a local run keeps
 * them, in the folder itself (`select/…`, `confirm/…`, the tables), and its tasks' shards under
 * `shards/<round>/<i>/`; see `study_submit.ts`.
 *
 * Each task writes only its own shard folder (a folder's lock is per folder, so tasks never share
 * one). The merge reads every shard through the checked folder reader, is written whole under a
 * temporary name, and replaces `merged/` by renames, so an interrupted or repeated collect never
 * leaves a half-merged study.
 *
 * @module
 */
import { writeTextAtomic } from "../core/fs.ts";
import { type FolderLock, lockFolder, type LockOwner } from "../core/lock.ts";
import { readFolder, readListing, removeIfPresent } from "./folder.ts";
import { type MergeResult, mergeSweeps } from "./merge.ts";
import { sweepTrials } from "./shard.ts";
import type { StudySubmission } from "./study_submit.ts";

/** The folder of task i's shard. */
export const SHARDS_DIR = "shards";
/** The merged study. */
export const MERGED_DIR = "merged";

/** One cell of a submitted sweep or grid: its folder (`""` the base) and settings key. */
export interface SubmitCell {
  /** `""` for the base cell, else the grid cell's folder (`lr=0.003`). */
  readonly folder: string;
  /** The settings key computed at submission (a task on other hardware may differ: said). */
  readonly key: string;
}

/** One `sbatch` of the study: the job id and the array indexes it ran. */
export interface Submission {
  /** The array job's id. */
  readonly jobId: string;
  /** The array indexes (shards) it was asked to run. */
  readonly indexes: readonly number[];
  /** When (ISO time). */
  readonly at: string;
  /** The SHA-256 (12 hex digits) of the script submitted. */
  readonly scriptHash: string;
  /** A study's round it ran (see `StudySubmission`); absent for a sweep or grid. */
  readonly round?: number;
}

/** What `slurm/submit.json` (or `k8s/submit.json`) records. */
export interface SubmitRecord {
  /** Format version. */
  readonly format: 1;
  /** `slurm` or `k8s`. */
  readonly scheduler: "slurm" | "k8s";
  /** Array size: one task per shard. */
  readonly tasks: number;
  /** At most this many tasks at once. */
  readonly maxRunning?: number;
  /** CPUs per task. */
  readonly cpusPerTask: number;
  /** Trials a task runs side by side (CPUs / ONNX Runtime threads). */
  readonly jobsPerTask: number;
  /** The sweep flags every task passes (settings, axes), without --out, --shard and --jobs. */
  readonly args: readonly string[];
  /** The activations (canonical names) and seeds of every cell. */
  readonly activations: readonly string[];
  /** The seeds. */
  readonly seeds: readonly number[];
  /** The cells: one for a sweep, every grid cell for a grid. */
  readonly cells: readonly SubmitCell[];
  /** The script or manifest, relative to the study folder. */
  readonly script: string;
  /** Its SHA-256 (12 hex digits) as written. */
  readonly scriptHash: string;
  /** The checkout the tasks run in. */
  readonly project: string;
  /** Every submission, oldest first (Kubernetes: none; `kubectl apply` is the user's). */
  readonly submissions: readonly Submission[];
  /** A study run round after round (`submit --study`): its rounds; absent for a sweep or grid. */
  readonly study?: StudySubmission;
}

/**
 * The folder of task `index`'s shard.
 *
 * @example
 * ```ts
 * import { shardFolder } from "@actlab/actlab/sweep";
 * shardFolder("results/study", 2); // "results/study/shards/2"
 * ```
 */
export function shardFolder(dir: string, index: number): string {
  return `${dir}/${SHARDS_DIR}/${index}`;
}

/**
 * The log of task `index` in array job `jobId` (Slurm's `%a` and `%A`).
 *
 * @example
 * ```ts
 * import { taskLogPath } from "@actlab/actlab/sweep";
 * taskLogPath("results/study", 1, "812"); // "results/study/slurm/logs/task-1.812.out"
 * ```
 */
export function taskLogPath(dir: string, index: number, jobId: string): string {
  return `${dir}/slurm/logs/task-${index}.${jobId}.out`;
}

/** Where a scheduler's record lives in a study folder. */
function recordPath(dir: string, scheduler: "slurm" | "k8s"): string {
  return `${dir}/${scheduler}/submit.json`;
}

/**
 * A study folder's submission record (`slurm/submit.json`, else `k8s/submit.json`); undefined
 * when the folder was never submitted. Throws, naming the file, when it is damaged.
 *
 * @example
 * ```ts ignore
 * import { readSubmitRecord } from "@actlab/actlab/sweep";
 * const record = await readSubmitRecord("results/study");
 * console.log(record?.submissions.map((s) => s.jobId));
 * ```
 */
export async function readSubmitRecord(dir: string): Promise<SubmitRecord | undefined> {
  for (const scheduler of ["slurm", "k8s"] as const) {
    const path = recordPath(dir, scheduler);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) continue;
      throw e;
    }
    let r: SubmitRecord;
    try {
      r = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message}); restore it or resubmit.`);
    }
    const ok = r && r.format === 1 && r.scheduler === scheduler && Number.isInteger(r.tasks) &&
      r.tasks >= 1 && Array.isArray(r.cells) && Array.isArray(r.submissions) &&
      Array.isArray(r.activations) && Array.isArray(r.seeds) && Array.isArray(r.args);
    if (!ok) throw new Error(`${path}: not a submission record of this format; restore it.`);
    return r;
  }
  return undefined;
}

/**
 * Writes a study's submission record (atomically).
 *
 * @example
 * ```ts ignore
 * import { writeSubmitRecord } from "@actlab/actlab/sweep";
 * await writeSubmitRecord("results/study", { ...record, submissions: [...record.submissions, s] });
 * ```
 */
export async function writeSubmitRecord(dir: string, record: SubmitRecord): Promise<void> {
  await Deno.mkdir(`${dir}/${record.scheduler}`, { recursive: true });
  await writeTextAtomic(recordPath(dir, record.scheduler), JSON.stringify(record, null, 2) + "\n");
}

/** One cell of one shard, as its folder holds it. */
export interface CellProgress {
  /** The cell's folder name (`""` the base). */
  readonly cell: string;
  /** Trials of this shard the cell asks for. */
  readonly total: number;
  /** Of them, finished and recorded. */
  readonly done: number;
  /** The settings key of the folder's listing, once written. */
  readonly key?: string;
  /** Who holds the cell folder's lock (a sweep writing it), if anyone. */
  readonly lock?: Partial<LockOwner>;
  /** The checked reader's error, when a record cannot be trusted. */
  readonly error?: string;
}

/** One shard's progress: every cell of it. */
export interface ShardProgress {
  /** The shard (array index). */
  readonly index: number;
  /** Its folder. */
  readonly folder: string;
  /** Each cell. */
  readonly cells: readonly CellProgress[];
  /** Trials of the shard in every cell. */
  readonly total: number;
  /** Finished trials. */
  readonly done: number;
  /** True when every trial of the shard is finished (and no record is damaged). */
  readonly complete: boolean;
}

/** The lock file's owner, if the folder is locked. */
async function lockOwner(folder: string): Promise<Partial<LockOwner> | undefined> {
  try {
    const owner = JSON.parse(await Deno.readTextFile(`${folder}/.lock`));
    return typeof owner === "object" && owner !== null ? owner : {};
  } catch (e) {
    return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory
      ? undefined
      : {};
  }
}

/** One cell folder of a shard: its trials of the shard, finished or not, read through the reader. */
async function cellProgress(
  folder: string,
  cell: string,
  planned: readonly { activation: string; seed: number }[],
): Promise<CellProgress> {
  const lock = await lockOwner(folder);
  const base = { cell, total: planned.length, ...(lock ? { lock } : {}) };
  let listing;
  try {
    listing = await readListing(folder);
  } catch (e) {
    return { ...base, done: 0, error: (e as Error).message };
  }
  if (!listing) return { ...base, done: 0 };
  try {
    const view = await readFolder(folder, { listing, checkDerived: false });
    const have = new Set(view.trials.map((t) => `${t.activation}\0${t.seed}`));
    const done = planned.filter((t) => have.has(`${t.activation}\0${t.seed}`)).length;
    return { ...base, done, key: listing.key };
  } catch (e) {
    return { ...base, done: 0, key: listing.key, error: (e as Error).message };
  }
}

/** What a folder's progress is measured against: its trials (of a shard) in each cell. */
export interface ProgressPlan {
  /** The activations of every cell. */
  readonly activations: readonly string[];
  /** The seeds of every cell. */
  readonly seeds: readonly number[];
  /** The cells (`""` the folder itself). */
  readonly cells: readonly { readonly folder: string }[];
  /** The shard the folder holds, if any. */
  readonly shard?: { readonly index: number; readonly count: number };
}

/**
 * The progress of one sweep or grid folder against its plan: per cell, the trials asked for and
 * how many are finished (read through the checked folder reader), the settings key found and who
 * holds the cell's lock.
 *
 * @example
 * ```ts ignore
 * import { folderProgress } from "@actlab/actlab/sweep";
 * const p = await folderProgress("runs/a", { activations: ["relu"], seeds: [1, 2], cells: [{ folder: "" }] });
 * console.log(`${p.done}/${p.total}`);
 * ```
 */
export async function folderProgress(folder: string, plan: ProgressPlan): Promise<ShardProgress> {
  const planned = sweepTrials(plan.activations, plan.seeds, plan.shard);
  const cells: CellProgress[] = [];
  for (const c of plan.cells) {
    cells.push(await cellProgress(c.folder ? `${folder}/${c.folder}` : folder, c.folder, planned));
  }
  const total = cells.reduce((a, c) => a + c.total, 0);
  const done = cells.reduce((a, c) => a + c.done, 0);
  const complete = done === total && !cells.some((c) => c.error);
  return { index: plan.shard?.index ?? 0, folder, cells, total, done, complete };
}

/**
 * The progress of shard `index` of a submitted study (its folder `shards/<index>`), as
 * {@link folderProgress} measures it.
 *
 * @example
 * ```ts ignore
 * import { readSubmitRecord, shardProgress } from "@actlab/actlab/sweep";
 * const record = (await readSubmitRecord("results/study"))!;
 * const p = await shardProgress("results/study", record, 0);
 * console.log(`${p.done}/${p.total}`, p.complete);
 * ```
 */
export function shardProgress(
  dir: string,
  record: Pick<SubmitRecord, "tasks" | "activations" | "seeds" | "cells">,
  index: number,
): Promise<ShardProgress> {
  return folderProgress(shardFolder(dir, index), {
    ...record,
    shard: { index, count: record.tasks },
  });
}

/** What {@link collectStudy} did. */
export interface CollectResult {
  /** True when `merged/` now holds every shard. */
  readonly merged: boolean;
  /** The merged folder. */
  readonly folder: string;
  /** Shards not complete yet (nothing was merged then). */
  readonly incomplete: readonly ShardProgress[];
  /** The merge, when it ran. */
  readonly result?: MergeResult;
  /** Set when another process holds the study's lock (it is merging). */
  readonly busy?: string;
}

/** Options of {@link collectStudy}. */
export interface CollectOptions {
  /** Notices of the merge (files left out of a shard). Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** When another process is merging, return `busy` instead of throwing. */
  readonly quietIfBusy?: boolean;
}

/** Replaces `dir/merged` with the folder `fresh` by renames (the old one removed last). */
async function swapIn(dir: string, fresh: string): Promise<void> {
  const target = `${dir}/${MERGED_DIR}`;
  const old = `${dir}/.${MERGED_DIR}.old-${Deno.pid}`;
  await Deno.remove(old, { recursive: true }).catch(() => {});
  let moved = false;
  try {
    await Deno.rename(target, old);
    moved = true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  try {
    await Deno.rename(fresh, target);
  } catch (e) {
    if (moved) await Deno.rename(old, target).catch(() => {});
    throw e;
  }
  if (moved) await Deno.remove(old, { recursive: true });
}

/** Merges the complete shards into a temporary folder, checks every cell, then swaps it in. */
async function mergeShards(
  dir: string,
  record: SubmitRecord,
  notice: (m: string) => void,
): Promise<MergeResult> {
  const fresh = `${dir}/.${MERGED_DIR}.new-${Deno.pid}`;
  await Deno.remove(fresh, { recursive: true }).catch(() => {});
  const shards = Array.from({ length: record.tasks }, (_, i) => shardFolder(dir, i));
  try {
    const result = await mergeSweeps(shards, { out: fresh, onNotice: notice });
    const cells = new Set(result.cells.map((c) => c.folder));
    const absent = record.cells.filter((c) => !cells.has(c.folder)).map((c) => c.folder || "base");
    const short = result.cells.filter((c) => c.missing.length > 0).map((c) => c.folder || "base");
    if (absent.length || short.length) {
      throw new Error(
        `collect ${dir}: the merge lacks ${absent.length ? `cells ${absent.join(", ")}` : ""}` +
          `${
            short.length ? `${absent.length ? " and " : ""}trials in ${short.join(", ")}` : ""
          }; ` +
          "nothing was replaced.",
      );
    }
    await swapIn(dir, fresh);
    return result;
  } finally {
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
  }
}

/**
 * Merges a submitted study's shards into `<dir>/merged` (every grid cell), but only when every
 * shard is complete: otherwise nothing is written and `incomplete` names the shards. The merge
 * is written whole under a temporary name and swapped in by renames, so a repeated collect
 * replaces the old merge safely; the study's `.lock` keeps two collects apart.
 *
 * @example
 * ```ts ignore
 * import { collectStudy } from "@actlab/actlab/sweep";
 * const { merged, incomplete } = await collectStudy("results/study");
 * if (!merged) console.log(`waiting for shards ${incomplete.map((s) => s.index)}`);
 * ```
 */
export async function collectStudy(
  dir: string,
  options: CollectOptions = {},
): Promise<CollectResult> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  const record = await readSubmitRecord(dir);
  if (!record) {
    throw new Error(
      `${dir} is not a submitted study (no slurm/submit.json or k8s/submit.json): submit it ` +
        "with deno task sweep submit, or merge plain shard folders with deno task sweep merge.",
    );
  }
  if (record.study) {
    throw new Error(
      `${dir} is a study submitted round by round: its rounds are recorded in the folder itself ` +
        "(advanceStudy, or deno task sweep collect DIR), not merged.",
    );
  }
  const folder = `${dir}/${MERGED_DIR}`;
  const shards = [];
  for (let i = 0; i < record.tasks; i++) shards.push(await shardProgress(dir, record, i));
  const incomplete = shards.filter((s) => !s.complete);
  if (incomplete.length) return { merged: false, folder, incomplete };
  let lock: FolderLock;
  try {
    lock = await lockFolder(dir, "collect");
  } catch (e) {
    if (!options.quietIfBusy) throw e;
    return { merged: false, folder, incomplete: [], busy: (e as Error).message };
  }
  try {
    const result = await mergeShards(dir, record, notice);
    return { merged: true, folder, incomplete: [], result };
  } finally {
    await lock.release();
  }
}

/**
 * Removes the lock files a killed task left in its shard's cell folders (the scheduler says the
 * task ended, so their process is gone, though perhaps on another host, where the lock cannot tell
 * by itself). Returns the locks removed.
 *
 * @example
 * ```ts ignore
 * import { clearShardLocks, readSubmitRecord } from "@actlab/actlab/sweep";
 * await clearShardLocks("results/study", (await readSubmitRecord("results/study"))!, 1);
 * ```
 */
export async function clearShardLocks(
  dir: string,
  record: Pick<SubmitRecord, "cells">,
  index: number,
): Promise<string[]> {
  const removed: string[] = [];
  for (const c of record.cells) {
    const path = `${shardFolder(dir, index)}${c.folder ? `/${c.folder}` : ""}/.lock`;
    if (await removeIfPresent(path)) removed.push(path);
  }
  return removed;
}
