/**
 * Experiments as functions: statistics for convergence tables (more to come: sweeps over
 * activations × seeds). Returns plain data; never draws.
 *
 * @example
 * ```ts
 * import { summarize, welchTTest } from "@actlab/actlab";
 * const gelu = [1.912, 1.905, 1.918];
 * const relu = [1.951, 1.947, 1.962];
 * summarize(gelu).ciHalfWidth;
 * welchTTest(gelu, relu).p;
 * ```
 *
 * @module
 */
export {
  incompleteBeta,
  logGamma,
  mean,
  std,
  studentTCdf,
  studentTQuantile,
  summarize,
  variance,
  welchTTest,
} from "./stats.ts";
export type { Summary, WelchResult } from "./stats.ts";
export { geluMismatch } from "./gelu_mismatch.ts";
export type { GeluMismatch, GeluMismatchOptions, GeluMismatchRow } from "./gelu_mismatch.ts";
export {
  mergeSweeps,
  parseShard,
  summarizeTrials,
  sweep,
  sweepTrials,
  writeTextAtomic,
} from "./sweep.ts";
export type {
  Shard,
  SweepOptions,
  SweepResult,
  SweepSettings,
  TrialResult,
  TrialSpec,
} from "./sweep.ts";
export { writeSweepReport } from "./report.ts";
export { normalOutputStats, normalStatsTable, sampledDistribution } from "./distributions.ts";
export type {
  ActivationRef,
  NormalOutputStats,
  NormalStatsOptions,
  SampledDistribution,
  SampledOptions,
} from "./distributions.ts";
export {
  FLOAT_FORMATS,
  outlierAmplification,
  precisionError,
  quantize,
  roundToFormat,
} from "./precision.ts";
export type {
  FloatFormat,
  FormatSpec,
  OutlierOptions,
  OutlierRow,
  OverflowMode,
  PrecisionErrorRow,
  PrecisionOptions,
  RoundingSite,
  RoundOptions,
} from "./precision.ts";
export {
  captureMlpActivations,
  layerActivationStats,
  mlpSparsity,
  recordingOps,
} from "./capture.ts";
export type {
  CaptureOptions,
  LayerActivationStats,
  MlpActivationRecord,
  MlpSparsity,
} from "./capture.ts";
