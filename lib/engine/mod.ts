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
export {
  availableBackends,
  BACKEND_HELP,
  BACKEND_ORDER,
  engineInfo,
  ensureEngine,
  initEngine,
  wasmThreads,
} from "./tfjs.ts";
export type { BackendChoice, BackendName, EngineInfo } from "./tfjs.ts";
export {
  createOrtSession,
  CUDA_LIBRARIES,
  cudaLibraries,
  isGpuProvider,
  ORT_CUDA_HELP,
  ORT_PROVIDERS,
  ORT_WEBGPU_HELP,
  ortBindingProviders,
  ortCudaStatus,
  ortSessionOptions,
  ortVersion,
  ortWebgpuAdapter,
  resolveOrtProvider,
  webgpuAdapter,
} from "./ort.ts";
export type {
  CudaLibrary,
  OrtProvider,
  OrtProviderChoice,
  OrtSessionInfo,
  OrtSessionOptions,
  OrtWebgpuAdapter,
} from "./ort.ts";
export {
  describeVulkanDriver,
  loadedVulkanDrivers,
  planWebgpuEnv,
  SWIFTSHADER_ICD,
  swiftshaderIcd,
  vulkanIcds,
} from "./vulkan.ts";
export type {
  AdapterFound,
  PlanWebgpuEnvOptions,
  VulkanChoice,
  VulkanDriver,
  VulkanIcd,
  WebgpuEnvPlan,
} from "./vulkan.ts";
export { activationThroughput, matmulThroughput } from "./throughput.ts";
export type { Throughput } from "./throughput.ts";
