/**
 * The records a study keeps: a trial (one activation, one seed, trained once), the settings that
 * make trials comparable, and what produced a trial (its provenance). {@link checkTrialRecord} is
 * the one check of a record read from disk: every field present and typed, every value in its
 * physical range, and the record consistent with itself.
 *
 * @module
 */
import type { ActivationParamSnapshot } from "../gpt/activation_params.ts";
import type { PresetName } from "../gpt/config.ts";
import type { EvalInfo } from "../gpt/step.ts";

/** One trial: an activation and a seed. */
export interface TrialSpec {
  /** Activation name (canonical). */
  readonly activation: string;
  /** Seed of weights, batches and sampling. */
  readonly seed: number;
}

/**
 * A fingerprint of the training step's numerics: a few training steps of a small fixed model
 * with the trial's activation, on the trial's engine and device. Equal hashes: the step computes
 * bit for bit what it computed then; equal values within float32 rounding: the same math,
 * rounded differently (another CPU's kernels, another summation order).
 */
export interface NumericsFingerprint {
  /** 12 hex digits of the SHA-256 of `values` as float64. */
  readonly hash: string;
  /** Step losses, gradient norms and the final losses of the probe run. */
  readonly values: readonly number[];
}

/** What produced a trial: the code, the engine, the machine. */
export interface Provenance {
  /** actlab's version (deno.json). */
  readonly actlab: string;
  /** The git commit of the checkout that ran it (12 hex digits, `+dirty` with local changes). */
  readonly commit?: string;
  /** The training engine (`ort`, `tfjs`, or a registered one). */
  readonly engine: string;
  /** The engine's version: onnxruntime-node's or tfjs-core's. */
  readonly engineVersion: string;
  /** Where steps ran: the tfjs backend or ONNX Runtime's provider. */
  readonly device: string;
  /** Deno's version. */
  readonly deno: string;
  /** The CPU model (kernels may round differently on another). */
  readonly cpu?: string;
  /** The training step's numerics fingerprint for this activation (see {@link NumericsFingerprint}). */
  readonly numerics?: NumericsFingerprint;
}

/** A finished trial. */
export interface TrialResult extends TrialSpec {
  /** `completed`, or `diverged` (NaN/∞ loss; `divergedAt` says when). */
  readonly status: "completed" | "diverged";
  /** Step at which a diverged trial's loss was not finite. */
  readonly divergedAt?: number;
  /** Final validation loss, nats per token (NaN when diverged): the last evaluation's. */
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
  /** What produced the trial; absent for trials written before it was recorded. */
  readonly provenance?: Provenance;
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
  /** Training-config overrides (learning rate, batch size, …) over the preset's. */
  readonly train: Readonly<Record<string, unknown>>;
  /** The training engine: `tfjs`, `ort`, or a registered one. */
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
  /** The tokenizer when not the dataset's characters: its spec and hash (`bpe:2048@9c1e…`). */
  readonly tokenizer?: string;
  /**
   * Model-config overrides over the preset's (layers, width, heads, …), as an axis such as
   * `n_layer` or `depth` sets them. Absent when the preset's model is used.
   */
  readonly model?: Readonly<Record<string, unknown>>;
  /** A short hash of all of the above: trials with different keys are never mixed. */
  readonly key: string;
}

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

/** A value that can be neither a loss nor a count: the reason, or undefined when it is fine. */
function badLoss(v: unknown, finite: boolean): string | undefined {
  if (typeof v !== "number") return `${v === null ? "null" : typeof v}, expected a number`;
  if (finite && !Number.isFinite(v)) return `${v}, expected a finite number`;
  if (v < 0) return `${v}: a cross-entropy is never negative`;
  return undefined;
}

/**
 * Checks a trial record read from disk (a `trials/*.json` file or a `trials.jsonl` line) and
 * returns it with JSON's `null` losses back as NaN; throws an error that names `where`, the first
 * problem and the way out. Checked: every required field present and typed; `status` known; the
 * seed an integer; losses ≥ 0 and finite where the trial completed; `params` a positive integer;
 * times and FLOPs ≥ 0; evaluations in step order; and a completed trial's final losses equal to its
 * last evaluation's (a record that contradicts itself was edited or copied together).
 *
 * @example
 * ```ts
 * import { checkTrialRecord } from "@actlab/actlab/sweep";
 * const evals = [{ iter: 0, trainLoss: 4.2, valLoss: 4.2, elapsedS: 0 }];
 * const record = {
 *   activation: "relu", seed: 1, status: "completed", finalValLoss: 4.2, finalTrainLoss: 4.2,
 *   evals, msPerStep: 3, params: 1000, wallS: 1, settings: "abc",
 * };
 * checkTrialRecord(record, "relu__seed1.json").finalValLoss; // 4.2
 * let message = "";
 * try {
 *   checkTrialRecord({ ...record, finalValLoss: -1 }, "relu__seed1.json");
 * } catch (e) {
 *   message = (e as Error).message;
 * }
 * console.assert(message.includes("never negative"));
 * ```
 */
export function checkTrialRecord(value: unknown, where: string): TrialResult {
  const fail = (what: string): never => {
    throw new Error(
      `${where}: not a valid trial record (${what}). Delete it to rerun that trial.`,
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
  if (o.activation === "") fail(`"activation" is empty`);
  if (!Number.isSafeInteger(o.seed)) fail(`"seed" is ${o.seed}, expected an integer`);
  if (!Number.isSafeInteger(o.params) || (o.params as number) < 1) {
    fail(`"params" is ${o.params}, expected a positive whole number`);
  }
  for (const key of ["msPerStep", "wallS", "flopsPerStep", "evalTokens"] as const) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || v < 0) fail(`"${key}" is ${v}, expected a number ≥ 0`);
  }
  const completed = o.status === "completed";
  if (!Array.isArray(o.evals) || (completed && o.evals.length === 0)) fail(`"evals" is empty`);
  const evals = o.evals as Record<string, unknown>[];
  let lastIter = -1;
  for (const [i, e] of evals.entries()) {
    if (typeof e !== "object" || e === null) fail(`evals[${i}] is not an object`);
    if (!Number.isSafeInteger(e.iter) || (e.iter as number) <= lastIter) {
      fail(`evals[${i}].iter is ${e.iter}: evaluations must be at increasing whole steps`);
    }
    lastIter = e.iter as number;
    for (const key of ["trainLoss", "valLoss"]) {
      const bad = badLoss(e[key], true);
      if (bad) fail(`evals[${i}].${key} is ${bad}`);
    }
  }
  if (completed) {
    for (const key of ["finalValLoss", "finalTrainLoss"]) {
      const bad = badLoss(o[key], true);
      if (bad) fail(`"${key}" is ${bad} in a completed trial`);
    }
    const last = evals[evals.length - 1];
    if (last.valLoss !== o.finalValLoss || last.trainLoss !== o.finalTrainLoss) {
      fail(
        `"finalValLoss" ${o.finalValLoss} and "finalTrainLoss" ${o.finalTrainLoss} differ from ` +
          `the last evaluation's (${last.valLoss}, ${last.trainLoss}): the record contradicts itself`,
      );
    }
  } else {
    for (const key of ["finalValLoss", "finalTrainLoss"]) {
      if (o[key] !== null && o[key] !== undefined && !Number.isNaN(o[key])) {
        fail(`"${key}" is ${o[key]} in a diverged trial, expected null`);
      }
    }
    if (o.divergedAt !== undefined && !Number.isSafeInteger(o.divergedAt)) {
      fail(`"divergedAt" is ${o.divergedAt}, expected a step`);
    }
  }
  const loss = (v: unknown) => (typeof v === "number" ? v : NaN);
  return {
    ...(o as unknown as TrialResult),
    finalValLoss: loss(o.finalValLoss),
    finalTrainLoss: loss(o.finalTrainLoss),
    msPerStep: loss(o.msPerStep),
  };
}
