/**
 * The activation registry: every built-in activation with its float64 reference, derivative,
 * gradient-correct tfjs implementation, formula and properties; lookup by name, alias or
 * parameterised spec; registration of your own.
 *
 * @example
 * ```ts
 * import { getUnary, listActivations } from "@actlab/actlab";
 * getUnary("gelu").reference(-1); // -0.15865525393145707
 * listActivations({ kind: "gated" }).length; // 6
 * ```
 *
 * @module
 */
export {
  getActivation,
  getGated,
  getUnary,
  hasActivation,
  isBuiltinActivation,
  listActivations,
  normalizeActivationName,
  registerActivation,
  unregisterActivation,
} from "./registry.ts";
export type { UserGatedActivation, UserUnaryActivation } from "./registry.ts";
export { activationFingerprint } from "./fingerprint.ts";
export { ActivationProbeError, checkActivation } from "./probe.ts";
export type { OnnxRunner, ProbePart, ProbePoint, ProbeReport } from "./probe.ts";
export { gatedFrom } from "./_build.ts";
export type { BuiltUnary } from "./_build.ts";
export {
  celu,
  elu,
  GELU_TANH_CUBIC,
  geluTanhWith,
  leakyRelu,
  leakyRelu2,
  QUICK_GELU_BETA,
  relu2Smooth,
  squareplus,
} from "./unary.ts";
export {
  BUILTIN_TRAINABLE,
  inverseSoftplus,
  POLYNORM_EPS,
  PRELU_INIT,
  trainableInit,
  XIELU,
} from "./trainable.ts";
export { erf, erfc, normalCdf, normalPdf, sigmoid, softplus } from "./_math.ts";
export { accuracyGrid, derivativeCheck, measureAccuracy, scaledError } from "./accuracy.ts";
export type { AccuracyReport, ErrorPoint } from "./accuracy.ts";
export { fusedBackends, setFusedKernels } from "./_fused.ts";
export type {
  ActivationDef,
  ActivationKind,
  ActivationParams,
  ActivationProperties,
  DefinitionBase,
  GatedActivation,
  GatedOnnxLowering,
  OnnxBuilder,
  RowMath,
  TrainableParamSpec,
  TrainableTensors,
  TrainableValues,
  UnaryActivation,
  UnaryOnnxLowering,
} from "./types.ts";
