/**
 * One trial of a sweep: train one model for an activation and a seed, and the record of it. Runs
 * in the sweep's thread (`--jobs 1`) or in a worker (`_trial_worker.ts`), with the same code, so
 * the numbers are the same either way.
 *
 * @module
 */
import type { CharDataset } from "../../datasets/char_dataset.ts";
import { gptConfig, type PresetName, trainConfig } from "../gpt/config.ts";
import { trainingStepFlops } from "../gpt/flops.ts";
import { createGpt } from "../gpt/model.ts";
import { type ActivationParamSnapshot, readActivationParams } from "../gpt/activation_params.ts";
import { type EvalInfo, type StepInfo, TrainingDivergedError } from "../gpt/step.ts";
import { trainGpt, type TrainOptions } from "../train/train.ts";

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
  /** Median milliseconds per training step of this trial. */
  readonly msPerStep: number;
  /** Parameter count of the model. */
  readonly params: number;
  /** Wall time of the trial in seconds. */
  readonly wallS: number;
  /** The settings key of the sweep it belongs to. */
  readonly settings: string;
  /**
   * Tokens the final validation loss was measured on: the whole split (every token predicted
   * once) when the sweep evaluates it whole; absent for trials written before that existed.
   */
  readonly evalTokens?: number;
  /**
   * Training FLOPs of one step (forward and backward matrix products, `trainingStepFlops`); absent
   * for trials written before it was recorded (`trialFlopsPerStep` computes it from the settings).
   */
  readonly flopsPerStep?: number;
  /** Set when the training loss rose far above its start without a NaN (see `trainGpt`). */
  readonly unstable?: { readonly iter: number; readonly loss: number; readonly start: number };
  /**
   * A trainable activation's parameters per layer at each evaluation (scalars as values,
   * per-channel ones summarised); absent for fixed activations and older records.
   * `activationParamRows()` turns them into rows for a plot.
   */
  readonly activationParams?: readonly ActivationParamSnapshot[];
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
  /** The training engine: `tfjs` or `ort`. */
  readonly engine: string;
  /** Where it runs: the tfjs backend (`wasm`, `webgpu`, …) or ONNX Runtime's provider. */
  readonly device: string;
  /** ONNX Runtime intra-op threads per trial (null on tfjs). */
  readonly threads: number | null;
  /** The final validation loss: the whole split (`split`) or `evalIters` batches (`sampled`). */
  readonly finalEval: "split" | "sampled";
  /**
   * Fingerprints of activations registered in the process (not built in): their float64
   * reference on a fixed grid, so a redefined activation never reuses the old one's trials.
   * Absent when every activation is built in.
   */
  readonly custom?: Readonly<Record<string, string>>;
  /** A short hash of all of the above: trials with different keys are never mixed. */
  readonly key: string;
}

/** What a running trial reports, in order: steps and evaluations. */
export interface TrialHooks {
  /** After each step. */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** After each evaluation. */
  readonly onEval?: (info: EvalInfo) => void | Promise<void>;
  /** Stops the trial; it is then not a result (`runTrial` returns `undefined`). */
  readonly signal?: AbortSignal;
  /** Warnings of the training run (an unstable loss). */
  readonly onNotice?: (message: string) => void;
}

/** The median of a sample (the mean of the two middle values when the count is even). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Trains one model for `spec` under `settings`. Returns the trial's record, `diverged` when the
 * loss became NaN or infinite, or `undefined` when `hooks.signal` stopped it: an interrupted trial
 * is never a result.
 */
export async function runTrial(
  data: CharDataset,
  spec: TrialSpec,
  settings: SweepSettings,
  train: SweepTrainOverrides,
  hooks: TrialHooks = {},
): Promise<TrialResult | undefined> {
  const config = gptConfig({
    preset: settings.preset,
    vocabSize: data.tokenizer.size,
    activation: spec.activation,
  });
  const model = createGpt(config, { seed: spec.seed, tokenizer: data.tokenizer });
  const t0 = performance.now();
  const stepMs: number[] = [];
  const actParams: ActivationParamSnapshot[] = [];
  const trainable = model.activation.kind === "unary" && !!model.activation.trainable?.length;
  const common = {
    activation: spec.activation,
    seed: spec.seed,
    params: model.numParams,
    settings: settings.key,
    flopsPerStep: trainingStepFlops(config, {
      batchSize: train.batchSize ?? trainConfig({ preset: settings.preset }).batchSize,
      kind: model.activation.kind,
    }).total,
  };
  try {
    const r = await trainGpt(model, data, {
      ...train,
      preset: settings.preset,
      seed: spec.seed,
      ...(settings.iters !== null ? { iters: settings.iters } : {}),
      ...(settings.evalEvery !== null ? { evalEvery: settings.evalEvery } : {}),
      ...(settings.evalIters !== null ? { evalIters: settings.evalIters } : {}),
      engine: settings.engine,
      engineOptions: settings.engine === "ort"
        ? { provider: settings.device, threads: settings.threads ?? undefined }
        : undefined,
      signal: hooks.signal,
      finalEval: settings.finalEval,
      onStep: async (info) => {
        stepMs.push(info.ms);
        await hooks.onStep?.(info);
      },
      onEval: async (info) => {
        if (trainable) {
          actParams.push({ iter: info.iter, layers: await readActivationParams(model) });
        }
        await hooks.onEval?.(info);
      },
      onNotice: (m) =>
        (hooks.onNotice ?? console.warn)(`${spec.activation} seed ${spec.seed}: ${m}`),
    });
    if (r.stopped !== "completed") return undefined;
    return {
      ...common,
      status: "completed",
      finalValLoss: r.final.valLoss,
      finalTrainLoss: r.final.trainLoss,
      evals: r.evals,
      msPerStep: median(stepMs),
      wallS: (performance.now() - t0) / 1000,
      ...(r.final.valTokens !== undefined ? { evalTokens: r.final.valTokens } : {}),
      ...(r.unstable ? { unstable: r.unstable } : {}),
      ...(trainable ? { activationParams: actParams } : {}),
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
      ...(trainable ? { activationParams: actParams } : {}),
    };
  } finally {
    model.dispose();
  }
}

/** Training overrides a sweep passes to every trial (plain data, so workers receive them). */
export type SweepTrainOverrides = Omit<
  TrainOptions,
  | "onStep"
  | "onEval"
  | "onNotice"
  | "signal"
  | "seed"
  | "iters"
  | "preset"
  | "engine"
  | "engineOptions"
  | "finalEval"
>;

const REQUIRED: ReadonlyArray<[keyof TrialResult, string]> = [
  ["activation", "string"],
  ["seed", "number"],
  ["status", "string"],
  ["evals", "object"],
  ["msPerStep", "number"],
  ["params", "number"],
  ["wallS", "number"],
  ["settings", "string"],
];

/**
 * Checks a trial record read from disk (a `trials/*.json` file or a `trials.jsonl` line) and
 * returns it with JSON's `null` losses back as NaN; throws an error naming `where` and the first
 * missing or mistyped field.
 */
export function checkTrialRecord(value: unknown, where: string): TrialResult {
  const fail = (what: string): never => {
    throw new Error(
      `${where}: not a complete trial record (${what}). Delete it to rerun that trial.`,
    );
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("not an object");
  const o = value as Record<string, unknown>;
  for (const [key, type] of REQUIRED) {
    if (!(key in o)) fail(`missing "${key}"`);
    if (typeof o[key] !== type && !(type === "number" && o[key] === null)) {
      fail(`"${key}" is ${o[key] === null ? "null" : typeof o[key]}, expected ${type}`);
    }
  }
  if (o.status !== "completed" && o.status !== "diverged") fail(`unknown status "${o.status}"`);
  const loss = (v: unknown) => (typeof v === "number" ? v : NaN);
  if (o.status === "completed" && typeof o.finalValLoss !== "number") {
    fail(`a completed trial without a finite "finalValLoss"`);
  }
  if (!Array.isArray(o.evals) || (o.status === "completed" && o.evals.length === 0)) {
    fail(`"evals" is empty`);
  }
  return {
    ...(o as unknown as TrialResult),
    finalValLoss: loss(o.finalValLoss),
    finalTrainLoss: loss(o.finalTrainLoss),
    msPerStep: loss(o.msPerStep),
  };
}
