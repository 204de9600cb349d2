/**
 * ONNX Runtime sessions on an execution provider: `cpu`, `webgpu` (Dawn over Vulkan, Metal or
 * D3D12, bundled in onnxruntime-node's Linux x64, macOS and Windows bindings), `cuda` (Linux x64,
 * downloaded by the package's install script), `coreml` (macOS) and `dml` (Windows), with the
 * reason for the choice.
 *
 * `auto` takes a GPU provider only when it is real hardware: CUDA when its provider library is
 * installed and a session starts; else WebGPU when the binding ships it and the WebGPU adapter that
 * Deno's `navigator.gpu` reports is not a software rasteriser (SwiftShader, llvmpipe, lavapipe,
 * WARP) — a software adapter runs WebGPU, but slower than ONNX Runtime's own CPU kernels, so it
 * must be asked for by name (`webgpu`), as the CI's SwiftShader tests do. CoreML and DirectML are
 * never picked by `auto`: actlab's training graphs are not checked against their operator tables.
 * `ACTLAB_ORT_PROVIDER` replaces `auto` (like `ACTLAB_BACKEND` for tfjs).
 *
 * Sessions on a GPU provider run with ONNX Runtime's `session.disable_cpu_ep_fallback`, so a
 * graph with a node the provider lacks fails when it is opened instead of running slowly with
 * copies between device and host.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { choiceFromEnv, denoWebgpuUsed, probeWebgpuAdapter, quietWindowSystem } from "./_env.ts";
import onnxProto from "onnx-proto";
import { dirname, fromFileUrl, join } from "./_path.ts";
import { loadedVulkanDrivers, type VulkanDriver } from "./vulkan.ts";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

/** An execution provider actlab can open sessions on. */
export type OrtProvider = "cpu" | "webgpu" | "cuda" | "coreml" | "dml";

/** A provider, or `auto` for the best that starts here. */
export type OrtProviderChoice = "auto" | OrtProvider;

/**
 * Every provider name actlab accepts, CPU first.
 *
 * @example
 * ```ts
 * import { ORT_PROVIDERS } from "@actlab/actlab/engine";
 * console.assert(ORT_PROVIDERS.includes("webgpu"));
 * ```
 */
export const ORT_PROVIDERS: readonly OrtProvider[] = ["cpu", "webgpu", "cuda", "coreml", "dml"];

/**
 * Whether a provider runs on a GPU (or another accelerator), where tensors live in device memory.
 *
 * @example
 * ```ts
 * import { isGpuProvider } from "@actlab/actlab/engine";
 * console.assert(isGpuProvider("webgpu") && !isGpuProvider("cpu"));
 * ```
 */
export function isGpuProvider(provider: OrtProvider): boolean {
  return provider !== "cpu";
}

/** A session and how it was made. */
export interface OrtSessionInfo {
  /** The ONNX Runtime session. */
  readonly session: ort.InferenceSession;
  /** The execution provider that runs it. */
  readonly provider: OrtProvider;
  /** Why this provider (and, for `auto`, why not the better ones). */
  readonly reason: string;
}

/**
 * How to get the CUDA execution provider on a user's machine (Linux x64 only: onnxruntime-node
 * 1.30's install script has a CUDA manifest for no other platform). The manifest is still called
 * `cuda12`, but what it downloads — NuGet `Microsoft.ML.OnnxRuntime.Gpu.Linux` of the same
 * version — has been built for CUDA 13 since ONNX Runtime 1.27.
 */
export const ORT_CUDA_HELP: string =
  "on Linux x64 with an NVIDIA driver for CUDA 13 and internet access, let onnxruntime-node's " +
  "install script download its CUDA provider: `ONNXRUNTIME_NODE_INSTALL=cuda12 deno install " +
  "--allow-scripts=npm:onnxruntime-node` (the manifest keeps the name cuda12; ONNX Runtime " +
  "1.27+ ships the provider built for CUDA 13, needing libcudart.so.13, libcublas.so.13 and " +
  "cuDNN 9 for CUDA 13 on the library path)";

/** How to get a WebGPU adapter for ONNX Runtime where none starts. */
export const ORT_WEBGPU_HELP: string =
  "ONNX Runtime's WebGPU provider (Dawn) needs a GPU driver: Vulkan on Linux (NVIDIA's driver, " +
  "or Mesa ≥ 23 for AMD/Intel, with `libvulkan1`), Metal on macOS, D3D12 on Windows; in an " +
  "NVIDIA container Vulkan exists only when NVIDIA_DRIVER_CAPABILITIES includes graphics " +
  "(`vulkaninfo --summary` or `deno run -A tools/gpu_probe.ts` shows what is there). Without a " +
  "GPU it can run on SwiftShader for testing: " +
  "`VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json` (Debian's chromium package)";

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
 * The providers this platform's onnxruntime-node binding knows (`listSupportedBackends`), with
 * whether each ships in the npm package (`bundled`) or needs its install script (CUDA).
 *
 * @example
 * ```ts
 * import { ortBindingProviders } from "@actlab/actlab/engine";
 * ortBindingProviders(); // Linux x64: cpu, webgpu (bundled); cuda, tensorrt (downloaded)
 * ```
 */
export function ortBindingProviders(): { name: string; bundled: boolean }[] {
  const list = (ort as unknown as { listSupportedBackends?: () => unknown }).listSupportedBackends;
  if (typeof list !== "function") return [{ name: "cpu", bundled: true }];
  return (list() as { name: string; bundled: boolean }[]).map((b) => ({ ...b }));
}

/**
 * The WebGPU adapter Deno's `navigator.gpu` finds (through the same Vulkan, Metal or D3D12
 * drivers as ONNX Runtime's Dawn), and whether it is hardware: not a fallback adapter and not a
 * software rasteriser such as SwiftShader or llvmpipe.
 *
 * @example
 * ```ts
 * import { webgpuAdapter } from "@actlab/actlab/engine";
 * const { hardware, name } = await webgpuAdapter(); // e.g. false, "llvmpipe (LLVM 15.0.6, 256 bits)"
 * ```
 */
export async function webgpuAdapter(): Promise<{ hardware: boolean; name: string }> {
  const probe = await probeWebgpuAdapter();
  if (!probe.found) return { hardware: false, name: `none (${probe.problem})` };
  return { hardware: !probe.software, name: probe.name };
}

/**
 * The CUDA libraries ONNX Runtime's CUDA provider needs (its 1.27+ builds link CUDA 13 and load
 * cuDNN 9 lazily), with the driver's `libcuda.so.1`.
 */
export const CUDA_LIBRARIES: readonly string[] = [
  "libcuda.so.1",
  "libcudart.so.13",
  "libcublas.so.13",
  "libcublasLt.so.13",
  "libcufft.so.12",
  "libcurand.so.10",
  "libcudnn.so.9",
];

/** Where a CUDA library is: loadable by name, found elsewhere, or missing. */
export interface CudaLibrary {
  /** The library's soname. */
  readonly name: string;
  /** `loadable`: the dynamic linker finds it; `elsewhere`: a file off the library path; `missing`. */
  readonly status: "loadable" | "elsewhere" | "missing" | "unknown";
  /** Where it was found off the library path (add its folder to `LD_LIBRARY_PATH`). */
  readonly path?: string;
}

/** Folders that hold CUDA libraries off the library path: toolkits and pip's nvidia packages. */
function cudaFolders(): string[] {
  const folders = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"];
  const list = (dir: string) => {
    try {
      return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => join(dir, e.name));
    } catch {
      return [];
    }
  };
  let home: string | undefined;
  try {
    home = Deno.env.get("HOME");
  } catch {
    home = undefined;
  }
  const pythons = [
    "/usr/lib",
    "/usr/local/lib",
    ...(home ? [join(home, ".local/lib")] : []),
    ...list("/opt").map((d) => join(d, ".venv/lib")),
  ].flatMap((d) => list(d).filter((p) => /python3/.test(p)));
  for (const py of pythons) {
    for (const site of ["site-packages", "dist-packages"]) {
      for (const pkg of list(join(py, site, "nvidia"))) folders.push(join(pkg, "lib"));
    }
  }
  return folders;
}

/**
 * Whether each of ONNX Runtime's CUDA libraries ({@link CUDA_LIBRARIES}) loads here: `loadable`
 * (the dynamic linker finds it), `elsewhere` (a CUDA toolkit or pip's `nvidia-*` packages have it,
 * off the library path), `missing`, or `unknown` (no FFI permission to try).
 *
 * @example
 * ```ts
 * import { cudaLibraries } from "@actlab/actlab/engine";
 * for (const lib of cudaLibraries()) console.log(lib.name, lib.status, lib.path ?? "");
 * ```
 */
export function cudaLibraries(): CudaLibrary[] {
  let folders: string[] | undefined;
  return CUDA_LIBRARIES.map((name): CudaLibrary => {
    try {
      Deno.dlopen(name, {}).close();
      return { name, status: "loadable" };
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        return { name, status: "unknown" };
      }
    }
    folders ??= cudaFolders();
    for (const folder of folders) {
      try {
        Deno.statSync(join(folder, name));
        return { name, status: "elsewhere", path: join(folder, name) };
      } catch {
        // not here
      }
    }
    return { name, status: "missing" };
  });
}

/** What can be told of the adapter ONNX Runtime's WebGPU provider runs on. */
export interface OrtWebgpuAdapter {
  /**
   * Whether ONNX Runtime names the adapter its Dawn chose. onnxruntime-node 1.30 does not: it has
   * no adapter API and logs none; the drivers below are the evidence instead.
   */
  readonly exposed: boolean;
  /** Whether the provider started; when not, `name` says why. */
  readonly started: boolean;
  /**
   * Vulkan drivers loaded into this process once the provider started (Linux): with one, the
   * adapter is that driver's; with several, one of them.
   */
  readonly drivers: readonly VulkanDriver[];
  /** Every loaded driver is a software rasteriser (true), none is (false), or unknown/mixed. */
  readonly software: boolean | undefined;
  /** The account in words, for reports. */
  readonly name: string;
}

/**
 * The adapter of ONNX Runtime's WebGPU provider, as far as it can be told: ONNX Runtime does not
 * name it (see {@link OrtWebgpuAdapter.exposed}), so this starts the provider and reports the
 * Vulkan drivers its process then holds, saying when Deno's own WebGPU loaded drivers into the
 * process too (call it before `webgpuAdapter()` for a clean answer).
 *
 * @example
 * ```ts ignore
 * import { ortWebgpuAdapter } from "@actlab/actlab/engine";
 * const a = await ortWebgpuAdapter();
 * console.log(a.name); // "SwiftShader (software): the only Vulkan driver in ONNX Runtime's process …"
 * ```
 */
export async function ortWebgpuAdapter(): Promise<OrtWebgpuAdapter> {
  const problem = await providerProblem("webgpu");
  if (problem !== undefined) {
    return { exposed: false, started: false, drivers: [], software: undefined, name: problem };
  }
  const drivers = loadedVulkanDrivers();
  const soft = drivers.filter((d) => d.software).length;
  const software = drivers.length === 0
    ? undefined
    : soft === drivers.length
    ? true
    : soft === 0
    ? false
    : undefined;
  const unnamed = `onnxruntime-node ${ortVersion()} does not name the adapter it chose`;
  const mixed = denoWebgpuUsed() ? "; Deno's own WebGPU loaded drivers into this process too" : "";
  const names = [...new Set(drivers.map((d) => d.name))];
  const name = names.length === 0
    ? `not known: ${unnamed}, and no Vulkan driver shows in the process map`
    : names.length === 1
    ? `${names[0]}: the only Vulkan driver in ONNX Runtime's process (${unnamed}${mixed})`
    : `one of ${names.join(", ")}: the Vulkan drivers in ONNX Runtime's process (${unnamed}; ` +
      `Dawn prefers a discrete GPU${mixed})`;
  return { exposed: false, started: true, drivers, software, name };
}

/** A one-node model (y = relu(x), x float32 [2]) to see whether a provider starts. */
function probeModel(): Uint8Array {
  const io = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 9,
    producerName: "actlab",
    opsetImport: [{ domain: "", version: 20 }],
    graph: {
      name: "probe",
      node: [{ opType: "Relu", input: ["x"], output: ["y"], name: "relu" }],
      input: [io("x")],
      output: [io("y")],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Options of {@link ortSessionOptions} and {@link createOrtSession}. */
export interface OrtSessionOptions {
  /** Intra-op threads of the CPU provider. Default: ONNX Runtime's choice (all cores). */
  readonly threads?: number;
  /**
   * Let idle intra-op threads of the CPU provider spin before they sleep (ONNX Runtime's
   * `session.intra_op.allow_spinning`). Default false: on a machine with other work, spinning
   * threads take the cores the work needs (the nano step at 2 threads took twice as long); with
   * the cores to itself, a step with more than one thread need not wait for sleeping threads to
   * wake between its small kernels (`bench/train_ort.ts` times both).
   */
  readonly spinning?: boolean;
  /** Record ONNX Runtime's profile: a JSON trace file `<prefix>_<time>.json` in the cwd. */
  readonly profilePrefix?: string;
  /**
   * Where outputs land, by output name (WebGPU only): `gpu-buffer` keeps an output in device
   * memory (feed it to the next run as an input), `cpu` copies it to the host (the default).
   */
  readonly outputLocations?: Readonly<Record<string, "cpu" | "gpu-buffer">>;
}

/**
 * The ONNX Runtime session options actlab uses on `provider`: all graph optimisations; on a GPU
 * provider `session.disable_cpu_ep_fallback` = 1, so a node the provider lacks fails the session
 * instead of falling back to the CPU; on the CPU `session.intra_op.allow_spinning` = 0 unless
 * `spinning`: idle intra-op threads sleep instead of spinning between the step graph's ~900 small
 * kernels, which on a machine with other work halved the nano step at the default thread count
 * (2 busy cores: 70–85 ms against 146–173 ms per step; 1 thread has no pool and is unaffected).
 * The CPU memory arena and memory patterns stay on (arena off: 1.26× slower); optimisation levels
 * `basic`, `extended` and `all` measured within 1 % of each other.
 *
 * @example
 * ```ts
 * import { ortSessionOptions } from "@actlab/actlab/engine";
 * const o = ortSessionOptions("webgpu");
 * console.assert(JSON.stringify(o.extra).includes("disable_cpu_ep_fallback"));
 * const spin = (o: ReturnType<typeof ortSessionOptions>) => JSON.stringify(o.extra);
 * console.assert(spin(ortSessionOptions("cpu")).includes('"intra_op.allow_spinning":"0"'));
 * const spinning = ortSessionOptions("cpu", { threads: 2, spinning: true });
 * console.assert(spin(spinning).includes('"intra_op.allow_spinning":"1"'));
 * ```
 */
export function ortSessionOptions(
  provider: OrtProvider,
  options: OrtSessionOptions = {},
): ort.InferenceSession.SessionOptions {
  if (options.outputLocations && provider !== "webgpu") {
    const gpu = Object.entries(options.outputLocations).filter(([, l]) => l !== "cpu");
    if (gpu.length > 0) {
      throw new Error(
        `ortSessionOptions: output location 'gpu-buffer' is a WebGPU buffer; the ${provider} ` +
          `provider cannot keep ${gpu[0][0]} there`,
      );
    }
  }
  return {
    executionProviders: [provider],
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    ...(options.profilePrefix
      ? { enableProfiling: true, profileFilePrefix: options.profilePrefix }
      : {}),
    ...(provider === "webgpu" && options.outputLocations
      ? { preferredOutputLocation: { ...options.outputLocations } }
      : {}),
    extra: {
      session: isGpuProvider(provider)
        ? { disable_cpu_ep_fallback: "1" }
        : { "intra_op.allow_spinning": options.spinning ? "1" : "0" },
    },
  };
}

function checkChoice(want: string): asserts want is OrtProviderChoice {
  if (want !== "auto" && !ORT_PROVIDERS.includes(want as OrtProvider)) {
    throw new Error(
      `Unknown ONNX Runtime provider '${want}': choose auto, ${ORT_PROVIDERS.join(", ")}.`,
    );
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/**
 * Why `provider` cannot run here (undefined: it starts). Opens a one-node session with CPU
 * fallback disabled; the answer is cached per provider for the process.
 */
async function providerProblem(provider: OrtProvider): Promise<string | undefined> {
  if (provider === "cpu") return undefined;
  const cached = problems.get(provider);
  if (cached !== undefined) return cached ?? undefined;
  const shipped = ortBindingProviders().map((b) => b.name);
  let problem: string | undefined;
  if (!shipped.includes(provider)) {
    problem = `this platform's onnxruntime-node binding (${Deno.build.os} ${Deno.build.arch}) ` +
      `has no ${provider} provider; it has ${shipped.join(", ")}`;
  } else if (provider === "cuda" && !ortCudaStatus().available) {
    problem = ortCudaStatus().reason;
  } else {
    if (provider === "webgpu") quietWindowSystem();
    try {
      const s = await ort.InferenceSession.create(probeModel(), ortSessionOptions(provider));
      // ONNX Runtime frees the WebGPU device, and every pipeline it compiled, with the last
      // session open on it; this one stays open, so a session reuses what earlier ones compiled
      // (a sweep's second activation starts in milliseconds instead of seconds).
      if (provider === "webgpu") keepers.push(s);
      else await s.release();
    } catch (e) {
      problem = `the ${provider} provider failed to start: ${message(e)}`;
    }
  }
  problems.set(provider, problem ?? null);
  return problem;
}
const problems = new Map<OrtProvider, string | null>();
const keepers: ort.InferenceSession[] = [];

/**
 * The provider a session gets for `choice`, and why. `auto` (the default; `ACTLAB_ORT_PROVIDER`
 * replaces it) takes CUDA when installed and starting, else WebGPU on a hardware adapter, else the
 * CPU; a named provider that cannot start throws an error that says why and how to get it.
 *
 * @example
 * ```ts
 * import { resolveOrtProvider } from "@actlab/actlab/engine";
 * const { provider, reason } = await resolveOrtProvider("auto");
 * console.log(provider, reason); // "cpu", "CPU, because …" on a machine without a GPU
 * ```
 */
export async function resolveOrtProvider(
  choice: OrtProviderChoice = "auto",
): Promise<{ provider: OrtProvider; reason: string }> {
  checkChoice(choice);
  const want = choice === "auto"
    ? choiceFromEnv("ACTLAB_ORT_PROVIDER", ORT_PROVIDERS, "an ONNX Runtime provider") ?? "auto"
    : choice;
  if (want === "cpu") {
    return {
      provider: "cpu",
      reason: choice === "auto" ? "ACTLAB_ORT_PROVIDER=cpu" : "CPU requested",
    };
  }
  if (want !== "auto") {
    const problem = await providerProblem(want);
    if (problem !== undefined) {
      const help = want === "cuda"
        ? ` To get it, ${ORT_CUDA_HELP}.`
        : want === "webgpu"
        ? ` ${ORT_WEBGPU_HELP}.`
        : "";
      throw new Error(`ONNX Runtime ${want} unavailable: ${problem}.${help}`);
    }
    return { provider: want, reason: `${want} requested` };
  }
  const skipped: string[] = [];
  const cuda = await providerProblem("cuda");
  if (cuda === undefined) return { provider: "cuda", reason: ortCudaStatus().reason };
  skipped.push(`not CUDA: ${cuda}`);
  if (ortBindingProviders().some((b) => b.name === "webgpu")) {
    const adapter = await webgpuAdapter();
    if (!adapter.hardware) {
      skipped.push(`not WebGPU: the adapter is ${adapter.name}, no hardware GPU`);
    } else {
      const webgpu = await providerProblem("webgpu");
      if (webgpu === undefined) {
        return { provider: "webgpu", reason: `WebGPU on ${adapter.name} (${skipped.join("; ")})` };
      }
      skipped.push(`not WebGPU: ${webgpu}`);
    }
  } else {
    skipped.push("not WebGPU: this platform's binding has no WebGPU provider");
  }
  return { provider: "cpu", reason: `CPU, because ${skipped.join("; ")}` };
}

/**
 * Opens an ONNX model in ONNX Runtime on a provider ({@link resolveOrtProvider}: `auto` takes
 * CUDA or a hardware WebGPU adapter when one starts, else CPU; a named one fails loudly when it
 * cannot start). On a GPU provider every node must run there: CPU fallback is disabled.
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
  options: OrtSessionOptions & { readonly provider?: OrtProviderChoice } = {},
): Promise<OrtSessionInfo> {
  const { provider, reason } = await resolveOrtProvider(options.provider ?? "auto");
  const opts = ortSessionOptions(provider, options);
  try {
    const session = typeof model === "string"
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
    return { session, provider, reason };
  } catch (e) {
    if (!isGpuProvider(provider)) throw e;
    throw new Error(
      `ONNX Runtime could not open the graph on ${provider}: ${message(e)} (CPU fallback is ` +
        `disabled on GPU providers, so a node the provider lacks fails here; ` +
        `unsupportedOps() in @actlab/actlab/onnx names them)`,
      { cause: e },
    );
  }
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
