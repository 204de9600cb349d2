/**
 * A small seeded pseudo-random generator (xoshiro128**), the one source of randomness for batch
 * sampling, weight initialisation and text generation, so that the same seed gives the same numbers
 * on every backend and platform.
 *
 * @module
 */

/** A seeded stream of pseudo-random numbers. Create one with {@link createRng}. */
export interface Rng {
  /** The next raw 32-bit unsigned integer. */
  uint32(): number;
  /** A float in [0, 1) with 32 bits of randomness. */
  float(): number;
  /** An integer in [0, n), without modulo bias. `n` must be a positive integer ≤ 2^32. */
  int(n: number): number;
  /** A standard normal deviate (Box–Muller, float64). */
  normal(): number;
  /** An independent generator derived from this one's seed and `stream` (same inputs, same stream). */
  fork(stream: number): Rng;
  /** A snapshot of where the stream is: {@link restoreRng} continues it from here. */
  state(): RngState;
}

/**
 * Where a generator's stream is (plain JSON data): its seed (for `fork`), xoshiro128**'s four
 * state words and the Box–Muller deviate kept for the next `normal()`, if any.
 */
export interface RngState {
  /** The seed the generator was created with. */
  readonly seed: number;
  /** The four 32-bit state words. */
  readonly words: readonly [number, number, number, number];
  /** The second deviate of the last Box–Muller pair, not yet returned; `null` when none. */
  readonly spare: number | null;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Creates a seeded generator. Seeds are integers; the same seed always yields the same sequence.
 *
 * @example
 * ```ts
 * import { createRng } from "./rng.ts";
 * const a = createRng(42), b = createRng(42);
 * console.assert(a.int(1000) === b.int(1000));
 * console.assert(a.float() < 1);
 * ```
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`createRng: seed must be a safe integer, got ${seed}`);
  }
  // Mix both halves of a 53-bit seed into the state.
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  const state = new Uint32Array([mix(), mix(), mix(), mix()]);
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  return generator(seed, state, null);
}

/**
 * A generator that continues the stream a {@link Rng.state} snapshot describes: the same numbers,
 * from there on, as the generator it was taken from.
 *
 * @example
 * ```ts
 * import { createRng, restoreRng } from "./rng.ts";
 * const a = createRng(7);
 * a.int(10);
 * const b = restoreRng(JSON.parse(JSON.stringify(a.state())));
 * console.assert(a.uint32() === b.uint32() && a.normal() === b.normal());
 * ```
 */
export function restoreRng(snapshot: RngState): Rng {
  const { seed, words, spare } = snapshot ?? {};
  const word = (w: unknown) => Number.isInteger(w) && (w as number) >= 0 && (w as number) < 2 ** 32;
  if (
    !Number.isSafeInteger(seed) || !Array.isArray(words) || words.length !== 4 ||
    !words.every(word) || words.every((w) => w === 0) ||
    !(spare === null || Number.isFinite(spare))
  ) {
    throw new TypeError(
      `restoreRng: not a generator state: ${JSON.stringify(snapshot)} (expected { seed, words: ` +
        `four 32-bit integers not all 0, spare: a number or null })`,
    );
  }
  return generator(seed, Uint32Array.from(words), spare);
}

/** xoshiro128** over `state` (taken over, not copied), with the seed `fork` derives from. */
function generator(seed: number, state: Uint32Array, spareNormal: number | null): Rng {
  let spare = spareNormal;

  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const uint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(state[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (state[1] << 9) >>> 0;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  const float = (): number => uint32() / 2 ** 32;
  return {
    uint32,
    float,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
        throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
      }
      // Rejection sampling: accept only values below the largest multiple of n.
      const limit = 2 ** 32 - (2 ** 32 % n);
      let r = uint32();
      while (r >= limit) r = uint32();
      return r % n;
    },
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = float();
      const v = float();
      const radius = Math.sqrt(-2 * Math.log(u));
      spare = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
    fork(stream: number): Rng {
      return createRng(((seed * 0x9e3779b1) % 2 ** 31) + stream * 7919 + 1);
    },
    state(): RngState {
      return { seed, words: [state[0], state[1], state[2], state[3]], spare };
    },
  };
}
