/**
 * Experiments as functions: sweeps over activations × seeds with their convergence summaries,
 * grids of sweeps over learning rates and step budgets, compute (FLOPs) and equal-compute views,
 * output distributions, activation capture and sparsity, low-precision emulation and the GELU
 * mismatch study. Returns plain data and arquero tables; never draws (`lib/display/` does).
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
export { comparePairs, pairBySeed, seedOutlierNotice, seedOutliers } from "./compare.ts";
export type { SeedOutlier } from "./compare.ts";
export { bestLearningRates, gridCells, gridTable, sweepGrid, trialsAtBestLr } from "./grid.ts";
export type { GridCell, GridCellResult, GridCellTrials, GridOptions, GridResult } from "./grid.ts";
export {
  mergeSweeps,
  parseShard,
  readSweep,
  summarizeTrials,
  sweep,
  sweepTrials,
} from "./sweep.ts";
export type {
  Shard,
  SweepOptions,
  SweepResult,
  SweepSettings,
  TrialResult,
  TrialSpec,
} from "./sweep.ts";
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
