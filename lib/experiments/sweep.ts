/**
 * Sweeps over activations × seeds on the mini-GPT: each trial trains one model and is written to
 * disk as soon as it finishes (atomically: `trials/<activation>__seed<k>.json`, and all of the
 * shard's finished trials as `trials.jsonl`), a re-run skips finished trials, and trials split
 * deterministically into shards so a cluster's scheduler can run them in parallel.
 *
 * @module
 */
import * as aq from "arquero";
import type { CharDataset } from "../../datasets/char_dataset.ts";
import { sha256Hex } from "../core/hash.ts";
import { getActivation } from "../activations/registry.ts";
import { gptConfig, type PresetName } from "../gpt/config.ts";
import { createGpt } from "../gpt/model.ts";
import { type EvalInfo, type StepInfo, TrainingDivergedError } from "../gpt/step.ts";
import { trainGpt, type TrainOptions } from "../train/train.ts";
import { summarize, welchTTest } from "../core/stats.ts";
import { writeTextAtomic } from "../core/fs.ts";

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
  /** Where training steps run: `tfjs` (the active backend) or `ort` (compiled ONNX Runtime). */
  readonly engine?: "tfjs" | "ort";
  /** ONNX Runtime options (`provider`, `threads`) for the `ort` engine. */
  readonly engineOptions?: TrainOptions["engineOptions"];
  /** Other training overrides (learning rate, batch size, …). */
  readonly train?: Omit<TrainOptions, "onStep" | "onEval" | "signal" | "seed" | "iters" | "preset">;
  /** The baseline of the Welch tests. Default: `gelu` when swept, else the first activation. */
  readonly baseline?: string;
  /** Target validation loss for steps-to-target. Default: the worst mean final loss. */
  readonly targetLoss?: number;
  /** Folder for results; trials already there are skipped. Omitted: nothing is written. */
  readonly out?: string;
  /** Run only this shard of the trials. */
  readonly shard?: Shard;
  /** Called when a trial starts, before training. */
  readonly onTrialStart?: (trial: TrialSpec, index: number, total: number) => void;
  /** Called after each step of the running trial. */
  readonly onStep?: (trial: TrialSpec, info: StepInfo) => void | Promise<void>;
  /** Called after each evaluation of the running trial. */
  readonly onEval?: (trial: TrialSpec, info: EvalInfo) => void | Promise<void>;
  /** Called when a trial ends (or was found finished on disk). */
  readonly onTrial?: (result: TrialResult, skipped: boolean) => void | Promise<void>;
  /** Stops after the running trial. */
  readonly signal?: AbortSignal;
}

/** One trial: an activation and a seed. */
export interface TrialSpec {
  /** Activation name (canonical). */
  readonly activation: string;
  /** Seed of weights, batches and sampling. */
  readonly seed: number;
}

/** A finished trial. */
export interface TrialResult extends TrialSpec {
  /** `completed`, or `diverged` (NaN/∞ loss; `divergedAt` says when). */
  readonly status: "completed" | "diverged";
  /** Step at which a diverged trial's loss was not finite. */
  readonly divergedAt?: number;
  /** Final validation and training loss (NaN when diverged). */
  readonly finalValLoss: number;
  /** Final training loss (NaN when diverged). */
  readonly finalTrainLoss: number;
  /** Every evaluation: iter, trainLoss, valLoss, elapsedS. */
  readonly evals: readonly EvalInfo[];
  /** Median milliseconds per training step. */
  readonly msPerStep: number;
  /** Parameter count of the model. */
  readonly params: number;
  /** Wall time of the trial in seconds. */
  readonly wallS: number;
  /** The settings key of the sweep it belongs to. */
  readonly settings: string;
}

/** What {@link sweep} returns. */
export interface SweepResult {
  /** Every trial of this shard, finished now or earlier. */
  readonly trials: TrialResult[];
  /** Per activation: n, diverged, final val loss mean/std/95% CI, Welch p vs baseline, … */
  readonly summary: aq.ColumnTable;
  /** The settings every trial shares (preset, iters, …) and their key. */
  readonly settings: SweepSettings;
}

/** The settings that make trials comparable; trials of different settings never mix. */
export interface SweepSettings {
  /** Model and training preset. */
  readonly preset: PresetName;
  /** Training steps (null: the preset's). */
  readonly iters: number | null;
  /** Evaluation cadence (null: the preset's). */
  readonly evalEvery: number | null;
  /** Evaluation batches (null: the preset's). */
  readonly evalIters: number | null;
  /** Dataset name and token count. */
  readonly dataset: string;
  /** Other training overrides. */
  readonly train: Record<string, unknown>;
  /** The training engine (not part of the key: both engines give the same numbers to ~1e-6). */
  readonly engine?: string;
  /** A short hash of the above. */
  readonly key: string;
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
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `Cannot read ${path}: ${e instanceof Error ? e.message : e}. Delete it to rerun that trial.`,
    );
  }
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * The summary table of finished trials: per activation (in the order given), completed and
 * diverged counts, final validation loss mean, std and 95% Student-t CI, Welch's two-sided p
 * against the baseline, steps to reach the target loss (first evaluation at or below it; mean
 * over the trials that reached it, and how many did), median ms/step and parameters.
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
  const rows = names.map((name) => {
    const s = summarize(finals(name));
    const base = finals(baseline);
    let p = NaN;
    if (name !== baseline && s.n >= 2 && base.length >= 2) p = welchTTest(finals(name), base).p;
    const reach = done(name).map((t) => t.evals.find((e) => e.valLoss <= target)?.iter ?? NaN);
    return {
      activation: name,
      n: s.n,
      diverged: trials.filter((t) => t.activation === name && t.status === "diverged").length,
      val_loss_mean: s.mean,
      val_loss_std: s.std,
      ci95_low: s.ciLow,
      ci95_high: s.ciHigh,
      p_vs_baseline: p,
      baseline,
      target_loss: target,
      steps_to_target: summarize(reach.filter(Number.isFinite)).mean,
      reached_target: reach.filter(Number.isFinite).length,
      ms_per_step: median(done(name).map((t) => t.msPerStep)),
      params: done(name)[0]?.params ?? NaN,
    };
  });
  return aq.from(rows);
}

/**
 * Runs a sweep: trains the mini-GPT for every activation × seed (of this shard), writing each
 * trial to `out/trials/` when it finishes and skipping trials already there, then summarizes.
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
  const activations = (options.activations ?? ["relu", "gelu", "swiglu", "relu2"])
    .map((a) => getActivation(a).name); // validates every name before any training
  const seeds = typeof options.seeds === "number" || options.seeds === undefined
    ? Array.from({ length: (options.seeds as number | undefined) ?? 2 }, (_, i) => i + 1)
    : [...options.seeds];
  if (seeds.length === 0) throw new Error("sweep: no seeds (give seeds: N ≥ 1 or a list).");
  const preset = options.preset ?? "nano";
  const base = {
    preset,
    iters: options.iters ?? null,
    evalEvery: options.evalEvery ?? null,
    evalIters: options.evalIters ?? null,
    dataset: `${data.name}:${data.train.length + data.val.length}`,
    train: { ...(options.train ?? {}) },
  };
  const settings: SweepSettings = {
    ...base,
    engine: options.engine ?? "tfjs",
    key: (await sha256Hex(new TextEncoder().encode(JSON.stringify(base)))).slice(0, 12),
  };
  const out = options.out;
  if (out) {
    await Deno.mkdir(`${out}/trials`, { recursive: true });
    const existing = await readJson<SweepSettings>(`${out}/sweep.json`);
    if (existing && existing.key !== settings.key) {
      throw new Error(
        `${out} holds a sweep with other settings (${JSON.stringify(existing)}); ` +
          `use another --out folder, or delete ${out} to start over.`,
      );
    }
    if (!existing) await writeTextAtomic(`${out}/sweep.json`, JSON.stringify(settings, null, 2));
  }
  const specs = sweepTrials(activations, seeds, options.shard);
  const trials: TrialResult[] = [];
  for (const [k, spec] of specs.entries()) {
    if (options.signal?.aborted) break;
    const path = out ? trialFile(out, spec) : undefined;
    const found = path ? await readJson<TrialResult>(path) : undefined;
    if (found && found.settings === settings.key) {
      trials.push(found);
      await options.onTrial?.(found, true);
      continue;
    }
    options.onTrialStart?.(spec, k, specs.length);
    const result = await runTrial(data, spec, settings, options);
    if (path) await writeTextAtomic(path, JSON.stringify(result));
    trials.push(result);
    if (out) {
      // The shard's finished trials so far as JSON Lines, rewritten whole (atomically) each time.
      const lines = trials.map((t) => JSON.stringify(t)).join("\n") + "\n";
      await writeTextAtomic(`${out}/trials${shardSuffix(options.shard)}.jsonl`, lines);
    }
    await options.onTrial?.(result, false);
  }
  const summary = summarizeTrials(trials, {
    activations,
    baseline: options.baseline,
    targetLoss: options.targetLoss,
  });
  if (out) {
    await writeTextAtomic(`${out}/summary${shardSuffix(options.shard)}.csv`, summary.toCSV());
  }
  return { trials, summary, settings };
}

function shardSuffix(shard?: Shard): string {
  return shard ? `.shard${shard.index}of${shard.count}` : "";
}

async function runTrial(
  data: CharDataset,
  spec: TrialSpec,
  settings: SweepSettings,
  options: SweepOptions,
): Promise<TrialResult> {
  const config = gptConfig({
    preset: settings.preset,
    vocabSize: data.tokenizer.size,
    activation: spec.activation,
  });
  const model = createGpt(config, { seed: spec.seed, tokenizer: data.tokenizer });
  const t0 = performance.now();
  const stepMs: number[] = [];
  const common = {
    activation: spec.activation,
    seed: spec.seed,
    params: model.numParams,
    settings: settings.key,
  };
  try {
    const r = await trainGpt(model, data, {
      ...options.train,
      preset: settings.preset,
      seed: spec.seed,
      ...(settings.iters !== null ? { iters: settings.iters } : {}),
      ...(settings.evalEvery !== null ? { evalEvery: settings.evalEvery } : {}),
      ...(settings.evalIters !== null ? { evalIters: settings.evalIters } : {}),
      engine: options.engine ?? "tfjs",
      engineOptions: options.engineOptions,
      signal: options.signal,
      onStep: async (info) => {
        stepMs.push(info.ms);
        await options.onStep?.(spec, info);
      },
      onEval: (info) => options.onEval?.(spec, info),
    });
    return {
      ...common,
      status: "completed",
      finalValLoss: r.final.valLoss,
      finalTrainLoss: r.final.trainLoss,
      evals: r.evals,
      msPerStep: median(stepMs),
      wallS: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    if (!(e instanceof TrainingDivergedError)) throw e;
    return {
      ...common,
      status: "diverged",
      divergedAt: e.iter,
      finalValLoss: NaN,
      finalTrainLoss: NaN,
      evals: e.evals,
      msPerStep: median(stepMs),
      wallS: (performance.now() - t0) / 1000,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Joins the trials of several sweep folders (shards of one sweep, run anywhere) and summarizes
 * them. All folders must hold the same settings.
 *
 * @example
 * ```ts ignore
 * import { mergeSweeps } from "@actlab/actlab/experiments";
 * const { summary } = await mergeSweeps(["runs/shard0", "runs/shard1"]);
 * ```
 */
export async function mergeSweeps(
  dirs: readonly string[],
  options: { baseline?: string; targetLoss?: number } = {},
): Promise<{ trials: TrialResult[]; summary: aq.ColumnTable; settings: SweepSettings }> {
  if (dirs.length === 0) throw new Error("sweep merge: give at least one sweep folder.");
  let settings: SweepSettings | undefined;
  const byKey = new Map<string, TrialResult>();
  for (const dir of dirs) {
    const s = await readJson<SweepSettings>(`${dir}/sweep.json`);
    if (!s) {
      throw new Error(
        `${dir} is not a sweep folder (no sweep.json); pass the --out folders of the shards.`,
      );
    }
    if (settings && s.key !== settings.key) {
      throw new Error(`${dir} has other settings than ${dirs[0]}: they are different sweeps.`);
    }
    settings = s;
    for await (const entry of Deno.readDir(`${dir}/trials`)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const t = (await readJson<TrialResult>(`${dir}/trials/${entry.name}`))!;
      if (t.settings === s.key) byKey.set(`${t.activation}\u0000${t.seed}`, t);
    }
  }
  const trials = [...byKey.values()].sort((a, b) =>
    a.activation === b.activation ? a.seed - b.seed : a.activation < b.activation ? -1 : 1
  );
  return { trials, summary: summarizeTrials(trials, options), settings: settings! };
}
