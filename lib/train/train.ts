/**
 * Training the mini-GPT: AdamW (or Muon with AdamW, the config's `optimizer`) with warmup + cosine
 * schedule and gradient clipping, periodic evaluation of train and val loss, history as arquero
 * tables, progress through callbacks.
 * Steps run on the engine the caller chooses: `"tfjs"` (eager, {@link Trainer}) or `"ort"` (the
 * compiled step on ONNX Runtime, {@link OrtTrainer}), or one registered with
 * {@link registerTrainEngine}.
 *
 * Randomness comes only from the config's seed (weights: `createGpt`; batches, evaluation batches
 * and dropout: here), so the same seed and backend give the same numbers. A run can be stopped
 * and continued: `onState` hands out its state (optimizer buffers, both generators' positions,
 * the step), a checkpoint keeps it with the weights, and `resume` goes on from it exactly as the
 * uninterrupted run would have.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import { type Batch, sampleBatch } from "../core/batches.ts";
import {
  bitsPerByte,
  countBytes,
  tokenByteLengths,
  wholeSplitText,
} from "../core/bits_per_byte.ts";
import type { Tokenizer } from "../core/tokenizer.ts";
import { interruptible } from "../core/interrupt.ts";
import { createRng, restoreRng, type Rng } from "../core/rng.ts";
import { median } from "../core/stats.ts";
import { type TrainConfig, trainConfig, type TrainConfigOptions } from "../gpt/config.ts";
import type { Gpt } from "../gpt/model.ts";
import type { TrainState } from "../gpt/optimizer.ts";
import { learningRateAt } from "../gpt/schedule.ts";
import {
  batchTensors,
  type EvalInfo,
  type StepInfo,
  type TrainEngine,
  type TrainEngineFactory,
  type TrainEngineOptions,
  Trainer,
  TrainingDivergedError,
} from "../gpt/step.ts";
import { OrtTrainer, type OrtTrainerOptions } from "../onnx/train.ts";
import { engineInfo } from "../engine/tfjs.ts";

/** Token ids of the two splits. */
export interface TrainData {
  /** Training ids. */
  readonly train: Int32Array;
  /** Validation ids. */
  readonly val: Int32Array;
  /** The ids' tokenizer: when present, every evaluation also gives bits per byte. */
  readonly tokenizer?: Pick<Tokenizer, "size" | "tokenBytes">;
}

/** What a registered training engine tells the sweeps that run on it. */
export interface TrainEngineInfo {
  /**
   * Where its steps run for these options (part of a sweep's settings, so trials of two devices
   * never mix). Default: the engine's name.
   */
  readonly device?: (options: TrainEngineOptions) => string | Promise<string>;
  /** Its version, recorded with each trial (default `unknown`). */
  readonly version?: string;
}

const trainEngines = new Map<string, { factory: TrainEngineFactory; info: TrainEngineInfo }>();

/**
 * Makes a training engine of your own available by name to {@link trainGpt} and to sweeps (the
 * built-in `"tfjs"` and `"ort"` cannot be replaced). `info` says where it runs and its version,
 * for the sweep's settings and each trial's provenance. Engines registered in a notebook live in
 * its process: a sweep on one runs its trials one at a time (workers cannot see it).
 *
 * @example
 * ```ts ignore
 * registerTrainEngine("mine", async (model, config) => new MyEngine(model, config), {
 *   device: () => "my-accelerator",
 *   version: "0.1",
 * });
 * ```
 */
export function registerTrainEngine(
  name: string,
  factory: TrainEngineFactory,
  info: TrainEngineInfo = {},
): void {
  if (name === "tfjs" || name === "ort") {
    throw new Error(`registerTrainEngine: "${name}" is built in; choose another name`);
  }
  if (!/^[a-z][a-z0-9_-]*$/i.test(name)) {
    throw new Error(
      `registerTrainEngine: "${name}" is not a usable name; use letters, digits, _ and -.`,
    );
  }
  trainEngines.set(name, { factory, info });
}

/**
 * The training engines {@link trainGpt} and sweeps accept: the built-in `tfjs` and `ort`, then
 * those registered in this process.
 *
 * @example
 * ```ts
 * import { trainEngineNames } from "@actlab/actlab/train";
 * trainEngineNames(); // ["tfjs", "ort"]
 * ```
 */
export function trainEngineNames(): string[] {
  return ["tfjs", "ort", ...trainEngines.keys()];
}

/**
 * What a registered engine said about itself ({@link registerTrainEngine}); undefined for the
 * built-in engines and unknown names.
 *
 * @example
 * ```ts
 * import { registeredTrainEngine } from "@actlab/actlab/train";
 * registeredTrainEngine("ort"); // undefined: built in
 * ```
 */
export function registeredTrainEngine(name: string): TrainEngineInfo | undefined {
  return trainEngines.get(name)?.info;
}

/** The error for an engine name nobody registered, listing the known ones. */
function unknownEngineError(name: string): Error {
  return new Error(
    `Unknown training engine "${name}": known are ${trainEngineNames().join(", ")}. ` +
      `Register your own with registerTrainEngine().`,
  );
}

/**
 * The training engine called `name` for `model`: `"tfjs"` is a {@link Trainer}, `"ort"` an
 * {@link OrtTrainer}; others must have been registered with {@link registerTrainEngine}.
 *
 * @example
 * ```ts ignore
 * const engine = await createTrainEngine("tfjs", model, trainConfig({ preset: "tiny" }));
 * ```
 */
export async function createTrainEngine(
  name: string,
  model: Gpt,
  config: TrainConfig,
  options: TrainEngineOptions = {},
): Promise<TrainEngine> {
  if (name === "tfjs") return new Trainer(model, config);
  if (name === "ort") {
    return await OrtTrainer.create(model, config, {
      provider: options.provider as OrtTrainerOptions["provider"],
      threads: options.threads,
    });
  }
  const entry = trainEngines.get(name);
  if (!entry) throw unknownEngineError(name);
  return await entry.factory(model, config, options);
}

/**
 * Mean loss of the model over `evalIters` random batches from each split (no dropout, no
 * gradients).
 *
 * @example
 * ```ts ignore
 * const opts = { batchSize: 12, evalIters: 20, rng: createRng(1) };
 * const { train, val } = await estimateLoss(model, data, opts);
 * ```
 */
export async function estimateLoss(
  model: Gpt,
  data: TrainData,
  options: {
    readonly batchSize: number;
    readonly evalIters: number;
    readonly rng: Rng;
    /** Loss of one batch on another engine (default: the model on tfjs). */
    readonly batchLoss?: (batch: Batch) => Promise<number>;
  },
): Promise<{ train: number; val: number }> {
  const shape = { batchSize: options.batchSize, blockSize: model.config.blockSize };
  const out = { train: 0, val: 0 };
  for (const split of ["train", "val"] as const) {
    let sum = 0;
    for (let i = 0; i < options.evalIters; i++) {
      const batch = sampleBatch(data[split], shape, options.rng);
      if (options.batchLoss) {
        sum += await options.batchLoss(batch);
        continue;
      }
      const loss = tf.tidy(() => {
        const { x, y } = batchTensors(batch);
        return model.loss(x, y);
      });
      sum += (await loss.data())[0];
      loss.dispose();
    }
    out[split] = sum / options.evalIters;
  }
  return out;
}

/**
 * The model's mean loss over a whole split: consecutive windows of `blockSize` tokens, each
 * target token predicted once (the last `(ids.length − 1) mod blockSize` tokens, which fill no
 * window, are left out), `windows` windows per forward pass. Deterministic: no sampling. Returns
 * the loss and the number of tokens behind it.
 *
 * @example
 * ```ts ignore
 * const { loss, tokens } = await splitLoss(model, data.val);
 * console.log(`${loss.toFixed(4)} nats/char over ${tokens} tokens`);
 * ```
 */
export async function splitLoss(
  model: Gpt,
  ids: Int32Array,
  options: {
    /** Windows per forward pass. Default 64. */
    readonly windows?: number;
    /** Loss of one batch on another engine (default: the model on tfjs). */
    readonly batchLoss?: (batch: Batch) => Promise<number>;
  } = {},
): Promise<{ loss: number; tokens: number }> {
  const t = model.config.blockSize;
  const total = Math.floor((ids.length - 1) / t);
  if (total < 1) {
    throw new RangeError(
      `splitLoss: ${ids.length} tokens fill no window of ${t} + 1; use a smaller blockSize`,
    );
  }
  const per = Math.max(1, options.windows ?? 64);
  let sum = 0;
  for (let first = 0; first < total; first += per) {
    const n = Math.min(per, total - first);
    const x = new Int32Array(n * t), y = new Int32Array(n * t);
    for (let w = 0; w < n; w++) {
      const start = (first + w) * t;
      x.set(ids.subarray(start, start + t), w * t);
      y.set(ids.subarray(start + 1, start + t + 1), w * t);
    }
    const batch: Batch = { x, y, batchSize: n, blockSize: t };
    let mean: number;
    if (options.batchLoss) mean = await options.batchLoss(batch);
    else {
      const loss = tf.tidy(() => {
        const { x: xt, y: yt } = batchTensors(batch);
        return model.loss(xt, yt);
      });
      mean = (await loss.data())[0];
      loss.dispose();
    }
    sum += mean * n; // each window holds t tokens: the token mean is the window-weighted mean
  }
  return { loss: sum / total, tokens: total * t };
}

/** Options of {@link trainGpt}: training config fields (over a preset) plus observers. */
export interface TrainOptions extends TrainConfigOptions {
  /** Called after every step. May return a promise (awaited). */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after every evaluation. May return a promise (awaited). */
  readonly onEval?: (info: EvalInfo) => void | Promise<void>;
  /** Stops training early (the result then has `stopped: "aborted"`). */
  readonly signal?: AbortSignal;
  /**
   * Where steps run: `"tfjs"` (default, the active tfjs backend) or `"ort"` (the compiled
   * training step on ONNX Runtime), or another registered {@link TrainEngine}.
   */
  readonly engine?: "tfjs" | "ort" | (string & Record<never, never>);
  /** Options of the engine (ONNX Runtime: `provider`, `threads`). */
  readonly engineOptions?: TrainEngineOptions;
  /** Warnings that are not errors (a loss far above its start). Default: `console.warn`. */
  readonly onNotice?: (message: string) => void;
  /**
   * The final evaluation's validation loss: `"sampled"` (default; `evalIters` random batches, as
   * nanoGPT and the PyTorch reference measure it) or `"split"`: the whole validation split, every
   * window of `blockSize` tokens once ({@link splitLoss}) — no sampling noise, so comparisons
   * between trials need fewer seeds. Intermediate evaluations stay sampled.
   */
  readonly finalEval?: "sampled" | "split";
  /**
   * Continue a stopped run from this state (as `onState` gave it, or a checkpoint stored it,
   * `lib/gpt/checkpoint.ts`); the model must hold the weights saved with it. The training config
   * must be the state's (it refuses a difference, naming it), and so must the data's size. The
   * run goes on from step `state.iter` with the optimizer's buffers and both batch generators
   * where they were: its steps and evaluations are those the uninterrupted run would have had,
   * bit for bit on the same engine and backend.
   */
  readonly resume?: TrainState;
  /**
   * Called with the run's state — the model's variables then hold its weights — every
   * `stateEvery` steps, when the signal stops the run, and when it completes: the state to
   * save with the weights so that `resume` continues from there. Taken between steps, before that
   * step's evaluation. May return a promise (awaited).
   */
  readonly onState?: (state: TrainState) => void | Promise<void>;
  /** How often `onState` is called, in steps (0 = only when stopped or done). Default 0. */
  readonly stateEvery?: number;
}

/** The outcome of {@link trainGpt}. */
export interface TrainResult {
  /** One row per evaluation: `iter`, `train_loss`, `val_loss`, `elapsed_s`. */
  readonly history: aq.ColumnTable;
  /** One row per step: `iter`, `loss`, `lr`, `grad_norm`, `ms`. */
  readonly steps: aq.ColumnTable;
  /** The evaluations as objects. */
  readonly evals: readonly EvalInfo[];
  /** The last evaluation. */
  readonly final: EvalInfo;
  /** The resolved training config. */
  readonly config: TrainConfig;
  /** `"completed"`, or `"aborted"` when the signal fired. */
  readonly stopped: "completed" | "aborted";
  /**
   * Set when an evaluation's training loss rose more than {@link UNSTABLE_RISE} × the first
   * evaluation's: training went the wrong way without a NaN (a learning rate far too high, an
   * activation that explodes). The run finished, but its numbers are suspect.
   */
  readonly unstable?: { readonly iter: number; readonly loss: number; readonly start: number };
}

/**
 * A run whose training loss at an evaluation exceeds this multiple of its first evaluation's is
 * flagged unstable (the loss of an untrained model is about ln V; training should only lower it).
 */
export const UNSTABLE_RISE = 1.2;

/**
 * Throws an error naming the split when a split of `data` is too short for one sequence of the
 * model's context (`blockSize + 1` tokens), before anything is allocated.
 *
 * @example
 * ```ts
 * import { checkSplits } from "./train.ts";
 * const ids = (n: number) => new Int32Array(n);
 * checkSplits({ train: ids(100), val: ids(20) }, 16); // fine
 * let message = "";
 * try { checkSplits({ train: ids(100), val: ids(20) }, 64); } catch (e) { message = String(e); }
 * console.assert(message.includes("validation split has 20 tokens"));
 * ```
 */
export function checkSplits(data: TrainData, blockSize: number): void {
  for (const [split, ids] of [["training", data.train], ["validation", data.val]] as const) {
    if (ids.length < blockSize + 1) {
      throw new RangeError(
        `The ${split} split has ${ids.length} tokens, fewer than the context length + 1 ` +
          `(${blockSize} + 1): use a smaller context (blockSize, --block-size ${
            Math.max(1, ids.length - 1)
          } or less) or more text.`,
      );
    }
  }
}

/** Arquero table of evaluations with the reference's snake_case columns. */
function historyTable(evals: readonly EvalInfo[]): aq.ColumnTable {
  return aq.table({
    iter: evals.map((e) => e.iter),
    train_loss: evals.map((e) => e.trainLoss),
    val_loss: evals.map((e) => e.valLoss),
    elapsed_s: evals.map((e) => e.elapsedS),
  });
}

function stepsTable(steps: readonly StepInfo[]): aq.ColumnTable {
  return aq.table({
    iter: steps.map((s) => s.iter),
    loss: steps.map((s) => s.loss),
    lr: steps.map((s) => s.lr),
    grad_norm: steps.map((s) => s.gradNorm),
    ms: steps.map((s) => s.ms),
  });
}

/**
 * Trains `model` on `data` for `iters` steps, evaluating at step 0, every `evalEvery` steps and at
 * the end (as the PyTorch reference). Batches come from a generator seeded with `seed`; evaluation
 * batches from a second, independent stream, so evaluation settings do not change the training
 * trajectory. A NaN or infinite loss throws {@link TrainingDivergedError}. In a notebook, Stop
 * (SIGINT to Deno's kernel) ends training at the next step or evaluation batch with an
 * `InterruptedError` ("interrupted; re-run the cell to resume", `lib/core/interrupt.ts`); the
 * engine is released and the kernel and its variables stay.
 *
 * @example
 * ```ts ignore
 * import { createGpt, gptConfig } from "../gpt/mod.ts";
 * import { trainGpt } from "./mod.ts";
 * import { syntheticDataset } from "../../datasets/mod.ts";
 * const ds = syntheticDataset();
 * const model = createGpt(gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size }));
 * const result = await trainGpt(model, ds, { preset: "tiny", onEval: (e) => console.log(e) });
 * console.log(result.history.objects());
 * ```
 */
export async function trainGpt(
  model: Gpt,
  data: TrainData,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const {
    onStep,
    onEval,
    signal,
    engine,
    engineOptions,
    onNotice,
    finalEval,
    resume,
    onState,
    stateEvery = 0,
    ...configOptions
  } = options;
  const config = trainConfig(configOptions);
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  if (resume) checkResume(resume, config, data);
  // A resumed run takes both generators where the stopped run left them.
  const batchRng = resume ? restoreRng(resume.batchRng) : createRng(config.seed);
  const evalRng = resume ? restoreRng(resume.evalRng) : createRng(config.seed).fork(1);
  const start = resume?.iter ?? 0;
  checkSplits(data, model.config.blockSize);
  const byteLengths = typeof data.tokenizer?.tokenBytes === "function"
    ? tokenByteLengths(data.tokenizer)
    : undefined;
  const valSplitText = byteLengths
    ? { tokens: data.val.length, bytes: countBytes(data.val, byteLengths) }
    : undefined;
  if (engineInfo() === undefined && (engine ?? "tfjs") === "tfjs") {
    (onNotice ?? console.warn)(
      `tfjs runs on its ${tf.getBackend()} backend because initEngine() was not called: call ` +
        `await initEngine() before building the model for a faster one (wasm, WebGPU).`,
    );
  }
  // Stop in a notebook (SIGINT in Deno's kernel) ends training between steps with an
  // InterruptedError, after the engine is released; the caller's `signal` stops it quietly.
  return await interruptible(async (scope) => {
    const trainer = await createTrainEngine(engine ?? "tfjs", model, config, engineOptions);
    const evals: EvalInfo[] = [];
    const steps: StepInfo[] = [];
    const watch = unstableWatch(model.activation.name, onNotice ?? console.warn);
    const diverged = (iter: number, loss: number) =>
      new TrainingDivergedError(
        { iter, activation: model.activation.name, loss, lr: learningRateAt(iter, config) },
        evals,
        steps,
      );
    /** Loss of one evaluation batch; Stop ends an evaluation between batches. */
    const batchLoss = async (batch: Batch): Promise<number> => {
      await scope.checkpoint();
      if (trainer.batchLoss) return await trainer.batchLoss(batch);
      const loss = tf.tidy(() => {
        const { x, y } = batchTensors(batch);
        return model.loss(x, y);
      });
      try {
        return (await loss.data())[0];
      } finally {
        loss.dispose();
      }
    };
    const t0 = performance.now();
    /** Evaluates after `iter` steps, records it and tells the observers. */
    const evaluateAt = async (iter: number, final: boolean) => {
      await trainer.syncModel?.(); // observers of onEval see the current weights in the model
      const l = await estimateLoss(model, data, {
        batchSize: config.batchSize,
        evalIters: config.evalIters,
        rng: evalRng,
        batchLoss,
      });
      const whole = final && finalEval === "split"
        ? await splitLoss(model, data.val, { batchLoss })
        : undefined;
      // Bits per byte: exact over the whole split's predicted tokens, else the sampled loss
      // scaled by the split's tokens per byte.
      const wholeText = whole && byteLengths
        ? wholeSplitText(data.val, byteLengths, model.config.blockSize)
        : undefined;
      const valText = wholeText ?? valSplitText;
      const info: EvalInfo = {
        iter,
        trainLoss: l.train,
        valLoss: whole?.loss ?? l.val,
        elapsedS: (performance.now() - t0) / 1000,
        ...(whole ? { valTokens: whole.tokens } : {}),
        ...(valText ? { valBitsPerByte: bitsPerByte(whole?.loss ?? l.val, valText) } : {}),
        ...(wholeText ? { valBytes: wholeText.bytes } : {}),
      };
      if (!Number.isFinite(info.trainLoss) || !Number.isFinite(info.valLoss)) {
        throw diverged(iter, info.trainLoss);
      }
      watch(info, evals[0]);
      evals.push(info);
      await onEval?.(info);
    };
    /** Tells `onState` the run's state after `iter` steps (weights synced into the model). */
    const giveState = async (iter: number) => {
      if (!trainer.optimizerState) {
        throw new Error(
          `trainGpt: the "${engine ?? "tfjs"}" engine cannot give its optimizer state ` +
            `(optimizerState), so its runs cannot be saved to resume`,
        );
      }
      await trainer.syncModel?.();
      await onState!({
        config,
        iter,
        optimizer: await trainer.optimizerState(),
        batchRng: batchRng.state(),
        evalRng: evalRng.state(),
        dataTokens: [data.train.length, data.val.length],
      });
    };
    let stopped: TrainResult["stopped"] = "completed";
    let reached = start;
    try {
      if (resume) {
        if (!trainer.loadOptimizerState) {
          throw new Error(
            `trainGpt: the "${engine ?? "tfjs"}" engine cannot take an optimizer state ` +
              `(loadOptimizerState), so it cannot resume a run`,
          );
        }
        await trainer.loadOptimizerState(resume.optimizer);
      }
      for (let iter = start; iter <= config.iters; iter++) {
        await scope.checkpoint();
        reached = iter;
        const stopping = scope.signal.aborted;
        const due = stopping || iter === config.iters ||
          (stateEvery > 0 && iter % stateEvery === 0);
        if (onState && iter > start && due) await giveState(iter);
        if (stopping) {
          stopped = "aborted";
          break;
        }
        const last = iter === config.iters;
        if (last || (config.evalEvery > 0 && iter % config.evalEvery === 0)) {
          await evaluateAt(iter, last);
        }
        if (last) break;
        let info: StepInfo;
        try {
          info = await trainer.step(sampleBatch(data.train, shape, batchRng), iter);
        } catch (err) {
          throw err instanceof TrainingDivergedError ? diverged(iter, err.loss) : err;
        }
        steps.push(info);
        await onStep?.(info);
      }
      // Stopped early: one more evaluation at the step reached, unless it was just evaluated.
      if (evals.length === 0 || (stopped === "aborted" && evals.at(-1)!.iter !== reached)) {
        await evaluateAt(reached, true);
      }
    } finally {
      await trainer.syncModel?.();
      await trainer.dispose();
    }
    return {
      history: historyTable(evals),
      steps: stepsTable(steps),
      evals,
      final: evals.at(-1)!,
      config,
      stopped,
      ...(watch.flagged ? { unstable: watch.flagged } : {}),
    };
  }, { signal });
}

/**
 * Refuses to resume from a state of another run: its training config must be `config` (every
 * field: the schedule, the optimizer, the seed), its data the same size, its step within the
 * schedule. Names each difference.
 */
function checkResume(state: TrainState, config: TrainConfig, data: TrainData): void {
  const problems: string[] = [];
  const saved = state.config as unknown as Record<string, unknown>;
  const now = config as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key])) {
      problems.push(`${key}: saved ${JSON.stringify(saved[key])}, now ${JSON.stringify(now[key])}`);
    }
  }
  const [train, val] = state.dataTokens;
  if (train !== data.train.length || val !== data.val.length) {
    problems.push(
      `data: saved ${train} + ${val} tokens, now ${data.train.length} + ${data.val.length}`,
    );
  }
  if (!Number.isSafeInteger(state.iter) || state.iter < 0 || state.iter > config.iters) {
    problems.push(`step ${state.iter} is not within the run's ${config.iters} steps`);
  }
  if (problems.length) {
    throw new Error(
      `trainGpt: cannot resume: the saved run differs from this one (${problems.join("; ")}). ` +
        `Resume with the saved training config and data (a checkpoint's config is in its ` +
        `metadata), or start a new run.`,
    );
  }
}

/**
 * Watches evaluations for a training loss far above its first evaluation's (see
 * {@link UNSTABLE_RISE}); warns once and keeps what it saw in `flagged`.
 */
function unstableWatch(activation: string, notice: (message: string) => void) {
  const watch = (info: EvalInfo, first: EvalInfo | undefined) => {
    const start = first?.trainLoss ?? info.trainLoss;
    if (watch.flagged || !(info.trainLoss > start * UNSTABLE_RISE)) return;
    watch.flagged = { iter: info.iter, loss: info.trainLoss, start };
    notice(
      `Training is going the wrong way: at step ${info.iter} the training loss is ` +
        `${info.trainLoss.toFixed(3)}, above ${UNSTABLE_RISE}× its start (${start.toFixed(3)}), ` +
        `with activation "${activation}". The run is flagged unstable; lower the learning rate ` +
        `or check the activation.`,
    );
  };
  watch.flagged = undefined as TrainResult["unstable"];
  return watch;
}

/** Result of {@link timeTrainingSteps}. */
export interface StepTiming {
  /** Median wall time of the timed steps. */
  readonly medianMsPerStep: number;
  /** Training tokens per second at the median: B·T / median. */
  readonly tokensPerS: number;
  /** Every timed step's milliseconds. */
  readonly msPerStep: readonly number[];
}

/**
 * Times training steps as the reference's `--time-only N`: `warmup` untimed steps (default 5),
 * then `steps` timed ones; reports the median. Trains the model while doing so.
 *
 * @example
 * ```ts ignore
 * const config = trainConfig({ preset: "nano" });
 * const t = await timeTrainingSteps(model, ds, { steps: 30, config });
 * console.log(t.medianMsPerStep, t.tokensPerS);
 * ```
 */
export async function timeTrainingSteps(
  model: Gpt,
  data: TrainData,
  options: {
    readonly steps: number;
    readonly warmup?: number;
    readonly config: TrainConfig;
    /** Where steps run (see {@link TrainOptions.engine}). Default `"tfjs"`. */
    readonly engine?: string;
    /** Options of the engine. */
    readonly engineOptions?: TrainEngineOptions;
  },
): Promise<StepTiming> {
  const { config } = options;
  const warmup = options.warmup ?? 5;
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  const rng = createRng(config.seed);
  const trainer = await createTrainEngine(
    options.engine ?? "tfjs",
    model,
    config,
    options.engineOptions,
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + options.steps; i++) {
      const info = await trainer.step(sampleBatch(data.train, shape, rng), i);
      if (i >= warmup) times.push(info.ms);
    }
  } finally {
    await trainer.syncModel?.();
    await trainer.dispose();
  }
  const mid = median(times);
  return {
    medianMsPerStep: mid,
    tokensPerS: (shape.batchSize * shape.blockSize * 1000) / mid,
    msPerStep: times,
  };
}
