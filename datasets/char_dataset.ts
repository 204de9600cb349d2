/**
 * A character-level text dataset: text, tokenizer, and the 90/10 train/validation split.
 *
 * @module
 */
import { splitTrainVal } from "../lib/core/batches.ts";
import { CharTokenizer } from "../lib/core/tokenizer.ts";

/** Text ready for a character-level language model. */
export interface CharDataset {
  /** Short name, e.g. `tinyshakespeare`. */
  readonly name: string;
  /** The whole text. */
  readonly text: string;
  /** Tokenizer over every character of `text`. */
  readonly tokenizer: CharTokenizer;
  /** Training ids (first 90 % by default). */
  readonly train: Int32Array;
  /** Validation ids (the rest). */
  readonly val: Int32Array;
}

/** Options of {@link charDataset}. */
export interface CharDatasetOptions {
  /** Dataset name carried into results. Default `"text"`. */
  readonly name?: string;
  /** Fraction of the text used for training. Default 0.9. */
  readonly trainFraction?: number;
  /** Use this tokenizer instead of building one from `text` (it must cover the text). */
  readonly tokenizer?: CharTokenizer;
}

/**
 * Tokenizes `text` character by character and splits the ids 90/10.
 *
 * @example
 * ```ts
 * import { charDataset } from "./char_dataset.ts";
 * const ds = charDataset("to be or not to be, that is the question\n".repeat(10));
 * console.assert(ds.tokenizer.decode(ds.train.subarray(0, 5)) === "to be");
 * console.assert(ds.train.length + ds.val.length === ds.text.length);
 * ```
 */
export function charDataset(text: string, options: CharDatasetOptions = {}): CharDataset {
  const tokenizer = options.tokenizer ?? CharTokenizer.fromText(text);
  const ids = tokenizer.encode(text);
  const { train, val } = splitTrainVal(ids, options.trainFraction ?? 0.9);
  return { name: options.name ?? "text", text, tokenizer, train, val };
}
