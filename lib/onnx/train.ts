/**
 * Compiled training on ONNX Runtime: {@link OrtTrainer} runs the whole optimizer step of the
 * mini-GPT (forward, loss, backward, clipping, AdamW; `train_graph.ts`) as one session call.
 * Parameters and AdamW moments live in ONNX Runtime tensors between steps: each step's outputs
 * become the next step's inputs, and on the CPU provider they are written into preallocated
 * buffers (two sets, alternating), so a step allocates nothing on the JavaScript side. Only the
 * batch and three scalars go in; only the loss and the gradient norm are read.
 *
 * The trainer implements the training-engine interface of `lib/gpt/step.ts`; `lib/train/` offers
 * it as engine `"ort"`, so `trainGpt(model, data, { engine: "ort" })` and
 * `deno task train --engine ort` train through it with the same schedule, batches, evaluation,
 * history and callbacks as the tfjs engine; the weights are written back into the model's tfjs
 * variables at every evaluation and at the end, so checkpoints are the same either way.
 *
 * Execution providers: `provider: "auto"` (the default) takes CUDA when onnxruntime-node's CUDA
 * provider is installed and starts, else the CPU (the reason is in `trainer.reason`); `"cuda"`
 * fails loudly when it cannot. On CUDA the updated parameters and moments stay in GPU memory
 * between steps (`preferredOutputLocation: "gpu-buffer"`), so a step uploads only the batch and
 * downloads only the loss and gradient norm; weights come back to the host at evaluations (for
 * `syncModel`) and at the end. Installing the provider: see `ORT_CUDA_HELP` in `lib/engine/ort.ts`
 * (`ONNXRUNTIME_NODE_INSTALL=cuda12`, CUDA 12 and cuDNN 9). `tests/onnx/train_test.ts` compares
 * CUDA with CPU training where the provider is present and skips with the reason otherwise.
 *
 * Speed on the CPU: `bench/train_ort.ts` times the nano preset against the PyTorch reference.
 * ONNX Runtime's exponentials are slow on denormals; the graph keeps −∞ out of them (see the
 * masked softmax in `tape.ts`) rather than setting `session.set_denormal_as_zero`, which ONNX
 * Runtime applies to the calling thread only for the first session of a process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import type { Batch } from "../core/batches.ts";
import type { TrainConfig } from "../gpt/config.ts";
import type { Gpt } from "../gpt/model.ts";
import { learningRateAt } from "../gpt/schedule.ts";
import { type StepInfo, type TrainEngine, TrainingDivergedError } from "../gpt/step.ts";
import { createOrtSession, type OrtProvider } from "../engine/ort.ts";
import {
  adamNames,
  gptLossGraph,
  gptTrainingGraph,
  gradName,
  nextName,
  STEP_SCALARS,
  stepScalars,
} from "./train_graph.ts";

/** Options of {@link OrtTrainer.create}. */
export interface OrtTrainerOptions {
  /** Execution provider: `auto` (CUDA where installed, else CPU), `cuda` or `cpu`. Default auto. */
  readonly provider?: "auto" | OrtProvider;
  /**
   * Intra-op threads of ONNX Runtime's CPU provider. Default: ONNX Runtime's choice (all cores);
   * 1 compares with PyTorch on one thread.
   */
  readonly threads?: number;
  /** Sequences per batch the step graph is compiled for. Default `config.batchSize`. */
  readonly batchSize?: number;
  /**
   * Profile the step session (CPU): ONNX Runtime writes a JSON trace `<prefix>_<time>.json`
   * into the working directory when the trainer is disposed (`bench/profile_ort.ts` reads it).
   */
  readonly profilePrefix?: string;
}

type Feeds = Record<string, ort.Tensor>;

const f32 = (data: Float32Array, dims: readonly number[]) =>
  new ort.Tensor("float32", data, [...dims]);

/**
 * Trains a {@link Gpt} on ONNX Runtime with the compiled step graph. The model's current weights
 * are the starting point; {@link OrtTrainer.syncModel} writes the trained weights back.
 *
 * @example
 * ```ts ignore
 * import { createGpt, createRng, gptConfig } from "@actlab/actlab";
 * import { OrtTrainer } from "@actlab/actlab/onnx";
 * import { sampleBatch } from "@actlab/actlab/core";
 * import { trainConfig } from "@actlab/actlab/gpt";
 * const model = createGpt(gptConfig({ preset: "nano", vocabSize: 65 }));
 * const trainer = await OrtTrainer.create(model, trainConfig({ preset: "nano" }), { threads: 1 });
 * const rng = createRng(1);
 * for (let i = 0; i < 100; i++) {
 *   const info = await trainer.step(sampleBatch(ds.train, { batchSize: 12, blockSize: 64 }, rng), i);
 * }
 * await trainer.syncModel(); // the model's tfjs variables now hold the trained weights
 * await trainer.dispose();
 * ```
 */
export class OrtTrainer implements TrainEngine {
  /** The model whose weights are trained. */
  readonly model: Gpt;
  /** The training config (schedule and AdamW hyper-parameters). */
  readonly config: TrainConfig;
  /** The execution provider running the step, and why it was chosen. */
  readonly provider: OrtProvider;
  /** Why this provider. */
  readonly reason: string;
  /** The batch shape [B, T] the step graph is compiled for. */
  readonly batchShape: readonly [number, number];
  /** Nodes in the step graph. */
  readonly nodeCount: number;
  readonly #step: ort.InferenceSession;
  readonly #eval: ort.InferenceSession;
  readonly #names: readonly string[];
  /** Current parameters and moments by input name (parameters: checkpoint keys). */
  #state: Map<string, ort.Tensor>;
  /** Output buffers for the next step (CPU), swapped with `#state` after a good step. */
  #spare: Map<string, ort.Tensor> | undefined;
  readonly #options: OrtTrainerOptions;
  #grads: ort.InferenceSession | undefined;
  #t = 0;

  private constructor(
    model: Gpt,
    config: TrainConfig,
    sessions: { step: ort.InferenceSession; eval: ort.InferenceSession },
    info: { provider: OrtProvider; reason: string; batchShape: [number, number]; nodes: number },
    state: Map<string, ort.Tensor>,
    options: OrtTrainerOptions,
  ) {
    this.model = model;
    this.config = config;
    this.#step = sessions.step;
    this.#eval = sessions.eval;
    this.provider = info.provider;
    this.reason = info.reason;
    this.batchShape = info.batchShape;
    this.nodeCount = info.nodes;
    this.#state = state;
    this.#names = [...state.keys()];
    this.#spare = info.provider === "cpu" ? cloneState(state) : undefined;
    this.#options = options;
  }

  /**
   * Compiles the step graph for the model and config and opens it (and an evaluation graph) in
   * ONNX Runtime, starting from the model's current weights and zeroed AdamW moments.
   */
  static async create(
    model: Gpt,
    config: TrainConfig,
    options: OrtTrainerOptions = {},
  ): Promise<OrtTrainer> {
    const batchSize = options.batchSize ?? config.batchSize;
    const graph = gptTrainingGraph(model.config, model.activation, {
      batchSize,
      train: config,
      dropoutSeed: config.seed * 7919,
    });
    // The evaluation session picks the provider (CUDA where installed and starting, else CPU).
    const evalSession = await createOrtSession(gptLossGraph(model.config, model.activation), {
      provider: options.provider,
      threads: options.threads,
    });
    const step = await openStepSession(
      graph.bytes,
      model,
      evalSession.provider,
      options.threads,
      options.profilePrefix,
    );
    const state = new Map<string, ort.Tensor>();
    for (const spec of model.specs) {
      const v = model.variables.get(spec.name);
      if (!v) throw new Error(`OrtTrainer: the model has no parameter ${spec.name}`);
      state.set(spec.name, f32(Float32Array.from(await v.data() as Float32Array), spec.shape));
    }
    for (const spec of model.specs) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const { m, v } = adamNames(spec.name);
      state.set(m, f32(new Float32Array(n), spec.shape));
      state.set(v, f32(new Float32Array(n), spec.shape));
    }
    return new OrtTrainer(
      model,
      config,
      { step, eval: evalSession.session },
      {
        provider: evalSession.provider,
        reason: evalSession.reason,
        batchShape: [batchSize, model.config.blockSize],
        nodes: graph.nodeCount,
      },
      state,
      options,
    );
  }

  /** Steps taken so far (AdamW's t). */
  get steps(): number {
    return this.#t;
  }

  /**
   * One optimizer step on `batch` as step `iter` of the schedule. Throws
   * {@link TrainingDivergedError} when the loss is not finite, keeping the weights from before.
   */
  async step(batch: Batch, iter: number): Promise<StepInfo> {
    const t0 = performance.now();
    this.#checkBatch(batch);
    const lr = learningRateAt(iter, this.config);
    const t = this.#t + 1;
    const scalars = stepScalars(t, lr, this.config);
    const feeds: Feeds = Object.fromEntries(this.#state);
    STEP_SCALARS.forEach((name, i) => feeds[name] = f32(Float32Array.of(scalars[i]), []));
    feeds.x = new ort.Tensor("int32", batch.x, [...this.batchShape]);
    feeds.y = new ort.Tensor("int32", batch.y, [...this.batchShape]);
    const fetches: Record<string, ort.Tensor | null> = { loss: null, grad_norm: null };
    for (const name of this.#names) fetches[nextName(name)] = this.#spare?.get(name) ?? null;
    const out = await this.#step.run(feeds, fetches as ort.InferenceSession.FetchesType);
    const loss = (out.loss.data as Float32Array)[0];
    const gradNorm = (out.grad_norm.data as Float32Array)[0];
    if (!Number.isFinite(loss)) {
      throw new TrainingDivergedError(
        { iter, activation: this.model.activation.name, loss, lr },
        [],
        [],
      );
    }
    this.#t = t;
    if (this.#spare) {
      const previous = this.#state;
      this.#state = this.#spare;
      this.#spare = previous;
    } else {
      // GPU: the outputs stay in device memory and are the next inputs; free the old ones.
      const previous = this.#state;
      this.#state = new Map(this.#names.map((name) => [name, out[nextName(name)] as ort.Tensor]));
      for (const tensor of previous.values()) {
        if (tensor.location === "gpu-buffer") tensor.dispose();
      }
    }
    return { iter, loss, lr, gradNorm, ms: performance.now() - t0 };
  }

  /** Mean cross-entropy of the current weights on `batch` (no update). */
  async batchLoss(batch: Batch): Promise<number> {
    const shape = [batch.batchSize, batch.blockSize];
    const feeds: Feeds = {};
    for (const spec of this.model.specs) feeds[spec.name] = this.#state.get(spec.name)!;
    feeds.x = new ort.Tensor("int32", batch.x, shape);
    feeds.y = new ort.Tensor("int32", batch.y, shape);
    const out = await this.#eval.run(feeds);
    return (out.loss.data as Float32Array)[0];
  }

  /**
   * The loss and the raw gradient of every parameter on `batch` at the current weights (a
   * separate graph, compiled on first use), for checks against another engine.
   */
  async gradients(batch: Batch): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    this.#checkBatch(batch);
    if (!this.#grads) {
      const graph = gptTrainingGraph(this.model.config, this.model.activation, {
        batchSize: this.batchShape[0],
        kind: "gradients",
      });
      this.#grads = (await createOrtSession(graph.bytes, {
        provider: this.provider,
        threads: this.#options.threads,
      })).session;
    }
    const feeds: Feeds = {};
    for (const spec of this.model.specs) feeds[spec.name] = this.#state.get(spec.name)!;
    feeds.x = new ort.Tensor("int32", batch.x, [...this.batchShape]);
    feeds.y = new ort.Tensor("int32", batch.y, [...this.batchShape]);
    const out = await this.#grads.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const spec of this.model.specs) {
      grads.set(spec.name, await tensorData(out[gradName(spec.name)] as ort.Tensor));
    }
    return { loss: (out.loss.data as Float32Array)[0], grads };
  }

  /** The current parameters by checkpoint key (copies). */
  async parameters(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const spec of this.model.specs) {
      out.set(spec.name, Float32Array.from(await tensorData(this.#state.get(spec.name)!)));
    }
    return out;
  }

  /** Writes the current parameters into the model's tfjs variables. */
  async syncModel(): Promise<void> {
    for (const spec of this.model.specs) {
      const values = await tensorData(this.#state.get(spec.name)!);
      const v = this.model.variables.get(spec.name)!;
      tf.tidy(() => v.assign(tf.tensor(values, [...spec.shape], "float32")));
    }
  }

  /** Releases the ONNX Runtime sessions (not the model). */
  async dispose(): Promise<void> {
    if (this.#options.profilePrefix) this.#step.endProfiling();
    await this.#step.release();
    await this.#eval.release();
    await this.#grads?.release();
  }

  #checkBatch(batch: Batch): void {
    const [b, t] = this.batchShape;
    if (batch.batchSize !== b || batch.blockSize !== t) {
      throw new RangeError(
        `OrtTrainer: the step graph is compiled for batches [${b}, ${t}], got ` +
          `[${batch.batchSize}, ${batch.blockSize}]; create the trainer with { batchSize: ` +
          `${batch.batchSize} } and a model with blockSize ${batch.blockSize}`,
      );
    }
  }
}

/**
 * Opens the step graph. CPU: ONNX Runtime's default session (outputs go to preallocated buffers,
 * see `step`). CUDA: the updated parameters and moments are kept in GPU memory
 * (`preferredOutputLocation: "gpu-buffer"`) and fed back from there, so a step moves only the
 * batch to the GPU and the loss and gradient norm back.
 */
async function openStepSession(
  bytes: Uint8Array,
  model: Gpt,
  provider: OrtProvider,
  threads: number | undefined,
  profilePrefix: string | undefined,
): Promise<ort.InferenceSession> {
  if (provider === "cpu") {
    return (await createOrtSession(bytes, { provider: "cpu", threads, profilePrefix })).session;
  }
  const keep: Record<string, "gpu-buffer"> = {};
  for (const spec of model.specs) {
    const { m, v } = adamNames(spec.name);
    for (const name of [spec.name, m, v]) keep[nextName(name)] = "gpu-buffer";
  }
  return await ort.InferenceSession.create(bytes, {
    executionProviders: ["cuda"],
    graphOptimizationLevel: "all",
    preferredOutputLocation: keep,
  });
}

function cloneState(state: Map<string, ort.Tensor>): Map<string, ort.Tensor> {
  return new Map(
    [...state].map(([name, t]) => [name, f32(new Float32Array(t.size), t.dims)]),
  );
}

/** A tensor's float data, downloaded first when it lives on a GPU. */
async function tensorData(t: ort.Tensor): Promise<Float32Array> {
  if (t.location === "cpu") return t.data as Float32Array;
  return await t.getData() as Float32Array;
}
