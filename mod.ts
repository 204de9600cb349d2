/**
 * actlab: activation functions in transformers, from a Deno Jupyter notebook.
 *
 * This root module holds what a notebook needs day to day: the activation registry, engine
 * choice, the mini-GPT and its training, sweeps and their statistics, the display helpers, and
 * the cell helpers that train a model or run a sweep once and keep the result.
 * Everything else is in a subpath, one per layer of `lib/`:
 *
 * | import                          | for                                                       |
 * | ------------------------------- | --------------------------------------------------------- |
 * | `@actlab/actlab/core`           | files, hashing, RNG, tokenizers, bits per byte, statistics |
 * | `@actlab/actlab/datasets`       | Tiny Shakespeare, your own text (`textDataset`), synthetic |
 * | `@actlab/actlab/activations`    | the registry, float64 math, fused kernels, accuracy       |
 * | `@actlab/actlab/engine`         | tfjs backends, ONNX Runtime sessions, throughput          |
 * | `@actlab/actlab/gpt`            | config, model, ops interface, eager step, checkpoints     |
 * | `@actlab/actlab/onnx`           | graphs, tracing, export, `OrtModel`, compiled training    |
 * | `@actlab/actlab/train`          | `trainGpt` on either engine, timing, evaluation           |
 * | `@actlab/actlab/sweep`          | sweeps, grids over axes, studies, the results folder      |
 * | `@actlab/actlab/experiments`    | comparisons, compute, distributions, capture, precision   |
 * | `@actlab/actlab/display`        | Plotly figures, tables, progress, live charts, cell helpers |
 * | `@actlab/actlab/notebook`       | the headless notebook runner and nbformat                 |
 * | `@actlab/actlab/report`         | the sweep's offline HTML report                           |
 * | `@actlab/actlab/cells`          | a trained GPT and a sweep for a cell, kept on disk        |
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { getUnary, initEngine } from "@actlab/actlab";
 *
 * const engine = await initEngine({ backend: "auto" });
 * console.log(`tfjs on ${engine.backend} (${engine.device})`);
 * const gelu = getUnary("gelu");
 * gelu.reference(-1); // -0.15865525393145707 (float64)
 * const y = gelu.apply(tf.tensor([-1, 0, 1])); // float32, differentiable
 * ```
 *
 * @module
 */
export {
  createRng,
  holmAdjust,
  InterruptedError,
  interruptible,
  mean,
  pairedTTest,
  std,
  summarize,
  welchTTest,
} from "./lib/core/mod.ts";
export type { InterruptScope, PairedResult, Rng, Summary, WelchResult } from "./lib/core/mod.ts";
export { charDataset, loadTinyShakespeare, syntheticDataset, textDataset } from "./datasets/mod.ts";
export type { CharDataset, TextDataset, TinyShakespeare } from "./datasets/mod.ts";
export {
  getActivation,
  getGated,
  getUnary,
  listActivations,
  registerActivation,
  unregisterActivation,
} from "./lib/activations/mod.ts";
export type {
  ActivationDef,
  GatedActivation,
  UnaryActivation,
  UserGatedActivation,
  UserUnaryActivation,
} from "./lib/activations/mod.ts";
export { initEngine } from "./lib/engine/mod.ts";
export type { EngineInfo } from "./lib/engine/mod.ts";
export {
  activationParamRows,
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  generate,
  Gpt,
  gptConfig,
  loadCheckpoint,
  saveCheckpoint,
} from "./lib/gpt/mod.ts";
export type { EvalInfo, GptConfig, StepInfo } from "./lib/gpt/mod.ts";
export { conformanceTable, exportOnnx, OrtModel } from "./lib/onnx/mod.ts";
export { trainGpt } from "./lib/train/mod.ts";
export type { TrainOptions, TrainResult } from "./lib/train/mod.ts";
export {
  captureMlpActivations,
  comparePairs,
  equalComputeTable,
  FLOAT_FORMATS,
  forwardFlopsPerToken,
  geluMismatch,
  layerActivationStats,
  mlpSparsity,
  modelSkippableShare,
  normalStatsTable,
  outlierAmplification,
  precisionError,
  roundToFormat,
  sampledDistribution,
  scaledCastStats,
  scalingFit,
  trialFlopsPerStep,
} from "./lib/experiments/mod.ts";
export type { FloatFormat } from "./lib/experiments/mod.ts";
export {
  cellTrials,
  loadStudy,
  parseStudy,
  readGrid,
  readStudy,
  readSweep,
  runStudy,
  selectionRows,
  summarizeTrials,
  sweep,
  sweepGrid,
  trialsAtBestLr,
} from "./lib/sweep/mod.ts";
export type {
  GridOptions,
  GridResult,
  Study,
  StudyResult,
  SummaryRow,
  SweepOptions,
  SweepResult,
  TrialResult,
} from "./lib/sweep/mod.ts";
export {
  activationCurves,
  activationDifference,
  cached,
  convergenceTable,
  differenceChart,
  distributionFigure,
  figure,
  geluTanhDifference,
  gridTables,
  intervalChart,
  isFast,
  liveLossChart,
  lossCurves,
  multiplierChart,
  outputDistributions,
  progress,
  scalingFigure,
  selectionFigure,
  seriesColor,
  show,
  studyTables,
  sweepTable,
  table,
  timed,
  versions,
} from "./lib/display/mod.ts";
export { cachedStudy, cachedSweep, saveResults, trainedGpt } from "./lib/cells/mod.ts";
export type { CellSweepSettings, TrainedGpt, TrainedGptSettings } from "./lib/cells/mod.ts";
