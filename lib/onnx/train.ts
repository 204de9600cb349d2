/**
 * Compiled training on ONNX Runtime: {@link OrtTrainer} runs the whole optimizer step of the
 * mini-GPT (forward, loss, backward, clipping, AdamW or Muon; `train_graph.ts`) as one session
 * call. Parameters and optimizer buffers live in ONNX Runtime tensors between steps: each step's
 * outputs become the next step's inputs. Only the batch and a few scalars go in; only the loss
 * and the gradient norm are read.
 *
 * The trainer implements the training-engine interface of `lib/gpt/step.ts`; `lib/train/` offers
 * it as engine `"ort"`, so `trainGpt(model, data, { engine: "ort" })` and
 * `deno task train --engine ort` train through it with the same schedule, batches, evaluation,
 * history and callbacks as the tfjs engine; the weights are written back into the model's tfjs
 * variables at every evaluation and at the end, so checkpoints are the same either way.
 *
 * Execution providers (`lib/engine/ort.ts`): `auto` takes CUDA or a hardware WebGPU adapter when
 * one starts, else the CPU (the reason is in `trainer.reason`); a named one fails loudly when it
 * cannot start. The graphs are compiled for the provider (ops it lacks rewritten into primitives,
 * `provider_ops.ts`), and on a GPU provider every node must run there (CPU fallback disabled).
 * Where the state lives:
 *
 * - CPU: the updated state comes back as host tensors, which are the next step's inputs.
 * - WebGPU: the updated parameters and moments stay in device buffers (per-output locations:
 *   `next/*` in `gpu-buffer`, `loss` and `grad_norm` on the host) and are fed back from there, so
 *   a step uploads the batch and four scalars and downloads eight bytes. Reading a WebGPU output
 *   with `getData()` crashes onnxruntime-node 1.30, so weights come back to the host through a
 *   one-node copy session (`Identity`, host outputs) at evaluations and at the end.
 * - CUDA: onnxruntime-node has no CUDA device location for outputs (`gpu-buffer` is WebGPU's), so
 *   the state crosses the bus twice per step into host tensors, like on the CPU;
 *   {@link OrtTrainer.transferBytes} counts it ({@link OrtTrainer.stepMany} shares it between the
 *   steps of one call).
 *
 * On every provider the next state is what the session call returns, checked output by output
 * (present, float32, the parameter's size; a missing or misshapen one throws). The trainer never
 * hands ONNX Runtime buffers to fill: the binding may let ONNX Runtime replace a pre-allocated
 * output instead of filling it (its IO-binding path ignores them outright), which would leave the
 * caller's buffer holding the step before last, or uninitialised memory, to be fed back silently.
 * Nothing is lost by it: onnxruntime-node 1.30 copies every host output into a fresh array anyway
 * (a pre-allocated output came back as a copy, not as the caller's buffer), and the nano step on
 * the CPU measured the same within noise (1 thread, 3 interleaved runs: 53.5 ms median with
 * pre-allocated outputs, 54.1 ms without).
 *
 * Installing providers: see `ORT_CUDA_HELP` and `ORT_WEBGPU_HELP` in `lib/engine/ort.ts`.
 * `tests/onnx/webgpu_test.ts` trains on WebGPU (the GPU that is there; SwiftShader in CI) against
 * the CPU; `tests/onnx/cuda_test.ts` checks that no call gets a pre-allocated output and that a bad
 * output fails loudly, and compares CUDA single steps and `stepMany` Loop calls with the CPU where
 * the provider is present.
 *
 * Speed on the CPU: `bench/train_ort.ts` times the nano preset against the PyTorch reference;
 * `bench/gpu.ts` times the GPU providers. ONNX Runtime's exponentials are slow on denormals; the
 * graph keeps −∞ out of them (see the masked softmax in `op_rules.ts`) rather than setting
 * `session.set_denormal_as_zero`, which ONNX Runtime applies to the calling thread only for the
 * first session of a process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import type { Batch } from "../core/batches.ts";
import type { TrainConfig } from "../gpt/config.ts";
import type { Gpt } from "../gpt/model.ts";
import { checkOptimizerState, optimizerBuffers, type OptimizerState } from "../gpt/optimizer.ts";
import { optimizerSettings } from "../gpt/config.ts";
import { learningRateAt } from "../gpt/schedule.ts";
import { type StepInfo, type TrainEngine, TrainingDivergedError } from "../gpt/step.ts";
import {
  createOrtSession,
  type OrtProvider,
  type OrtProviderChoice,
  resolveOrtProvider,
} from "../engine/ort.ts";
import { GraphBuilder } from "./builder.ts";
import { unsupportedOps } from "./provider_ops.ts";
import {
  DROPOUT_STEP,
  gptLossGraph,
  gptTrainingGraph,
  gptTrainingLoopGraph,
  gradName,
  nextName,
  stackedName,
  stepScalarNames,
  stepScalarValues,
} from "./train_graph.ts";

/** Options of {@link OrtTrainer.create}. */
export interface OrtTrainerOptions {
  /**
   * Execution provider: `auto` (CUDA or a hardware WebGPU adapter when one starts, else CPU),
   * or one by name (`cpu`, `webgpu`, `cuda`, …). Default auto.
   */
  readonly provider?: OrtProviderChoice;
  /**
   * Intra-op threads of ONNX Runtime's CPU provider. Default: ONNX Runtime's choice (all cores);
   * 1 compares with PyTorch on one thread.
   */
  readonly threads?: number;
  /**
   * Let idle intra-op threads spin rather than sleep between kernels (see `ortSessionOptions`).
   * Default false.
   */
  readonly spinning?: boolean;
  /** Sequences per batch the step graph is compiled for. Default `config.batchSize`. */
  readonly batchSize?: number;
  /**
   * Profile the step session: ONNX Runtime writes a JSON trace `<prefix>_<time>.json` into the
   * working directory when the trainer is disposed (`bench/profile_ort.ts` reads it).
   */
  readonly profilePrefix?: string;
}

/**
 * Bytes a training step moves between host and device memory: what its inputs upload and its
 * outputs download (0 on the CPU provider, where nothing crosses).
 */
export interface TransferBytes {
  /** Host → device per step. */
  readonly hostToDevice: number;
  /** Device → host per step. */
  readonly deviceToHost: number;
}

type Feeds = Record<string, ort.Tensor>;

const f32 = (data: Float32Array, dims: readonly number[]) =>
  new ort.Tensor("float32", data, [...dims]);

const tensorBytes = (t: ort.Tensor) => t.size * (t.type === "float64" ? 8 : 4);

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
  /** The training config (schedule and optimizer hyper-parameters). */
  readonly config: TrainConfig;
  /** The execution provider running the step, and why it was chosen. */
  readonly provider: OrtProvider;
  /** Why this provider. */
  readonly reason: string;
  /** The batch shape [B, T] the step graph is compiled for. */
  readonly batchShape: readonly [number, number];
  /** Nodes in the step graph. */
  readonly nodeCount: number;
  /** Bytes a step moves between host and device (see {@link TransferBytes}). */
  readonly transferBytes: TransferBytes;
  readonly #step: ort.InferenceSession;
  readonly #eval: ort.InferenceSession;
  readonly #names: readonly string[];
  /** Current parameters and optimizer buffers by input name (parameters: checkpoint keys). */
  #state: Map<string, ort.Tensor>;
  readonly #options: OrtTrainerOptions;
  #grads: ort.InferenceSession | undefined;
  /** WebGPU: copies parameters (`params`) or the whole state (`state`) to the host. */
  readonly #copies = new Map<"params" | "state", ort.InferenceSession>();
  /** K-step sessions (ONNX `Loop`) by K. */
  readonly #loops = new Map<number, ort.InferenceSession>();
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
    this.#options = options;
    this.transferBytes = transferPerStep(
      info.provider,
      state,
      info.batchShape,
      { dropout: model.config.dropout > 0, scalars: stepScalarNames(config).length },
    );
  }

  /**
   * Compiles the step graph for the model, config and provider and opens it (and an evaluation
   * graph) in ONNX Runtime, starting from the model's current weights and zeroed optimizer buffers
   * (see {@link OrtTrainer.loadOptimizerState} to continue a saved run).
   * Throws before opening when the graph has an op the provider lacks, naming it.
   */
  static async create(
    model: Gpt,
    config: TrainConfig,
    options: OrtTrainerOptions = {},
  ): Promise<OrtTrainer> {
    const { provider, reason } = await resolveOrtProvider(options.provider ?? "auto");
    const batchSize = options.batchSize ?? config.batchSize;
    const graph = gptTrainingGraph(model.config, model.activation, {
      batchSize,
      train: config,
      dropoutSeed: config.seed * 7919,
      provider,
    });
    const evalBytes = gptLossGraph(model.config, model.activation, { provider });
    for (const [what, bytes] of [["step", graph.bytes], ["evaluation", evalBytes]] as const) {
      const missing = unsupportedOps(bytes, provider) ?? [];
      if (missing.length > 0) {
        throw new Error(
          `OrtTrainer: the ${what} graph of activation '${model.activation.name}' uses ` +
            `${missing.join(", ")}, which ONNX Runtime's ${provider} provider lacks and actlab ` +
            `cannot rewrite; write the activation's ONNX lowering with other ops`,
        );
      }
    }
    const evalSession = await createOrtSession(evalBytes, {
      provider,
      threads: options.threads,
      spinning: options.spinning,
    });
    const buffers = optimizerBuffers(model.specs, config);
    const outputLocations: Record<string, "cpu" | "gpu-buffer"> = {};
    if (provider === "webgpu") {
      for (const name of [...model.specs.map((s) => s.name), ...buffers.map((b) => b.name)]) {
        outputLocations[nextName(name)] = "gpu-buffer";
      }
      outputLocations.loss = outputLocations.grad_norm = "cpu";
    }
    const step = await createOrtSession(graph.bytes, {
      provider,
      threads: options.threads,
      spinning: options.spinning,
      profilePrefix: options.profilePrefix,
      outputLocations: provider === "webgpu" ? outputLocations : undefined,
    });
    const state = new Map<string, ort.Tensor>();
    for (const spec of model.specs) {
      const v = model.variables.get(spec.name);
      if (!v) throw new Error(`OrtTrainer: the model has no parameter ${spec.name}`);
      state.set(spec.name, f32(Float32Array.from(await v.data() as Float32Array), spec.shape));
    }
    for (const b of buffers) {
      state.set(b.name, f32(new Float32Array(b.shape.reduce((x, y) => x * y, 1)), b.shape));
    }
    return new OrtTrainer(
      model,
      config,
      { step: step.session, eval: evalSession.session },
      { provider, reason, batchShape: [batchSize, model.config.blockSize], nodes: graph.nodeCount },
      state,
      options,
    );
  }

  /** Steps taken so far (the optimizer's t). */
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
    const scalars = stepScalarValues(t, lr, this.config);
    const feeds: Feeds = Object.fromEntries(this.#state);
    stepScalarNames(this.config).forEach((name, i) => {
      feeds[name] = f32(Float32Array.of(scalars[i]), []);
    });
    this.#batchFeeds(feeds, batch, t);
    // No pre-allocated outputs: the next state is what ONNX Runtime returns (see the module note).
    const out = await this.#step.run(feeds);
    const loss = (out.loss.data as Float32Array)[0];
    const gradNorm = (out.grad_norm.data as Float32Array)[0];
    if (!Number.isFinite(loss)) {
      for (const name of this.#names) disposeOnDevice(out[nextName(name)]);
      throw new TrainingDivergedError(
        { iter, activation: this.model.activation.name, loss, lr },
        [],
        [],
      );
    }
    this.#adopt(out);
    this.#t = t;
    return { iter, loss, lr, gradNorm, ms: performance.now() - t0 };
  }

  /**
   * Optimizer steps on `batches` as steps `iter`, `iter + 1`, … of the schedule, in one session
   * call (an ONNX `Loop` over the step graph, compiled per number of steps) where the provider
   * runs `Loop` — CPU and CUDA, where the state then crosses the bus once per call instead of
   * once per step; on WebGPU, which has no `Loop` kernel but keeps the state on the device
   * anyway, one {@link OrtTrainer.step} per batch. A non-finite loss throws
   * {@link TrainingDivergedError} naming the first bad step, keeping the weights from before the
   * call. Each step reports the call's time divided by the number of steps.
   */
  async stepMany(batches: readonly Batch[], iter: number): Promise<StepInfo[]> {
    if (this.provider === "webgpu" || batches.length === 1) {
      const infos: StepInfo[] = [];
      for (const [i, batch] of batches.entries()) infos.push(await this.step(batch, iter + i));
      return infos;
    }
    const t0 = performance.now();
    const k = batches.length;
    for (const batch of batches) this.#checkBatch(batch);
    let session = this.#loops.get(k);
    if (!session) {
      const graph = gptTrainingLoopGraph(this.model.config, this.model.activation, {
        batchSize: this.batchShape[0],
        train: this.config,
        dropoutSeed: this.config.seed * 7919,
        provider: this.provider,
        steps: k,
      });
      session = (await createOrtSession(graph.bytes, {
        provider: this.provider,
        threads: this.#options.threads,
        spinning: this.#options.spinning,
      })).session;
      this.#loops.set(k, session);
    }
    const [b, t] = this.batchShape;
    const feeds: Feeds = Object.fromEntries(this.#state);
    const xs = new Int32Array(k * b * t), ys = new Int32Array(k * b * t);
    batches.forEach((batch, i) => {
      xs.set(batch.x, i * b * t);
      ys.set(batch.y, i * b * t);
    });
    feeds[stackedName("x")] = new ort.Tensor("int32", xs, [k, b, t]);
    feeds[stackedName("y")] = new ort.Tensor("int32", ys, [k, b, t]);
    const lrs = batches.map((_, i) => learningRateAt(iter + i, this.config));
    const scalars = lrs.map((lr, i) => stepScalarValues(this.#t + 1 + i, lr, this.config));
    stepScalarNames(this.config).forEach((name, j) => {
      feeds[stackedName(name)] = f32(Float32Array.from(scalars, (s) => s[j]), [k]);
    });
    if (this.model.config.dropout > 0) {
      const steps = Int32Array.from({ length: k }, (_, i) => this.#t + 1 + i);
      feeds[stackedName(DROPOUT_STEP)] = new ort.Tensor("int32", steps, [k]);
    }
    const out = await session.run(feeds);
    const losses = out.losses.data as Float32Array, norms = out.grad_norms.data as Float32Array;
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      throw new TrainingDivergedError(
        {
          iter: iter + bad,
          activation: this.model.activation.name,
          loss: losses[bad],
          lr: lrs[bad],
        },
        [],
        [],
      );
    }
    this.#adopt(out);
    this.#t += k;
    const ms = (performance.now() - t0) / k;
    return lrs.map((lr, i) => ({ iter: iter + i, loss: losses[i], lr, gradNorm: norms[i], ms }));
  }

  /**
   * Host↔device bytes per step when `stepsPerCall` steps run per session call
   * ({@link OrtTrainer.stepMany}): the state's round trip (CUDA) is shared by the steps of a call.
   */
  transferBytesPerStep(stepsPerCall = 1): TransferBytes {
    const state = this.provider === "cpu" || this.provider === "webgpu"
      ? 0
      : [...this.#state.values()].reduce((sum, x) => sum + tensorBytes(x), 0);
    const k = this.provider === "webgpu" ? 1 : stepsPerCall;
    return {
      hostToDevice: this.transferBytes.hostToDevice - state + state / k,
      deviceToHost: this.transferBytes.deviceToHost - state + state / k,
    };
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
   * separate graph, compiled on first use), for checks against another engine. With dropout, the
   * masks are those of the next step.
   */
  async gradients(batch: Batch): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    this.#checkBatch(batch);
    if (!this.#grads) {
      const graph = gptTrainingGraph(this.model.config, this.model.activation, {
        batchSize: this.batchShape[0],
        kind: "gradients",
        dropoutSeed: this.config.seed * 7919,
        provider: this.provider,
      });
      this.#grads = (await createOrtSession(graph.bytes, {
        provider: this.provider,
        threads: this.#options.threads,
        spinning: this.#options.spinning,
      })).session;
    }
    const feeds: Feeds = {};
    for (const spec of this.model.specs) feeds[spec.name] = this.#state.get(spec.name)!;
    this.#batchFeeds(feeds, batch, this.#t + 1);
    const out = await this.#grads.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const spec of this.model.specs) {
      grads.set(spec.name, out[gradName(spec.name)].data as Float32Array);
    }
    return { loss: (out.loss.data as Float32Array)[0], grads };
  }

  /** The current parameters by checkpoint key (copies, on the host). */
  parameters(): Promise<Map<string, Float32Array>> {
    return this.#hostCopies("params");
  }

  /**
   * The optimizer's state: its step count and every buffer (`adam_m/<key>`, `adam_v/<key>`,
   * `muon_m/<key>`; copies on the host), as the tfjs engine names them, so either engine can
   * continue from it.
   */
  async optimizerState(): Promise<OptimizerState> {
    const all = await this.#hostCopies("state");
    const buffers = new Map(
      optimizerBuffers(this.model.specs, this.config).map((b) => [b.name, all.get(b.name)!]),
    );
    return { optimizer: optimizerSettings(this.config).optimizer, step: this.#t, buffers };
  }

  /**
   * Takes over a saved optimizer state (from either engine) before the next step: its buffers and
   * step count replace the current ones; the parameters stay the model's. Refuses a state of
   * another optimizer or model.
   */
  // deno-lint-ignore require-await
  async loadOptimizerState(state: OptimizerState): Promise<void> {
    const optimizer = optimizerSettings(this.config).optimizer;
    const buffers = optimizerBuffers(this.model.specs, this.config);
    checkOptimizerState(state, optimizer, buffers, "OrtTrainer.loadOptimizerState");
    const next = new Map(this.#state);
    for (const b of buffers) {
      next.set(b.name, f32(Float32Array.from(state.buffers.get(b.name)!), b.shape));
      disposeOnDevice(this.#state.get(b.name));
    }
    this.#state = next;
    this.#t = state.step;
  }

  /** Host copies of the parameters or of the whole state, by name. */
  async #hostCopies(what: "params" | "state"): Promise<Map<string, Float32Array>> {
    const names = what === "params" ? this.model.specs.map((s) => s.name) : this.#names;
    if (this.provider !== "webgpu" || this.#state.get(names[0])!.location === "cpu") {
      return new Map(
        names.map((n) => [n, Float32Array.from(this.#state.get(n)!.data as Float32Array)]),
      );
    }
    let copy = this.#copies.get(what);
    if (!copy) {
      copy = await this.#openCopy(names);
      this.#copies.set(what, copy);
    }
    const feeds: Feeds = {};
    for (const name of names) feeds[name] = this.#state.get(name)!;
    const out = await copy.run(feeds);
    return new Map(names.map((n) => [n, out[hostName(n)].data as Float32Array]));
  }

  /** Writes the current parameters into the model's tfjs variables. */
  async syncModel(): Promise<void> {
    const params = await this.parameters();
    for (const spec of this.model.specs) {
      const v = this.model.variables.get(spec.name)!;
      tf.tidy(() => v.assign(tf.tensor(params.get(spec.name)!, [...spec.shape], "float32")));
    }
  }

  /** Releases the ONNX Runtime sessions and device buffers (not the model). */
  async dispose(): Promise<void> {
    if (this.#options.profilePrefix) this.#step.endProfiling();
    for (const tensor of this.#state.values()) disposeOnDevice(tensor);
    await this.#step.release();
    await this.#eval.release();
    await this.#grads?.release();
    for (const session of this.#copies.values()) await session.release();
    for (const session of this.#loops.values()) await session.release();
  }

  /**
   * Makes a session call's `next/*` outputs the state, after checking each one: present, float32
   * and the size of what it replaces. On WebGPU the replaced device buffers are freed.
   */
  #adopt(out: ort.InferenceSession.OnnxValueMapType): void {
    const next = new Map<string, ort.Tensor>();
    for (const name of this.#names) {
      const tensor = out[nextName(name)] as ort.Tensor | undefined;
      const before = this.#state.get(name)!;
      if (!tensor || tensor.type !== "float32" || tensor.size !== before.size) {
        for (const n of this.#names) disposeOnDevice(out[nextName(n)] as ort.Tensor | undefined);
        throw new Error(
          `OrtTrainer: ONNX Runtime (${this.provider}) returned ${
            tensor ? `a ${tensor.type} tensor of ${tensor.size} values` : "nothing"
          } for ${nextName(name)}, expected float32 × ${before.size}; the weights are kept ` +
            `from before the step`,
        );
      }
      next.set(name, tensor);
    }
    const previous = this.#state;
    this.#state = next;
    for (const tensor of previous.values()) disposeOnDevice(tensor);
  }

  /** The batch (and the dropout step, when the model has dropout) into `feeds`. */
  #batchFeeds(feeds: Feeds, batch: Batch, t: number): void {
    feeds.x = new ort.Tensor("int32", batch.x, [...this.batchShape]);
    feeds.y = new ort.Tensor("int32", batch.y, [...this.batchShape]);
    if (this.model.config.dropout > 0) {
      feeds[DROPOUT_STEP] = new ort.Tensor("int32", Int32Array.of(t), []);
    }
  }

  /** A session that copies the named state values to host outputs (WebGPU). */
  async #openCopy(names: readonly string[]): Promise<ort.InferenceSession> {
    const g = new GraphBuilder();
    const inputs: Record<string, number[]> = {}, outputs: Record<string, number[]> = {};
    for (const name of names) {
      inputs[name] = outputs[hostName(name)] = [...this.#state.get(name)!.dims];
      g.output(name, hostName(name));
    }
    const bytes = g.model({ inputs, outputs, name: "copy_to_host" });
    return (await createOrtSession(bytes, { provider: this.provider })).session;
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

/** The name of a parameter's host copy in the copy session. */
const hostName = (name: string) => `host/${name}`;

/**
 * Host↔device bytes of one step: the batch (x, y int32), the step scalars (and dropout step)
 * up, loss and gradient norm down; on CUDA also every parameter and optimizer buffer both ways.
 */
function transferPerStep(
  provider: OrtProvider,
  state: Map<string, ort.Tensor>,
  [b, t]: readonly [number, number],
  { dropout, scalars }: { readonly dropout: boolean; readonly scalars: number },
): TransferBytes {
  if (provider === "cpu") return { hostToDevice: 0, deviceToHost: 0 };
  const stateBytes = provider === "webgpu"
    ? 0
    : [...state.values()].reduce((sum, x) => sum + tensorBytes(x), 0);
  return {
    hostToDevice: 2 * b * t * 4 + scalars * 4 + (dropout ? 4 : 0) + stateBytes,
    deviceToHost: 2 * 4 + stateBytes,
  };
}

/** Frees a tensor's device buffer (a host tensor is left to the garbage collector). */
function disposeOnDevice(tensor: ort.Tensor | undefined): void {
  if (tensor && tensor.location === "gpu-buffer") tensor.dispose();
}
