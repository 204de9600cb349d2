/**
 * ONNX Runtime sessions with the best execution provider present: CUDA where onnxruntime-node's
 * CUDA provider is installed, the CPU one otherwise, with the reason.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { dirname, fromFileUrl, join } from "./_path.ts";

/** An execution provider actlab uses. */
export type OrtProvider = "cuda" | "cpu";

/** A session and how it was made. */
export interface OrtSessionInfo {
  /** The ONNX Runtime session. */
  readonly session: ort.InferenceSession;
  /** The execution provider that runs it. */
  readonly provider: OrtProvider;
  /** Why this provider (and not CUDA, when CPU). */
  readonly reason: string;
}

/** How to get the CUDA execution provider on a user's machine. */
export const ORT_CUDA_HELP: string =
  "install onnxruntime-node's CUDA provider on a machine with an NVIDIA GPU and internet: " +
  "`ONNXRUNTIME_NODE_INSTALL=cuda12 deno install --allow-scripts=npm:onnxruntime-node` " +
  "(CUDA 12 + cuDNN 9)";

/** The folder holding onnxruntime-node's native libraries for this platform. */
function ortBinaryDir(): string {
  const index = fromFileUrl(import.meta.resolve("onnxruntime-node"));
  const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  return join(dirname(dirname(index)), "bin", "napi-v6", os, arch);
}

/**
 * Whether onnxruntime-node's CUDA execution provider library is installed, and if not, why.
 *
 * @example
 * ```ts
 * import { ortCudaStatus } from "@actlab/actlab/engine";
 * const { available, reason } = ortCudaStatus();
 * ```
 */
export function ortCudaStatus(): { available: boolean; reason: string } {
  const lib = Deno.build.os === "windows"
    ? "onnxruntime_providers_cuda.dll"
    : "libonnxruntime_providers_cuda.so";
  const path = join(ortBinaryDir(), lib);
  try {
    Deno.statSync(path);
    return { available: true, reason: `CUDA provider found at ${path}` };
  } catch {
    return { available: false, reason: `no CUDA provider library at ${path}` };
  }
}

/**
 * Opens an ONNX model in ONNX Runtime with the best execution provider: `auto` takes CUDA when
 * its provider is installed and starts, else CPU; `cuda` fails loudly when it cannot.
 *
 * @example
 * ```ts
 * import { activationModel } from "@actlab/actlab/onnx";
 * import { createOrtSession } from "@actlab/actlab/engine";
 * import { getActivation } from "@actlab/actlab";
 * const model = activationModel(getActivation("gelu")); // bytes; a file path works too
 * const { session, provider, reason } = await createOrtSession(model);
 * console.log(provider, reason, session.inputNames); // "cpu", "CPU, because …", ["x"]
 * ```
 */
export async function createOrtSession(
  model: string | Uint8Array,
  options: {
    provider?: "auto" | OrtProvider;
    threads?: number;
    /** Record ONNX Runtime's profile: a JSON trace file `<prefix>_<time>.json` in the cwd. */
    profilePrefix?: string;
  } = {},
): Promise<OrtSessionInfo> {
  const want = options.provider ?? "auto";
  if (!["auto", "cuda", "cpu"].includes(want)) {
    throw new Error(`Unknown ONNX Runtime provider '${want}': choose auto, cuda or cpu.`);
  }
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    ...(options.profilePrefix
      ? { enableProfiling: true, profileFilePrefix: options.profilePrefix }
      : {}),
  };
  const open = (providers: string[]) =>
    typeof model === "string"
      ? ort.InferenceSession.create(model, { ...base, executionProviders: providers })
      : ort.InferenceSession.create(model, { ...base, executionProviders: providers });
  let cudaReason = "";
  if (want !== "cpu") {
    const status = ortCudaStatus();
    if (status.available) {
      try {
        return { session: await open(["cuda"]), provider: "cuda", reason: status.reason };
      } catch (e) {
        cudaReason = `CUDA provider failed to start: ${e instanceof Error ? e.message : e}`;
      }
    } else {
      cudaReason = status.reason;
    }
    if (want === "cuda") {
      throw new Error(`ONNX Runtime CUDA unavailable: ${cudaReason}. To get it, ${ORT_CUDA_HELP}.`);
    }
  }
  const reason = want === "cpu" ? "CPU requested" : `CPU, because ${cudaReason}`;
  return { session: await open(["cpu"]), provider: "cpu", reason };
}

/**
 * Versions of ONNX Runtime's packages in use.
 *
 * @example
 * ```ts
 * import { ortVersion } from "@actlab/actlab/engine";
 * ortVersion(); // "1.30.0"
 * ```
 */
export function ortVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}
