/**
 * Text generation: autoregressive sampling with temperature and top-k, seeded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createRng, type Rng } from "../core/rng.ts";
import type { Tokenizer } from "../core/tokenizer.ts";
import type { Gpt } from "./model.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Tokens to generate. Default 100. */
  readonly maxTokens?: number;
  /** Softmax temperature; 0 picks the most likely token (greedy). Default 1. */
  readonly temperature?: number;
  /** Sample only among the k most likely tokens (ties with the k-th kept). Default: all. */
  readonly topK?: number;
  /** Seed of the sampling. Default 0. */
  readonly seed?: number;
  /** Tokenizer for a string prompt; default the model's own. */
  readonly tokenizer?: Tokenizer;
}

/**
 * Picks one token id from one row of logits with temperature and top-k (0 temperature: argmax).
 * Probabilities are computed in float64 in JavaScript, so the choice depends only on the logits,
 * the options and the generator's state.
 *
 * @example
 * ```ts
 * import { sampleToken } from "./sample.ts";
 * import { createRng } from "../core/rng.ts";
 * console.assert(sampleToken([0.1, 3, 0.2], { temperature: 0, rng: createRng(1) }) === 1);
 * ```
 */
export function sampleToken(
  logits: ArrayLike<number>,
  options: { readonly temperature: number; readonly topK?: number; readonly rng: Rng },
): number {
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (options.temperature === 0) return best;
  let threshold = -Infinity;
  if (options.topK !== undefined && options.topK < n) {
    const sorted = Array.from(logits).sort((a, b) => b - a);
    threshold = sorted[options.topK - 1];
  }
  const max = logits[best];
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i] < threshold) continue;
    weights[i] = Math.exp((logits[i] - max) / options.temperature);
    total += weights[i];
  }
  let r = options.rng.float() * total;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    r -= weights[i];
    if (r < 0) return i;
  }
  return best; // rounding left r ≥ 0: the most likely token
}

/**
 * Generates `maxTokens` tokens after `prompt`. A string prompt (needs a tokenizer: the model's or
 * `options.tokenizer`) returns the prompt plus the generated text; an id array returns the prompt
 * ids plus the generated ids. The context is cropped to the model's last `blockSize` tokens.
 * Same seed, same model, same backend → same text.
 *
 * @example
 * ```ts ignore
 * const opts = { maxTokens: 200, temperature: 0.8, topK: 20, seed: 1 };
 * const text = await generate(model, "ROMEO:", opts);
 * ```
 */
export async function generate(
  model: Gpt,
  prompt: string,
  options?: GenerateOptions,
): Promise<string>;
/**
 * Generates `maxTokens` token ids after the ids in `prompt`; returns prompt plus generated ids.
 *
 * @example
 * ```ts ignore
 * const ids = await generate(model, [0, 12, 5], { maxTokens: 50, temperature: 0 });
 * ```
 */
export async function generate(
  model: Gpt,
  prompt: readonly number[],
  options?: GenerateOptions,
): Promise<number[]>;
export async function generate(
  model: Gpt,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
): Promise<string | number[]> {
  const maxTokens = options.maxTokens ?? 100;
  const temperature = options.temperature ?? 1;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) {
    throw new RangeError(`generate: maxTokens must be an integer ≥ 0, got ${maxTokens}`);
  }
  if (!(temperature >= 0)) {
    throw new RangeError(`generate: temperature must be ≥ 0, got ${temperature}`);
  }
  if (options.topK !== undefined && !(Number.isInteger(options.topK) && options.topK >= 1)) {
    throw new RangeError(`generate: topK must be an integer ≥ 1, got ${options.topK}`);
  }
  const { ids, tokenizer } = promptIds(model, prompt, options.tokenizer);
  const v = model.config.vocabSize;
  const rng = createRng(options.seed ?? 0);
  for (let i = 0; i < maxTokens; i++) {
    const ctx = ids.slice(-model.config.blockSize);
    const last = tf.tidy(() => {
      const logits = model.logits(tf.tensor2d(ctx, [1, ctx.length], "int32")); // [1, t, V]
      return tf.slice(logits, [0, ctx.length - 1, 0], [1, 1, v]); // [1, 1, V]
    });
    const row = await last.data();
    last.dispose();
    ids.push(sampleToken(row, { temperature, topK: options.topK, rng }));
  }
  return tokenizer ? tokenizer.decode(ids) : ids;
}

/**
 * The prompt as ids in the model's vocabulary (a string through the given tokenizer or the
 * model's), and the tokenizer to decode with (none for an id prompt).
 */
function promptIds(
  model: Gpt,
  prompt: string | readonly number[],
  given: Tokenizer | undefined,
): { ids: number[]; tokenizer: Tokenizer | undefined } {
  let tokenizer: Tokenizer | undefined;
  let ids: number[];
  if (typeof prompt === "string") {
    tokenizer = given ?? model.tokenizer;
    if (!tokenizer) {
      throw new Error(
        "generate: a string prompt needs a tokenizer; pass { tokenizer } or give the model one " +
          "(createGpt(config, { tokenizer }) or a checkpoint with a vocabulary)",
      );
    }
    ids = [...tokenizer.encode(prompt)];
  } else {
    ids = [...prompt];
  }
  if (ids.length === 0) {
    throw new RangeError('generate: the prompt is empty; give at least one token (e.g. "\\n")');
  }
  const v = model.config.vocabSize;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= v) {
      throw new RangeError(`generate: prompt id ${id} is outside the vocabulary [0, ${v})`);
    }
  }
  return { ids, tokenizer };
}
