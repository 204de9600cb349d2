/**
 * The mini-GPT: typed config with presets, the model written once against a small ops interface
 * (tfjs eagerly, an ONNX trace in `lib/onnx/`), the eager training step (AdamW, warmup + cosine,
 * clipping), sampling and safetensors checkpoints. The training loop is in `lib/train/`.
 *
 * @example
 * ```ts ignore
 * import { createGpt, generate, gptConfig } from "./mod.ts";
 * import { trainGpt } from "../train/mod.ts";
 * import { loadTinyShakespeare } from "../../datasets/mod.ts";
 * const ds = await loadTinyShakespeare();
 * const config = gptConfig({ preset: "nano", vocabSize: ds.tokenizer.size });
 * const model = createGpt(config, { tokenizer: ds.tokenizer });
 * const result = await trainGpt(model, ds, { preset: "nano", iters: 500 });
 * console.log(result.history.objects(), await generate(model, "ROMEO:", { maxTokens: 200 }));
 * ```
 *
 * @module
 */
export { AdamW, clipByGlobalNorm, globalNorm, gradClipScale } from "./adamw.ts";
export type { AdamWOptions, AdamWParam } from "./adamw.ts";
export {
  CHECKPOINT_FORMAT,
  checkpointBytes,
  checkpointFromBytes,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
export type {
  CheckpointExpectation,
  LoadCheckpointOptions,
  LoadedCheckpoint,
  SaveCheckpointOptions,
} from "./checkpoint.ts";
export { activationParamRows, channelSummary, readActivationParams } from "./activation_params.ts";
export type {
  ActivationParamRow,
  ActivationParamSnapshot,
  ChannelSummary,
  LayerActivationParams,
} from "./activation_params.ts";
export {
  gptConfig,
  mlpHiddenSize,
  optimizerSettings,
  presets,
  trainConfig,
  validateGptConfig,
} from "./config.ts";
export type {
  GptConfig,
  GptConfigOptions,
  OptimizerName,
  OptimizerSettings,
  Preset,
  PresetName,
  TrainConfig,
  TrainConfigOptions,
} from "./config.ts";
export { forwardFlopsPerToken, trainingStepFlops } from "./flops.ts";
export type { ForwardFlops, ForwardFlopsOptions, StepFlops, StepFlopsOptions } from "./flops.ts";
export {
  assembleParams,
  createGpt,
  Gpt,
  gptForward,
  gptLoss,
  gptParamSpecs,
  gptParamTable,
  initParamValues,
} from "./model.ts";
export type {
  BlockParams,
  CreateGptOptions,
  GptParams,
  LayerNormParams,
  LinearParams,
  ParamDecl,
  ParamInit,
  ParamSpec,
} from "./model.ts";
export {
  Muon,
  muonScale,
  muonUpdate,
  newtonSchulz5,
  NS_COEFFICIENTS,
  NS_EPS,
  NS_STEPS,
  tensorMatrixArith,
} from "./muon.ts";
export type { MatrixArith, MuonCoefficients, MuonOptions, MuonParam } from "./muon.ts";
export type { Ops } from "./ops.ts";
export {
  adamBufferNames,
  checkOptimizerState,
  isMuonParam,
  muonBufferName,
  optimizerBuffers,
} from "./optimizer.ts";
export type { OptimizerBuffer, OptimizerParam, OptimizerState, TrainState } from "./optimizer.ts";
export { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
export type { SafetensorsDtype, SafetensorsFile, SafetensorsTensor } from "./safetensors.ts";
export { generate, sampleToken } from "./sample.ts";
export type { GenerateOptions } from "./sample.ts";
export { learningRateAt } from "./schedule.ts";
export type { ScheduleConfig } from "./schedule.ts";
export { tfjsOps } from "./tfjs_ops.ts";
export type { TfjsOpsOptions } from "./tfjs_ops.ts";
export { gptOptimizer, Trainer, TrainingDivergedError } from "./step.ts";
export type {
  EvalInfo,
  StepInfo,
  TrainEngine,
  TrainEngineFactory,
  TrainEngineOptions,
} from "./step.ts";
