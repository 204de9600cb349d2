/**
 * One optimizer step of the mini-GPT, and the interface every training engine implements.
 *
 * {@link Trainer} is the eager engine: forward, backward, clipping and AdamW (or Muon with AdamW,
 * `muon.ts`) on the active tfjs backend. The compiled engine (`lib/onnx/train.ts`) implements the same {@link TrainEngine}
 * interface; `lib/train/` drives either one with the schedule, batches and evaluation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../core/batches.ts";
import { AdamW, globalNorm, gradClipScale } from "./adamw.ts";
import { optimizerSettings, type TrainConfig } from "./config.ts";
import type { Gpt } from "./model.ts";
import { Muon } from "./muon.ts";
import { isMuonParam, type OptimizerState } from "./optimizer.ts";
import { learningRateAt } from "./schedule.ts";
import { tfjsOps } from "./tfjs_ops.ts";

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
  /** Mean loss over `evalIters` random validation batches (or the whole split: `valTokens`). */
  readonly valLoss: number;
  /** Seconds since training started. */
  readonly elapsedS: number;
  /**
   * Set when `valLoss` is the loss over the whole validation split (the final evaluation with
   * `finalEval: "split"`): the number of tokens it was measured on.
   */
  readonly valTokens?: number;
  /**
   * `valLoss` in bits per UTF-8 byte of the validation text (`loss × tokens / bytes / ln 2`), set
   * when the data carries its tokenizer. Exact over the tokens predicted for the whole split
   * (`valTokens`, `valBytes`); for sampled batches, scaled by the whole split's tokens per byte.
   */
  readonly valBitsPerByte?: number;
  /** With `valTokens`: the UTF-8 bytes of exactly those predicted tokens. */
  readonly valBytes?: number;
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

/** The batch as int32 tensors `[B, T]` (inputs and targets). */
export function batchTensors(batch: Batch): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.blockSize];
  return { x: tf.tensor2d(batch.x, shape, "int32"), y: tf.tensor2d(batch.y, shape, "int32") };
}

/**
 * Where training steps run, when not on tfjs: an engine created for a model and config runs
 * optimizer steps on its own copy of the weights (`step`), may evaluate the loss of a batch
 * there (`batchLoss`), and writes the weights back into the model's tfjs variables
 * (`syncModel`). {@link Trainer} is the tfjs engine. ONNX Runtime's (`lib/onnx/train.ts`)
 * is the compiled one; `lib/train/` chooses between them by name.
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
  /**
   * The optimizer's state (step count and buffers, host copies), for a checkpoint that a stopped
   * run continues from; absent: the engine's runs cannot be resumed.
   */
  optimizerState?(): Promise<OptimizerState>;
  /** Takes over a saved optimizer state, before the first step of a resumed run. */
  loadOptimizerState?(state: OptimizerState): Promise<void>;
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

/** The optimizers {@link gptOptimizer} makes: AdamW, or Muon with AdamW beside it. */
export type GptOptimizer = AdamW | Muon;

/**
 * A fresh optimizer over every parameter of the model, as the config's `optimizer` says. AdamW
 * (the default): every parameter, each with the weight-decay flag of its spec (matrices decay;
 * LayerNorm gains and the trainable activation parameters that ask for none do not), with the
 * config's betas, epsilon and weight decay. Muon: the blocks' 2-D weights ({@link isMuonParam})
 * with the config's Muon momentum, learning-rate ratio and weight decay, and that AdamW for the
 * rest.
 *
 * @example
 * ```ts
 * import { initEngine } from "@actlab/actlab";
 * import { createGpt, gptConfig, gptOptimizer, trainConfig } from "@actlab/actlab/gpt";
 * await initEngine({ backend: "cpu" });
 * const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 65 }));
 * const optimizer = gptOptimizer(model, trainConfig({ preset: "tiny" }));
 * console.assert(optimizer !== undefined);
 * model.dispose();
 * ```
 */
export function gptOptimizer(model: Gpt, config: TrainConfig): GptOptimizer {
  const params = model.specs.map((s) => ({
    name: s.name,
    variable: model.variables.get(s.name)!,
    decay: s.decay,
  }));
  const adamw = {
    beta1: config.beta1,
    beta2: config.beta2,
    eps: config.adamEps,
    weightDecay: config.weightDecay,
  };
  const settings = optimizerSettings(config);
  if (settings.optimizer === "adamw") return new AdamW(params, adamw);
  return new Muon(
    params.map((p, i) => ({ ...p, muon: isMuonParam(model.specs[i]) })),
    {
      momentum: settings.muonMomentum,
      lrRatio: settings.muonLrRatio,
      weightDecay: settings.muonWeightDecay,
      adamw,
    },
  );
}

/**
 * Applies optimizer steps to a model: forward, backward, gradient clipping, AdamW or Muon (the
 * config's `optimizer`), with the learning rate of the schedule. The building block of {@link trainGpt}; use it directly for
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
  readonly #optimizer: GptOptimizer;
  readonly #varToName: Map<string, string>;
  readonly #varList: tf.Variable[];

  /** A trainer with a fresh optimizer (see {@link gptOptimizer}). */
  constructor(model: Gpt, config: TrainConfig) {
    this.model = model;
    this.config = config;
    this.#optimizer = gptOptimizer(model, config);
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
      // clip_grad_norm_, folded into the update
      const gradScale = gradClipScale(normData[0], this.config.gradClip);
      this.#optimizer.step(new Map(Object.entries(grads)), lr, { gradScale });
      return { iter, loss: lossValue, lr, gradNorm: normData[0], ms: performance.now() - t0 };
    } finally {
      tf.dispose([loss, norm, ...Object.values(grads)]);
    }
  }

  /** The optimizer's step count and buffers (host copies). */
  optimizerState(): Promise<OptimizerState> {
    return this.#optimizer.state();
  }

  /** Takes over a saved optimizer state (see {@link TrainEngine.loadOptimizerState}). */
  // deno-lint-ignore require-await
  async loadOptimizerState(state: OptimizerState): Promise<void> {
    this.#optimizer.restore(state);
  }

  /** Frees the optimizer state (not the model). */
  dispose(): void {
    this.#optimizer.dispose();
  }
}
