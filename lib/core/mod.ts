/**
 * Shared plumbing with no dependencies inside actlab: files written whole or not at all, content
 * hashes, the seeded random generator, tokenizers (characters, bytes, BPE, GPT-2) and bits per
 * byte, seeded batches, and the statistics (Student-t, confidence intervals, Welch's test) that
 * experiments and displays share.
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
export { createRng, restoreRng } from "./rng.ts";
export type { Rng, RngState } from "./rng.ts";
export { ByteTokenizer, CharTokenizer, showBytes, tokenizerHash } from "./tokenizer.ts";
export type { Tokenizer, TokenizerDescription } from "./tokenizer.ts";
export { BPE_MAX_VOCAB, BpeTokenizer, GPT2_SPLIT_PATTERN, trainBpe } from "./bpe.ts";
export type { TrainBpeOptions } from "./bpe.ts";
export { Gpt2Tokenizer, gpt2Tokenizer } from "./gpt2_tokenizer.ts";
export { parseTokenizerSpec, TOKENIZER_SPECS, tokenizerFromDescription } from "./tokenizers.ts";
export type { TokenizerSpec } from "./tokenizers.ts";
export { bitsPerByte, countBytes, tokenByteLengths, wholeSplitText } from "./bits_per_byte.ts";
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
