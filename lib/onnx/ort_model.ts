/**
 * The mini-GPT on ONNX Runtime: the traced graph of a tfjs `Gpt` (same weights), with logits,
 * loss on a batch and generation like the tfjs model's.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { createRng } from "../core/rng.ts";
import type { Tokenizer } from "../core/tokenizer.ts";
import type { GptConfig } from "../gpt/config.ts";
import type { Gpt } from "../gpt/model.ts";
import { type GenerateOptions, sampleToken } from "../gpt/sample.ts";
import {
  createOrtSession,
  type OrtProvider,
  type OrtProviderChoice,
  resolveOrtProvider,
} from "../engine/ort.ts";
import { gptToOnnx } from "./export.ts";

/** Token ids for ONNX Runtime: a flat int32 array and its [batch, seq] shape. */
export interface IdBatch {
  /** Row-major ids, batch · seq values. */
  readonly data: Int32Array;
  /** [batch, seq]. */
  readonly shape: readonly [number, number];
}

function idTensor(ids: IdBatch | readonly (readonly number[])[]): ort.Tensor {
  if ("data" in ids) return new ort.Tensor("int32", ids.data, [...ids.shape]);
  const rows = ids as readonly (readonly number[])[];
  const t = rows[0]?.length ?? 0;
  if (rows.some((r) => r.length !== t)) {
    throw new Error("OrtModel: rows of ids must have equal length");
  }
  return new ort.Tensor("int32", Int32Array.from(rows.flat()), [rows.length, t]);
}

/**
 * A mini-GPT running on ONNX Runtime. Build it from a tfjs model with {@link OrtModel.fromGpt};
 * the execution provider (`auto`: CUDA or a hardware WebGPU adapter when one starts, else CPU)
 * and why are in `provider`/`reason`. Inputs come from the host and logits go back to it.
 *
 * @example
 * ```ts ignore
 * import { OrtModel } from "@actlab/actlab";
 * const ortModel = await OrtModel.fromGpt(model);
 * const { data, dims } = await ortModel.logits([[0, 5, 9]]); // Float32Array, [1, 3, V]
 * const text = await ortModel.generate("ROMEO:", { maxTokens: 100, temperature: 0 });
 * ```
 */
export class OrtModel {
  /** The model config. */
  readonly config: GptConfig;
  /** The tokenizer for string prompts, when the model had one. */
  readonly tokenizer: Tokenizer | undefined;
  /** The execution provider running the graph, and the reason it was chosen. */
  readonly provider: OrtProvider;
  /** Why that provider (e.g. why not CUDA). */
  readonly reason: string;
  readonly #logits: ort.InferenceSession;
  readonly #loss: ort.InferenceSession;

  private constructor(
    config: GptConfig,
    tokenizer: Tokenizer | undefined,
    logits: { session: ort.InferenceSession; provider: OrtProvider; reason: string },
    loss: ort.InferenceSession,
  ) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.provider = logits.provider;
    this.reason = logits.reason;
    this.#logits = logits.session;
    this.#loss = loss;
  }

  /**
   * Traces `model` (its current weights) for the provider and opens both graphs in ONNX Runtime.
   */
  static async fromGpt(
    model: Gpt,
    options: { provider?: OrtProviderChoice; threads?: number } = {},
  ): Promise<OrtModel> {
    const { provider, reason } = await resolveOrtProvider(options.provider ?? "auto");
    const open = async (kind: "logits" | "loss") =>
      await createOrtSession(await gptToOnnx(model, { kind, provider }), {
        provider,
        threads: options.threads,
      });
    const logits = await open("logits");
    const loss = await open("loss");
    return new OrtModel(
      model.config,
      model.tokenizer,
      { ...logits, reason },
      loss.session,
    );
  }

  /** Logits [B, T, V] for ids [B, T] (rows of ids, or a flat Int32Array with its shape). */
  async logits(
    ids: IdBatch | readonly (readonly number[])[],
  ): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const out = await this.#logits.run({ idx: idTensor(ids) });
    return { data: out.logits.data as Float32Array, dims: out.logits.dims };
  }

  /** Mean cross-entropy of ids [B, T] against targets [B, T]. */
  async loss(
    ids: IdBatch | readonly (readonly number[])[],
    targets: IdBatch | readonly (readonly number[])[],
  ): Promise<number> {
    const out = await this.#loss.run({ idx: idTensor(ids), targets: idTensor(targets) });
    return (out.loss.data as Float32Array)[0];
  }

  /**
   * Generates like the tfjs `generate()`: same options, same sampling code, so the same seed
   * and equal logits give the same text.
   */
  async generate(prompt: string, options?: GenerateOptions): Promise<string>;
  /** Generates after prompt ids; returns prompt plus generated ids. */
  async generate(prompt: readonly number[], options?: GenerateOptions): Promise<number[]>;
  async generate(
    prompt: string | readonly number[],
    options: GenerateOptions = {},
  ): Promise<string | number[]> {
    const tokenizer = options.tokenizer ?? this.tokenizer;
    if (typeof prompt === "string" && !tokenizer) {
      throw new Error("OrtModel.generate: a string prompt needs a tokenizer; pass { tokenizer }");
    }
    const ids = typeof prompt === "string" ? [...tokenizer!.encode(prompt)] : [...prompt];
    if (ids.length === 0) throw new RangeError("OrtModel.generate: the prompt is empty");
    const temperature = options.temperature ?? 1;
    const rng = createRng(options.seed ?? 0);
    const v = this.config.vocabSize;
    for (let i = 0; i < (options.maxTokens ?? 100); i++) {
      const ctx = ids.slice(-this.config.blockSize);
      const { data } = await this.logits({ data: Int32Array.from(ctx), shape: [1, ctx.length] });
      const last = data.subarray((ctx.length - 1) * v, ctx.length * v);
      ids.push(sampleToken(last, { temperature, topK: options.topK, rng }));
    }
    return typeof prompt === "string" ? tokenizer!.decode(ids) : ids;
  }

  /** Releases both ONNX Runtime sessions. */
  async release(): Promise<void> {
    await this.#logits.release();
    await this.#loss.release();
  }
}
