/**
 * The encoding half of byte-level BPE, shared by the trained {@link BpeTokenizer} (`bpe.ts`) and
 * GPT-2's vocabulary (`gpt2_tokenizer.ts`): text split into pieces by GPT-2's regex, each piece's
 * symbols merged pair by pair, the pair whose merged id is lowest first (leftmost among equals).
 *
 * @module
 */

/**
 * GPT-2's pre-tokenizer (the `pat_str` of tiktoken's `gpt2` encoding). Its alternatives cover
 * every character, so the pieces tile the text.
 */
export const GPT2_PATTERN: string = String
  .raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** The largest id + 1 a pair key can hold: a pair is left · 2²⁰ + right. */
export const PAIR = 1 << 20;
/** A (merged id, position) heap entry as one number: id · 2³² + position. */
const POS = 2 ** 32;

/** The text with every lone surrogate replaced by U+FFFD (what `TextEncoder` encodes). */
export function wellFormed(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/**
 * Merges the symbols of one piece: `merged` maps a pair key to the id the pair becomes; the pair
 * with the lowest such id merges first, leftmost among equals, until no pair merges. A linked
 * list and a min-heap of (id, position) entries keep it O(n log n), even for a piece of millions
 * of bytes.
 */
export function mergeSymbols(symbols: Int32Array, merged: ReadonlyMap<number, number>): Int32Array {
  const n = symbols.length;
  if (n < 2) return symbols;
  if (n <= 24) return mergeShort(symbols, merged);
  const sym = symbols;
  const next = new Int32Array(n), prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap();
  const pushPair = (i: number) => {
    const j = next[i];
    if (j < 0) return;
    const id = merged.get(sym[i] * PAIR + sym[j]);
    if (id !== undefined) heap.push(id * POS + i);
  };
  for (let i = 0; i + 1 < n; i++) pushPair(i);
  let left = n;
  while (heap.size > 0) {
    const v = heap.pop();
    const id = Math.floor(v / POS), i = v - id * POS;
    if (!alive[i]) continue;
    const j = next[i];
    if (j < 0 || merged.get(sym[i] * PAIR + sym[j]) !== id) continue; // stale entry
    sym[i] = id;
    alive[j] = 0;
    left--;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) pushPair(prev[i]);
    pushPair(i);
  }
  const out = new Int32Array(left);
  for (let i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
  return out;
}

/**
 * {@link mergeSymbols} for a short piece, without a heap: scan for the lowest merged id (the
 * leftmost among equals), merge it, repeat — the same order, fewer allocations.
 */
function mergeShort(symbols: Int32Array, merged: ReadonlyMap<number, number>): Int32Array {
  const sym = symbols;
  let n = sym.length;
  for (;;) {
    let best = -1, at = -1;
    for (let i = 0; i + 1 < n; i++) {
      const id = merged.get(sym[i] * PAIR + sym[i + 1]);
      if (id !== undefined && (best < 0 || id < best)) {
        best = id;
        at = i;
      }
    }
    if (at < 0) return n === sym.length ? sym : sym.slice(0, n);
    sym[at] = best;
    sym.copyWithin(at + 1, at + 2, n);
    n--;
  }
}

/**
 * Splits `text` into GPT-2 pieces and joins the ids `pieceIds` gives each, keeping up to 100,000
 * pieces' ids in `cache`.
 */
export function encodePieces(
  text: string,
  cache: Map<string, Int32Array>,
  pieceIds: (piece: string) => Int32Array,
): Int32Array {
  let out = new Int32Array(Math.max(16, text.length >> 1));
  let n = 0;
  for (const [piece] of wellFormed(text).matchAll(new RegExp(GPT2_PATTERN, "gu"))) {
    let ids = cache.get(piece);
    if (ids === undefined) {
      ids = pieceIds(piece);
      if (cache.size >= 100_000) cache.clear();
      cache.set(piece, ids);
    }
    if (n + ids.length > out.length) {
      const grown = new Int32Array(Math.max(out.length * 2, n + ids.length));
      grown.set(out.subarray(0, n));
      out = grown;
    }
    out.set(ids, n);
    n += ids.length;
  }
  return out.slice(0, n);
}

/** Joins the byte strings of `ids` and decodes them as UTF-8 (broken characters as U+FFFD). */
export function decodeTokens(
  ids: ArrayLike<number>,
  bytes: readonly Uint8Array[],
  who: string,
): string {
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= bytes.length) {
      throw new RangeError(
        `${who}.decode: id ${id} at position ${i} is outside the vocabulary [0, ${bytes.length})`,
      );
    }
    total += bytes[id].length;
  }
  const out = new Uint8Array(total);
  for (let i = 0, at = 0; i < ids.length; i++) {
    out.set(bytes[ids[i]], at);
    at += bytes[ids[i]].length;
  }
  return new TextDecoder().decode(out);
}

/** A binary min-heap of numbers. */
class MinHeap {
  #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(v: number): void {
    const a = this.#a;
    let i = a.length;
    a.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
