/**
 * ONNX graphs: a graph builder on the `onnx-proto` schema and one-activation models for
 * checking the registry's lowerings in ONNX Runtime; the traced mini-GPT for inference
 * (`OrtModel`); and compiled training (`OrtTrainer`, engine `"ort"` of `trainGpt`): the whole
 * optimizer step as one graph, differentiated by a tape over the model's ops and, for
 * activations, by differentiating their ONNX lowerings. Graphs run wholly on ONNX Runtime's CPU,
 * CUDA and WebGPU providers: the operator tables of the GPU providers are data
 * (`provider_ops.json`), and ops a provider lacks are rewritten into primitives it has.
 *
 * @example
 * ```ts
 * import { activationModel } from "@actlab/actlab/onnx";
 * import { getActivation } from "@actlab/actlab";
 * const bytes = activationModel(getActivation("swiglu"));
 * ```
 *
 * @module
 */
export {
  activationModel,
  GraphBuilder,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_TYPES,
} from "./builder.ts";
export type { Attribute, FloatType, OnnxElementType, ValueSpec } from "./builder.ts";
export { conformanceTable, ortActivationError } from "./conformance.ts";
export type { ConformanceRow } from "./conformance.ts";
export { onnxTraceOps } from "./trace.ts";
export { exportOnnx, gptToOnnx } from "./export.ts";
export type { OnnxGraphKind } from "./export.ts";
export { OrtModel } from "./ort_model.ts";
export type { IdBatch } from "./ort_model.ts";
export {
  differentiateRecorded,
  onnxGradientOps,
  RecordingBuilder,
  registerOnnxGradient,
} from "./autodiff.ts";
export type { GradientContext, OnnxAttribute, OnnxGradientRule, RecordedNode } from "./autodiff.ts";
export { GradientTape } from "./tape.ts";
export type { GradientTapeOptions } from "./tape.ts";
export {
  adamNames,
  DROPOUT_STEP,
  gptLossGraph,
  gptTrainingGraph,
  gptTrainingLoopGraph,
  gradName,
  nextName,
  optimizerStepGraph,
  stackedName,
  STEP_SCALARS,
  stepScalarNames,
  stepScalars,
  stepScalarValues,
} from "./train_graph.ts";
export type { CompiledGraph, StepGraphTrain, TrainingGraphOptions } from "./train_graph.ts";
export { OrtTrainer } from "./train.ts";
export type { OrtTrainerOptions, TransferBytes } from "./train.ts";
export {
  graphOpTypes,
  LOWERABLE_OPS,
  lowerForProvider,
  PROVIDER_OPS,
  providerHasOp,
  unsupportedOps,
} from "./provider_ops.ts";
export type { ProviderOpTable, TabulatedProvider } from "./provider_ops.ts";
