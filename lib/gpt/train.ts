/**
 * Training the mini-GPT: AdamW with warmup + cosine schedule and gradient clipping, periodic
 * evaluation of train and val loss, history as arquero tables, progress through callbacks.
 *
 * Randomness comes only from the config's seed (weights: `createGpt`; batches, evaluation batches
 * and dropout: here), so the same seed and backend give the same numbers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import { type Batch, sampleBatch } from "../../datasets/batches.ts";
import { createRng, type Rng } from "../../datasets/rng.ts";
import { AdamW, globalNorm } from "./adamw.ts";
import { type TrainConfig, trainConfig, type TrainConfigOptions } from "./config.ts";
import type { Gpt } from "./model.ts";
import { learningRateAt } from "./schedule.ts";
import { tfjsOps } from "./tfjs_ops.ts";

/** Token ids of the two splits. */
export interface TrainData {
  /** Training ids. */
  readonly train: Int32Array;
  /** Validation ids. */
  readonly val: Int32Array;
}

/** What one optimizer step reports. */
export interface StepInfo {
  /** 0-based step index. */
  readonly iter: number;
  /** Training loss of the step's batch (before the update). */
  readonly loss: number;
  /** Learning rate used. */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Wall time of the step in milliseconds (forward, backward, update, read-back). */
  readonly ms: number;
}

/** What one evaluation reports (the PyTorch reference's JSON line, in camelCase). */
export interface EvalInfo {
  /** Steps taken before this evaluation. */
  readonly iter: number;
  /** Mean loss over `evalIters` random training batches. */
  readonly trainLoss: number;
  /** Mean loss over `evalIters` random validation batches. */
  readonly valLoss: number;
  /** Seconds since training started. */
  readonly elapsedS: number;
}

/**
 * Training stopped because the loss became NaN or infinite. Carries what happened before, so a
 * sweep can record the run as diverged.
 *
 * @example
 * ```ts ignore
 * try { await trainGpt(model, data, { learningRate: 10 }); }
 * catch (e) { if (e instanceof TrainingDivergedError) console.log(e.iter, e.activation); }
 * ```
 */
export class TrainingDivergedError extends Error {
  /** Step at which the loss was not finite. */
  readonly iter: number;
  /** The model's activation name. */
  readonly activation: string;
  /** The loss value (NaN or ±Infinity). */
  readonly loss: number;
  /** Evaluations before divergence. */
  readonly evals: readonly EvalInfo[];
  /** Steps before divergence. */
  readonly steps: readonly StepInfo[];

  /** Builds the error; the message names the step, the activation and the learning rate. */
  constructor(
    info: { iter: number; activation: string; loss: number; lr: number },
    evals: readonly EvalInfo[],
    steps: readonly StepInfo[],
  ) {
    super(
      `Training diverged at step ${info.iter}: the loss is ${info.loss} with activation ` +
        `"${info.activation}" (learning rate ${
          info.lr.toPrecision(3)
        }). Lower the learning rate, ` +
        `enable gradient clipping (gradClip), or check the activation's numerics.`,
    );
    this.name = "TrainingDivergedError";
    this.iter = info.iter;
    this.activation = info.activation;
    this.loss = info.loss;
    this.evals = evals;
    this.steps = steps;
  }
}

function batchTensors(batch: Batch): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.blockSize];
  return { x: tf.tensor2d(batch.x, shape, "int32"), y: tf.tensor2d(batch.y, shape, "int32") };
}

/**
 * Where training steps run, when not on tfjs: an engine created for a model and config runs
 * optimizer steps on its own copy of the weights (`step`), may evaluate the loss of a batch
 * there (`batchLoss`), and writes the weights back into the model's tfjs variables
 * (`syncModel`). {@link Trainer} is the tfjs engine. ONNX Runtime's (`lib/onnx/train.ts`)
 * registers itself as `"ort"` with {@link registerTrainEngine}.
 *
 * @example
 * ```ts ignore
 * const engine = await createTrainEngine("ort", model, trainConfig({ preset: "nano" }));
 * const info = await engine.step(batch, 0);
 * await engine.syncModel?.();
 * await engine.dispose();
 * ```
 */
export interface TrainEngine {
  /** One optimizer step on `batch` as step `iter` of the schedule. */
  step(batch: Batch, iter: number): Promise<StepInfo>;
  /** Mean loss of the engine's current weights on `batch`; absent: evaluate on tfjs. */
  batchLoss?(batch: Batch): Promise<number>;
  /** Writes the engine's weights into the model's variables; absent: they are already there. */
  syncModel?(): Promise<void>;
  /** Frees the engine's state (not the model). */
  dispose(): void | Promise<void>;
}

/** Engine-specific options (ONNX Runtime: execution provider and intra-op threads). */
export interface TrainEngineOptions {
  /** Execution provider, e.g. `auto`, `cpu`, `cuda` for ONNX Runtime. */
  readonly provider?: string;
  /** Intra-op threads (ONNX Runtime CPU). */
  readonly threads?: number;
}

/** Creates a {@link TrainEngine} for a model and training config. */
export type TrainEngineFactory = (
  model: Gpt,
  config: TrainConfig,
  options?: TrainEngineOptions,
) => Promise<TrainEngine>;

const trainEngines = new Map<string, TrainEngineFactory>();

/**
 * Makes a training engine available by name to {@link trainGpt} and `--engine`. Modules that
 * implement one call this when loaded (ONNX Runtime's registers `"ort"`).
 *
 * @example
 * ```ts ignore
 * registerTrainEngine("mine", async (model, config) => new MyEngine(model, config));
 * ```
 */
export function registerTrainEngine(name: string, factory: TrainEngineFactory): void {
  if (name === "tfjs") throw new Error(`registerTrainEngine: "tfjs" is built in`);
  trainEngines.set(name, factory);
}

/**
 * The training engine called `name` for `model`: `"tfjs"` is a {@link Trainer}; others must have
 * been registered (importing `@actlab/actlab` registers `"ort"`).
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
  const factory = trainEngines.get(name);
  if (!factory) {
    throw new Error(
      `Unknown training engine "${name}": known are tfjs${
        [...trainEngines.keys()].map((k) => `, ${k}`).join("")
      }. The ONNX Runtime engine "ort" registers itself when lib/onnx/mod.ts (or ` +
        `@actlab/actlab) is imported.`,
    );
  }
  return await factory(model, config, options);
}

/**
 * Applies optimizer steps to a model: forward, backward, gradient clipping, AdamW, with the
 * learning rate of the schedule. The building block of {@link trainGpt}; use it directly for
 * custom loops.
 *
 * @example
 * ```ts ignore
 * const trainer = new Trainer(model, trainConfig({ preset: "tiny" }));
 * const batch = sampleBatch(data.train, { batchSize: 4, blockSize: 16 }, rng);
 * const info = await trainer.step(batch, 0);
 * trainer.dispose();
 * ```
 */
export class Trainer {
  /** The model being trained. */
  readonly model: Gpt;
  /** The training config. */
  readonly config: TrainConfig;
  readonly #optimizer: AdamW;
  readonly #varToName: Map<string, string>;
  readonly #varList: tf.Variable[];

  /** A trainer with fresh AdamW state. */
  constructor(model: Gpt, config: TrainConfig) {
    this.model = model;
    this.config = config;
    this.#optimizer = new AdamW(
      model.specs.map((s) => ({
        name: s.name,
        variable: model.variables.get(s.name)!,
        decay: s.decay,
      })),
      {
        beta1: config.beta1,
        beta2: config.beta2,
        eps: config.adamEps,
        weightDecay: config.weightDecay,
      },
    );
    this.#varList = [...model.variables.values()];
    this.#varToName = new Map([...model.variables].map(([name, v]) => [v.name, name]));
  }

  /**
   * One optimizer step on `batch` as step `iter` of the schedule. Throws
   * {@link TrainingDivergedError} (without updating) when the loss is not finite.
   */
  async step(batch: Batch, iter: number): Promise<StepInfo> {
    const t0 = performance.now();
    const lr = learningRateAt(iter, this.config);
    const model = this.model;
    const dropoutActive = model.config.dropout > 0;
    const { loss, norm, grads } = tf.tidy(() => {
      const { x, y } = batchTensors(batch);
      const ops = tfjsOps({ training: dropoutActive, seed: this.config.seed * 7919 + iter * 131 });
      const { value, grads } = tf.variableGrads(() => model.loss(x, y, ops), this.#varList);
      const named = new Map<string, tf.Tensor>();
      for (const [varName, g] of Object.entries(grads)) named.set(this.#varToName.get(varName)!, g);
      // tidy keeps tensors of plain objects (not Maps)
      return { loss: value, norm: globalNorm(named), grads: Object.fromEntries(named) };
    });
    try {
      const [lossData, normData] = await Promise.all([loss.data(), norm.data()]);
      const lossValue = lossData[0];
      if (!Number.isFinite(lossValue)) {
        throw new TrainingDivergedError(
          { iter, activation: model.activation.name, loss: lossValue, lr },
          [],
          [],
        );
      }
      // clip_grad_norm_: scale every gradient by min(1, clip / (norm + 1e-6)), inside the update
      const clip = this.config.gradClip;
      const gradScale = clip > 0 ? Math.min(1, clip / (normData[0] + 1e-6)) : 1;
      this.#optimizer.step(new Map(Object.entries(grads)), lr, { gradScale });
      return { iter, loss: lossValue, lr, gradNorm: normData[0], ms: performance.now() - t0 };
    } finally {
      tf.dispose([loss, norm, ...Object.values(grads)]);
    }
  }

  /** Frees the optimizer state (not the model). */
  dispose(): void {
    this.#optimizer.dispose();
  }
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
 * trajectory. A NaN or infinite loss throws {@link TrainingDivergedError}.
 *
 * @example
 * ```ts ignore
 * import { createGpt, gptConfig, trainGpt } from "./mod.ts";
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
  const { onStep, onEval, signal, engine, engineOptions, ...configOptions } = options;
  const config = trainConfig(configOptions);
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  const batchRng = createRng(config.seed);
  const evalRng = createRng(config.seed).fork(1);
  const trainer = await createTrainEngine(engine ?? "tfjs", model, config, engineOptions);
  const evaluate = async () => {
    await trainer.syncModel?.(); // observers of onEval see the current weights in the model
    return await estimateLoss(model, data, {
      batchSize: config.batchSize,
      evalIters: config.evalIters,
      rng: evalRng,
      batchLoss: trainer.batchLoss?.bind(trainer),
    });
  };
  const evals: EvalInfo[] = [];
  const steps: StepInfo[] = [];
  const t0 = performance.now();
  let stopped: TrainResult["stopped"] = "completed";
  try {
    for (let iter = 0; iter <= config.iters; iter++) {
      if (signal?.aborted) {
        stopped = "aborted";
        break;
      }
      const evalNow = iter === config.iters ||
        (config.evalEvery > 0 && iter % config.evalEvery === 0);
      if (evalNow) {
        const l = await evaluate();
        const info = {
          iter,
          trainLoss: l.train,
          valLoss: l.val,
          elapsedS: (performance.now() - t0) / 1000,
        };
        if (!Number.isFinite(l.train) || !Number.isFinite(l.val)) {
          throw new TrainingDivergedError(
            {
              iter,
              activation: model.activation.name,
              loss: l.train,
              lr: learningRateAt(iter, config),
            },
            evals,
            steps,
          );
        }
        evals.push(info);
        await onEval?.(info);
      }
      if (iter === config.iters) break;
      let info: StepInfo;
      try {
        info = await trainer.step(sampleBatch(data.train, shape, batchRng), iter);
      } catch (err) {
        if (err instanceof TrainingDivergedError) {
          throw new TrainingDivergedError(
            { iter, activation: err.activation, loss: err.loss, lr: learningRateAt(iter, config) },
            evals,
            steps,
          );
        }
        throw err;
      }
      steps.push(info);
      await onStep?.(info);
    }
    if (evals.length === 0 || (stopped === "aborted" && evals.at(-1)!.iter !== steps.length)) {
      const l = await evaluate();
      const info = {
        iter: steps.length,
        trainLoss: l.train,
        valLoss: l.val,
        elapsedS: (performance.now() - t0) / 1000,
      };
      evals.push(info);
      await onEval?.(info);
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
  };
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
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    medianMsPerStep: median,
    tokensPerS: (shape.batchSize * shape.blockSize * 1000) / median,
    msPerStep: times,
  };
}
