/**
 * Slurm: the job-array script of a submitted study, `sbatch`, and what the scheduler says about
 * each array task. The script is plain bash a person reads and edits: `#SBATCH` lines, the paths
 * every node must see (checkout, study, Deno, its cache, the data) printed at the top, then the
 * ordinary sweep command on shard `SLURM_ARRAY_TASK_ID` of the study's shards, and the merge that
 * the last task to finish performs.
 *
 * The shard is passed explicitly (`--shard $SLURM_ARRAY_TASK_ID/N`), not read from
 * `SLURM_ARRAY_TASK_COUNT`: a retry submits only the failed indexes (`--array=2,5`), and in that
 * array `SLURM_ARRAY_TASK_COUNT` is 2, not the study's N.
 *
 * Task states come from `squeue` (pending and running tasks), then `scontrol show job` (tasks
 * that ended within `MinJobAge`), then `sacct` where accounting storage is on; a task none of
 * them knows is judged by the study folder alone.
 *
 * @module
 */

/** What one array task's scheduler says, from the first source that knows it. */
export interface SchedulerTask {
  /** The array job's id (`%A`), as `sbatch --parsable` printed it. */
  readonly jobId: string;
  /** The array index (`%a`): the shard. */
  readonly index: number;
  /** The scheduler's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, PREEMPTED, … */
  readonly state: string;
  /** The node it runs or ran on, when known. */
  readonly node?: string;
  /** Why it waits or ended (`Reason`), when the scheduler says. */
  readonly reason?: string;
  /** `exit:signal`, once ended. */
  readonly exitCode?: string;
  /** Which command said it. */
  readonly from: "squeue" | "scontrol" | "sacct";
}

/** What {@link slurmTasks} found: the tasks the scheduler knows, and whether it answered. */
export interface SchedulerView {
  /** Every array task any source knows, one per job id and index (the freshest source wins). */
  readonly tasks: readonly SchedulerTask[];
  /** False when `squeue` itself failed (no controller, no Slurm here): states are unknown. */
  readonly answered: boolean;
  /** Why it did not answer. */
  readonly problem?: string;
}

/** States of a task that has not started yet. */
const WAITING = new Set(["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"]);
/** States of a task that runs (or is being stopped). */
const ACTIVE = new Set([
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "STOPPED",
  "SIGNALING",
  "STAGE_OUT",
  "RESIZING",
]);

/**
 * Whether a scheduler state means the task waits (`waiting`), runs (`active`) or has ended.
 *
 * @example
 * ```ts
 * import { stateKind } from "@actlab/actlab/sweep";
 * stateKind("PENDING"); // "waiting"
 * stateKind("CANCELLED by 0"); // "ended"
 * ```
 */
export function stateKind(state: string): "waiting" | "active" | "ended" {
  const word = state.trim().split(/\s+/)[0].replace(/\+$/, "").toUpperCase();
  return WAITING.has(word) ? "waiting" : ACTIVE.has(word) ? "active" : "ended";
}

/**
 * The environment to submit from: this one, except that inside a Slurm job (an array task planning
 * the next round) the job's own `SLURM_*` variables are left out (`SLURM_CONF` kept), so that the
 * new job does not inherit the old one's array index, CPUs or memory.
 */
function submitEnv(): { env: Record<string, string>; clearEnv: true } | undefined {
  const env = Deno.env.toObject();
  if (env.SLURM_JOB_ID === undefined) return undefined;
  return {
    env: Object.fromEntries(
      Object.entries(env).filter(([k]) => !k.startsWith("SLURM_") || k === "SLURM_CONF"),
    ),
    clearEnv: true,
  };
}

/** Runs a Slurm command; its stdout, or the failure in words. */
async function slurmCommand(
  cmd: string,
  args: readonly string[],
  env?: { env: Record<string, string>; clearEnv: true },
): Promise<{ ok: true; out: string } | { ok: false; problem: string }> {
  try {
    const r = await new Deno.Command(cmd, { args: [...args], stdin: "null", ...env }).output();
    const out = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1) ?? "";
    return r.success ? { ok: true, out } : { ok: false, problem: err || `${cmd} exited ${r.code}` };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return {
        ok: false,
        problem: `${cmd} is not installed here (no Slurm client on this machine)`,
      };
    }
    return { ok: false, problem: `${cmd}: ${(e as Error).message}` };
  }
}

/** An "Invalid job id" answer: the job is simply gone from the controller's memory. */
const GONE = /invalid job id/i;

/** The tasks `squeue` lists for one array job (one line per task, `-r`). */
async function squeueTasks(jobId: string): Promise<SchedulerTask[] | { problem: string }> {
  const r = await slurmCommand("squeue", ["-h", "-r", "-j", jobId, "-o", "%F|%K|%T|%N|%r"]);
  if (!r.ok) return GONE.test(r.problem) ? [] : { problem: r.problem };
  return r.out.split("\n").filter((l) => l.trim()).flatMap((line) => {
    const [array, index, state, node, reason] = line.split("|");
    if (array !== jobId || !/^\d+$/.test(index)) return [];
    return [{
      jobId,
      index: Number(index),
      state,
      ...(node ? { node } : {}),
      ...(reason && reason !== "None" ? { reason } : {}),
      from: "squeue" as const,
    }];
  });
}

/** `Key=Value` fields of one `scontrol -o show job` line. */
function scontrolFields(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!fields.has(m[1])) fields.set(m[1], m[2]);
  return fields;
}

/** The ended tasks `scontrol show job` still remembers (for `MinJobAge` seconds). */
async function scontrolTasks(jobId: string): Promise<SchedulerTask[]> {
  const r = await slurmCommand("scontrol", ["-o", "show", "job", jobId]);
  if (!r.ok) return [];
  return r.out.split("\n").filter((l) => l.trim()).flatMap((line) => {
    const f = scontrolFields(line);
    const index = f.get("ArrayTaskId") ?? "";
    if (f.get("ArrayJobId") !== jobId || !/^\d+$/.test(index)) return [];
    const node = f.get("NodeList");
    const reason = f.get("Reason");
    return [{
      jobId,
      index: Number(index),
      state: f.get("JobState") ?? "UNKNOWN",
      ...(node && node !== "(null)" ? { node } : {}),
      ...(reason && reason !== "None" ? { reason } : {}),
      ...(f.get("ExitCode") ? { exitCode: f.get("ExitCode") } : {}),
      from: "scontrol" as const,
    }];
  });
}

/** What `sacct` remembers (only where accounting storage is on; empty otherwise). */
async function sacctTasks(jobId: string): Promise<SchedulerTask[]> {
  const r = await slurmCommand("sacct", [
    "-n",
    "-P",
    "-X",
    "-j",
    jobId,
    "-o",
    "JobID,State,ExitCode,NodeList",
  ]);
  if (!r.ok) return [];
  return r.out.split("\n").filter((l) => l.trim()).flatMap((line) => {
    const [id, state, exitCode, node] = line.split("|");
    const m = /^(\d+)_(\d+)$/.exec(id ?? "");
    if (!m || m[1] !== jobId) return [];
    return [{
      jobId,
      index: Number(m[2]),
      state: state.split(" ")[0],
      ...(node && node !== "None assigned" ? { node } : {}),
      ...(exitCode ? { exitCode } : {}),
      from: "sacct" as const,
    }];
  });
}

/**
 * What Slurm says about every task of the given array jobs: `squeue` first, then `scontrol show
 * job` for tasks that left the queue, then `sacct`. `answered` is false when `squeue` fails (no
 * controller): then nothing can be said about running tasks.
 *
 * @example
 * ```ts ignore
 * import { slurmTasks } from "@actlab/actlab/sweep";
 * const { tasks } = await slurmTasks(["1234"]);
 * tasks.map((t) => `${t.index}: ${t.state}`); // ["0: COMPLETED", "1: RUNNING", …]
 * ```
 */
export async function slurmTasks(jobIds: readonly string[]): Promise<SchedulerView> {
  const found = new Map<string, SchedulerTask>();
  const add = (t: SchedulerTask) => {
    const key = `${t.jobId}_${t.index}`;
    if (!found.has(key)) found.set(key, t);
  };
  for (const jobId of jobIds) {
    const queued = await squeueTasks(jobId);
    if (!Array.isArray(queued)) return { tasks: [], answered: false, problem: queued.problem };
    queued.forEach(add);
    (await scontrolTasks(jobId)).forEach(add);
    (await sacctTasks(jobId)).forEach(add);
  }
  return { tasks: [...found.values()], answered: true };
}

/**
 * Whether a Slurm controller answers here (`scontrol ping`), and if not, why.
 *
 * @example
 * ```ts ignore
 * import { slurmAnswers } from "@actlab/actlab/sweep";
 * const { up, problem } = await slurmAnswers();
 * if (!up) console.log(`no Slurm: ${problem}`);
 * ```
 */
export async function slurmAnswers(): Promise<{ up: boolean; problem?: string }> {
  const r = await slurmCommand("scontrol", ["ping"]);
  if (!r.ok) return { up: false, problem: r.problem };
  return /is UP/.test(r.out)
    ? { up: true }
    : { up: false, problem: r.out.trim() || "scontrol ping: no controller is UP" };
}

/**
 * Submits `script` with `sbatch --parsable` and the extra arguments (`--array=…` overrides the
 * script's own), passing `scriptArgs` to the script; returns the job id. Inside a Slurm job (an
 * array task submitting a study's next round) the job's `SLURM_*` variables are not passed on.
 * Throws with sbatch's message when it refuses.
 *
 * @example
 * ```ts ignore
 * import { sbatch } from "@actlab/actlab/sweep";
 * const jobId = await sbatch("results/study/slurm/job.sh", ["--array=1,3%2"]);
 * ```
 */
export async function sbatch(
  script: string,
  args: readonly string[] = [],
  scriptArgs: readonly string[] = [],
): Promise<string> {
  const r = await slurmCommand(
    "sbatch",
    ["--parsable", ...args, script, ...scriptArgs],
    submitEnv(),
  );
  if (!r.ok) throw new Error(`sbatch refused ${script}: ${r.problem}`);
  const id = r.out.trim().split(";")[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed '${r.out.trim()}', not a job id.`);
  return id;
}

/**
 * A word as a shell reads it: unchanged when it is plain, else in single quotes.
 *
 * @example
 * ```ts
 * import { shellWord } from "@actlab/actlab/sweep";
 * console.assert(shellWord("relu,gelu") === "relu,gelu");
 * console.assert(shellWord("it's") === "'it'\\''s'");
 * ```
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What {@link slurmScript} writes. */
export interface SlurmScriptSpec {
  /** The job's name (`#SBATCH --job-name`). */
  readonly name: string;
  /** The actlab checkout, absolute (on a filesystem every node sees). */
  readonly project: string;
  /** The study folder, absolute. */
  readonly study: string;
  /** Array size: one task per shard. */
  readonly tasks: number;
  /** At most this many tasks at once (`%K`); undefined: no limit. */
  readonly maxRunning?: number;
  /** CPUs per task. */
  readonly cpusPerTask: number;
  /** ONNX Runtime threads per trial: a task runs cpus / threads trials side by side. */
  readonly threads: number;
  /** `--partition`, `--time`, `--mem`, when given. */
  readonly partition?: string;
  /** Wall-clock limit per task, in Slurm's form (`2:00:00`, `1-00:00:00`). */
  readonly time?: string;
  /** Memory per node (`8G`). */
  readonly mem?: string;
  /** More `#SBATCH` lines, each an sbatch option (`--account=ml`, `--gres=gpu:1`). */
  readonly sbatchArgs?: readonly string[];
  /** The sweep's flags (settings, grid axes), as every task passes them. */
  readonly sweepArgs: readonly string[];
  /** The Deno binary, absolute. */
  readonly deno: string;
  /** Deno's cache folder. */
  readonly denoDir: string;
  /** The data folder (holding tinyshakespeare/input.txt), when known. */
  readonly dataDir?: string;
  /** When it was written (ISO time). */
  readonly written: string;
  /**
   * A study run in rounds (`submit --study`): the script takes the round and its number of shards
   * as its arguments (`sbatch --array=0-3 job.sh 2 4`), each task runs its shard of that round,
   * and the last to finish records the round and submits the next. `sweepArgs` is unused then.
   */
  readonly staged?: boolean;
}

/** The `#SBATCH` lines of a study's array. */
function sbatchLines(s: SlurmScriptSpec): string[] {
  const lines = [
    `--job-name=${s.name}`,
    `--array=0-${s.tasks - 1}${s.maxRunning ? `%${s.maxRunning}` : ""}`,
    `--cpus-per-task=${s.cpusPerTask}`,
    `--output=${s.study}/slurm/logs/task-%a.%A.out`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.time ? [`--time=${s.time}`] : []),
    ...(s.mem ? [`--mem=${s.mem}`] : []),
    ...(s.sbatchArgs ?? []),
  ];
  return lines.map((l) => `#SBATCH ${l}`);
}

/**
 * The job-array script of a study: one array task per shard, each running the ordinary sweep
 * command on its shard into `<study>/shards/<task>` with as many trials side by side as its CPUs
 * allow, then the merge that succeeds only for the last task to finish. Plain bash, meant to be
 * read and edited.
 *
 * @example
 * ```ts
 * import { slurmScript } from "@actlab/actlab/sweep";
 * const script = slurmScript({
 *   name: "actlab-demo", project: "/shared/actlab", study: "/shared/actlab/results/demo",
 *   tasks: 4, maxRunning: 2, cpusPerTask: 2, threads: 1, deno: "/shared/bin/deno",
 *   denoDir: "/shared/deno-cache", sweepArgs: ["--preset", "tiny"], written: "2026-01-01",
 * });
 * console.assert(script.includes("#SBATCH --array=0-3%2"));
 * ```
 */
export function slurmScript(s: SlurmScriptSpec): string {
  return [
    "#!/bin/bash",
    ...(s.staged ? stagedHeader(s) : sweepHeader(s)),
    `# Watch: deno task sweep status ${s.study}`,
    ...sbatchLines(s),
    "set -euo pipefail",
    "",
    "# Paths every node must see (a shared filesystem); override any of them in the environment.",
    `PROJECT=${shellWord(s.project)}   # the actlab checkout`,
    `STUDY=${shellWord(s.study)}   # this study's folder`,
    `DENO=\${DENO:-${shellWord(s.deno)}}`,
    `export DENO_DIR=\${DENO_DIR:-${
      shellWord(s.denoDir)
    }}   # Deno's cache (filled by deno install)`,
    s.dataDir
      ? `export ACTLAB_DATA_DIR=\${ACTLAB_DATA_DIR:-${
        shellWord(s.dataDir)
      }}   # holds tinyshakespeare/`
      : "# export ACTLAB_DATA_DIR=/shared/datasets   # a folder holding tinyshakespeare/input.txt",
    "export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1",
    ...(s.staged ? stagedBody(s) : sweepBody(s)),
    "",
  ].join("\n");
}

/** The comment at the top of a sweep's script. */
function sweepHeader(s: SlurmScriptSpec): string[] {
  return [
    `# actlab: a sweep as a Slurm job array, one array task per shard (${s.tasks} shards` +
    `${s.maxRunning ? `, at most ${s.maxRunning} running` : ""}).`,
    `# Written by 'deno task sweep submit --slurm' at ${s.written}. Edit it freely: 'deno task`,
    "# sweep submit --retry STUDY' submits this file as it is then, for the tasks that failed.",
    "# Task i runs the ordinary sweep command on shard i into $STUDY/shards/i (finished trials are",
    "# kept, so a rerun resumes); the last task to finish merges every shard into $STUDY/merged.",
  ];
}

/** The comment at the top of a study's script. */
function stagedHeader(s: SlurmScriptSpec): string[] {
  return [
    "# actlab: a study as Slurm job arrays, one array per round: the selection rounds (widened",
    "# while a best learning rate sits at an edge), then the confirmation at the chosen rates.",
    `# Written by 'deno task sweep submit --slurm --study' at ${s.written}. Edit it freely: every`,
    "# round submits this file as it is then: sbatch --array=0-<N-1> job.sh ROUND N. Task i runs",
    "# shard i of round ROUND's trials into $STUDY/shards/ROUND/i (finished trials are kept, so a",
    "# rerun resumes); the last task of the round to finish records the round in the study's",
    "# folders and submits the next round, or writes the study's tables when none is left.",
  ];
}

/** The task's work in a sweep's script: its shard, then the merge. */
function sweepBody(s: SlurmScriptSpec): string[] {
  const q = shellWord;
  const args = [];
  for (let i = 0; i < s.sweepArgs.length; i++) {
    const flag = s.sweepArgs[i], value = s.sweepArgs[i + 1];
    if (value !== undefined && !value.startsWith("--")) {
      args.push(`  ${q(flag)} ${q(value)}`);
      i++;
    } else args.push(`  ${q(flag)}`);
  }
  return [
    `SHARDS=${s.tasks}   # task i runs shard i of SHARDS`,
    `THREADS=${s.threads}   # ONNX Runtime threads per trial (--threads)`,
    "",
    ...taskLines("$SHARDS"),
    '"$DENO" run -A cli/sweep.ts --shard "$task/$SHARDS" --jobs "$jobs" --out "$STUDY/shards/$task" \\',
    args.join(" \\\n"),
    "# Merges every shard into $STUDY/merged once all are complete (only the last task gets there).",
    '"$DENO" run -A cli/sweep.ts collect "$STUDY" --if-complete',
  ];
}

/** The task's work in a study's script: its shard of the round, then the next round. */
function stagedBody(s: SlurmScriptSpec): string[] {
  return [
    'usage="run it with sbatch --array=0-<N-1> job.sh ROUND N (deno task sweep submit does)"',
    "ROUND=${1:?$usage}   # the study's round (slurm/submit.json lists them)",
    "SHARDS=${2:?$usage}   # task i runs shard i of SHARDS of the round",
    `THREADS=${s.threads}   # ONNX Runtime threads per trial (the study's engineOptions.threads)`,
    "",
    ...taskLines("$SHARDS of round $ROUND"),
    '"$DENO" run -A cli/sweep.ts study-shard "$STUDY" --round "$ROUND" --shard "$task/$SHARDS" \\',
    '  --jobs "$jobs"',
    "# Once every shard of the round is complete (only the last task gets there): records the",
    "# round in the study's folders, then submits the next round or writes the study's tables.",
    '"$DENO" run -A cli/sweep.ts collect "$STUDY" --if-complete',
  ];
}

/** The lines every task runs first: its index, its trials side by side, where it runs. */
function taskLines(of: string): string[] {
  return [
    'task=${SLURM_ARRAY_TASK_ID:?"run this script with sbatch: it is one task of a job array"}',
    'jobs=$(( ${SLURM_CPUS_PER_TASK:-1} / THREADS )); [ "$jobs" -ge 1 ] || jobs=1',
    `echo "actlab: task $task of ${of}, job \${SLURM_ARRAY_JOB_ID:-?}, on $(hostname), ` +
    '$jobs trial(s) at a time, $(date -Is)"',
    'echo "actlab: PROJECT=$PROJECT STUDY=$STUDY DENO=$DENO DENO_DIR=$DENO_DIR ' +
    'ACTLAB_DATA_DIR=${ACTLAB_DATA_DIR:-}"',
    'cd "$PROJECT"',
  ];
}
