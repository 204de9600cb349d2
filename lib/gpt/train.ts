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
  options: { readonly batchSize: number; readonly evalIters: number; readonly rng: Rng },
): Promise<{ train: number; val: number }> {
  const shape = { batchSize: options.batchSize, blockSize: model.config.blockSize };
  const out = { train: 0, val: 0 };
  for (const split of ["train", "val"] as const) {
    let sum = 0;
    for (let i = 0; i < options.evalIters; i++) {
      const batch = sampleBatch(data[split], shape, options.rng);
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
  const { onStep, onEval, signal, ...configOptions } = options;
  const config = trainConfig(configOptions);
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  const batchRng = createRng(config.seed);
  const evalRng = createRng(config.seed).fork(1);
  const trainer = new Trainer(model, config);
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
        const l = await estimateLoss(model, data, {
          batchSize: config.batchSize,
          evalIters: config.evalIters,
          rng: evalRng,
        });
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
  } finally {
    trainer.dispose();
  }
  if (evals.length === 0 || (stopped === "aborted" && evals.at(-1)!.iter !== steps.length)) {
    const l = await estimateLoss(model, data, {
      batchSize: config.batchSize,
      evalIters: config.evalIters,
      rng: evalRng,
    });
    const info = {
      iter: steps.length,
      trainLoss: l.train,
      valLoss: l.val,
      elapsedS: (performance.now() - t0) / 1000,
    };
    evals.push(info);
    await onEval?.(info);
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
  options: { readonly steps: number; readonly warmup?: number; readonly config: TrainConfig },
): Promise<StepTiming> {
  const { config } = options;
  const warmup = options.warmup ?? 5;
  const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
  const rng = createRng(config.seed);
  const trainer = new Trainer(model, config);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + options.steps; i++) {
      const info = await trainer.step(sampleBatch(data.train, shape, rng), i);
      if (i >= warmup) times.push(info.ms);
    }
  } finally {
    trainer.dispose();
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
