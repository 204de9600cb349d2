/**
 * Where tensors run: tfjs backend selection and ONNX Runtime sessions.
 *
 * @example
 * ```ts
 * import { initEngine } from "@actlab/actlab";
 * const { backend, device } = await initEngine();
 * ```
 *
 * @module
 */
export { availableBackends, BACKEND_HELP, BACKEND_ORDER, engineInfo, initEngine } from "./tfjs.ts";
export type { BackendChoice, BackendName, EngineInfo } from "./tfjs.ts";
export {
  createOrtSession,
  isGpuProvider,
  ORT_CUDA_HELP,
  ORT_PROVIDERS,
  ORT_WEBGPU_HELP,
  ortBindingProviders,
  ortCudaStatus,
  ortSessionOptions,
  ortVersion,
  resolveOrtProvider,
  webgpuAdapter,
} from "./ort.ts";
export type { OrtProvider, OrtProviderChoice, OrtSessionInfo, OrtSessionOptions } from "./ort.ts";
export { activationThroughput, matmulThroughput } from "./throughput.ts";
export type { Throughput } from "./throughput.ts";
