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
): LoadedCheckpoint {
  const file = decodeSafetensors(bytes, source);
  const { config, tokenizer } = readMetadata(file.metadata, source);
  const model = modelFromTensors(file.tensors, config, tokenizer, source);
  return { model, config, tokenizer, metadata: file.metadata };
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
 * const { model, tokenizer } = await loadCheckpoint("results/nano-gelu.safetensors");
 * console.log(await generate(model, "ROMEO:", { maxTokens: 100 }));
 * ```
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`loadCheckpoint: no file at ${path}`, { cause: err });
    }
    throw err;
  }
  return checkpointFromBytes(bytes, path);
}
