/**
 * Tokenizers: the {@link Tokenizer} interface every model, checkpoint and dataset accepts, the
 * character-level {@link CharTokenizer} (one id per distinct character, ids in code-point order,
 * the same as Python's `sorted(set(text))` in nanoGPT and the PyTorch reference) and the
 * {@link ByteTokenizer} (one id per UTF-8 byte). A byte-level BPE lives in `bpe.ts`, GPT-2's
 * vocabulary in `gpt2_tokenizer.ts`; `tokenizers.ts` rebuilds any of them from its description.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * A tokenizer as plain JSON: enough to rebuild it exactly (checkpoints and dataset caches store
 * this). Its {@link tokenizerHash} identifies the tokenizer.
 */
export type TokenizerDescription =
  | {
    /** Characters, one id per code point. */
    readonly kind: "char";
    /** The characters, index = id. */
    readonly vocab: readonly string[];
  }
  | {
    /** UTF-8 bytes, ids 0–255. */
    readonly kind: "byte";
  }
  | {
    /** Byte-level BPE (ids 0–255 are bytes, then one id per merge). */
    readonly kind: "bpe";
    /** The pre-tokenizer that splits text into pieces before merging (`gpt2`: GPT-2's regex). */
    readonly pattern: "gpt2";
    /** The merges in order, flattened: merge k joins ids `merges[2k]`, `merges[2k+1]` into 256 + k. */
    readonly merges: readonly number[];
  }
  | {
    /** GPT-2's 50,257-token vocabulary (`r50k_base`), from the `js-tiktoken` package. */
    readonly kind: "gpt2";
  };

/**
 * What every tokenizer offers: text to ids and back, its size, the bytes and display text of each
 * token, and a serialisable description with its hash. Models, checkpoints, sampling and datasets
 * accept any implementation.
 */
export interface Tokenizer {
  /** The kind (`char`, `byte`, `bpe`, `gpt2`), as in {@link TokenizerDescription}. */
  readonly kind: TokenizerDescription["kind"];
  /** The spec that names it: `char`, `byte`, `bpe:2048` (the size asked for), `gpt2`. */
  readonly spec: string;
  /** Number of distinct ids (the model's `vocabSize`). */
  readonly size: number;
  /** Text to ids. */
  encode(text: string): Int32Array;
  /** Ids to text (ids outside `[0, size)` throw). */
  decode(ids: ArrayLike<number>): string;
  /** The UTF-8 bytes that token `id` stands for (what bits per byte counts). */
  tokenBytes(id: number): Uint8Array;
  /** Token `id` for display: its text, with bytes that are not whole UTF-8 characters as `\xNN`. */
  tokenText(id: number): string;
  /** The tokenizer as plain JSON, enough to rebuild it ({@link TokenizerDescription}). */
  describe(): TokenizerDescription;
  /** SHA-256 (hex) of the description's JSON: equal hashes, equal tokenizers. */
  readonly hash: string;
}

/**
 * SHA-256 (lowercase hex) of a tokenizer description's JSON, as {@link Tokenizer.hash}.
 *
 * @example
 * ```ts
 * import { tokenizerHash } from "./tokenizer.ts";
 * console.assert(tokenizerHash({ kind: "byte" }).length === 64);
 * ```
 */
export function tokenizerHash(description: TokenizerDescription): string {
  return createHash("sha256").update(JSON.stringify(description)).digest("hex");
}

const utf8 = new TextEncoder();
const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes shown as text: valid UTF-8 as its characters, anything else byte by byte as `\xNN`
 * (a BPE or GPT-2 token may hold part of a multi-byte character).
 *
 * @example
 * ```ts
 * import { showBytes } from "./tokenizer.ts";
 * console.assert(showBytes(new Uint8Array([104, 105])) === "hi");
 * console.assert(showBytes(new Uint8Array([0xe2, 0x82])) === "\\xe2\\x82");
 * ```
 */
export function showBytes(bytes: Uint8Array): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return [...bytes].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  }
}

/** Throws a RangeError naming the tokenizer unless `id` is an integer in `[0, size)`. */
function checkId(who: string, id: number, size: number, position?: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= size) {
    throw new RangeError(
      `${who}: id ${id}${
        position === undefined ? "" : ` at position ${position}`
      } is outside the vocabulary [0, ${size})`,
    );
  }
}

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
export class CharTokenizer implements Tokenizer {
  /** Always `"char"`. */
  readonly kind = "char" as const;
  /** Always `"char"`. */
  readonly spec = "char";
  /** The characters, index = id. */
  readonly vocab: readonly string[];
  readonly #index: Map<string, number>;
  #hash: string | undefined;

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

  /**
   * The UTF-8 bytes of token `id`'s character (a lone surrogate counts as U+FFFD, 3 bytes).
   *
   * @example
   * ```ts
   * import { CharTokenizer } from "./tokenizer.ts";
   * console.assert(CharTokenizer.fromText("aé").tokenBytes(1).length === 2);
   * ```
   */
  tokenBytes(id: number): Uint8Array {
    checkId("CharTokenizer.tokenBytes", id, this.size);
    return utf8.encode(this.vocab[id]);
  }

  /** Token `id`'s character. */
  tokenText(id: number): string {
    checkId("CharTokenizer.tokenText", id, this.size);
    return this.vocab[id];
  }

  /** `{ kind: "char", vocab }`. */
  describe(): TokenizerDescription {
    return { kind: "char", vocab: [...this.vocab] };
  }

  /** SHA-256 of the description. */
  get hash(): string {
    return this.#hash ??= tokenizerHash(this.describe());
  }

  /** The vocabulary as plain JSON (an array of characters), as stored in checkpoints. */
  toJSON(): string[] {
    return [...this.vocab];
  }
}

/**
 * One id per UTF-8 byte: 256 ids, nothing to train, every text encodes (a lone surrogate as
 * U+FFFD, as `TextEncoder` does). Decoding ids that are not whole UTF-8 characters gives U+FFFD
 * for the broken bytes.
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * const tok = new ByteTokenizer();
 * console.assert(tok.encode("hé").join() === "104,195,169");
 * console.assert(tok.decode(tok.encode("hé 😀")) === "hé 😀" && tok.size === 256);
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  /** Always `"byte"`. */
  readonly kind = "byte" as const;
  /** Always `"byte"`. */
  readonly spec = "byte";
  /** 256. */
  readonly size = 256;
  #hash: string | undefined;

  /** The UTF-8 bytes of `text`, as ids. */
  encode(text: string): Int32Array {
    return Int32Array.from(utf8.encode(text));
  }

  /** The text of the bytes `ids` (invalid UTF-8 becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      checkId("ByteTokenizer.decode", ids[i], 256, i);
      bytes[i] = ids[i];
    }
    return new TextDecoder().decode(bytes);
  }

  /** The one byte `id`. */
  tokenBytes(id: number): Uint8Array {
    checkId("ByteTokenizer.tokenBytes", id, 256);
    return Uint8Array.of(id);
  }

  /** The byte as its ASCII character, else `\xNN`. */
  tokenText(id: number): string {
    checkId("ByteTokenizer.tokenText", id, 256);
    return showBytes(Uint8Array.of(id));
  }

  /** `{ kind: "byte" }`. */
  describe(): TokenizerDescription {
    return { kind: "byte" };
  }

  /** SHA-256 of the description. */
  get hash(): string {
    return this.#hash ??= tokenizerHash(this.describe());
  }
}
