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
export { activationModel, GraphBuilder, ONNX_IR_VERSION, ONNX_OPSET } from "./builder.ts";
export { conformanceTable, ortActivationError } from "./conformance.ts";
export type { ConformanceRow } from "./conformance.ts";
