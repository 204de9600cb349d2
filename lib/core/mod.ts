/**
 * Shared plumbing with no dependencies inside actlab: files written whole or not at all, content
 * hashes, the seeded random generator, the character tokenizer, seeded batches, and the
 * statistics (Student-t, confidence intervals, Welch's test) that experiments and displays share.
 *
 * @example
 * ```ts
 * import { createRng, summarize } from "./mod.ts";
 * const rng = createRng(1);
 * const xs = Array.from({ length: 5 }, () => rng.normal());
 * summarize(xs).ciHalfWidth > 0;
 * ```
 *
 * @module
 */
export { atomicWriteFile, writeTextAtomic } from "./fs.ts";
export { sha256Hex } from "./hash.ts";
export { ACTLAB_VERSION } from "./version.ts";
export { editDistance } from "./text.ts";
export {
  inJupyterKernel,
  INTERRUPTED_MESSAGE,
  InterruptedError,
  interruptible,
  interruptListenerInstalled,
} from "./interrupt.ts";
export type { InterruptibleOptions, InterruptScope } from "./interrupt.ts";
export { lockFolder } from "./lock.ts";
export type { FolderLock, LockOwner } from "./lock.ts";
export { createRng } from "./rng.ts";
export type { Rng } from "./rng.ts";
export { CharTokenizer } from "./tokenizer.ts";
export { BatchSampler, sampleBatch, splitTrainVal } from "./batches.ts";
export type { Batch, BatchShape, TokenSplit } from "./batches.ts";
export {
  holmAdjust,
  incompleteBeta,
  logGamma,
  mean,
  median,
  minimumDetectableDifference,
  pairedTTest,
  std,
  studentTCdf,
  studentTQuantile,
  summarize,
  variance,
  welchTTest,
} from "./stats.ts";
export type { PairedResult, Summary, WelchResult } from "./stats.ts";
