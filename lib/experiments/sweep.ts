/**
 * Sweeps over activations × seeds on the mini-GPT: each trial trains one model and is written to
 * disk as soon as it finishes (atomically: `trials/<activation>__seed<k>.json`, and all of the
 * shard's finished trials as `trials.jsonl`), a re-run skips finished trials, and trials split
 * deterministically into shards so a cluster's scheduler can run them in parallel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import { resolve } from "node:path";
import type { CharDataset } from "../../datasets/char_dataset.ts";
import { writeTextAtomic } from "../core/fs.ts";
import { sha256Hex } from "../core/hash.ts";
import { lockFolder } from "../core/lock.ts";
import {
  holmAdjust,
  mean,
  minimumDetectableDifference,
  summarize,
  welchTTest,
} from "../core/stats.ts";
import { activationFingerprint } from "../activations/fingerprint.ts";
import { getActivation, isBuiltinActivation } from "../activations/registry.ts";
import { type OrtProviderChoice, resolveOrtProvider } from "../engine/ort.ts";
import type { BackendName } from "../engine/tfjs.ts";
import type { PresetName } from "../gpt/config.ts";
import type { EvalInfo, StepInfo } from "../gpt/step.ts";
import type { TrainOptions } from "../train/train.ts";
import {
  checkTrialRecord,
  runTrial,
  type SweepSettings,
  type SweepTrainOverrides,
  type TrialResult,
  type TrialSpec,
} from "./_trial.ts";
import type { WorkerInit } from "./_trial_worker.ts";
import { pairBySeed, seedOutlierNotice, seedOutliers } from "./compare.ts";

/** Which part of the trials this process runs: trial k belongs to shard k mod count. */
export interface Shard {
  /** 0-based shard index. */
  readonly index: number;
  /** Number of shards. */
  readonly count: number;
}

/** Options of {@link sweep}. */
export interface SweepOptions {
  /** Activation names (registry names, aliases or specs). Default: relu, gelu, swiglu, relu2. */
  readonly activations?: readonly string[];
  /** Seeds: a count (1…N) or the list. Default 2. */
  readonly seeds?: number | readonly number[];
  /** Model and training preset. Default `nano`. */
  readonly preset?: PresetName;
  /** Training steps per trial. Default: the preset's. */
  readonly iters?: number;
  /** Evaluation cadence and size. Defaults: the preset's. */
  readonly evalEvery?: number;
  /** Evaluation batches per split. Default: the preset's. */
  readonly evalIters?: number;
  /**
   * The final validation loss of each trial: `"split"` (default) measures the whole validation
   * split, one fixed set of tokens shared by every trial (`evalTokens`), free of sampling noise;
   * `"sampled"` uses `evalIters` random batches as the intermediate evaluations do.
   */
  readonly finalEval?: "split" | "sampled";
  /** Where training steps run: `tfjs` (the active backend) or `ort` (compiled ONNX Runtime). */
  readonly engine?: "tfjs" | "ort";
  /**
   * ONNX Runtime options for the `ort` engine: `provider` (default `auto`) and intra-op `threads`
   * per trial (default 1, so that any `jobs` gives the same numbers).
   */
  readonly engineOptions?: TrainOptions["engineOptions"];
  /** Other training overrides (learning rate, batch size, …). */
  readonly train?: SweepTrainOverrides;
  /** The baseline of the Welch tests. Default: `gelu` when swept, else the first activation. */
  readonly baseline?: string;
  /** Target validation loss for steps-to-target. Default: the worst mean final loss. */
  readonly targetLoss?: number;
  /** Folder for results; trials already there are skipped. Omitted: nothing is written. */
  readonly out?: string;
  /** Run only this shard of the trials. */
  readonly shard?: Shard;
  /**
   * Trials run side by side, each in its own worker: a count, or `"auto"` (the default): one per
   * core, at most one per trial. Activations registered in this process (not built in) cannot be
   * sent to a worker: such sweeps run one trial at a time, and say so through `onNotice`.
   */
  readonly jobs?: number | "auto";
  /** Called when a trial starts, before training; `slot` is its worker (0 with one job). */
  readonly onTrialStart?: (trial: TrialSpec, index: number, total: number, slot: number) => void;
  /** Called after each step of a running trial. */
  readonly onStep?: (trial: TrialSpec, info: StepInfo) => void | Promise<void>;
  /** Called after each evaluation of a running trial. */
  readonly onEval?: (trial: TrialSpec, info: EvalInfo) => void | Promise<void>;
  /** Called when a trial ends (or was found finished on disk). */
  readonly onTrial?: (result: TrialResult, skipped: boolean) => void | Promise<void>;
  /** Things worth knowing that are not errors (a repaired file, fewer jobs). Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /**
   * Stops the sweep: running trials are abandoned and not recorded (a re-run redoes them);
   * the result has `interrupted: true`.
   */
  readonly signal?: AbortSignal;
}

export type { SweepSettings, TrialResult, TrialSpec };

/** What {@link sweep} returns. */
export interface SweepResult {
  /** Every finished trial of this shard, now or earlier, in the sweep's order. */
  readonly trials: TrialResult[];
  /** Per activation: n, diverged, final val loss mean/std/95% CI, Welch p vs baseline, … */
  readonly summary: aq.ColumnTable;
  /** The settings every trial shares (preset, iters, engine, device, …) and their key. */
  readonly settings: SweepSettings;
  /** True when the signal stopped the sweep before every trial finished. */
  readonly interrupted: boolean;
  /** Trials that were running when the sweep stopped: not recorded, a re-run redoes them. */
  readonly discarded: readonly TrialSpec[];
  /** How many trials ran side by side. */
  readonly jobs: number;
}

/**
 * The shard to run from `--shard i/n`, else SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT (and
 * SLURM_ARRAY_TASK_MIN), else Kubernetes' JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT;
 * undefined means all trials.
 *
 * @example
 * ```ts
 * import { parseShard } from "@actlab/actlab/experiments";
 * parseShard("2/4"); // { index: 2, count: 4 }
 * parseShard(undefined, { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "8" }); // 3/8
 * ```
 */
export function parseShard(
  flag: string | undefined,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Shard | undefined {
  const make = (index: number, count: number, from: string): Shard => {
    if (
      !Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 ||
      index >= count
    ) {
      throw new Error(
        `Invalid shard ${index}/${count} from ${from}: need 0 ≤ i < n, e.g. --shard 0/4.`,
      );
    }
    return { index, count };
  };
  if (flag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flag.trim());
    if (!m) throw new Error(`--shard takes i/n (e.g. 0/4), got '${flag}'.`);
    return make(Number(m[1]), Number(m[2]), "--shard");
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) {
    const min = Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
    return make(
      Number(env.SLURM_ARRAY_TASK_ID) - min,
      Number(env.SLURM_ARRAY_TASK_COUNT),
      "SLURM_ARRAY_TASK_*",
    );
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (env.ACTLAB_SHARD_COUNT === undefined) {
      throw new Error(
        "JOB_COMPLETION_INDEX is set but not the number of shards: set ACTLAB_SHARD_COUNT to the " +
          "Job's completions (or pass --shard i/n).",
      );
    }
    return make(
      Number(env.JOB_COMPLETION_INDEX),
      Number(env.ACTLAB_SHARD_COUNT),
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
 * import { sweepTrials } from "@actlab/actlab/experiments";
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

function trialFile(out: string, t: TrialSpec): string {
  const safe = t.activation.replace(/[^a-z0-9_.=-]/gi, "_");
  return `${out}/trials/${safe}__seed${t.seed}.json`;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(
      `Cannot read ${path}: ${e instanceof Error ? e.message : e}. Delete it to rerun that trial.`,
    );
  }
}

async function readTrial(path: string): Promise<TrialResult | undefined> {
  const value = await readJson<unknown>(path);
  return value === undefined ? undefined : checkTrialRecord(value, path);
}

/** Canonical names, refusing an activation listed twice under two of its names. */
function canonicalActivations(names: readonly string[]): string[] {
  if (names.length === 0) {
    throw new Error("sweep: no activations given; name at least one, e.g. relu,gelu.");
  }
  const seen = new Map<string, string>();
  for (const given of names) {
    const name = getActivation(given).name; // validates every name before any training
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new Error(
        earlier === given
          ? `sweep: activation "${given}" is listed twice; list each activation once.`
          : `sweep: "${earlier}" and "${given}" are the same activation (${name}); list it once.`,
      );
    }
    seen.set(name, given);
  }
  return [...seen.keys()];
}

function seedList(seeds: SweepOptions["seeds"]): number[] {
  const list = typeof seeds === "number" || seeds === undefined
    ? Array.from({ length: (seeds as number | undefined) ?? 2 }, (_, i) => i + 1)
    : [...seeds];
  if (list.length === 0) throw new Error("sweep: no seeds (give seeds: N ≥ 1 or a list).");
  const bad = list.find((s) => !Number.isInteger(s));
  if (bad !== undefined) throw new Error(`sweep: seed ${bad} is not an integer.`);
  if (new Set(list).size !== list.length) {
    throw new Error(`sweep: seeds ${list.join(", ")} repeat a seed; list each seed once.`);
  }
  return list;
}

function resolveJobs(jobs: SweepOptions["jobs"], trials: number): number {
  if (jobs === undefined || jobs === "auto") {
    return Math.max(1, Math.min(trials, navigator.hardwareConcurrency || 1));
  }
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new Error(`sweep: jobs must be a whole number ≥ 1 or "auto", got ${jobs}.`);
  }
  return Math.max(1, Math.min(jobs, trials));
}

/** The settings of a sweep, with every choice that changes numbers in the key. */
async function sweepSettings(
  data: CharDataset,
  options: SweepOptions,
  activations: readonly string[],
): Promise<SweepSettings> {
  const engine = options.engine ?? "tfjs";
  if (engine !== "tfjs" && engine !== "ort") {
    throw new Error(`sweep: unknown engine "${engine}"; choose tfjs or ort.`);
  }
  let device: string = tf.getBackend();
  let threads: number | null = null;
  if (engine === "ort") {
    // The provider that will run, so "auto" on a GPU machine and on a CPU one never share a key.
    const choice = (options.engineOptions?.provider ?? "auto") as OrtProviderChoice;
    device = (await resolveOrtProvider(choice)).provider;
    threads = options.engineOptions?.threads ?? 1;
  }
  const base = {
    preset: options.preset ?? "nano",
    iters: options.iters ?? null,
    evalEvery: options.evalEvery ?? null,
    evalIters: options.evalIters ?? null,
    dataset: `${data.name}:${data.train.length + data.val.length}`,
    train: { ...(options.train ?? {}) },
    engine,
    device,
    threads,
    finalEval: options.finalEval ?? "split",
  };
  // Only sweeps of registered (not built-in) activations carry definitions, so the keys of
  // built-in sweeps, and the committed results behind them, stay what they were.
  const custom: Record<string, string> = {};
  for (const a of activations.filter((a) => !isBuiltinActivation(a))) {
    custom[a] = await activationFingerprint(a);
  }
  if (Object.keys(custom).length) Object.assign(base, { custom });
  const key = (await sha256Hex(new TextEncoder().encode(JSON.stringify(base)))).slice(0, 12);
  return { ...base, key };
}

/** What `sweep.json` holds: the settings, and which trials this folder was asked for. */
interface SweepFile extends SweepSettings {
  readonly activations?: readonly string[];
  readonly seeds?: readonly number[];
  readonly shard?: Shard;
}

function describe(s: SweepSettings): string {
  const { key: _key, ...rest } = s;
  return JSON.stringify(rest);
}

/**
 * The summary table of finished trials, one row per activation (in the order given):
 *
 * - counts: `n` completed, `diverged` (NaN/∞ loss), `unstable` (loss rose above 1.2× its start);
 * - the final validation loss (nats/char): `val_loss_mean`, `val_loss_std`, `ci95_low/high`
 *   (Student-t, over seeds);
 * - against the `baseline`, **paired by seed** (trials of one seed share batches and, where
 *   shapes agree, initial weights): `pairs`, the mean difference `diff_mean` (activation −
 *   baseline; negative = lower loss) with its 95% CI `diff_ci95_low/high`, the paired t-test's
 *   `p_paired`, `p_holm` (Holm-adjusted across all activations compared with the baseline) and
 *   `mdd80`, the smallest difference this many pairs detect with 80% power at α = 0.05 (given
 *   the observed spread of the differences);
 * - `p_vs_baseline`: Welch's unpaired test, kept for comparison;
 * - `eval_tokens`: tokens behind each trial's final loss (the whole validation split when the
 *   sweep evaluates it; NaN for older trials);
 * - steps to the target loss (first evaluation at or below it; mean over the trials that reached
 *   it, and how many did), ms/step (each trial's median over its steps, averaged over the seeds)
 *   and parameters.
 *
 * @example
 * ```ts ignore
 * import { summarizeTrials } from "@actlab/actlab";
 * summarizeTrials(result.trials, { baseline: "gelu" }).print();
 * ```
 */
export function summarizeTrials(
  trials: readonly TrialResult[],
  options: { activations?: readonly string[]; baseline?: string; targetLoss?: number } = {},
): aq.ColumnTable {
  const names = options.activations ?? [...new Set(trials.map((t) => t.activation))];
  const done = (name: string) =>
    trials.filter((t) => t.activation === name && t.status === "completed");
  const finals = (name: string) => done(name).map((t) => t.finalValLoss);
  const baseline = options.baseline ?? (names.includes("gelu") ? "gelu" : names[0]);
  const means = names.map((n) => summarize(finals(n)).mean).filter(Number.isFinite);
  const target = options.targetLoss ?? (means.length ? Math.max(...means) : NaN);
  const paired = names.map((name) => {
    if (name === baseline) return undefined;
    const { seeds, result } = pairBySeed(trials, name, baseline);
    return { n: seeds.length, r: result };
  });
  const pHolm = holmAdjust(paired.map((x) => x?.r?.p ?? NaN));
  const rows = names.map((name, i) => {
    const s = summarize(finals(name));
    const base = finals(baseline);
    let p = NaN;
    if (name !== baseline && s.n >= 2 && base.length >= 2) p = welchTTest(finals(name), base).p;
    const reach = done(name).map((t) => t.evals.find((e) => e.valLoss <= target)?.iter ?? NaN);
    const pr = paired[i]?.r;
    const tokens = done(name).map((t) => t.evalTokens ?? NaN);
    return {
      activation: name,
      n: s.n,
      diverged: trials.filter((t) => t.activation === name && t.status === "diverged").length,
      unstable: done(name).filter((t) => t.unstable).length,
      val_loss_mean: s.mean,
      val_loss_std: s.std,
      ci95_low: s.ciLow,
      ci95_high: s.ciHigh,
      baseline,
      pairs: paired[i]?.n ?? NaN,
      diff_mean: pr?.difference ?? NaN,
      diff_ci95_low: pr?.ciLow ?? NaN,
      diff_ci95_high: pr?.ciHigh ?? NaN,
      p_paired: pr?.p ?? NaN,
      p_holm: pHolm[i],
      mdd80: pr ? minimumDetectableDifference(pr.std, pr.n) : NaN,
      p_vs_baseline: p,
      eval_tokens: tokens.length && tokens.every((x) => x === tokens[0]) ? tokens[0] : NaN,
      target_loss: target,
      steps_to_target: summarize(reach.filter(Number.isFinite)).mean,
      reached_target: reach.filter(Number.isFinite).length,
      ms_per_step: mean(done(name).map((t) => t.msPerStep)),
      params: done(name)[0]?.params ?? NaN,
    };
  });
  return aq.from(rows);
}

/**
 * Runs a sweep: trains the mini-GPT for every activation × seed (of this shard), `jobs` trials
 * side by side in workers, writing each trial to `out/trials/` when it finishes and skipping
 * trials already there, then summarizes. The output folder is locked while the sweep runs; an
 * interrupted trial is never written; trials whose settings differ (engine, device, threads,
 * steps, …) never share a folder.
 *
 * @example
 * ```ts ignore
 * import { loadTinyShakespeare, sweep } from "@actlab/actlab";
 * const data = await loadTinyShakespeare();
 * const r = await sweep(data, { activations: ["relu", "gelu", "swiglu"], seeds: 3, iters: 500 });
 * r.summary.print();
 * ```
 */
export async function sweep(data: CharDataset, options: SweepOptions = {}): Promise<SweepResult> {
  const activations = canonicalActivations(
    options.activations ?? ["relu", "gelu", "swiglu", "relu2"],
  );
  const seeds = seedList(options.seeds);
  const settings = await sweepSettings(data, options, activations);
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  const specs = sweepTrials(activations, seeds, options.shard);
  const out = options.out;
  const lock = out ? await lockFolder(out, "sweep") : undefined;
  try {
    if (lock?.tookOverFrom) {
      notice(
        `${out}: took over the lock of a sweep that is no longer running (pid ${lock.tookOverFrom.pid}).`,
      );
    }
    if (out) {
      await Deno.mkdir(`${out}/trials`, { recursive: true });
      const existing = await readJson<SweepFile>(`${out}/sweep.json`);
      if (existing && existing.key !== settings.key) {
        const redefined = Object.keys(settings.custom ?? {}).filter((a) =>
          existing.custom?.[a] !== undefined && existing.custom[a] !== settings.custom?.[a]
        );
        throw new Error(
          redefined.length
            ? `${out} holds trials of another definition of ${redefined.join(", ")} (its ` +
              `values differ from the one registered now). Use another output folder for the ` +
              `new definition (or another name), or delete ${out} to start over.`
            : `${out} holds a sweep with other settings (${describe(existing)}; this one: ` +
              `${describe(settings)}). Use another output folder, or delete ${out} to start over.`,
        );
      }
      const file: SweepFile = { ...settings, activations, seeds, shard: options.shard };
      await writeTextAtomic(`${out}/sweep.json`, JSON.stringify(file, null, 2));
      await checkJsonl(`${out}/trials${shardSuffix(options.shard)}.jsonl`, notice);
    }
    const done = new Map<number, TrialResult>();
    const todo: number[] = [];
    for (const [k, spec] of specs.entries()) {
      const found = out ? await readTrial(trialFile(out, spec)) : undefined;
      if (found && found.settings === settings.key) {
        done.set(k, found);
        await options.onTrial?.(found, true);
      } else todo.push(k);
    }
    let writes = Promise.resolve();
    const record = (k: number, result: TrialResult) => {
      done.set(k, result);
      if (!out) return writes;
      writes = writes.then(async () => {
        await writeTextAtomic(trialFile(out, specs[k]), JSON.stringify(result));
        await writeJsonl(out, options.shard, specs, done);
      });
      return writes;
    };
    let jobs = resolveJobs(options.jobs, todo.length);
    const local = activations.filter((a) => !isBuiltinActivation(a));
    if (jobs > 1 && local.length > 0) {
      // Asked for by number: say why it is not honoured; "auto" quietly picks what can run.
      if (typeof options.jobs === "number") {
        notice(
          `sweep: ${local.join(", ")} ${local.length > 1 ? "are" : "is"} registered in this ` +
            `process, not built in, so workers cannot run ${local.length > 1 ? "them" : "it"}: ` +
            `running one trial at a time.`,
        );
      }
      jobs = 1;
    }
    const running = new Set<number>();
    const run = jobs === 1 ? runHere : runInWorkers;
    await run({ data, specs, todo, settings, options, jobs, running, record, notice });
    await writes;
    const trials = [...done.keys()].sort((a, b) => a - b).map((k) => done.get(k)!);
    const interrupted = trials.length < specs.length && (options.signal?.aborted ?? false);
    const summary = summarizeTrials(trials, {
      activations,
      baseline: options.baseline,
      targetLoss: options.targetLoss,
    });
    if (out) {
      await writeJsonl(out, options.shard, specs, done);
      await writeTextAtomic(`${out}/summary${shardSuffix(options.shard)}.csv`, summary.toCSV());
    }
    for (const o of seedOutliers(trials)) notice(seedOutlierNotice(o, out));
    const discarded = [...running].sort((a, b) => a - b).map((k) => specs[k]);
    return { trials, summary, settings, interrupted, discarded, jobs };
  } finally {
    await lock?.release();
  }
}

function shardSuffix(shard?: Shard): string {
  return shard ? `.shard${shard.index}of${shard.count}` : "";
}

/** Rewrites the shard's `trials.jsonl` from its finished trials, in the sweep's order. */
async function writeJsonl(
  out: string,
  shard: Shard | undefined,
  specs: readonly TrialSpec[],
  done: ReadonlyMap<number, TrialResult>,
): Promise<void> {
  const lines = specs.flatMap((_, k) => done.has(k) ? [JSON.stringify(done.get(k))] : []);
  await writeTextAtomic(
    `${out}/trials${shardSuffix(shard)}.jsonl`,
    lines.length ? lines.join("\n") + "\n" : "",
  );
}

/** Says when an existing `trials.jsonl` is damaged; the sweep rebuilds it from `trials/`. */
async function checkJsonl(path: string, notice: (m: string) => void): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    try {
      checkTrialRecord(JSON.parse(line), `${path}:${i + 1}`);
    } catch (e) {
      notice(
        `${path}: line ${i + 1} is damaged (${e instanceof Error ? e.message : e}); ` +
          `rebuilding the file from the per-trial files in trials/.`,
      );
      return;
    }
  }
}

interface Runner {
  readonly data: CharDataset;
  readonly specs: readonly TrialSpec[];
  readonly todo: readonly number[];
  readonly settings: SweepSettings;
  readonly options: SweepOptions;
  readonly jobs: number;
  /** Indexes of the trials running now (left holding those abandoned at an interrupt). */
  readonly running: Set<number>;
  readonly record: (k: number, result: TrialResult) => Promise<void>;
  readonly notice: (message: string) => void;
}

/** One trial at a time in this thread. */
async function runHere(r: Runner): Promise<void> {
  const { options, specs } = r;
  for (const k of r.todo) {
    if (options.signal?.aborted) return;
    const spec = specs[k];
    options.onTrialStart?.(spec, k, specs.length, 0);
    r.running.add(k);
    const result = await runTrial(r.data, spec, r.settings, options.train ?? {}, {
      signal: options.signal,
      onStep: (info) => options.onStep?.(spec, info),
      onEval: (info) => options.onEval?.(spec, info),
      onNotice: r.notice,
    });
    if (!result) return; // interrupted: not a result; `running` keeps it as discarded
    r.running.delete(k);
    await r.record(k, result);
    await options.onTrial?.(result, false);
  }
}

/** `jobs` workers, each taking the next trial when it finishes one. */
async function runInWorkers(r: Runner): Promise<void> {
  const { options, specs, data, notice } = r;
  const queue = [...r.todo];
  const url = new URL("./_trial_worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  const init: WorkerInit = {
    type: "init",
    data: { name: data.name, vocab: data.tokenizer.vocab, train: data.train, val: data.val },
    backend: tf.getBackend() as BackendName,
    settings: r.settings,
    train: options.train ?? {},
  };
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onAbort = () => stop!();
  options.signal?.addEventListener("abort", onAbort);
  const slot = async (index: number): Promise<void> => {
    const worker = new Worker(url, { type: "module", name: `trial-worker-${index}` });
    workers.push(worker);
    const inbox: MessageEvent[] = [];
    let wake: (() => void) | undefined;
    worker.onmessage = (e) => {
      inbox.push(e);
      wake?.();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      inbox.push(new MessageEvent("message", { data: { type: "error", message: e.message } }));
      wake?.();
    };
    const next = async (): Promise<{ type: string; [k: string]: unknown }> => {
      while (inbox.length === 0) await new Promise<void>((res) => (wake = res));
      return inbox.shift()!.data;
    };
    worker.postMessage(init);
    const ready = await next();
    if (ready.type === "error") throw new Error(`trial worker ${index}: ${ready.message}`);
    while (queue.length > 0 && !options.signal?.aborted) {
      const k = queue.shift()!;
      const spec = specs[k];
      options.onTrialStart?.(spec, k, specs.length, index);
      r.running.add(k);
      worker.postMessage({ type: "run", spec });
      for (;;) {
        const msg = await next();
        if (msg.type === "step") await options.onStep?.(spec, msg.info as StepInfo);
        else if (msg.type === "eval") await options.onEval?.(spec, msg.info as EvalInfo);
        else if (msg.type === "notice") notice(msg.message as string);
        else if (msg.type === "error") {
          throw new Error(
            `Trial ${spec.activation} seed ${spec.seed} failed in worker ${index}: ${msg.message}`,
          );
        } else if (msg.type === "done") {
          const result = msg.result as TrialResult;
          r.running.delete(k);
          await r.record(k, result);
          await options.onTrial?.(result, false);
          break;
        }
      }
    }
  };
  try {
    const slots = Array.from({ length: r.jobs }, (_, i) => slot(i));
    await Promise.race([Promise.all(slots), stopped]);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    for (const w of workers) w.terminate();
  }
}

/**
 * Reads a finished (or partly finished) sweep folder without running or writing anything: its
 * settings, its trials in the folder's listing order (activations as listed, seeds ascending) and
 * their summary. This is how a notebook reads committed results; to re-run them, call `sweep()`
 * with the same settings and folder (it skips what is there). Warns through `onNotice` about
 * trials the folder was asked for that are missing.
 *
 * @example
 * ```ts ignore
 * import { readSweep } from "@actlab/actlab";
 * const { trials, settings } = await readSweep("notebooks/results/03_activation_sweep");
 * console.log(settings.iters, trials.length);
 * ```
 */
export async function readSweep(
  dir: string,
  options: Pick<SweepOptions, "baseline" | "targetLoss" | "onNotice"> = {},
): Promise<{ trials: TrialResult[]; summary: aq.ColumnTable; settings: SweepSettings }> {
  const listing = await readJson<SweepFile>(`${dir}/sweep.json`);
  if (!listing) {
    throw new Error(
      `${dir} is not a sweep folder (no sweep.json): give the --out folder of a sweep, or run ` +
        "the sweep first (deno task sweep --out DIR).",
    );
  }
  const { trials } = await mergeSweeps([dir], { onNotice: options.onNotice });
  const order = listing.activations ?? [...new Set(trials.map((t) => t.activation))];
  const rank = (t: TrialResult) => order.indexOf(t.activation);
  trials.sort((a, b) => rank(a) - rank(b) || a.seed - b.seed);
  const summary = summarizeTrials(trials, {
    activations: order.filter((a) => trials.some((t) => t.activation === a)),
    baseline: options.baseline,
    targetLoss: options.targetLoss,
  });
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  for (const o of seedOutliers(trials)) notice(seedOutlierNotice(o, dir));
  const { activations: _a, seeds: _s, shard: _h, ...settings } = listing;
  return { trials, summary, settings };
}

/**
 * Joins the trials of several sweep folders (shards of one sweep, run anywhere) and summarizes
 * them. All folders must hold the same settings (engine, device and threads included). With
 * `out`, writes the merged sweep there as a sweep folder of its own (a new folder, never one of
 * the inputs). Warns through `onNotice` when a shard of the sweep is absent or a trial the shards
 * were asked for is missing.
 *
 * @example
 * ```ts ignore
 * import { mergeSweeps } from "@actlab/actlab/experiments";
 * const { summary } = await mergeSweeps(["runs/shard0", "runs/shard1"], { out: "runs/all" });
 * ```
 */
export async function mergeSweeps(
  dirs: readonly string[],
  options: {
    baseline?: string;
    targetLoss?: number;
    out?: string;
    onNotice?: (message: string) => void;
  } = {},
): Promise<{ trials: TrialResult[]; summary: aq.ColumnTable; settings: SweepSettings }> {
  if (dirs.length === 0) throw new Error("sweep merge: give at least one sweep folder.");
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  if (options.out) await checkMergeTarget(options.out, dirs);
  const { settings, byKey, shards, expected } = await readShards(dirs);
  for (const [count, seen] of shards) {
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
    if (missing.length === 0) continue;
    const many = missing.length > 1;
    notice(
      `sweep merge: shard${many ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} ` +
        `of ${count} ${many ? "are" : "is"} not among the folders given: ` +
        `${many ? "their" : "its"} trials are absent from the merge.`,
    );
  }
  const absent = [...expected].filter((k) => !byKey.has(k));
  if (absent.length) {
    notice(
      `sweep merge: ${absent.length} trial(s) not finished in the shards: ${absent.join(", ")}.`,
    );
  }
  const trials = [...byKey.values()].sort((a, b) =>
    a.activation === b.activation ? a.seed - b.seed : a.activation < b.activation ? -1 : 1
  );
  const summary = summarizeTrials(trials, options);
  const { activations: _a, seeds: _s, shard: _h, ...plain } = settings;
  if (options.out) await writeMerged(options.out, plain, dirs, trials, summary);
  return { trials, summary, settings: plain };
}

/** Refuses a merge target that is one of the inputs or a folder with files in it. */
async function checkMergeTarget(out: string, dirs: readonly string[]): Promise<void> {
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

/**
 * The trials of the shard folders (one settings key for all), which shards of which count were
 * seen, and the trials the shards were asked for.
 */
async function readShards(dirs: readonly string[]) {
  let settings: SweepFile | undefined;
  const byKey = new Map<string, TrialResult>();
  const shards = new Map<number, Set<number>>();
  const expected = new Set<string>();
  for (const dir of dirs) {
    const s = await readJson<SweepFile>(`${dir}/sweep.json`);
    if (!s) {
      throw new Error(
        `${dir} is not a sweep folder (no sweep.json); pass the --out folders of the shards.`,
      );
    }
    if (settings && s.key !== settings.key) {
      throw new Error(
        `${dir} has other settings than ${dirs[0]}: they are different sweeps ` +
          `(${describe(s)} vs ${describe(settings)}).`,
      );
    }
    settings = s;
    if (s.shard) {
      const seen = shards.get(s.shard.count) ?? new Set<number>();
      shards.set(s.shard.count, seen.add(s.shard.index));
    }
    for (const t of s.activations && s.seeds ? sweepTrials(s.activations, s.seeds, s.shard) : []) {
      expected.add(`${t.activation} seed ${t.seed}`);
    }
    for await (const entry of Deno.readDir(`${dir}/trials`)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const t = (await readTrial(`${dir}/trials/${entry.name}`))!;
      if (t.settings === s.key) byKey.set(`${t.activation} seed ${t.seed}`, t);
    }
  }
  return { settings: settings!, byKey, shards, expected };
}

/** Writes a merged sweep as a sweep folder of its own. */
async function writeMerged(
  out: string,
  settings: SweepSettings,
  dirs: readonly string[],
  trials: readonly TrialResult[],
  summary: aq.ColumnTable,
): Promise<void> {
  await Deno.mkdir(`${out}/trials`, { recursive: true });
  await writeTextAtomic(
    `${out}/sweep.json`,
    JSON.stringify({ ...settings, mergedFrom: dirs }, null, 2),
  );
  for (const t of trials) await writeTextAtomic(trialFile(out, t), JSON.stringify(t));
  const lines = trials.map((t) => JSON.stringify(t)).join("\n");
  await writeTextAtomic(`${out}/trials.jsonl`, lines ? lines + "\n" : "");
  await writeTextAtomic(`${out}/summary.csv`, summary.toCSV());
}
