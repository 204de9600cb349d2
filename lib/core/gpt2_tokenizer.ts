/**
 * GPT-2's vocabulary (50,257 tokens: 50,000 byte-level BPE merges, the 256 bytes and
 * `<|endoftext|>`) from the ranks the `js-tiktoken` npm package ships (`js-tiktoken/ranks/gpt2`,
 * pinned in `deno.json` and `deno.lock`): nothing is downloaded.
 *
 * @module
 */
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { decodeTokens, encodePieces, mergeSymbols, PAIR } from "./_bpe_merge.ts";
import {
  showBytes,
  type Tokenizer,
  type TokenizerDescription,
  tokenizerHash,
} from "./tokenizer.ts";

/** GPT-2's `<|endoftext|>` id. */
const END_OF_TEXT = 50256;

const utf8 = new TextEncoder();

/** Bytes as a string key (one char per byte). */
function bytesKey(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/**
 * GPT-2's tokenizer (tiktoken's `gpt2` encoding, the same ids as Hugging Face's `gpt2`), its
 * vocabulary read from the ranks the `js-tiktoken` package ships. Encoding follows tiktoken: a
 * piece (GPT-2's regex) that is a token is that token; otherwise its bytes merge pair by pair,
 * the pair whose joined bytes have the lowest rank first (done here in O(n log n); js-tiktoken's
 * own loop is quadratic per step, and a piece of thousands of equal bytes took seconds). Text is
 * encoded as plain text: `<|endoftext|>` inside it becomes ordinary tokens, so every string
 * round-trips (a lone surrogate as U+FFFD); decoding id 50256 gives `<|endoftext|>`. Build it
 * with {@link gpt2Tokenizer} (shared; the ranks are parsed once, a fraction of a second).
 *
 * @example
 * ```ts
 * import { gpt2Tokenizer } from "./gpt2_tokenizer.ts";
 * const tok = gpt2Tokenizer();
 * console.assert(tok.encode("hello world").join() === "31373,995" && tok.size === 50257);
 * ```
 */
export class Gpt2Tokenizer implements Tokenizer {
  /** Always `"gpt2"`. */
  readonly kind = "gpt2" as const;
  /** Always `"gpt2"`. */
  readonly spec = "gpt2";
  /** 50,257. */
  readonly size: number = 50257;
  /** Each id's bytes. */
  readonly #bytes: Uint8Array[] = [];
  /** A token's bytes (as {@link bytesKey}) → its id. */
  readonly #ids = new Map<string, number>();
  /** Pair key → the id of the token the pair's bytes joined make. */
  readonly #merged = new Map<number, number>();
  /** Byte → its id. */
  readonly #byteIds = new Int32Array(256).fill(-1);
  readonly #cache = new Map<string, Int32Array>();
  #hash: string | undefined;

  /** Parses the package's ranks; prefer the shared {@link gpt2Tokenizer}. */
  constructor() {
    // bpe_ranks: lines of "<unused> <first id> <base64 token> <base64 token> …"; a token's
    // bytes are kept as a binary string (one char per byte) for the lookups.
    const keys: string[] = [];
    for (const line of gpt2Ranks.bpe_ranks.split("\n")) {
      if (!line) continue;
      const [, offset, ...tokens] = line.split(" ");
      let id = Number.parseInt(offset, 10);
      for (const token of tokens) keys[id++] = atob(token);
    }
    const ordinary = keys.length;
    for (let id = 0; id < ordinary; id++) {
      const key = keys[id];
      const bytes = new Uint8Array(key.length);
      for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
      this.#bytes[id] = bytes;
      this.#ids.set(key, id);
      if (bytes.length === 1) this.#byteIds[bytes[0]] = id;
    }
    for (const [text, id] of Object.entries(gpt2Ranks.special_tokens)) {
      this.#bytes[id] = utf8.encode(text);
    }
    if (
      this.#bytes.length !== this.size || this.#bytes[END_OF_TEXT] === undefined ||
      ordinary !== END_OF_TEXT || this.#byteIds.includes(-1)
    ) {
      throw new Error(
        `Gpt2Tokenizer: js-tiktoken's gpt2 ranks hold ${this.#bytes.length} tokens, expected ` +
          `${this.size} with every byte; reinstall the pinned package (deno install)`,
      );
    }
    // Every split of every token into two tokens is a pair that merges into it.
    for (let id = 0; id < ordinary; id++) {
      const key = keys[id];
      for (let cut = 1; cut < key.length; cut++) {
        const a = this.#ids.get(key.slice(0, cut));
        const b = a === undefined ? undefined : this.#ids.get(key.slice(cut));
        if (b !== undefined) this.#merged.set(a! * PAIR + b, id);
      }
    }
  }

  /** Text to GPT-2 ids (`<|endoftext|>` in the text is encoded as plain text). */
  encode(text: string): Int32Array {
    return encodePieces(text, this.#cache, (piece) => {
      const bytes = utf8.encode(piece);
      const whole = this.#ids.get(bytesKey(bytes));
      if (whole !== undefined) return Int32Array.of(whole);
      const symbols = new Int32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) symbols[i] = this.#byteIds[bytes[i]];
      return mergeSymbols(symbols, this.#merged);
    });
  }

  /** Ids to text (bytes that do not form whole characters become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    return decodeTokens(ids, this.#bytes, "Gpt2Tokenizer");
  }

  /** The bytes token `id` stands for (`<|endoftext|>`: its 13 characters). */
  tokenBytes(id: number): Uint8Array {
    const bytes = Number.isInteger(id) ? this.#bytes[id] : undefined;
    if (bytes === undefined) {
      throw new RangeError(
        `Gpt2Tokenizer.tokenBytes: id ${id} is outside the vocabulary [0, ${this.size})`,
      );
    }
    return bytes.slice();
  }

  /** Token `id` for display (`" world"`, or `\xe2\x82` for part of a character). */
  tokenText(id: number): string {
    return showBytes(this.tokenBytes(id));
  }

  /** `{ kind: "gpt2" }`: the vocabulary is the package's. */
  describe(): TokenizerDescription {
    return { kind: "gpt2" };
  }

  /** SHA-256 of the description. */
  get hash(): string {
    return this.#hash ??= tokenizerHash(this.describe());
  }
}

let shared: Gpt2Tokenizer | undefined;

/**
 * The shared GPT-2 tokenizer (built on first use).
 *
 * @example
 * ```ts
 * import { gpt2Tokenizer } from "./gpt2_tokenizer.ts";
 * const tok = gpt2Tokenizer();
 * console.assert(tok.decode(tok.encode("Héllo 😀")) === "Héllo 😀" && gpt2Tokenizer() === tok);
 * ```
 */
export function gpt2Tokenizer(): Gpt2Tokenizer {
  return shared ??= new Gpt2Tokenizer();
}
