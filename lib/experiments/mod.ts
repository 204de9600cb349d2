/**
 * Analyses as functions: paired comparisons of trials, compute (FLOPs) and equal-compute views,
 * scaling fits across model sizes, output distributions, activation capture and sparsity,
 * low-precision emulation and the GELU mismatch study. Returns plain data and arquero tables;
 * never draws (`lib/display/` does). Sweeps, grids and studies — the runs these analyses read —
 * are the study engine's (`lib/sweep/`).
 *
 * @example
 * ```ts
 * import { normalOutputStats } from "./mod.ts";
 * normalOutputStats("relu").mean; // 1/√(2π) ≈ 0.3989
 * ```
 *
 * @module
 */
export { equalComputeTable, trialCurves, trialFlopsPerStep } from "./compute.ts";
export type { CurvePoint, EqualComputeOptions } from "./compute.ts";
export { geluMismatch } from "./gelu_mismatch.ts";
export type { GeluMismatch, GeluMismatchOptions, GeluMismatchRow } from "./gelu_mismatch.ts";
export { comparePairs } from "./compare.ts";
export { scalingFit } from "./scaling.ts";
export type { MultiplierRow, ScalingFitRow, ScalingOptions, ScalingPoint } from "./scaling.ts";
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
  scaledCastStats,
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
  ScaledCastOptions,
  ScaledCastStats,
} from "./precision.ts";
export {
  captureMlpActivations,
  forwardFlopsPerToken,
  layerActivationStats,
  mlpSparsity,
  modelSkippableShare,
  recordingOps,
} from "./capture.ts";
export type {
  CaptureOptions,
  ForwardFlops,
  ForwardFlopsOptions,
  LayerActivationStats,
  MlpActivationRecord,
  MlpSparsity,
} from "./capture.ts";
