/**
 * Where a study stands: per task (a Slurm array task, a Kubernetes index, or the one local run) its
 * scheduler state and its trials done, running and left, from the scheduler and the study folder
 * together. The folder is read through the checked reader (done), the cell folders' locks (a sweep
 * writing: running) and the plan (left). One table, {@link statusGrid}, for every medium.
 *
 * @module
 */
import type { GridListing } from "./grid.ts";
import { readListing } from "./folder.ts";
import type { TextGrid } from "./format.ts";
import { type SchedulerTask, type SchedulerView, slurmTasks, stateKind } from "./slurm.ts";
import {
  folderProgress,
  MERGED_DIR,
  readSubmitRecord,
  type ShardProgress,
  shardProgress,
  type Submission,
  type SubmitRecord,
  taskLogPath,
} from "./submission.ts";
import { currentRound, roundProgress, type StudyRoundRecord } from "./study_submit.ts";

/** What a task's row says it is: finished, waiting, running, ended unfinished, … */
export type TaskVerdict = "done" | "pending" | "running" | "failed" | "stopped" | "unknown";

/** One task's row. */
export interface TaskStatus {
  /** The array index (`"local"` for a folder run without a scheduler). */
  readonly task: string;
  /** The scheduler's state (`PENDING`, `RUNNING`, `CANCELLED`, …) or what the folder says. */
  readonly state: string;
  /** What that means for the study. */
  readonly verdict: TaskVerdict;
  /** The node it runs or ran on. */
  readonly node?: string;
  /** The array job of its latest attempt. */
  readonly jobId?: string;
  /** Trials finished. */
  readonly done: number;
  /** Trials in progress (a locked cell: up to the task's trials side by side). */
  readonly running: number;
  /** Trials not started. */
  readonly left: number;
  /** All its trials. */
  readonly total: number;
  /** Its latest attempt's log file, when it exists. */
  readonly log?: string;
  /** The log's last line, for a task that ended unfinished. */
  readonly lastLine?: string;
  /** A damaged record, or settings other than the submitted ones. */
  readonly problem?: string;
  /** The scheduler still runs (or will run) it, even if its trials are all done. */
  readonly active?: boolean;
}

/** Where a study submitted round by round stands (see `study_submit.ts`). */
export interface StudyRoundStatus {
  /** The study's name. */
  readonly name: string;
  /** Its current round: the one the task rows are of. */
  readonly round: StudyRoundRecord;
  /** Every round planned so far, the current one last. */
  readonly rounds: readonly StudyRoundRecord[];
  /** Who holds the study's lock (a task recording the round and planning the next), if anyone. */
  readonly advancing?: string;
  /** Every round is recorded and the tables written. */
  readonly complete: boolean;
}

/** Where a study stands. */
export interface StudyStatus {
  /** The study folder. */
  readonly dir: string;
  /** `slurm`, `k8s`, or `local` (a folder run by `deno task sweep`). */
  readonly kind: "slurm" | "k8s" | "local";
  /** The submission record, for submitted studies. */
  readonly record?: SubmitRecord;
  /** A study submitted round by round: its rounds (the task rows are the current round's). */
  readonly study?: StudyRoundStatus;
  /** One row per task. */
  readonly tasks: readonly TaskStatus[];
  /** Trials finished, running, left, in all. */
  readonly done: number;
  /** Trials running. */
  readonly running: number;
  /** Trials left. */
  readonly left: number;
  /** All trials. */
  readonly total: number;
  /** No task is pending or running. */
  readonly ended: boolean;
  /** Every trial is finished. */
  readonly complete: boolean;
  /** `merged/` exists (a submitted study, collected). */
  readonly merged: boolean;
  /** Whether the scheduler answered (false: states unknown). */
  readonly schedulerAnswered: boolean;
  /** What to know: failed tasks with their logs, what to run next. */
  readonly notices: readonly string[];
}

/** Options of {@link studyStatus}. */
export interface StudyStatusOptions {
  /** Asks the scheduler about array jobs. Default: Slurm's squeue, scontrol and sacct. */
  readonly scheduler?: (jobIds: readonly string[]) => Promise<SchedulerView>;
}

/** A grid's `grid.json`, if the folder has one. */
async function readGridListing(dir: string): Promise<GridListing | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/grid.json`)) as GridListing;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw new Error(`${dir}/grid.json: ${(e as Error).message}; restore it or delete it.`);
  }
}

/** The last non-empty line of a file (its last 4 KiB), if it exists. */
async function lastLine(path: string): Promise<string | undefined> {
  let file;
  try {
    file = await Deno.open(path);
  } catch {
    return undefined;
  }
  try {
    const size = (await file.stat()).size;
    await file.seek(Math.max(0, size - 4096), Deno.SeekMode.Start);
    const buf = new Uint8Array(Math.min(size, 4096));
    let n = 0;
    while (n < buf.length) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, n)).split("\n").map((l) => l.trim());
    return lines.filter((l) => l).at(-1)?.slice(0, 160);
  } finally {
    file.close();
  }
}

/** Trials in flight: those left in the locked cells, at most the task's trials side by side. */
function runningIn(p: ShardProgress, jobs: number): number {
  return Math.min(jobs, p.cells.filter((c) => c.lock).reduce((a, c) => a + c.total - c.done, 0));
}

/** The folder's problems: damaged records, settings keys other than the submitted ones. */
function problemOf(p: ShardProgress, record?: SubmitRecord): string | undefined {
  const errors = p.cells.filter((c) => c.error).map((c) => c.error!.split("\n")[0]);
  const keys = p.cells.flatMap((c) => {
    const want = record?.cells.find((r) => r.folder === c.cell)?.key;
    return c.key && want && c.key !== want
      ? [`cell ${c.cell || "base"} has settings key ${c.key}, submitted ${want}`]
      : [];
  });
  const all = [...errors, ...keys];
  return all.length ? all.join("; ") : undefined;
}

/** A verdict from the scheduler's state (or its silence) and the folder. */
function verdictOf(p: ShardProgress, st: SchedulerTask | undefined, answered: boolean) {
  if (p.complete) return "done" as const;
  if (!st) return answered ? "failed" as const : "unknown" as const;
  const kind = stateKind(st.state);
  return kind === "waiting"
    ? "pending" as const
    : kind === "active"
    ? "running" as const
    : "failed";
}

/** What the rows of one Slurm array are read from. */
interface ArrayPlan {
  /** Its tasks. */
  readonly tasks: number;
  /** Trials a task runs side by side. */
  readonly jobsPerTask: number;
  /** The submissions that ran its tasks. */
  readonly submissions: readonly Submission[];
  /** Task i's progress. */
  readonly progress: (task: number) => Promise<ShardProgress>;
  /** The record whose settings keys the shards must have (a sweep's or grid's). */
  readonly record?: SubmitRecord;
}

/** The rows of a Slurm array: a sweep's or grid's, or a study's current round. */
async function slurmRows(
  dir: string,
  plan: ArrayPlan,
  view: SchedulerView,
): Promise<TaskStatus[]> {
  const { record } = plan;
  const rows: TaskStatus[] = [];
  for (let i = 0; i < plan.tasks; i++) {
    const p = await plan.progress(i);
    const attempt = plan.submissions.findLast((s) => s.indexes.includes(i));
    const st = attempt && view.tasks.find((t) => t.jobId === attempt.jobId && t.index === i);
    const verdict = attempt ? verdictOf(p, st, view.answered) : "unknown";
    const running = verdict === "running" ? runningIn(p, plan.jobsPerTask) : 0;
    const log = attempt ? taskLogPath(dir, i, attempt.jobId) : undefined;
    const hasLog = log !== undefined && await Deno.stat(log).then(() => true, () => false);
    const problem = problemOf(p, record);
    rows.push({
      task: String(i),
      state: st?.state.split(" ")[0] ?? (!attempt ? "not submitted" : p.complete ? "ended" : "—"),
      verdict,
      ...(st?.node ? { node: st.node } : {}),
      ...(attempt ? { jobId: attempt.jobId } : {}),
      ...(st && stateKind(st.state) !== "ended" ? { active: true } : {}),
      done: p.done,
      running,
      left: p.total - p.done - running,
      total: p.total,
      ...(hasLog ? { log } : {}),
      ...(verdict === "failed" && hasLog ? { lastLine: await lastLine(log!) } : {}),
      ...(problem ? { problem } : {}),
    });
  }
  return rows;
}

/** The rows of a Kubernetes study: the folder alone (kubectl says the pods' states). */
async function k8sRows(dir: string, record: SubmitRecord): Promise<TaskStatus[]> {
  const rows: TaskStatus[] = [];
  for (let i = 0; i < record.tasks; i++) {
    const p = await shardProgress(dir, record, i);
    const locked = p.cells.some((c) => c.lock);
    const running = !p.complete && locked ? runningIn(p, record.jobsPerTask) : 0;
    const problem = problemOf(p, record);
    rows.push({
      task: String(i),
      state: p.complete ? "complete" : locked ? "writing" : p.done ? "partial" : "—",
      verdict: p.complete ? "done" : locked ? "running" : "unknown",
      done: p.done,
      running,
      left: p.total - p.done - running,
      total: p.total,
      ...(problem ? { problem } : {}),
    });
  }
  return rows;
}

/** The one row of a folder run by `deno task sweep` itself (a sweep, a grid, or one shard). */
async function localRow(dir: string): Promise<TaskStatus> {
  const grid = await readGridListing(dir);
  const listing = await readListing(dir);
  if (!grid && !listing) {
    throw new Error(
      `${dir} is neither a sweep, a grid nor a submitted study (no sweep.json, grid.json or ` +
        "slurm/submit.json): give the --out folder of a sweep or of deno task sweep submit.",
    );
  }
  const p = await folderProgress(dir, {
    activations: grid?.activations ?? listing!.activations,
    seeds: grid?.seeds ?? listing!.seeds,
    cells: grid?.cells ?? [{ folder: "" }],
    shard: listing?.shard,
  });
  const lock = p.cells.find((c) => c.lock)?.lock;
  const verdict = p.complete ? "done" : lock ? "running" : "stopped";
  const running = verdict === "running" ? runningIn(p, 1) : 0;
  const problem = problemOf(p);
  return {
    task: listing?.shard ? `${listing.shard.index}/${listing.shard.count}` : "local",
    state: lock ? `writing (pid ${lock.pid ?? "?"}${lock.host ? ` on ${lock.host}` : ""})` : "—",
    verdict,
    ...(lock?.host ? { node: lock.host } : {}),
    done: p.done,
    running,
    left: p.total - p.done - running,
    total: p.total,
    ...(problem ? { problem } : {}),
  };
}

/** What to say under the table: failed tasks with their logs, and what to run next. */
function noticesOf(
  dir: string,
  kind: StudyStatus["kind"],
  rows: readonly TaskStatus[],
  merged: boolean,
  view?: SchedulerView,
  study?: StudyRoundStatus,
): string[] {
  const out: string[] = [];
  if (view && !view.answered) out.push(`Slurm did not answer (${view.problem}): states unknown.`);
  for (const r of rows.filter((r) => r.problem)) out.push(`task ${r.task}: ${r.problem}.`);
  const failed = rows.filter((r) => r.verdict === "failed");
  for (const r of failed) {
    out.push(
      `task ${r.task} ${r.state} with ${r.done} of ${r.total} trials done; log: ` +
        `${r.log ?? "none (it never started)"}${
          r.lastLine ? ` (last line: ${r.lastLine.replace(/\.$/, "")})` : ""
        }.`,
    );
  }
  if (failed.length && kind === "slurm") {
    out.push(
      `resubmit the failed task(s) ${failed.map((r) => r.task).join(", ")}: ` +
        `deno task sweep submit --retry ${dir}`,
    );
  }
  const complete = rows.every((r) => r.verdict === "done");
  if (complete && kind !== "local" && !study) {
    out.push(
      merged
        ? `every task finished; merged in ${dir}/${MERGED_DIR} (deno task sweep report ${dir})`
        : `every task finished, not merged yet: deno task sweep collect ${dir}`,
    );
  }
  return out;
}

/**
 * Where a study stands: for a submitted study (`slurm/submit.json`), one row per array task with
 * the scheduler's state of its latest attempt and its trials done / running / left, failed tasks
 * named with their log; for a folder run locally, one row for it. `ended` is true when nothing is
 * pending or running.
 *
 * @example
 * ```ts ignore
 * import { statusGrid, studyStatus } from "@actlab/actlab/sweep";
 * const status = await studyStatus("results/study");
 * console.log(status.done, status.total, status.notices);
 * ```
 */
export async function studyStatus(
  dir: string,
  options: StudyStatusOptions = {},
): Promise<StudyStatus> {
  const record = await readSubmitRecord(dir);
  const kind = record?.scheduler ?? "local";
  const ask = options.scheduler ?? slurmTasks;
  if (record?.scheduler === "slurm" && record.study) {
    return await studyRoundsStatus(dir, record, ask);
  }
  let view: SchedulerView | undefined;
  let rows: TaskStatus[];
  if (record?.scheduler === "slurm") {
    view = await ask([...new Set(record.submissions.map((s) => s.jobId))]);
    rows = await slurmRows(dir, {
      tasks: record.tasks,
      jobsPerTask: record.jobsPerTask,
      submissions: record.submissions,
      progress: (i) => shardProgress(dir, record, i),
      record,
    }, view);
  } else if (record) rows = await k8sRows(dir, record);
  else rows = [await localRow(dir)];
  const merged = !!record &&
    (await Deno.stat(`${dir}/${MERGED_DIR}`).then(() => true, () => false));
  return {
    dir,
    kind,
    ...(record ? { record } : {}),
    ...totals(rows),
    ended: !rows.some((r) => r.verdict === "pending" || r.verdict === "running"),
    complete: rows.every((r) => r.verdict === "done"),
    merged,
    schedulerAnswered: view?.answered ?? true,
    notices: noticesOf(dir, kind, rows, merged, view),
  };
}

/** The rows and their totals: trials done, running, left and in all. */
function totals(rows: TaskStatus[]) {
  const sum = (f: (r: TaskStatus) => number) => rows.reduce((a, r) => a + f(r), 0);
  return {
    tasks: rows,
    done: sum((r) => r.done),
    running: sum((r) => r.running),
    left: sum((r) => r.left),
    total: sum((r) => r.total),
  };
}

/** Who holds a folder's lock, in words, or undefined when nobody does. */
async function lockHolder(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/.lock`);
  } catch {
    return undefined;
  }
  try {
    const o = JSON.parse(text);
    return `${o.what ?? "a process"} (pid ${o.pid ?? "?"} on ${o.host ?? "?"} since ${o.since})`;
  } catch {
    return "a process (its lock file is unreadable)";
  }
}

/**
 * A study submitted round by round: the rows of its current round's array, the round, what the
 * rounds before did, and whether the study goes on by itself (a task still runs, or one is
 * recording the round) or needs `submit --retry`.
 */
async function studyRoundsStatus(
  dir: string,
  record: SubmitRecord,
  ask: (jobIds: readonly string[]) => Promise<SchedulerView>,
): Promise<StudyStatus> {
  const round = currentRound(record);
  const submissions = record.submissions.filter((s) => s.round === round.index);
  const view = await ask([...new Set(submissions.map((s) => s.jobId))]);
  const rows = await slurmRows(dir, {
    tasks: round.tasks,
    jobsPerTask: record.jobsPerTask,
    submissions,
    progress: (i) => roundProgress(dir, round, i),
  }, view);
  const complete = record.study!.complete !== undefined;
  const advancing = complete ? undefined : await lockHolder(dir);
  const moving = rows.some((r) => r.active || r.verdict === "pending" || r.verdict === "running");
  const study: StudyRoundStatus = {
    name: record.study!.name,
    round,
    rounds: record.study!.rounds,
    ...(advancing ? { advancing } : {}),
    complete,
  };
  return {
    dir,
    kind: "slurm",
    record,
    study,
    ...totals(rows),
    ended: complete || (!moving && !advancing),
    complete,
    merged: false, // a study's rounds are recorded in the folder itself, never in merged/
    schedulerAnswered: view.answered,
    notices: [
      ...noticesOf(dir, "slurm", rows, false, view, study),
      ...roundNotes(dir, study, rows),
    ],
  };
}

/** The rounds before the current one, and what the study does next. */
function roundNotes(dir: string, s: StudyRoundStatus, rows: readonly TaskStatus[]): string[] {
  const out = s.rounds.slice(0, -1).map((r) =>
    `round ${r.index} (${r.label}): ${r.trials} trials on ${r.tasks} task(s), recorded ${
      r.recorded?.slice(0, 19).replace("T", " ") ?? "—"
    }`
  );
  const allDone = rows.every((r) => r.verdict === "done");
  if (s.complete) {
    out.push(
      `study ${s.name} complete: every round recorded in ${dir} (study.json, selection.json, ` +
        `the tables); deno task sweep report ${dir}`,
    );
  } else if (s.advancing) {
    out.push(`round ${s.round.index} is being recorded and the next planned by ${s.advancing}`);
  } else if (rows.every((r) => r.jobId === undefined)) {
    out.push(
      `round ${s.round.index} (${s.round.label}) was planned but not submitted: ` +
        `deno task sweep submit --retry ${dir}`,
    );
  } else if (allDone && !rows.some((r) => r.active)) {
    out.push(
      `round ${s.round.index} finished but nothing recorded it or planned the next round (its ` +
        "last task's collect did not get through; see its log): " +
        `deno task sweep submit --retry ${dir}`,
    );
  }
  return out;
}

/**
 * The status as a text grid: a row per task (task, state, node, done, running, left, log), the
 * study's totals as the caption, what to know and do as the notes.
 *
 * @example
 * ```ts ignore
 * import { statusGrid, studyStatus } from "@actlab/actlab/sweep";
 * import { textGridTable } from "@actlab/actlab/display";
 * console.log(textGridTable(statusGrid(await studyStatus("results/study"))).toText());
 * ```
 */
export function statusGrid(status: StudyStatus): TextGrid {
  const jobs = [...new Set(status.record?.submissions.map((s) => s.jobId) ?? [])];
  const what = status.kind === "slurm"
    ? `Slurm job${jobs.length > 1 ? "s" : ""} ${jobs.join(", ") || "(not submitted)"} · `
    : status.kind === "k8s"
    ? "Kubernetes Indexed Job · "
    : "";
  const tasks = status.kind === "local" ? "" : `${status.tasks.length} tasks · `;
  return {
    caption: status.study ? studyCaption(status, status.study) : `${status.dir}: ${what}${tasks}` +
      `${status.done}/${status.total} trials done, ${status.running} running, ${status.left} left` +
      (status.merged ? ` · merged in ${status.dir}/${MERGED_DIR}` : ""),
    columns: ["task", "state", "node", "done", "running", "left", "log"],
    numeric: [false, false, false, true, true, true, false],
    cells: status.tasks.map((r) => [
      r.task,
      r.state,
      r.node ?? "",
      `${r.done}/${r.total}`,
      String(r.running),
      String(r.left),
      r.log ? r.log.slice(status.dir.length + 1) : "",
    ]),
    bold: status.tasks.map((r) => r.verdict === "failed"),
    notes: status.notices.join("\n"),
    more: 0,
  };
}

/** The caption of a study submitted round by round: its round, its array, the round's trials. */
function studyCaption(status: StudyStatus, s: StudyRoundStatus): string {
  const jobs = [
    ...new Set(
      status.record!.submissions.filter((x) => x.round === s.round.index).map((x) => x.jobId),
    ),
  ];
  const job = jobs.length ? `Slurm job${jobs.length > 1 ? "s" : ""} ${jobs.join(", ")}` : "";
  return `${status.dir}: study ${s.name} · round ${s.round.index}: ${s.round.label}` +
    `${job ? ` (${job})` : " (not submitted)"} · ${status.tasks.length} tasks · ` +
    `${status.done}/${status.total} trials of the round done, ${status.running} running, ` +
    `${status.left} left${s.complete ? " · study complete" : ""}`;
}
