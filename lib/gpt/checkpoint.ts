/**
 * Checkpoints as safetensors: every parameter as an F32 tensor under its nanoGPT-style name, the
 * config, activation and vocabulary in the metadata. Written atomically; a truncated or
 * mismatched file gives an error that says what is wrong.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { atomicWriteFile } from "../core/fs.ts";
import { CharTokenizer } from "../core/tokenizer.ts";
import { getActivation } from "../activations/registry.ts";
import { type GptConfig, validateGptConfig } from "./config.ts";
import { Gpt } from "./model.ts";
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
  /** Vocabulary to store; default the model's tokenizer (if any). */
  readonly tokenizer?: CharTokenizer;
  /** Extra metadata strings (e.g. the training step); keys must not start with `actlab.`. */
  readonly metadata?: Record<string, string>;
}

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
  if (tokenizer) metadata["actlab.vocab"] = JSON.stringify(tokenizer.vocab);
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
  /** The vocabulary's tokenizer, when stored. */
  readonly tokenizer: CharTokenizer | undefined;
  /** Every metadata string (including the `actlab.*` keys). */
  readonly metadata: Record<string, string>;
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
  const model = modelFromTensors(file.tensors, config, tokenizer, source);
  return { model, config, tokenizer, metadata: file.metadata };
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
): { config: GptConfig; tokenizer: CharTokenizer | undefined } {
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
  if (meta["actlab.vocab"] === undefined) return { config, tokenizer: undefined };
  const tokenizer = new CharTokenizer(JSON.parse(meta["actlab.vocab"]));
  if (tokenizer.size !== config.vocabSize) {
    throw new Error(
      `${source}: the stored vocabulary has ${tokenizer.size} characters but the config says ` +
        `vocabSize ${config.vocabSize}`,
    );
  }
  return { config, tokenizer };
}

/** A model from a checkpoint's tensors: every parameter of the config, nothing else, all F32. */
function modelFromTensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  config: GptConfig,
  tokenizer: CharTokenizer | undefined,
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
