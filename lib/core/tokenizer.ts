/**
 * Character-level tokenizer: one id per distinct character (Unicode code point), ids assigned in
 * code-point order, the same as Python's `sorted(set(text))` in nanoGPT and the PyTorch reference.
 *
 * @module
 */

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const shown = cp < 32 || cp === 127 ? JSON.stringify(ch) : `"${ch}"`;
  return `${shown} (U+${cp.toString(16).toUpperCase().padStart(4, "0")})`;
}

/**
 * Maps characters to integer ids and back.
 *
 * @example
 * ```ts
 * import { CharTokenizer } from "./tokenizer.ts";
 * const tok = CharTokenizer.fromText("hello world");
 * const ids = tok.encode("hello");
 * console.assert(tok.decode(ids) === "hello");
 * console.assert(tok.size === 8);
 * ```
 */
export class CharTokenizer {
  /** The characters, index = id. */
  readonly vocab: readonly string[];
  readonly #index: Map<string, number>;

  /**
   * Builds a tokenizer from an explicit vocabulary (e.g. one stored in a checkpoint).
   * Each entry must be a single code point, with no duplicates.
   */
  constructor(vocab: readonly string[]) {
    if (vocab.length === 0) throw new RangeError("CharTokenizer: the vocabulary is empty");
    const index = new Map<string, number>();
    vocab.forEach((ch, i) => {
      if (typeof ch !== "string" || [...ch].length !== 1) {
        throw new TypeError(
          `CharTokenizer: vocabulary entry ${i} must be one character, got ${JSON.stringify(ch)}`,
        );
      }
      if (index.has(ch)) {
        throw new RangeError(
          `CharTokenizer: character ${describeChar(ch)} appears twice in the vocabulary ` +
            `(ids ${index.get(ch)} and ${i})`,
        );
      }
      index.set(ch, i);
    });
    this.vocab = Object.freeze([...vocab]);
    this.#index = index;
  }

  /**
   * Builds the vocabulary from every distinct character of `text`, sorted by code point.
   *
   * @example
   * ```ts
   * import { CharTokenizer } from "./tokenizer.ts";
   * console.assert(CharTokenizer.fromText("banana").vocab.join("") === "abn");
   * ```
   */
  static fromText(text: string): CharTokenizer {
    const chars = [...new Set(text)];
    chars.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(chars);
  }

  /** Number of distinct tokens (the model's `vocabSize`). */
  get size(): number {
    return this.vocab.length;
  }

  /** Whether `ch` (one character) has an id. */
  has(ch: string): boolean {
    return this.#index.has(ch);
  }

  /**
   * Text to ids. A character outside the vocabulary throws an error naming it and its position.
   *
   * @example
   * ```ts
   * import { CharTokenizer } from "./tokenizer.ts";
   * const tok = CharTokenizer.fromText("ab");
   * console.assert(tok.encode("ba").join(",") === "1,0");
   * ```
   */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length); // upper bound: code points ≤ UTF-16 units
    let n = 0;
    let pos = 0;
    for (const ch of text) {
      const id = this.#index.get(ch);
      if (id === undefined) {
        throw new RangeError(
          `CharTokenizer.encode: character ${describeChar(ch)} at position ${pos} is not in the ` +
            `vocabulary (${this.size} characters). Remove it from the input, or build the ` +
            `tokenizer from text that contains it.`,
        );
      }
      out[n++] = id;
      pos++;
    }
    return out.slice(0, n);
  }

  /**
   * Ids to text. An id outside [0, size) throws.
   *
   * @example
   * ```ts
   * import { CharTokenizer } from "./tokenizer.ts";
   * console.assert(CharTokenizer.fromText("ab").decode([1, 0, 1]) === "bab");
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const ch = this.vocab[ids[i]];
      if (ch === undefined) {
        throw new RangeError(
          `CharTokenizer.decode: id ${ids[i]} at position ${i} is outside the vocabulary ` +
            `[0, ${this.size})`,
        );
      }
      s += ch;
    }
    return s;
  }

  /** The vocabulary as plain JSON (an array of characters), as stored in checkpoints. */
  toJSON(): string[] {
    return [...this.vocab];
  }
}
