/**
 * A synthetic text corpus generated in code: sentences from a tiny seeded grammar. It needs no
 * files, builds in milliseconds and has structure a small model learns within a few hundred steps
 * (word spellings, word order, punctuation), so tests can check that training actually learns.
 *
 * @module
 */
import { type CharDataset, charDataset } from "../char_dataset.ts";
import { createRng, type Rng } from "../../lib/core/rng.ts";

const SUBJECTS = ["the cat", "a dog", "the old king", "my friend", "the bird", "a child"];
const VERBS = ["sees", "likes", "follows", "finds", "hears", "calls"];
const OBJECTS = ["the moon", "a red ball", "the river", "her brother", "the sea", "a small house"];
const ENDINGS = [".", ".", ".", "!", "?"];

/** Options of {@link syntheticText} and {@link syntheticDataset}. */
export interface SyntheticOptions {
  /** Length of the text in characters (at least 200). Default 20,000. */
  readonly length?: number;
  /** Seed of the grammar's choices. Default 0. */
  readonly seed?: number;
}

function sentence(rng: Rng): string {
  const pick = (xs: readonly string[]) => xs[rng.int(xs.length)];
  const s = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)}`;
  const n = 1 + rng.int(9);
  // A counting clause gives the model an exactly predictable pattern to learn.
  const clause = rng.int(3) === 0
    ? ` ${Array.from({ length: n }, (_, i) => String(i + 1)).join(" ")}`
    : "";
  return s + clause + pick(ENDINGS);
}

/**
 * Generates `length` characters of grammar text: `"the cat sees the moon 1 2 3."`, one sentence
 * per line. Same seed, same text.
 *
 * @example
 * ```ts
 * import { syntheticText } from "./generator.ts";
 * const text = syntheticText({ length: 500, seed: 1 });
 * console.assert(text.length === 500 && text === syntheticText({ length: 500, seed: 1 }));
 * ```
 */
export function syntheticText(options: SyntheticOptions = {}): string {
  const length = options.length ?? 20_000;
  if (!Number.isInteger(length) || length < 200) {
    throw new RangeError(`syntheticText: length must be an integer ≥ 200, got ${length}`);
  }
  const rng = createRng(options.seed ?? 0);
  let text = "";
  while (text.length < length) text += sentence(rng) + "\n";
  return text.slice(0, length);
}

/**
 * The synthetic text as a character dataset (tokenizer, 90/10 split), named `synthetic`.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./generator.ts";
 * const ds = syntheticDataset({ length: 5000 });
 * console.assert(ds.name === "synthetic" && ds.val.length === 500);
 * ```
 */
export function syntheticDataset(options: SyntheticOptions = {}): CharDataset {
  return charDataset(syntheticText(options), { name: "synthetic" });
}
