/**
 * Bits per byte: a loss in nats per token turned into bits per UTF-8 byte of the same text,
 * `loss × tokens / bytes / ln 2`, so models with different tokenizers (characters, bytes, BPE,
 * GPT-2) compare on one scale. The byte count of a run of tokens is the sum of each token's
 * byte length (every tokenizer here is byte-exact: the tokens' bytes joined are the text's UTF-8).
 *
 * @module
 */
import type { Tokenizer } from "./tokenizer.ts";

const lengthsCache = new WeakMap<object, Int32Array>();

/**
 * The UTF-8 byte length of every id's text (index = id), computed once per tokenizer.
 *
 * @example
 * ```ts
 * import { tokenByteLengths } from "./bits_per_byte.ts";
 * import { CharTokenizer } from "./tokenizer.ts";
 * console.assert(tokenByteLengths(CharTokenizer.fromText("aé😀")).join() === "1,2,4");
 * ```
 */
export function tokenByteLengths(tokenizer: Pick<Tokenizer, "size" | "tokenBytes">): Int32Array {
  let lengths = lengthsCache.get(tokenizer);
  if (lengths === undefined) {
    lengths = new Int32Array(tokenizer.size);
    for (let id = 0; id < tokenizer.size; id++) lengths[id] = tokenizer.tokenBytes(id).length;
    lengthsCache.set(tokenizer, lengths);
  }
  return lengths;
}

/**
 * The bytes of `ids[start .. end)` given each id's byte length ({@link tokenByteLengths}).
 *
 * @example
 * ```ts
 * import { countBytes } from "./bits_per_byte.ts";
 * console.assert(countBytes([0, 1, 1], [1, 3]) === 7);
 * console.assert(countBytes([0, 1, 1], [1, 3], { start: 1, end: 2 }) === 3);
 * ```
 */
export function countBytes(
  ids: ArrayLike<number>,
  byteLengths: ArrayLike<number>,
  range: { readonly start?: number; readonly end?: number } = {},
): number {
  const start = range.start ?? 0, end = range.end ?? ids.length;
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const n = byteLengths[ids[i]];
    if (n === undefined) {
      throw new RangeError(`countBytes: id ${ids[i]} at ${i} has no byte length`);
    }
    bytes += n;
  }
  return bytes;
}

/**
 * A mean loss in nats per token as bits per byte of the same text:
 * `loss × tokens / bytes / ln 2`.
 *
 * @example
 * ```ts
 * import { bitsPerByte } from "./bits_per_byte.ts";
 * // 1.5 nats per token, 100 tokens over 250 bytes: 1.5 · 100 / 250 / ln 2 ≈ 0.8656
 * console.assert(Math.abs(bitsPerByte(1.5, { tokens: 100, bytes: 250 }) - 0.8656) < 1e-4);
 * ```
 */
export function bitsPerByte(
  loss: number,
  text: { readonly tokens: number; readonly bytes: number },
): number {
  if (!(text.tokens > 0 && text.bytes > 0)) {
    throw new RangeError(
      `bitsPerByte: needs tokens and bytes > 0, got ${text.tokens} tokens, ${text.bytes} bytes`,
    );
  }
  return (loss * text.tokens) / text.bytes / Math.LN2;
}

/**
 * The tokens and bytes that a whole-split evaluation (`splitLoss` in `lib/train`) predicts:
 * consecutive windows of `blockSize` inputs, so the targets are `ids[1 .. 1 + W·blockSize)` with
 * `W = floor((ids.length − 1) / blockSize)`. The first id (never a target) and the remainder that
 * fills no window are left out, so the bits per byte of that loss is exact for the text it saw.
 *
 * @example
 * ```ts
 * import { wholeSplitText } from "./bits_per_byte.ts";
 * // 10 ids, windows of 4: targets ids[1..9), 8 tokens of 1 byte each
 * const t = wholeSplitText(new Int32Array(10), [1], 4);
 * console.assert(t.tokens === 8 && t.bytes === 8);
 * ```
 */
export function wholeSplitText(
  ids: ArrayLike<number>,
  byteLengths: ArrayLike<number>,
  blockSize: number,
): { tokens: number; bytes: number } {
  const windows = Math.max(0, Math.floor((ids.length - 1) / blockSize));
  const tokens = windows * blockSize;
  return { tokens, bytes: countBytes(ids, byteLengths, { start: 1, end: 1 + tokens }) };
}
