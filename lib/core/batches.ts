/**
 * Train/validation split and seeded batch sampling for next-token prediction.
 *
 * @module
 */
import { createRng, type Rng } from "./rng.ts";

/** Token ids split into a training part and a validation part. */
export interface TokenSplit {
  /** The first `trainFraction` of the ids. */
  readonly train: Int32Array;
  /** The rest. */
  readonly val: Int32Array;
}

/**
 * Splits ids into the first `trainFraction` (default 0.9, as nanoGPT) for training and the rest
 * for validation, without shuffling (contiguous text stays contiguous). The cut is
 * `floor(trainFraction · n)`, as `int(0.9 * len(data))` in the PyTorch reference.
 *
 * @example
 * ```ts
 * import { splitTrainVal } from "./batches.ts";
 * const { train, val } = splitTrainVal(new Int32Array(100));
 * console.assert(train.length === 90 && val.length === 10);
 * ```
 */
export function splitTrainVal(ids: Int32Array, trainFraction = 0.9): TokenSplit {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`splitTrainVal: trainFraction must be in (0, 1), got ${trainFraction}`);
  }
  const n = Math.floor(trainFraction * ids.length);
  return { train: ids.subarray(0, n), val: ids.subarray(n) };
}

/** One batch of inputs and next-token targets, row-major `[batchSize, blockSize]`. */
export interface Batch {
  /** Input ids, `batchSize · blockSize` values. */
  readonly x: Int32Array;
  /** Target ids: `x` shifted by one position. */
  readonly y: Int32Array;
  /** Rows. */
  readonly batchSize: number;
  /** Columns (context length). */
  readonly blockSize: number;
}

/** Batch geometry. */
export interface BatchShape {
  /** Sequences per batch (B). */
  readonly batchSize: number;
  /** Tokens per sequence (T). */
  readonly blockSize: number;
}

/**
 * Draws `batchSize` random windows of `blockSize + 1` tokens from `data` using `rng`: window
 * starts are uniform in `[0, data.length - blockSize)`, as in nanoGPT's `get_batch`.
 *
 * @example
 * ```ts
 * import { sampleBatch } from "./batches.ts";
 * import { createRng } from "./rng.ts";
 * const data = Int32Array.from({ length: 50 }, (_, i) => i);
 * const b = sampleBatch(data, { batchSize: 2, blockSize: 4 }, createRng(1));
 * console.assert(b.y[0] === b.x[0] + 1);
 * ```
 */
export function sampleBatch(data: Int32Array, shape: BatchShape, rng: Rng): Batch {
  const { batchSize, blockSize } = shape;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`sampleBatch: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`sampleBatch: blockSize must be a positive integer, got ${blockSize}`);
  }
  if (data.length < blockSize + 1) {
    throw new RangeError(
      `sampleBatch: the data has ${data.length} tokens, fewer than blockSize + 1 = ` +
        `${blockSize + 1}; use a smaller blockSize or more data`,
    );
  }
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(data.length - blockSize);
    x.set(data.subarray(start, start + blockSize), b * blockSize);
    y.set(data.subarray(start + 1, start + blockSize + 1), b * blockSize);
  }
  return { x, y, batchSize, blockSize };
}

/**
 * An endless, reproducible stream of batches from one split: the same seed gives the same batches.
 *
 * @example
 * ```ts
 * import { BatchSampler } from "./batches.ts";
 * const data = Int32Array.from({ length: 100 }, (_, i) => i % 7);
 * const a = new BatchSampler(data, { batchSize: 2, blockSize: 8, seed: 3 });
 * const b = new BatchSampler(data, { batchSize: 2, blockSize: 8, seed: 3 });
 * console.assert(a.next().x.join() === b.next().x.join());
 * ```
 */
export class BatchSampler {
  readonly #data: Int32Array;
  readonly #shape: BatchShape;
  readonly #rng: Rng;

  /** A sampler over `data` seeded with `options.seed`. */
  constructor(data: Int32Array, options: BatchShape & { readonly seed: number }) {
    this.#data = data;
    this.#shape = { batchSize: options.batchSize, blockSize: options.blockSize };
    this.#rng = createRng(options.seed);
    sampleBatch(data, this.#shape, createRng(0)); // validate the geometry eagerly
  }

  /** The next batch. */
  next(): Batch {
    return sampleBatch(this.#data, this.#shape, this.#rng);
  }
}
