/**
 * Data in, ids out: dataset loaders (download with checksum, cache, offline path), the character
 * tokenizer, the train/validation split, seeded batches and a synthetic corpus for fast tests.
 *
 * @example
 * ```ts
 * import { BatchSampler, syntheticDataset } from "./mod.ts";
 * const ds = syntheticDataset({ length: 2000 });
 * const batches = new BatchSampler(ds.train, { batchSize: 4, blockSize: 16, seed: 1 });
 * console.assert(batches.next().x.length === 64);
 * ```
 *
 * @module
 */
export { BatchSampler, sampleBatch, splitTrainVal } from "./batches.ts";
export type { Batch, BatchShape, TokenSplit } from "./batches.ts";
export { charDataset } from "./char_dataset.ts";
export type { CharDataset, CharDatasetOptions } from "./char_dataset.ts";
export { atomicWriteFile, download, sha256Hex, stderrProgress, userCacheDir } from "./files.ts";
export type { DownloadProgress } from "./files.ts";
export { createRng } from "./rng.ts";
export type { Rng } from "./rng.ts";
export { syntheticDataset, syntheticText } from "./synthetic/generator.ts";
export type { SyntheticOptions } from "./synthetic/generator.ts";
export { loadTinyShakespeare, TINY_SHAKESPEARE } from "./tinyshakespeare/loader.ts";
export type { LoadTinyShakespeareOptions, TinyShakespeare } from "./tinyshakespeare/loader.ts";
export { CharTokenizer } from "./tokenizer.ts";
