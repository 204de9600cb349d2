/**
 * Checkpoints as safetensors: every parameter as an F32 tensor under its nanoGPT-style name, the
 * config, activation and tokenizer in the metadata. Written atomically; a truncated or
 * mismatched file gives an error that says what is wrong.
 *
 * A checkpoint may also keep the training config (`actlab.train`: the schedule and the optimizer
 * choice) and, for a run to continue where it stopped, the training state: the optimizer's buffers
 * as F32 tensors named `optimizer/<buffer>` (`optimizer/adam_m/wte.weight`,
 * `optimizer/muon_m/h.0.mlp.c_fc.weight`) and, in `actlab.state`, the step, the optimizer's step
 * count and both batch generators' positions (`TrainState`, `lib/gpt/optimizer.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { atomicWriteFile } from "../core/fs.ts";
import { CharTokenizer, type Tokenizer, type TokenizerDescription } from "../core/tokenizer.ts";
import { tokenizerFromDescription } from "../core/tokenizers.ts";
import { getActivation } from "../activations/registry.ts";
import {
  type GptConfig,
  optimizerSettings,
  type TrainConfig,
  trainConfig,
  validateGptConfig,
} from "./config.ts";
import { Gpt } from "./model.ts";
import { checkOptimizerState, optimizerBuffers, type TrainState } from "./optimizer.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from "./safetensors.ts";

/**
 * The `format` metadata value of actlab GPT checkpoints.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT } from "./checkpoint.ts";
 * console.assert(CHECKPOINT_FORMAT.startsWith("actlab-gpt/"));
 * ```
 */
export const CHECKPOINT_FORMAT = "actlab-gpt/1";

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Tokenizer to store; default the model's tokenizer (if any). */
  readonly tokenizer?: Tokenizer;
  /** Extra metadata strings (e.g. the training step); keys must not start with `actlab.`. */
  readonly metadata?: Record<string, string>;
  /** The training config, kept as `actlab.train` (the optimizer choice with it). */
  readonly train?: TrainConfig;
  /**
   * The training state to continue from (`trainGpt`'s `onState`): its optimizer buffers and
   * generator positions are kept with the weights, its config as `actlab.train`.
   */
  readonly state?: TrainState;
}

/** Prefix of the optimizer buffers' tensor names in a checkpoint. */
const OPTIMIZER_PREFIX = "optimizer/";

/**
 * Encodes a model as safetensors bytes (see {@link saveCheckpoint}).
 *
 * @example
 * ```ts ignore
 * const bytes = await checkpointBytes(model);
 * ```
 */
export async function checkpointBytes(
  model: Gpt,
  options: SaveCheckpointOptions = {},
): Promise<Uint8Array> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of model.specs) {
    const data = await model.variables.get(spec.name)!.data();
    tensors.set(spec.name, { dtype: "F32", shape: spec.shape, data: data as Float32Array });
  }
  const extra = options.metadata ?? {};
  for (const k of Object.keys(extra)) {
    if (k.startsWith("actlab.") || k === "format") {
      throw new Error(`saveCheckpoint: metadata key "${k}" is reserved`);
    }
    if (typeof extra[k] !== "string") {
      throw new TypeError(`saveCheckpoint: metadata "${k}" must be a string`);
    }
  }
  const tokenizer = options.tokenizer ?? model.tokenizer;
  const metadata: Record<string, string> = {
    ...extra,
    format: CHECKPOINT_FORMAT,
    "actlab.config": JSON.stringify(model.config),
    "actlab.activation": model.activation.name,
  };
  // A character vocabulary as before (`actlab.vocab`, readable by older versions); any other
  // tokenizer as its description (`actlab.tokenizer`: a BPE's merges, `{"kind":"gpt2"}`).
  if (tokenizer instanceof CharTokenizer) {
    metadata["actlab.vocab"] = JSON.stringify(tokenizer.vocab);
  } else if (tokenizer) metadata["actlab.tokenizer"] = JSON.stringify(tokenizer.describe());
  const { state } = options;
  const train = state?.config ?? options.train;
  if (train) metadata["actlab.train"] = JSON.stringify(train);
  if (state) {
    for (const [name, data] of state.optimizer.buffers) {
      const param = tensors.get(name.slice(name.indexOf("/") + 1));
      if (!param) throw new Error(`saveCheckpoint: the buffer ${name} belongs to no parameter`);
      tensors.set(OPTIMIZER_PREFIX + name, { dtype: "F32", shape: param.shape, data });
    }
    metadata["actlab.state"] = JSON.stringify({
      iter: state.iter,
      optimizer: state.optimizer.optimizer,
      step: state.optimizer.step,
      batchRng: state.batchRng,
      evalRng: state.evalRng,
      dataTokens: state.dataTokens,
    });
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Writes the model to `path` as safetensors (atomically: a temporary file renamed into place).
 *
 * @example
 * ```ts ignore
 * await saveCheckpoint(model, "results/nano-gelu.safetensors", { metadata: { iters: "2000" } });
 * ```
 */
export async function saveCheckpoint(
  model: Gpt,
  path: string,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  await atomicWriteFile(path, await checkpointBytes(model, options));
}

/**
 * What the caller expects a checkpoint to hold: loading refuses a file whose stored activation or
 * config fields differ, naming each difference (a GELU model loaded as SwiGLU's would otherwise
 * fail later, or worse, run).
 */
export interface CheckpointExpectation {
  /** The activation the caller means (any name or alias of it). */
  readonly activation?: string;
  /** Config fields that must match the stored config exactly. */
  readonly config?: Partial<GptConfig>;
}

/** Options of {@link loadCheckpoint} and {@link checkpointFromBytes}. */
export interface LoadCheckpointOptions {
  /** Refuse the checkpoint unless it holds this. */
  readonly expect?: CheckpointExpectation;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  /** The model, on the active tfjs backend, with its tokenizer when the file has a vocabulary. */
  readonly model: Gpt;
  /** The stored config. */
  readonly config: GptConfig;
  /** The stored tokenizer (characters, bytes, BPE, GPT-2), when the file has one. */
  readonly tokenizer: Tokenizer | undefined;
  /** Every metadata string (including the `actlab.*` keys). */
  readonly metadata: Record<string, string>;
  /** The training config, when stored (`actlab.train`). */
  readonly train?: TrainConfig;
  /** The training state, when stored: `trainGpt`'s `resume` continues the run from it. */
  readonly state?: TrainState;
}

/**
 * Rebuilds a model from safetensors bytes (see {@link loadCheckpoint}); `source` names the file in
 * errors.
 *
 * @example
 * ```ts ignore
 * const { model } = checkpointFromBytes(await checkpointBytes(other));
 * ```
 */
export function checkpointFromBytes(
  bytes: Uint8Array,
  source = "the checkpoint",
  options: LoadCheckpointOptions = {},
): LoadedCheckpoint {
  const file = decodeSafetensors(bytes, source);
  const { config, tokenizer } = readMetadata(file.metadata, source);
  if (options.expect) checkExpectation(config, options.expect, source);
  checkFinite(file.tensors, source);
  const weights = new Map([...file.tensors].filter(([n]) => !n.startsWith(OPTIMIZER_PREFIX)));
  const model = modelFromTensors(weights, config, tokenizer, source);
  try {
    const { train, state } = readTrainState(file.metadata, file.tensors, model, source);
    return { model, config, tokenizer, metadata: file.metadata, train, state };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The training config and state a checkpoint keeps, checked against its model. */
function readTrainState(
  meta: Record<string, string>,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  model: Gpt,
  source: string,
): { train?: TrainConfig; state?: TrainState } {
  const buffers = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (!name.startsWith(OPTIMIZER_PREFIX)) continue;
    if (t.dtype !== "F32") throw new Error(`${source}: tensor ${name} is ${t.dtype}, expected F32`);
    buffers.set(name.slice(OPTIMIZER_PREFIX.length), t.data as Float32Array);
  }
  if (meta["actlab.train"] === undefined) {
    if (meta["actlab.state"] !== undefined || buffers.size > 0) {
      throw new Error(`${source}: it has a training state but no training config (actlab.train)`);
    }
    return {};
  }
  let train: TrainConfig;
  try {
    train = trainConfig(JSON.parse(meta["actlab.train"]));
  } catch (err) {
    throw new Error(
      `${source}: the stored training config is unusable: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (meta["actlab.state"] === undefined) {
    if (buffers.size > 0) {
      throw new Error(`${source}: it has optimizer buffers but no actlab.state`);
    }
    return { train };
  }
  const saved = JSON.parse(meta["actlab.state"]);
  const state: TrainState = {
    config: train,
    iter: saved.iter,
    optimizer: { optimizer: saved.optimizer, step: saved.step, buffers },
    batchRng: saved.batchRng,
    evalRng: saved.evalRng,
    dataTokens: saved.dataTokens,
  };
  checkOptimizerState(
    state.optimizer,
    optimizerSettings(train).optimizer,
    optimizerBuffers(model.specs, train),
    `${source}`,
  );
  if (!Number.isSafeInteger(state.iter) || state.iter < 0 || state.iter > train.iters) {
    throw new Error(`${source}: the stored step ${state.iter} is outside the run's ${train.iters}`);
  }
  return { train, state };
}

/** Refuses a stored config that differs from what the caller asked for. */
function checkExpectation(config: GptConfig, expect: CheckpointExpectation, source: string): void {
  const differences: string[] = [];
  if (expect.activation !== undefined) {
    const want = getActivation(expect.activation).name;
    let stored = config.activation;
    try {
      stored = getActivation(config.activation).name;
    } catch {
      // a user activation not registered here: compare the names as stored
    }
    if (want !== stored) {
      differences.push(
        `activation: stored "${config.activation}", asked for "${expect.activation}"`,
      );
    }
  }
  for (const [key, value] of Object.entries(expect.config ?? {})) {
    const stored = (config as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(stored) !== JSON.stringify(value)) {
      differences.push(
        `${key}: stored ${JSON.stringify(stored)}, asked for ${JSON.stringify(value)}`,
      );
    }
  }
  if (differences.length) {
    throw new Error(
      `${source} holds another model than the one asked for: ${differences.join("; ")}. ` +
        `Load the checkpoint that matches, or drop the expectation to take the stored one.`,
    );
  }
}

/** Refuses NaN or ±∞ weights, naming the tensor: a diverged run's weights are not a model. */
function checkFinite(tensors: ReadonlyMap<string, SafetensorsTensor>, source: string): void {
  for (const [name, t] of tensors) {
    const data = t.data as Float32Array;
    let bad = 0, first = -1;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        if (first < 0) first = i;
        bad++;
      }
    }
    if (bad > 0) {
      throw new Error(
        `${source}: tensor ${name} holds ${bad} non-finite value(s) (first: ${
          data[first]
        } at index ${first}); it was saved from a diverged run. Load an earlier checkpoint or ` +
          `retrain with a lower learning rate.`,
      );
    }
  }
}

/** The config and vocabulary a checkpoint's metadata stores, checked against each other. */
function readMetadata(
  meta: Record<string, string>,
  source: string,
): { config: GptConfig; tokenizer: Tokenizer | undefined } {
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${source} is a safetensors file but not an actlab GPT checkpoint: its metadata has ` +
        `format=${JSON.stringify(meta.format)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  }
  let config: GptConfig;
  try {
    config = validateGptConfig(JSON.parse(meta["actlab.config"]));
  } catch (err) {
    throw new Error(`${source}: the stored config is unusable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const stored = meta["actlab.tokenizer"];
  if (stored === undefined && meta["actlab.vocab"] === undefined) {
    return { config, tokenizer: undefined };
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = stored !== undefined
      ? tokenizerFromDescription(JSON.parse(stored) as TokenizerDescription)
      : new CharTokenizer(JSON.parse(meta["actlab.vocab"]));
  } catch (err) {
    throw new Error(`${source}: the stored tokenizer is unusable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (tokenizer.size !== config.vocabSize) {
    throw new Error(
      `${source}: the stored ${tokenizer.kind} tokenizer has ${tokenizer.size} tokens but the ` +
        `config says vocabSize ${config.vocabSize}`,
    );
  }
  return { config, tokenizer };
}

/** A model from a checkpoint's tensors: every parameter of the config, nothing else, all F32. */
function modelFromTensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  config: GptConfig,
  tokenizer: Tokenizer | undefined,
  source: string,
): Gpt {
  for (const [name, t] of tensors) {
    if (t.dtype !== "F32") throw new Error(`${source}: tensor ${name} is ${t.dtype}, expected F32`);
  }
  const values = new Map<string, tf.Tensor>();
  let model: Gpt;
  try {
    for (const [name, t] of tensors) {
      values.set(name, tf.tensor(t.data as Float32Array, [...t.shape], "float32"));
    }
    model = new Gpt(config, values, { tokenizer }); // checks names and shapes against the config
  } catch (err) {
    throw new Error(`${source} does not match its config: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    for (const t of values.values()) t.dispose();
  }
  const expected = new Set(model.specs.map((s) => s.name));
  const extra = [...tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) {
    model.dispose();
    throw new Error(
      `${source} has tensors the config does not use: ${extra.join(", ")} (a different model ` +
        `shape or a newer format)`,
    );
  }
  return model;
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint}. The activation is resolved in the registry
 * by name (register a custom one before loading). The loaded model reproduces the saved model's
 * logits exactly on the same backend.
 *
 * @example
 * ```ts ignore
 * const { model, tokenizer } = await loadCheckpoint("results/nano-gelu.safetensors", {
 *   expect: { activation: "gelu", config: { nLayer: 4 } },
 * });
 * console.log(await generate(model, "ROMEO:", { maxTokens: 100 }));
 * ```
 */
export async function loadCheckpoint(
  path: string,
  options: LoadCheckpointOptions = {},
): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`loadCheckpoint: no file at ${path}`, { cause: err });
    }
    throw err;
  }
  return checkpointFromBytes(bytes, path, options);
}
