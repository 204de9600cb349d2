/**
 * The options of a sweep: what to train (activations, seeds, preset, overrides of the model and
 * training configs), where (engine, device, jobs, shard) and who is told (observers).
 *
 * @module
 */
import type { GptConfig, PresetName } from "../gpt/config.ts";
import type { EvalInfo, StepInfo } from "../gpt/step.ts";
import type { TrainOptions } from "../train/train.ts";
import type { TrialResult, TrialSpec } from "./record.ts";
import type { Shard } from "./shard.ts";

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

/** Model-config overrides a sweep applies over the preset's (the vocabulary comes from the data). */
export type SweepModelOverrides = Partial<Omit<GptConfig, "vocabSize" | "activation">>;

/** Options of `sweep()`. */
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
  /**
   * Where training steps run: `tfjs` (the active backend), `ort` (compiled ONNX Runtime), or an
   * engine registered with `registerTrainEngine()`.
   */
  readonly engine?: string;
  /**
   * Options of the engine: for `ort`, `provider` (default `auto`) and intra-op `threads` per
   * trial (default 1, so that any `jobs` gives the same numbers).
   */
  readonly engineOptions?: TrainOptions["engineOptions"];
  /** Other training overrides (learning rate, batch size, …). */
  readonly train?: SweepTrainOverrides;
  /** Model overrides (layers, width, heads, …), e.g. set by a size axis. */
  readonly model?: SweepModelOverrides;
  /**
   * Tokenize the data's text with this tokenizer (`char`, `byte`, `bpe:N`, `gpt2`) instead of the
   * data's own; a `tokenizer` axis sets it. Default: the data as given.
   */
  readonly tokenizer?: string;
  /** Train on this text file or folder instead of the data given (a `corpus` axis sets it). */
  readonly corpus?: string;
  /** The baseline of the paired comparisons. Default: `gelu` when swept, else the first. */
  readonly baseline?: string;
  /** Target validation loss for steps-to-target. Default: the worst mean final loss. */
  readonly targetLoss?: number;
  /** Folder for results; trials already there are skipped. Omitted: nothing is written. */
  readonly out?: string;
  /** Run only this shard of the trials. */
  readonly shard?: Shard;
  /**
   * Trials run side by side, each in its own worker: a count, or `"auto"` (the default): one per
   * core, at most one per trial. Activations or engines registered in this process (not built
   * in) cannot be sent to a worker: such sweeps run one trial at a time, and say so.
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

/** The options of a sweep that are callbacks or a signal: settings and cache keys leave them out. */
export type SweepObservers =
  | "onTrialStart"
  | "onStep"
  | "onEval"
  | "onTrial"
  | "onNotice"
  | "signal";

/**
 * The activations a sweep runs when none are given.
 *
 * @example
 * ```ts
 * import { DEFAULT_ACTIVATIONS } from "@actlab/actlab/sweep";
 * console.assert(DEFAULT_ACTIVATIONS.includes("gelu"));
 * ```
 */
export const DEFAULT_ACTIVATIONS: readonly string[] = Object.freeze([
  "relu",
  "gelu",
  "swiglu",
  "relu2",
]);

/**
 * The seed list of a sweep's `seeds` option: a count N means 1…N (default 2); a list is checked
 * (non-empty, integers, no repeats).
 *
 * @example
 * ```ts
 * import { seedList } from "@actlab/actlab/sweep";
 * seedList(3); // [1, 2, 3]
 * seedList([7, 9]); // [7, 9]
 * ```
 */
export function seedList(seeds: SweepOptions["seeds"]): number[] {
  if (typeof seeds === "number" && !(Number.isInteger(seeds) && seeds >= 1)) {
    throw new Error(`sweep: seeds must be a count ≥ 1 or a list of integers, got ${seeds}.`);
  }
  const list = typeof seeds === "number" || seeds === undefined
    ? Array.from({ length: (seeds as number | undefined) ?? 2 }, (_, i) => i + 1)
    : [...seeds];
  if (list.length === 0) throw new Error("sweep: no seeds (give seeds: N ≥ 1 or a list).");
  const bad = list.find((s) => !Number.isSafeInteger(s));
  if (bad !== undefined) throw new Error(`sweep: seed ${bad} is not an integer.`);
  if (new Set(list).size !== list.length) {
    throw new Error(`sweep: seeds ${list.join(", ")} repeat a seed; list each seed once.`);
  }
  return list;
}
