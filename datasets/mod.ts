/**
 * Data in, ids out: dataset loaders (download with checksum, cache, offline path), any text file or
 * folder as a dataset with a character, byte, BPE or GPT-2 tokenizer (`textDataset`), character
 * datasets split into train and validation ids, and a synthetic corpus for fast tests. The
 * tokenizers and seeded batches are shared plumbing in `lib/core/`.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./mod.ts";
 * import { BatchSampler } from "../lib/core/mod.ts";
 * const ds = syntheticDataset({ length: 2000 });
 * const batches = new BatchSampler(ds.train, { batchSize: 4, blockSize: 16, seed: 1 });
 * console.assert(batches.next().x.length === 64);
 * ```
 *
 * @module
 */
export { charDataset } from "./char_dataset.ts";
export type { CharDataset, CharDatasetOptions } from "./char_dataset.ts";
export { splitBytes, textDataset } from "./text_dataset.ts";
export type { TextDataset, TextDatasetOptions, TextSource } from "./text_dataset.ts";
export { download, stderrProgress, userCacheDir } from "./files.ts";
export type { DownloadProgress } from "./files.ts";
export { syntheticDataset, syntheticText } from "./synthetic/generator.ts";
export type { SyntheticOptions } from "./synthetic/generator.ts";
export { loadTinyShakespeare, TINY_SHAKESPEARE } from "./tinyshakespeare/loader.ts";
export type { LoadTinyShakespeareOptions, TinyShakespeare } from "./tinyshakespeare/loader.ts";
