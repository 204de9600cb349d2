/**
 * Sharding: a sweep's trials in one fixed order (activation-major), trial k belonging to shard
 * k mod n, and the shard a process runs, from `--shard i/n` or from the scheduler's environment
 * (a Slurm job array, a Kubernetes Indexed Job). A scheduler environment that is only partly
 * there is an error that names what is missing: read as "no shard", it would run every trial in
 * every task.
 *
 * @module
 */
import type { TrialSpec } from "./record.ts";

/** Which part of the trials this process runs: trial k belongs to shard k mod count. */
export interface Shard {
  /** 0-based shard index. */
  readonly index: number;
  /** Number of shards. */
  readonly count: number;
}

/** The Slurm array variables actlab reads; any one set means the task is in an array. */
const SLURM_VARS = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_COUNT",
  "SLURM_ARRAY_TASK_MIN",
  "SLURM_ARRAY_TASK_STEP",
] as const;

function checkedShard(index: number, count: number, from: string): Shard {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`Invalid shard count ${count} from ${from}: need a whole number ≥ 1.`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(
      `Shard index ${index} from ${from} is outside the ${count} shards (0 … ${count - 1}): ` +
        `the array has more tasks than shards, or the variables disagree; e.g. --shard 0/${count}.`,
    );
  }
  return { index, count };
}

/** A whole number from an environment variable, or an error naming it. */
function envInt(env: Record<string, string | undefined>, name: string): number {
  const text = env[name]!;
  if (!/^\s*\d+\s*$/.test(text)) {
    throw new Error(`${name}="${text}" is not a whole number; unset it or fix the job script.`);
  }
  return Number(text);
}

/**
 * The shard to run from `--shard i/n`, else a Slurm job array (SLURM_ARRAY_TASK_ID and
 * SLURM_ARRAY_TASK_COUNT, offset by SLURM_ARRAY_TASK_MIN and divided by SLURM_ARRAY_TASK_STEP),
 * else Kubernetes' JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT; undefined means all trials. A
 * partial environment (an array task id without the count, a count without an id, an index without
 * ACTLAB_SHARD_COUNT) and an index outside the array are errors that name the variable.
 *
 * @example
 * ```ts
 * import { parseShard } from "@actlab/actlab/sweep";
 * parseShard("2/4"); // { index: 2, count: 4 }
 * parseShard(undefined, { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "8" }); // 3/8
 * ```
 */
export function parseShard(
  flag: string | undefined,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Shard | undefined {
  if (flag !== undefined) {
    const m = /^\s*(\d+)\/(\d+)\s*$/.exec(flag);
    if (!m) throw new Error(`--shard takes i/n (e.g. 0/4), got '${flag}'.`);
    return checkedShard(Number(m[1]), Number(m[2]), "--shard");
  }
  const slurm = SLURM_VARS.filter((v) => env[v] !== undefined);
  if (slurm.length > 0) {
    for (const need of ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"] as const) {
      if (env[need] === undefined) {
        throw new Error(
          `${slurm.join(", ")} ${slurm.length > 1 ? "are" : "is"} set but ${need} is not: ` +
            `the Slurm array environment is incomplete, so this task cannot tell its shard. ` +
            `Run under sbatch --array, or unset the SLURM_ARRAY_* variables, or pass --shard i/n.`,
        );
      }
    }
    const id = envInt(env, "SLURM_ARRAY_TASK_ID");
    const count = envInt(env, "SLURM_ARRAY_TASK_COUNT");
    const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? envInt(env, "SLURM_ARRAY_TASK_MIN") : 0;
    const step = env.SLURM_ARRAY_TASK_STEP !== undefined ? envInt(env, "SLURM_ARRAY_TASK_STEP") : 1;
    if (step < 1 || (id - min) % step !== 0) {
      throw new Error(
        `SLURM_ARRAY_TASK_ID ${id} is not MIN ${min} plus a multiple of STEP ${step}: ` +
          `the array's variables disagree.`,
      );
    }
    return checkedShard((id - min) / step, count, "SLURM_ARRAY_TASK_*");
  }
  if (env.JOB_COMPLETION_INDEX !== undefined || env.ACTLAB_SHARD_COUNT !== undefined) {
    if (env.JOB_COMPLETION_INDEX === undefined) {
      throw new Error(
        "ACTLAB_SHARD_COUNT is set but JOB_COMPLETION_INDEX is not: run as a Kubernetes Indexed " +
          "Job (completionMode: Indexed), unset ACTLAB_SHARD_COUNT, or pass --shard i/n.",
      );
    }
    if (env.ACTLAB_SHARD_COUNT === undefined) {
      throw new Error(
        "JOB_COMPLETION_INDEX is set but not the number of shards: set ACTLAB_SHARD_COUNT to the " +
          "Job's completions (or pass --shard i/n).",
      );
    }
    return checkedShard(
      envInt(env, "JOB_COMPLETION_INDEX"),
      envInt(env, "ACTLAB_SHARD_COUNT"),
      "JOB_COMPLETION_INDEX",
    );
  }
  return undefined;
}

/**
 * Every trial of a sweep in a fixed order (activation-major), and those of one shard.
 *
 * @example
 * ```ts
 * import { sweepTrials } from "@actlab/actlab/sweep";
 * sweepTrials(["relu", "gelu"], [1, 2], { index: 1, count: 2 });
 * // [{ activation: "relu", seed: 2 }, { activation: "gelu", seed: 2 }]
 * ```
 */
export function sweepTrials(
  activations: readonly string[],
  seeds: readonly number[],
  shard?: Shard,
): TrialSpec[] {
  const all = activations.flatMap((activation) => seeds.map((seed) => ({ activation, seed })));
  return shard ? all.filter((_, k) => k % shard.count === shard.index) : all;
}

/**
 * Whether trial `spec` of a sweep listing `activations` × `seeds` belongs to `shard` (always, with
 * no shard; never, when the trial is not listed).
 *
 * @example
 * ```ts
 * import { inShard } from "@actlab/actlab/sweep";
 * inShard({ activation: "gelu", seed: 2 }, ["relu", "gelu"], [1, 2], { index: 1, count: 2 }); // true
 * ```
 */
export function inShard(
  spec: TrialSpec,
  activations: readonly string[],
  seeds: readonly number[],
  shard?: Shard,
): boolean {
  const a = activations.indexOf(spec.activation), s = seeds.indexOf(spec.seed);
  if (a < 0 || s < 0) return false;
  return !shard || (a * seeds.length + s) % shard.count === shard.index;
}
