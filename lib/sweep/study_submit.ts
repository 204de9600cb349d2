/**
 * A study run by a scheduler, round after round (`deno task sweep submit --slurm --study FILE`).
 * Its rounds wait on each other — each selection round is planned from the finished trials of the
 * one before (widened while a best value sits at an edge), the confirmation from the values
 * chosen — so every round is a job array of its own, planned by `nextStudyRound` from the study's
 * folder exactly as a local run plans it:
 *
 * 1. `submit` claims the folder (`study.json`), plans the first round and submits its array.
 * 2. Array task i of round r runs its shard of the round into `shards/<r>/<i>/<folder>`
 *    ({@link runStudyShard}): the round's unfinished trials in one order, trial j going to task
 *    j mod n, so a round of few trials still spreads over every task it has.
 * 3. Every task then calls {@link advanceStudy}; only once every shard of the round is complete,
 *    and only in one task (the study's lock), does it record the round's trials in the study's
 *    own folders ({@link recordRound}: `select/…`, `confirm/…`, written as a local run writes
 *    them), plan the next round from them and submit it — or, with none left, write the study's
 *    tables.
 *
 * The study folder so holds what `deno task sweep --study FILE --out DIR` writes, trial for trial,
 * beside `slurm/` (the script; `submit.json` with every round, its folders and its job ids; the
 * logs) and `shards/`. Every step can be repeated: a rerun task resumes its shard, an interrupted
 * recording is redone (trials already recorded are kept as they are), and the record says which
 * round is current, so a round is planned and recorded once.
 *
 * @module
 */
import { lockFolder } from "../core/lock.ts";
import type { SweepData } from "./data.ts";
import { readFolder, removeIfPresent } from "./folder.ts";
import { seedList, type SweepOptions } from "./options.ts";
import type { ScheduleObservers } from "./schedule.ts";
import type { TrialResult } from "./record.ts";
import { type Shard, sweepTrials } from "./shard.ts";
import { sbatch } from "./slurm.ts";
import { finishStudy, nextStudyRound, runStudyFolders, type StudyRound } from "./study.ts";
import { parseStudy, type Study, studyHash } from "./study_file.ts";
import {
  type CellProgress,
  folderProgress,
  readSubmitRecord,
  type ShardProgress,
  SHARDS_DIR,
  type Submission,
  type SubmitRecord,
  writeSubmitRecord,
} from "./submission.ts";
import { recordTrials } from "./sweep.ts";
import { sha256Hex } from "../core/hash.ts";

/** One folder's part of a round: its trials left, spread over the round's array tasks. */
export interface RoundUnit {
  /** The folder, relative to the study's (`select/lr=0.004`, `confirm/depth=2,lr=0.0063`). */
  readonly folder: string;
  /** The options a local run gives the folder (its activations and seeds make its listing). */
  readonly options: SweepOptions;
  /** The activations with trials left there: a task's shard runs these × `seeds`. */
  readonly activations: readonly string[];
  /** The seeds. */
  readonly seeds: readonly number[];
  /** The round's trials before this folder's: trial k here is task (offset + k) mod tasks's. */
  readonly offset: number;
}

/** One round of a submitted study: what it runs, and on how many array tasks. */
export interface StudyRoundRecord {
  /** 1, 2, … over the whole study: the selection rounds, then the confirmation. */
  readonly index: number;
  /** `selection`, `confirmation`, or `cells` (a study without tuning). */
  readonly stage: StudyRound["stage"];
  /** How it is named: `selection, round 2`, `confirmation`, `cells`. */
  readonly label: string;
  /** Array tasks: `--tasks`, or fewer when the round has fewer trials. */
  readonly tasks: number;
  /** Its trials. */
  readonly trials: number;
  /** Its folders with trials left. */
  readonly units: readonly RoundUnit[];
  /** When it was planned (ISO time). */
  readonly planned: string;
  /** When its trials were recorded in the study's folders (ISO time), once they were. */
  readonly recorded?: string;
}

/** What `slurm/submit.json` holds of a study submitted round after round. */
export interface StudySubmission {
  /** The study's name. */
  readonly name: string;
  /** Its declaration's hash (`study.json`). */
  readonly hash: string;
  /** `--data`, absolute, when given. */
  readonly data?: string;
  /** Every round planned so far, oldest first: the last is the current one. */
  readonly rounds: readonly StudyRoundRecord[];
  /** When the last round was recorded and the tables written (ISO time). */
  readonly complete?: string;
}

/** A submission record of a study, checked to be one. */
type StudyRecord = SubmitRecord & { readonly study: StudySubmission };

/**
 * The round's record for a planned round: each folder with trials left, in the round's order, and
 * the array size, `maxTasks` or the round's trials when fewer.
 *
 * @example
 * ```ts ignore
 * import { nextStudyRound, planRoundRecord } from "@actlab/actlab/sweep";
 * const round = (await nextStudyRound(study, "results/s"))!;
 * planRoundRecord("results/s", round, 1, 8).tasks; // ≤ 8
 * ```
 */
export function planRoundRecord(
  dir: string,
  round: StudyRound,
  index: number,
  maxTasks: number,
): StudyRoundRecord {
  const units: RoundUnit[] = [];
  let offset = 0;
  round.folders.forEach((f, i) => {
    const todo = round.todo[i];
    if (todo.length === 0) return;
    const activations = (f.options.activations ?? []).filter((a) =>
      todo.some((t) => t.activation === a)
    );
    const seeds = seedList(f.options.seeds);
    units.push({
      folder: f.dir.slice(dir.length + 1),
      options: f.options,
      activations,
      seeds,
      offset,
    });
    offset += activations.length * seeds.length;
  });
  return {
    index,
    stage: round.stage,
    label: round.label,
    tasks: Math.max(1, Math.min(maxTasks, offset)),
    trials: offset,
    units,
    planned: new Date().toISOString(),
  };
}

/**
 * Task `task`'s shard of a unit of the round, or undefined when it has no trial there.
 *
 * @example
 * ```ts
 * import { unitShard } from "@actlab/actlab/sweep";
 * const unit = { folder: "x", options: {}, activations: ["relu"], seeds: [1, 2], offset: 3 };
 * unitShard({ tasks: 4 }, unit, 3); // { index: 0, count: 4 }: trial 0 of x is the round's 3rd
 * unitShard({ tasks: 4 }, unit, 1); // undefined: x has 2 trials, tasks 3 and 0 run them
 * ```
 */
export function unitShard(
  round: Pick<StudyRoundRecord, "tasks">,
  unit: RoundUnit,
  task: number,
): Shard | undefined {
  const n = round.tasks;
  const shard = { index: (((task - unit.offset) % n) + n) % n, count: n };
  return sweepTrials(unit.activations, unit.seeds, shard).length ? shard : undefined;
}

/**
 * Where task `task` of round `round` writes: `<dir>/shards/<round>/<task>` (a folder per unit).
 *
 * @example
 * ```ts
 * import { roundShardFolder } from "@actlab/actlab/sweep";
 * roundShardFolder("results/s", 2, 1); // "results/s/shards/2/1"
 * ```
 */
export function roundShardFolder(dir: string, round: number, task: number): string {
  return `${dir}/${SHARDS_DIR}/${round}/${task}`;
}

/**
 * The current round of a submitted study: the last one planned.
 *
 * @example
 * ```ts ignore
 * import { currentRound, readSubmitRecord } from "@actlab/actlab/sweep";
 * currentRound((await readSubmitRecord("results/s"))!).label; // "selection, round 2"
 * ```
 */
export function currentRound(record: SubmitRecord): StudyRoundRecord {
  const round = record.study?.rounds.at(-1);
  if (!round) throw new Error(`slurm/submit.json: not a study submitted round by round.`);
  return round;
}

/** The record of a study submitted round by round, or an error saying what the folder is. */
async function studyRecord(dir: string): Promise<StudyRecord> {
  const record = await readSubmitRecord(dir);
  if (!record?.study || record.study.rounds.length === 0) {
    throw new Error(
      `${dir} is not a study submitted with deno task sweep submit --study (its ` +
        "slurm/submit.json lists no rounds): give the --out folder of such a study.",
    );
  }
  return record as StudyRecord;
}

/**
 * The study declared in a submitted study's `study.json`, checked against the hash its record
 * was submitted with.
 *
 * @example
 * ```ts ignore
 * import { submittedStudy } from "@actlab/actlab/sweep";
 * (await submittedStudy("results/s")).name;
 * ```
 */
export async function submittedStudy(dir: string): Promise<Study> {
  const path = `${dir}/study.json`;
  let study: Study;
  try {
    study = parseStudy(JSON.parse(await Deno.readTextFile(path)).study, path);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}; restore it (submit wrote it).`);
  }
  const record = await readSubmitRecord(dir);
  const hash = await studyHash(study);
  if (record?.study && record.study.hash !== hash) {
    throw new Error(
      `${path} declares another study (hash ${hash}) than the one submitted ` +
        `(${record.study.hash}): restore the file submit wrote.`,
    );
  }
  return study;
}

/** Options of {@link runStudyShard}. */
export interface StudyShardOptions extends ScheduleObservers {
  /** Trials side by side (the task's CPUs / ONNX Runtime threads). */
  readonly jobs?: number | "auto";
  /** Notices. Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** The round's name and this task's trials, as it starts. */
  readonly onStage?: (message: string) => void;
}

/** What {@link runStudyShard} did. */
export interface StudyShardResult {
  /** The round. */
  readonly round: StudyRoundRecord;
  /** Its trials in this task's shard. */
  readonly trials: number;
  /** Why nothing ran, when nothing did (the round was recorded already). */
  readonly skipped?: string;
  /** True when the signal stopped it (running trials discarded). */
  readonly interrupted: boolean;
}

/**
 * Runs shard `shard.index` of round `round` of a submitted study: its trials of every folder of
 * the round, in one pool of workers, into `shards/<round>/<index>/<folder>` (resuming what is
 * there). A round that is not the current one, or was recorded already, runs nothing.
 *
 * @example
 * ```ts ignore
 * import { runStudyShard } from "@actlab/actlab/sweep";
 * await runStudyShard(data, "results/s", 2, { index: 0, count: 4 }, { jobs: 2 });
 * ```
 */
export async function runStudyShard(
  data: SweepData,
  dir: string,
  round: number,
  shard: Shard,
  options: StudyShardOptions = {},
): Promise<StudyShardResult> {
  const record = await studyRecord(dir);
  const r = record.study.rounds.find((x) => x.index === round);
  if (!r) {
    throw new Error(
      `${dir} has no round ${round} (its rounds: 1 … ${record.study.rounds.length}); ` +
        "the array task's arguments are wrong.",
    );
  }
  if (shard.count !== r.tasks) {
    throw new Error(
      `round ${round} of ${dir} has ${r.tasks} tasks, not ${shard.count}: ` +
        `pass --shard i/${r.tasks}.`,
    );
  }
  const current = currentRound(record);
  if (r.recorded || r.index !== current.index) {
    const skipped = `round ${round} (${r.label}) is recorded already; the study is at round ` +
      `${current.index} (${current.label}): nothing to run`;
    return { round: r, trials: 0, skipped, interrupted: false };
  }
  const base = roundShardFolder(dir, round, shard.index);
  const folders = r.units.flatMap((unit) => {
    const s = unitShard(r, unit, shard.index);
    return s
      ? [{
        dir: `${base}/${unit.folder}`,
        options: { ...unit.options, activations: unit.activations, seeds: unit.seeds, shard: s },
      }]
      : [];
  });
  const trials = folders.reduce(
    (n, f) => n + sweepTrials(f.options.activations, f.options.seeds, f.options.shard).length,
    0,
  );
  const interrupted = await runStudyFolders(
    data,
    folders,
    { ...options, out: dir },
    `${r.label}, task ${shard.index} of ${r.tasks}`,
  );
  return { round: r, trials, interrupted };
}

/**
 * The progress of task `task` of a round: per folder of the round, its shard's trials done (read
 * through the checked folder reader) and who holds the folder's lock.
 *
 * @example
 * ```ts ignore
 * import { currentRound, readSubmitRecord, roundProgress } from "@actlab/actlab/sweep";
 * const round = currentRound((await readSubmitRecord("results/s"))!);
 * const p = await roundProgress("results/s", round, 0);
 * console.log(`${p.done}/${p.total}`);
 * ```
 */
export async function roundProgress(
  dir: string,
  round: StudyRoundRecord,
  task: number,
): Promise<ShardProgress> {
  const folder = roundShardFolder(dir, round.index, task);
  const cells: CellProgress[] = [];
  for (const unit of round.units) {
    const shard = unitShard(round, unit, task);
    if (!shard) continue;
    const p = await folderProgress(`${folder}/${unit.folder}`, {
      activations: unit.activations,
      seeds: unit.seeds,
      cells: [{ folder: "" }],
      shard,
    });
    cells.push(...p.cells.map((c) => ({ ...c, cell: unit.folder })));
  }
  const total = cells.reduce((a, c) => a + c.total, 0);
  const done = cells.reduce((a, c) => a + c.done, 0);
  const complete = done === total && !cells.some((c) => c.error);
  return { index: task, folder, cells, total, done, complete };
}

/**
 * Records a finished round in the study's own folders: for each folder of the round, every
 * task's shard of it read through the checked reader (all of one settings key, none missing), its
 * trials written there with `recordTrials` (the listing grown as a local run grows it). Trials
 * already there are kept, so an interrupted recording is simply redone. Returns the trials
 * recorded now.
 *
 * @example
 * ```ts ignore
 * import { currentRound, readSubmitRecord, recordRound } from "@actlab/actlab/sweep";
 * await recordRound("results/s", currentRound((await readSubmitRecord("results/s"))!));
 * ```
 */
export async function recordRound(
  dir: string,
  round: StudyRoundRecord,
  onNotice: (message: string) => void = console.warn,
): Promise<number> {
  let recorded = 0;
  for (const unit of round.units) {
    const trials: TrialResult[] = [];
    let settings: ReturnType<typeof settingsOf> | undefined;
    for (let task = 0; task < round.tasks; task++) {
      if (!unitShard(round, unit, task)) continue;
      const folder = `${roundShardFolder(dir, round.index, task)}/${unit.folder}`;
      const view = await readFolder(folder, { checkDerived: false });
      for (const n of view.notices) onNotice(n.message);
      if (view.missing.length) {
        throw new Error(
          `${folder}: ${view.missing.length} trial(s) of task ${task} not finished ` +
            `(${view.missing.map((t) => `${t.activation} seed ${t.seed}`).join(", ")}): ` +
            "the round is not complete; nothing more was recorded.",
        );
      }
      const mine = settingsOf(view.listing);
      if (settings && mine.key !== settings.key) {
        throw new Error(
          `${folder} was run under other settings (key ${mine.key}) than task 0's shard of ` +
            `${unit.folder} (${settings.key}): the nodes differ (device, threads); rerun that ` +
            "task where the others ran, then collect again.",
        );
      }
      settings ??= mine;
      trials.push(...view.trials);
    }
    if (!settings) continue;
    const asked = {
      activations: unit.options.activations ?? unit.activations,
      seeds: seedList(unit.options.seeds),
    };
    const written = await recordTrials(`${dir}/${unit.folder}`, settings, asked, trials, onNotice);
    recorded += written.length;
  }
  return recorded;
}

/** A listing's settings: everything but which trials it lists. */
function settingsOf(listing: Awaited<ReturnType<typeof readFolder>>["listing"]) {
  const { activations: _a, seeds: _s, shard: _h, mergedFrom: _m, ...settings } = listing;
  return settings;
}

/**
 * Submits `indexes` of a round (all of them by default) with `sbatch`: the study's script as it
 * is now, `--array=<indexes>%<max running>`, the round and its number of tasks as the script's
 * arguments. Returns the submission to record.
 *
 * @example
 * ```ts ignore
 * import { currentRound, readSubmitRecord, submitRound } from "@actlab/actlab/sweep";
 * const record = (await readSubmitRecord("results/s"))!;
 * const s = await submitRound("results/s", record, currentRound(record), [1]);
 * ```
 */
export async function submitRound(
  dir: string,
  record: SubmitRecord,
  round: StudyRoundRecord,
  indexes: readonly number[] = Array.from({ length: round.tasks }, (_, i) => i),
): Promise<Submission> {
  const path = `${dir}/${record.script}`;
  const text = await Deno.readTextFile(path);
  const scriptHash = (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
  const all = indexes.length === round.tasks && indexes.every((x, i) => x === i);
  const list = all && round.tasks > 1 ? `0-${round.tasks - 1}` : indexes.join(",");
  const array = `--array=${list}${record.maxRunning ? `%${record.maxRunning}` : ""}`;
  const jobId = await sbatch(path, [array], [String(round.index), String(round.tasks)]);
  return {
    jobId,
    indexes: [...indexes],
    at: new Date().toISOString(),
    scriptHash,
    round: round.index,
  };
}

/** Options of {@link advanceStudy}. */
export interface AdvanceOptions {
  /** Notices (files left out of a shard). Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** When another process is advancing the study, return `busy` instead of throwing. */
  readonly quietIfBusy?: boolean;
  /** Submits a round's array. Default: {@link submitRound} (sbatch). */
  readonly submit?: (record: SubmitRecord, round: StudyRoundRecord) => Promise<Submission>;
}

/** What {@link advanceStudy} did. */
export interface AdvanceResult {
  /**
   * `waiting`: shards of the round are unfinished; `busy`: another process is advancing it;
   * `submitted`: the round was recorded and the next submitted; `complete`: the last round was
   * recorded and the tables written; `finished`: the study was complete already; `unchanged`:
   * another process advanced it meanwhile.
   */
  readonly action: "waiting" | "busy" | "submitted" | "complete" | "finished" | "unchanged";
  /** The round it looked at. */
  readonly round: StudyRoundRecord;
  /** Tasks of the round whose shard is unfinished (`waiting`). */
  readonly waiting?: readonly number[];
  /** Who holds the study's lock (`busy`). */
  readonly busy?: string;
  /** Trials recorded in the study's folders now. */
  readonly recorded?: number;
  /** The round planned and submitted (`submitted`). */
  readonly next?: StudyRoundRecord;
  /** Its array job. */
  readonly jobId?: string;
}

/** The lock's owner as the study's `.lock` records it: the array task, when in one. */
function lockOwnerName(): string {
  const job = Deno.env.get("SLURM_ARRAY_JOB_ID"), task = Deno.env.get("SLURM_ARRAY_TASK_ID");
  return job && task ? `collect (Slurm job ${job}_${task})` : "collect";
}

/**
 * Moves a submitted study on once its current round is finished: under the study's lock, records
 * the round in the study's folders ({@link recordRound}), plans the next round from them
 * (`nextStudyRound`, as a local run does) and submits it, or — none left — writes the study's
 * tables and marks it complete. While shards of the round are unfinished it does nothing
 * (`waiting`); it is what every array task runs last, so the last to finish moves the study on.
 *
 * @example
 * ```ts ignore
 * import { advanceStudy } from "@actlab/actlab/sweep";
 * const r = await advanceStudy("results/s", { quietIfBusy: true });
 * console.log(r.action, r.next?.label, r.jobId);
 * ```
 */
export async function advanceStudy(
  dir: string,
  options: AdvanceOptions = {},
): Promise<AdvanceResult> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  const seen = await studyRecord(dir);
  const round = currentRound(seen);
  if (seen.study.complete) return { action: "finished", round };
  if (!round.recorded) {
    const waiting: number[] = [];
    for (let t = 0; t < round.tasks; t++) {
      if (!(await roundProgress(dir, round, t)).complete) waiting.push(t);
    }
    if (waiting.length) return { action: "waiting", round, waiting };
  }
  let lock;
  try {
    lock = await lockFolder(dir, lockOwnerName());
  } catch (e) {
    if (!options.quietIfBusy) throw e;
    return { action: "busy", round, busy: (e as Error).message };
  }
  try {
    let record = await studyRecord(dir);
    const now = currentRound(record);
    if (record.study.complete || now.index !== round.index) {
      return { action: "unchanged", round: now };
    }
    const save = async (study: Partial<StudySubmission>, submissions = record.submissions) => {
      record = { ...record, study: { ...record.study, ...study }, submissions };
      await writeSubmitRecord(dir, record);
    };
    const rounds = () => record.study.rounds.slice(0, -1);
    let recorded = 0;
    if (!now.recorded) {
      recorded = await recordRound(dir, now, notice);
      await save({ rounds: [...rounds(), { ...now, recorded: new Date().toISOString() }] });
    }
    const study = await submittedStudy(dir);
    const planned = await nextStudyRound(study, dir);
    if (!planned) {
      await finishStudy(study, dir, { onNotice: notice });
      await save({ complete: new Date().toISOString() });
      return { action: "complete", round: now, recorded };
    }
    const next = planRoundRecord(dir, planned, now.index + 1, record.tasks);
    if (planned.label === now.label && JSON.stringify(next.units) === JSON.stringify(now.units)) {
      throw new Error(
        `${dir}: round ${now.index} (${now.label}) was recorded, yet its trials are still not ` +
          "in the study's folders; see the notices above, then run deno task sweep collect again.",
      );
    }
    await save({ rounds: [...record.study.rounds, next] });
    const submit = options.submit ?? ((r, x) => submitRound(dir, r, x));
    const submission = await submit(record, next);
    await save({}, [...record.submissions, submission]);
    return { action: "submitted", round: now, recorded, next, jobId: submission.jobId };
  } finally {
    await lock.release();
  }
}

/**
 * Removes the lock files that task `task` of a round left in its shard's folders when it was
 * killed (the scheduler says it ended). Returns the locks removed.
 *
 * @example
 * ```ts ignore
 * import { clearRoundLocks, currentRound, readSubmitRecord } from "@actlab/actlab/sweep";
 * await clearRoundLocks("results/s", currentRound((await readSubmitRecord("results/s"))!), 1);
 * ```
 */
export async function clearRoundLocks(
  dir: string,
  round: StudyRoundRecord,
  task: number,
): Promise<string[]> {
  const removed: string[] = [];
  for (const unit of round.units) {
    if (!unitShard(round, unit, task)) continue;
    const path = `${roundShardFolder(dir, round.index, task)}/${unit.folder}/.lock`;
    if (await removeIfPresent(path)) removed.push(path);
  }
  return removed;
}
