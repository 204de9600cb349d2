/**
 * Byte-level BPE (byte-pair encoding), as GPT-2 builds its vocabulary: text is split into pieces
 * by GPT-2's regex (words with their leading space, numbers, punctuation runs, whitespace), each
 * piece's UTF-8 bytes start as ids 0–255, and training repeatedly merges the most frequent
 * adjacent pair of ids into a new id. Any UTF-8 text encodes, and decoding gives it back.
 *
 * Training counts pairs once and then updates the counts incrementally: a merge touches only the
 * distinct pieces that hold the pair (an index from pair to pieces), and a max-heap with lazy
 * deletion finds the next pair. Ties between equally frequent pairs go to the smaller
 * (left id, right id), so the merges depend only on the text and the vocabulary size.
 *
 * @module
 */
import {
  decodeTokens,
  encodePieces,
  GPT2_PATTERN,
  mergeSymbols,
  PAIR,
  wellFormed,
} from "./_bpe_merge.ts";
import {
  showBytes,
  type Tokenizer,
  type TokenizerDescription,
  tokenizerHash,
} from "./tokenizer.ts";

/**
 * GPT-2's pre-tokenizer: the regex that splits text into pieces before BPE merges (the
 * `pat_str` of tiktoken's `gpt2` encoding). Its alternatives cover every character, so the pieces
 * tile the text.
 *
 * @example
 * ```ts
 * import { GPT2_SPLIT_PATTERN } from "./bpe.ts";
 * const pieces = "Hello world's 42!".match(new RegExp(GPT2_SPLIT_PATTERN, "gu"));
 * console.assert(pieces!.join("|") === "Hello| world|'s| 42|!");
 * ```
 */
export const GPT2_SPLIT_PATTERN: string = GPT2_PATTERN;

/**
 * The largest vocabulary a {@link BpeTokenizer} may have (ids must fit a pair key).
 *
 * @example
 * ```ts
 * import { BPE_MAX_VOCAB } from "./bpe.ts";
 * console.assert(BPE_MAX_VOCAB === 1_048_576);
 * ```
 */
export const BPE_MAX_VOCAB: number = PAIR;

const utf8 = new TextEncoder();

/**
 * A byte-level BPE tokenizer: ids 0–255 are bytes, id 256 + k the k-th merge. Build one with
 * {@link trainBpe}, or from stored merges (a checkpoint, a cache). Encoding splits text with
 * {@link GPT2_SPLIT_PATTERN} and applies the merges in the order they were learned, so it
 * reproduces the tokenization of the training text exactly. A lone surrogate in the input is
 * encoded as U+FFFD (as `TextEncoder` does); every well-formed string round-trips.
 *
 * @example
 * ```ts
 * import { BpeTokenizer } from "./bpe.ts";
 * const tok = new BpeTokenizer([104, 105]); // one merge: "h" + "i" → 256
 * console.assert(tok.encode("hi!").join() === "256,33" && tok.decode([256, 33]) === "hi!");
 * ```
 */
export class BpeTokenizer implements Tokenizer {
  /** Always `"bpe"`. */
  readonly kind = "bpe" as const;
  /** The merges, flattened: merge k joins ids `merges[2k]` and `merges[2k+1]` into 256 + k. */
  readonly merges: Int32Array;
  readonly #bytes: Uint8Array[];
  /** Pair key → the id the pair merges into (256 + its rank). */
  readonly #merged: Map<number, number>;
  readonly #cache = new Map<string, Int32Array>();
  #hash: string | undefined;

  /**
   * A tokenizer from its merges (flattened pairs of ids, in the order learned). Each merge must
   * join ids that exist before it, and no pair may be merged twice.
   */
  constructor(merges: ArrayLike<number>) {
    if (merges.length % 2 !== 0) {
      throw new RangeError(`BpeTokenizer: ${merges.length} merge ids is odd; merges come in pairs`);
    }
    const n = merges.length / 2;
    if (256 + n > BPE_MAX_VOCAB) {
      throw new RangeError(`BpeTokenizer: ${256 + n} tokens exceed the limit of ${BPE_MAX_VOCAB}`);
    }
    this.merges = Int32Array.from(merges);
    this.#bytes = Array.from({ length: 256 + n }, (_, i) => Uint8Array.of(i & 255));
    this.#merged = new Map();
    for (let k = 0; k < n; k++) {
      const a = this.merges[2 * k], b = this.merges[2 * k + 1];
      for (const id of [a, b]) {
        if (!Number.isInteger(id) || id < 0 || id >= 256 + k) {
          throw new RangeError(
            `BpeTokenizer: merge ${k} uses id ${id}, which does not exist yet (ids < ${256 + k})`,
          );
        }
      }
      const key = a * PAIR + b;
      if (this.#merged.has(key)) {
        throw new RangeError(
          `BpeTokenizer: merge ${k} repeats merge ${this.#merged.get(key)! - 256}`,
        );
      }
      this.#merged.set(key, 256 + k);
      const left = this.#bytes[a], right = this.#bytes[b];
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      this.#bytes[256 + k] = joined;
    }
  }

  /** Number of tokens: 256 bytes plus one per merge. */
  get size(): number {
    return this.#bytes.length;
  }

  /** `bpe:` and the size. */
  get spec(): string {
    return `bpe:${this.size}`;
  }

  /**
   * Text to ids.
   *
   * @example
   * ```ts
   * import { trainBpe } from "./bpe.ts";
   * const tok = trainBpe("low lower lowest ".repeat(20), { vocabSize: 270 });
   * console.assert(tok.decode(tok.encode("lowest low")) === "lowest low");
   * ```
   */
  encode(text: string): Int32Array {
    return encodePieces(
      text,
      this.#cache,
      (piece) => mergeSymbols(Int32Array.from(utf8.encode(piece)), this.#merged),
    );
  }

  /**
   * Ids to text: the tokens' bytes joined and decoded as UTF-8 (bytes that do not form whole
   * characters, possible in sampled ids, become U+FFFD).
   */
  decode(ids: ArrayLike<number>): string {
    return decodeTokens(ids, this.#bytes, "BpeTokenizer");
  }

  /** The bytes token `id` stands for. */
  tokenBytes(id: number): Uint8Array {
    const bytes = this.#bytes[id];
    if (bytes === undefined || !Number.isInteger(id)) {
      throw new RangeError(
        `BpeTokenizer.tokenBytes: id ${id} is outside the vocabulary [0, ${this.size})`,
      );
    }
    return bytes.slice();
  }

  /**
   * Token `id` for display (`" the"`, or `\xe2\x82` for part of a character).
   *
   * @example
   * ```ts
   * import { BpeTokenizer } from "./bpe.ts";
   * console.assert(new BpeTokenizer([32, 116]).tokenText(256) === " t");
   * ```
   */
  tokenText(id: number): string {
    return showBytes(this.tokenBytes(id));
  }

  /** `{ kind: "bpe", pattern: "gpt2", merges }`. */
  describe(): TokenizerDescription {
    return { kind: "bpe", pattern: "gpt2", merges: [...this.merges] };
  }

  /** SHA-256 of the description. */
  get hash(): string {
    return this.#hash ??= tokenizerHash(this.describe());
  }
}

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /**
   * Tokens wanted: 256 bytes plus `vocabSize − 256` merges (e.g. 512–8192). Training stops
   * earlier, with a smaller vocabulary, when no adjacent pair is left to merge.
   */
  readonly vocabSize: number;
  /** Called every 256 merges and at the end with the merges done and wanted. */
  readonly onProgress?: (done: number, wanted: number) => void;
}

/**
 * Learns a byte-level BPE vocabulary of `vocabSize` tokens from `text` (see the module notes:
 * GPT-2's pre-tokenizer, incremental pair counts, ties to the smaller pair). Deterministic: the
 * same text and size give the same merges in any process.
 *
 * @example
 * ```ts
 * import { trainBpe } from "./bpe.ts";
 * const tok = trainBpe("the cat sat on the mat ".repeat(50), { vocabSize: 262 });
 * console.assert(tok.size === 262 && tok.encode(" the").length === 1);
 * ```
 */
export function trainBpe(text: string, options: TrainBpeOptions): BpeTokenizer {
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > BPE_MAX_VOCAB) {
    throw new RangeError(
      `trainBpe: vocabSize must be an integer in [256, ${BPE_MAX_VOCAB}], got ${vocabSize}`,
    );
  }
  const wanted = vocabSize - 256;
  // Distinct pieces and how often each occurs.
  const pieceCounts = new Map<string, number>();
  for (const [piece] of wellFormed(text).matchAll(new RegExp(GPT2_SPLIT_PATTERN, "gu"))) {
    pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
  }
  const words: Int32Array[] = [];
  const lens: number[] = [];
  const freq: number[] = [];
  for (const [piece, count] of pieceCounts) {
    const bytes = utf8.encode(piece);
    if (bytes.length < 2) continue; // a single byte never takes part in a merge
    words.push(Int32Array.from(bytes));
    lens.push(bytes.length);
    freq.push(count);
  }
  pieceCounts.clear();

  // Pair counts (weighted by piece frequency) and, per pair, the pieces that may hold it.
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  const note = (key: number, w: number) => {
    const list = where.get(key);
    if (list === undefined) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    for (let i = 0; i + 1 < lens[w]; i++) {
      const key = s[i] * PAIR + s[i + 1];
      counts.set(key, (counts.get(key) ?? 0) + freq[w]);
      note(key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of counts) heap.push(c, key);

  const merges: number[] = [];
  const seen = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  for (let m = 0; m < wanted; m++) {
    // The most frequent pair (smallest key among equals); stale heap entries are re-pushed.
    let key = -1;
    while (heap.size > 0) {
      const [c, k] = heap.pop();
      const real = counts.get(k) ?? 0;
      if (real === 0) continue;
      if (real !== c) {
        heap.push(real, k);
        continue;
      }
      key = k;
      break;
    }
    if (key < 0) break; // nothing left to merge
    const a = Math.floor(key / PAIR), b = key - a * PAIR;
    const x = 256 + m;
    merges.push(a, b);
    const list = where.get(key)!;
    where.delete(key);
    counts.delete(key);
    delta.clear();
    for (const w of list) {
      if (seen[w] === m) continue;
      seen[w] = m;
      const s = words[w];
      const n = lens[w];
      let has = false;
      for (let i = 0; i + 1 < n; i++) {
        if (s[i] === a && s[i + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      const f = freq[w];
      for (let i = 0; i + 1 < n; i++) {
        const k = s[i] * PAIR + s[i + 1];
        if (k !== key) delta.set(k, (delta.get(k) ?? 0) - f);
      }
      let out = 0;
      for (let i = 0; i < n; i++) {
        if (i + 1 < n && s[i] === a && s[i + 1] === b) {
          s[out++] = x;
          i++;
        } else s[out++] = s[i];
      }
      lens[w] = out;
      for (let i = 0; i + 1 < out; i++) {
        const k = s[i] * PAIR + s[i + 1];
        delta.set(k, (delta.get(k) ?? 0) + f);
        if (s[i] === x || s[i + 1] === x) note(k, w);
      }
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (counts.get(k) ?? 0) + d;
      if (c > 0) counts.set(k, c);
      else counts.delete(k);
      if (d > 0) heap.push(c, k); // only pairs holding the new id grow
    }
    if ((m + 1) % 256 === 0) options.onProgress?.(m + 1, wanted);
  }
  options.onProgress?.(merges.length / 2, wanted);
  return new BpeTokenizer(merges);
}

/** A binary max-heap of (count, pair key): larger count first, then smaller key. */
class PairHeap {
  #c: number[] = [];
  #k: number[] = [];

  get size(): number {
    return this.#c.length;
  }

  /** Whether (c1, k1) comes before (c2, k2). */
  static #before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }

  push(count: number, key: number): void {
    const c = this.#c, k = this.#k;
    let i = c.length;
    c.push(count);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!PairHeap.#before(count, key, c[p], k[p])) break;
      c[i] = c[p];
      k[i] = k[p];
      i = p;
    }
    c[i] = count;
    k[i] = key;
  }

  pop(): [number, number] {
    const c = this.#c, k = this.#k;
    const top: [number, number] = [c[0], k[0]];
    const lc = c.pop()!, lk = k.pop()!;
    const n = c.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const best = r < n && PairHeap.#before(c[r], k[r], c[l], k[l]) ? r : l;
        if (!PairHeap.#before(c[best], k[best], lc, lk)) break;
        c[i] = c[best];
        k[i] = k[best];
        i = best;
      }
      c[i] = lc;
      k[i] = lk;
    }
    return top;
  }
}
