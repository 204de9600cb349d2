/**
 * Tokenizers by name: the spec strings (`char`, `byte`, `bpe:2048`, `gpt2`) that command lines,
 * datasets and sweeps use, and the rebuilding of any tokenizer from its stored description.
 *
 * @module
 */
import { BPE_MAX_VOCAB, BpeTokenizer } from "./bpe.ts";
import { gpt2Tokenizer } from "./gpt2_tokenizer.ts";
import {
  ByteTokenizer,
  CharTokenizer,
  type Tokenizer,
  type TokenizerDescription,
} from "./tokenizer.ts";

/** A parsed tokenizer spec. */
export type TokenizerSpec =
  | { readonly kind: "char" | "byte" | "gpt2" }
  | {
    /** Byte-level BPE trained on the corpus. */
    readonly kind: "bpe";
    /** Tokens wanted (256 bytes + merges). */
    readonly vocabSize: number;
  };

/**
 * The spec strings accepted, for help texts and errors.
 *
 * @example
 * ```ts
 * import { TOKENIZER_SPECS } from "./tokenizers.ts";
 * console.assert(TOKENIZER_SPECS.includes("bpe:N"));
 * ```
 */
export const TOKENIZER_SPECS: string =
  "char, byte, bpe:N (N tokens, 257 to 1048576, e.g. bpe:2048), gpt2";

/**
 * Parses a tokenizer spec: `char` (one id per character of the corpus), `byte` (256 ids),
 * `bpe:N` (a byte-level BPE of N tokens trained on the corpus), `gpt2` (GPT-2's vocabulary).
 * Anything else throws an error that lists the accepted forms.
 *
 * @example
 * ```ts
 * import { parseTokenizerSpec } from "./tokenizers.ts";
 * const spec = parseTokenizerSpec("bpe:2048");
 * console.assert(spec.kind === "bpe" && spec.vocabSize === 2048);
 * ```
 */
export function parseTokenizerSpec(spec: string): TokenizerSpec {
  const s = spec.trim().toLowerCase();
  if (s === "char" || s === "byte" || s === "gpt2") return { kind: s };
  const m = /^bpe:(\d+)$/.exec(s);
  if (m) {
    const vocabSize = Number(m[1]);
    if (vocabSize > 256 && vocabSize <= BPE_MAX_VOCAB) return { kind: "bpe", vocabSize };
    throw new RangeError(
      `Tokenizer "${spec}": a BPE needs more than the 256 byte tokens and at most ` +
        `${BPE_MAX_VOCAB} (e.g. bpe:2048)`,
    );
  }
  throw new RangeError(`Unknown tokenizer "${spec}": use one of ${TOKENIZER_SPECS}`);
}

/**
 * Rebuilds a tokenizer from its description (as {@link Tokenizer.describe} returned it, e.g.
 * from a checkpoint); the result has the same ids and the same hash.
 *
 * @example
 * ```ts
 * import { CharTokenizer } from "./tokenizer.ts";
 * import { tokenizerFromDescription } from "./tokenizers.ts";
 * const tok = CharTokenizer.fromText("hello");
 * console.assert(tokenizerFromDescription(tok.describe()).hash === tok.hash);
 * ```
 */
export function tokenizerFromDescription(description: TokenizerDescription): Tokenizer {
  const d = description as { kind?: unknown } & Record<string, unknown>;
  switch (d?.kind) {
    case "char":
      if (!Array.isArray(d.vocab)) throw new TypeError("a char tokenizer needs its vocab array");
      return new CharTokenizer(d.vocab as string[]);
    case "byte":
      return new ByteTokenizer();
    case "bpe":
      if (d.pattern !== "gpt2") {
        throw new TypeError(
          `a BPE tokenizer with pre-tokenizer ${JSON.stringify(d.pattern)} is not known here ` +
            `(known: "gpt2")`,
        );
      }
      if (!Array.isArray(d.merges)) throw new TypeError("a BPE tokenizer needs its merges array");
      return new BpeTokenizer(d.merges as number[]);
    case "gpt2":
      return gpt2Tokenizer();
    default:
      throw new TypeError(
        `Unknown tokenizer kind ${JSON.stringify(d?.kind)} (known: char, byte, bpe, gpt2)`,
      );
  }
}
