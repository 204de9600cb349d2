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
export { createOrtSession, ORT_CUDA_HELP, ortCudaStatus, ortVersion } from "./ort.ts";
export type { OrtProvider, OrtSessionInfo } from "./ort.ts";
export { activationThroughput, matmulThroughput } from "./throughput.ts";
export type { Throughput } from "./throughput.ts";
