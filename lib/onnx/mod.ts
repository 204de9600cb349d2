/**
 * ONNX graphs: a graph builder on the `onnx-proto` schema and one-activation models for
 * checking the registry's lowerings in ONNX Runtime.
 *
 * @example
 * ```ts
 * import { activationModel, getActivation } from "@actlab/actlab";
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
export type { OnnxElementType, ValueSpec } from "./builder.ts";
export { conformanceTable, ortActivationError } from "./conformance.ts";
export type { ConformanceRow } from "./conformance.ts";
export { onnxTraceOps } from "./trace.ts";
export { exportOnnx, gptToOnnx } from "./export.ts";
export type { OnnxGraphKind } from "./export.ts";
export { OrtModel } from "./ort_model.ts";
export type { IdBatch } from "./ort_model.ts";
