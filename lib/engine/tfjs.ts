/**
 * Choosing where tfjs tensors run: the native TensorFlow backend (CUDA through
 * `@tensorflow/tfjs-node-gpu`), WebGPU (Deno's native WebGPU: Vulkan, Metal, D3D12), WebAssembly,
 * or plain JavaScript, with the reason every better choice was skipped.
 *
 * tfjs-wasm's own kernels run on one thread here; actlab's matrix products on it use both cores
 * (`wasmThreads()`: the cores, at most 2; `ACTLAB_WASM_THREADS` or `initEngine({ wasmThreads })`
 * to choose, 1 to compare). They are actlab's SIMD kernel (`lib/gpt/_simd_matmul.ts`, 73 % of the
 * nano step on one thread), which splits a product of at least 2^21 multiply-adds by batch, rows
 * or columns: the main thread computes its part in place on tfjs-wasm's heap, helper threads
 * (`node:worker_threads`, unref'ed, so no script or kernel is kept alive) compute the rest in
 * chunks on a shared WebAssembly memory, operands copied in and results out, and the main thread
 * takes back any chunk no helper has started. The result is the one-thread result bit for bit
 * (tests/gpt/simd_matmul_threads_test.ts: odd shapes, nano training steps). Measured in one
 * process with interleaved rounds (`bench/wasm_threads.ts`) on a 2-core machine busy with other
 * work, this session's priority raised: the nano GELU step took 0.82 of its one-thread time
 * (151 against 187 ms/step). Without the raised priority there is no gain to see on such a
 * machine: Linux's autogroup scheduling shares the CPU between sessions, not threads, and gave
 * the whole session about half a core however many threads it ran.
 *
 * tfjs-wasm's threaded build is not used. It does not start under Deno 2.9 as shipped:
 * `WASM_HAS_MULTITHREAD_SUPPORT` is false, and forced on (with `setThreadsCount(2)`), Emscripten's
 * pthread pool creates its workers with `node:worker_threads` from a `blob:` URL, which Deno
 * refuses (`ERR_WORKER_PATH`: the worker script must be an absolute path or start with `./`), so
 * the backend fails to initialise. It can be started (a prototype wrote Emscripten's worker source
 * to a `.cjs` file, answered the Blob URLs with file paths, made Deno's getter-only worker globals
 * writable, reported enough cores for tfjs's cpus/2 cap and unref'ed the pool; the mini-GPT's own
 * kernels then have to import the shared memory), and it gives the same numbers bit for bit. It
 * leans on the 4.22 bundle's internal names, starts 8 workers (0.5 s), and saves nothing on the
 * nano step, where tfjs's own kernels are only 13 % of the time (2 threads: 334 ms/step against
 * 331 at 1 thread, measured on a busy 2-core machine). Its shared heap would spare the copies
 * actlab's helper threads make (a few % of a product), not the fragile start.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { choiceFromEnv, probeWebgpuAdapter } from "./_env.ts";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

// Until initEngine() chooses, tfjs runs on its CPU backend, the one backend that starts without
// awaiting: a model built in a cell that skipped initEngine() works (slowly) instead of failing on
// WebGPU, the highest-priority backend, which "has not yet been initialized". Sweeps and training
// call ensureEngine(), which starts the best backend and says which.
void tf.setBackend("cpu");
quietCpuBanner();

/** tfjs-cpu greets its first tensor with advice to install tfjs-node: actlab reports the engine. */
function quietCpuBanner(): void {
  const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * tfjs-wasm's Identity copies its input. tfjs runs it for every tensor a gradient keeps (each
 * input of a differentiable kernel: about 200 copies per mini-GPT step, 3–4 % of the step); tfjs's
 * tensors are immutable, so, as tfjs-cpu does, the output here shares the input's data (one more
 * reference on it) instead.
 */
function shareIdentityOnWasm(): void {
  const original = tf.getKernel("Identity", "wasm");
  if (original === undefined || (original as { actlabShared?: boolean }).actlabShared) return;
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({
    kernelName: "Identity",
    backendName: "wasm",
    actlabShared: true,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === "string") return original.kernelFunc(args);
      (args.backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  } as tf.KernelConfig);
}
shareIdentityOnWasm();

/** A tfjs backend actlab can run on. */
export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";

/** What {@link initEngine} may be asked for: a backend, or `auto` for the best one present. */
export type BackendChoice = "auto" | BackendName;

/** The backends in the order `auto` tries them. */
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];

/** What {@link initEngine} chose and why. */
export interface EngineInfo {
  /** The tfjs backend now active. */
  readonly backend: BackendName;
  /** What was asked for. */
  readonly requested: BackendChoice;
  /** The device in words: GPU adapter, WebAssembly features, or CPU. */
  readonly device: string;
  /** Why each backend before the chosen one in {@link BACKEND_ORDER} was skipped. */
  readonly skipped: ReadonlyArray<{ readonly backend: BackendName; readonly reason: string }>;
  /** tfjs-core version. */
  readonly tfjsVersion: string;
}

interface Attempt {
  ok: boolean;
  device: string;
  reason: string;
  /** Native TensorFlow only: whether it computes on a GPU (`isUsingGpuDevice`). */
  gpu?: boolean;
}

/** How to get each backend, for error messages and the README. */
export const BACKEND_HELP: Readonly<Record<BackendName, string>> = {
  tensorflow: "needs @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node with its native " +
    "addon: on a machine with internet run `deno install --allow-scripts=npm:@tensorflow/tfjs-" +
    "node-gpu` (downloads libtensorflow; CUDA 11.8 + cuDNN 8 for the GPU build)",
  webgpu: "needs a WebGPU adapter from Deno's navigator.gpu: a GPU driver with Vulkan (Linux), " +
    "Metal (macOS) or D3D12 (Windows); on Linux without a GPU, Debian's mesa-vulkan-drivers " +
    "gives a software adapter (llvmpipe) that `auto` skips as a fallback",
  wasm: "needs @tensorflow/tfjs-backend-wasm (in the import map) and WebAssembly",
  cpu: "always available",
};

let current: EngineInfo | undefined;
let nativeTried: Attempt | undefined;

async function tryTensorflow(): Promise<Attempt> {
  if (nativeTried) return nativeTried;
  const errors: string[] = [];
  // Literal specifiers, so the imports can be analysed (and rewritten when published).
  const natives: ReadonlyArray<[string, () => Promise<unknown>]> = [
    ["@tensorflow/tfjs-node-gpu", () => import("@tensorflow/tfjs-node-gpu")],
    ["@tensorflow/tfjs-node", () => import("@tensorflow/tfjs-node")],
  ];
  for (const [pkg, load] of natives) {
    // A failed first import leaves its kernels registered; the second package re-registers
    // them, and tfjs warns once per kernel. Quiet (PROD) for the duration of the import.
    const prod = tf.env().getBool("PROD");
    tf.env().set("PROD", true);
    try {
      await load();
      if (tf.findBackendFactory("tensorflow") !== null) {
        // The CUDA build falls back to the CPU when CUDA or cuDNN is missing; only the backend's
        // own isUsingGpuDevice says which it does.
        let gpu = false;
        const previous = tf.engine().backendName; // null before any backend (no init here)
        try {
          if (await tf.setBackend("tensorflow")) {
            gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
          }
        } finally {
          if (previous) await tf.setBackend(previous);
        }
        return nativeTried = {
          ok: true,
          gpu,
          device: pkg.endsWith("gpu")
            ? gpu
              ? "TensorFlow C library (CUDA build) on the GPU"
              : "TensorFlow C library (CUDA build) on the CPU: CUDA 11.2 / cuDNN 8.1 not found"
            : "TensorFlow C library on the CPU",
          reason: "",
        };
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const missing = /tfjs_binding\.node\) can not be found/.test(message) ||
        /Cannot find module|not a dependency|Could not find/.test(message);
      errors.push(
        `${pkg}: ${
          missing ? "not installed with its native addon" : message.split("\n")[0].trim()
        }`,
      );
    } finally {
      tf.env().set("PROD", prod);
    }
  }
  return nativeTried = {
    ok: false,
    device: "",
    reason: `native addon not loadable (${errors.join("; ")})`,
  };
}

async function tryWebgpu(requireHardware: boolean): Promise<Attempt> {
  const probe = await probeWebgpuAdapter();
  if (!probe.found) return { ok: false, device: "", reason: probe.problem };
  const device = probe.fallback ? `${probe.name} (software fallback adapter)` : probe.name;
  if (probe.fallback && requireHardware) {
    return { ok: false, device, reason: `only a software fallback adapter: ${probe.name}` };
  }
  return { ok: true, device, reason: "" };
}

async function wasmDevice(): Promise<string> {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  const own = simd && typeof SharedArrayBuffer !== "undefined" ? wasmThreads() : 1;
  return `WebAssembly${simd ? " SIMD" : ""}, ${threads ? "multi-threaded" : "1 thread"}` +
    (own > 1 ? ` (matmul on ${own})` : "");
}

/** Threads for actlab's wasm kernels as initEngine() was told, or undefined: not told (auto). */
let wasmThreadsChosen: number | undefined;
/** ACTLAB_WASM_THREADS, read once: a count, or undefined (unset, auto, no env permission). */
let wasmThreadsEnv: number | undefined | null = null;

function checkThreads(value: unknown, where: string): number | "auto" {
  if (value === "auto") return "auto";
  const n = typeof value === "string" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new Error(`${where} is not a thread count: use a whole number ≥ 1 or auto.`);
  }
  return n;
}

/**
 * How many threads actlab's own WebAssembly kernels on tfjs-wasm use (the SIMD matrix product,
 * which splits large products over helper threads on a shared memory; the result is the same bit
 * for bit with any count): `initEngine({ wasmThreads })` when given a number, else the environment
 * variable `ACTLAB_WASM_THREADS` (a number, or `auto`), else auto: the machine's cores, at most 2,
 * and 1 inside a worker (where a sweep runs one trial per core already) or on a 1-core machine.
 * tfjs-wasm's own kernels stay on one thread.
 *
 * @example
 * ```ts
 * import { wasmThreads } from "./tfjs.ts";
 * console.log(wasmThreads()); // 2 on a machine with 2 or more cores
 * ```
 */
export function wasmThreads(): number {
  if (wasmThreadsChosen !== undefined) return wasmThreadsChosen;
  if (wasmThreadsEnv === null) {
    let value: string | undefined;
    try {
      value = Deno.env.get("ACTLAB_WASM_THREADS")?.trim() || undefined;
    } catch {
      value = undefined; // no env permission
    }
    const n = value === undefined ? "auto" : checkThreads(value, `ACTLAB_WASM_THREADS=${value}`);
    wasmThreadsEnv = n === "auto" ? undefined : n;
  }
  if (wasmThreadsEnv !== undefined) return wasmThreadsEnv;
  const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
    "undefined";
  return inWorker ? 1 : Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 1));
}

async function attempt(backend: BackendName, auto: boolean): Promise<Attempt> {
  switch (backend) {
    case "tensorflow":
      return await tryTensorflow();
    case "webgpu":
      return await tryWebgpu(auto);
    case "wasm":
      return { ok: true, device: "", reason: "" };
    case "cpu":
      return { ok: true, device: "JavaScript (no SIMD, 1 thread)", reason: "" };
  }
}

async function activate(backend: BackendName): Promise<string | undefined> {
  try {
    const ok = await tf.setBackend(backend);
    await tf.ready();
    quietCpuBanner();
    return ok && tf.getBackend() === backend ? undefined : `tf.setBackend("${backend}") failed`;
  } catch (e) {
    return `tf.setBackend("${backend}") threw: ${e instanceof Error ? e.message : e}`;
  }
}

/**
 * Starts tfjs on a backend. `auto` tries tensorflow (native addon) → webgpu (a hardware adapter,
 * not a software fallback) → wasm → cpu and reports why each better one was skipped; naming a
 * backend that cannot start throws an error that says why and how to get it.
 *
 * @example
 * ```ts
 * import { initEngine } from "@actlab/actlab";
 * const engine = await initEngine({ backend: "auto" });
 * console.log(engine.backend, engine.device, engine.skipped);
 * await initEngine({ backend: "wasm", wasmThreads: 1 }); // its matmuls on one thread, to compare
 * ```
 */
export async function initEngine(
  options: {
    backend?: BackendChoice;
    /**
     * Threads for actlab's own kernels on tfjs-wasm (its matrix products): a number, or `auto`
     * (the default: ACTLAB_WASM_THREADS if set, else the cores, at most 2). See
     * {@link wasmThreads}.
     */
    wasmThreads?: number | "auto";
  } = {},
): Promise<EngineInfo> {
  if (options.wasmThreads !== undefined) {
    const n = checkThreads(options.wasmThreads, `initEngine: wasmThreads ${options.wasmThreads}`);
    wasmThreadsChosen = n === "auto" ? undefined : n;
  }
  const forced = choiceFromEnv("ACTLAB_BACKEND", BACKEND_ORDER, "a backend");
  // ACTLAB_BACKEND replaces "auto" (so a notebook that asks for auto can be forced onto one).
  const requested = (options.backend ?? "auto") === "auto" && forced
    ? forced
    : options.backend ?? "auto";
  if (requested !== "auto" && !BACKEND_ORDER.includes(requested)) {
    throw new Error(
      `Unknown backend '${requested}'. Choose one of: auto, ${BACKEND_ORDER.join(", ")}.`,
    );
  }
  const candidates = requested === "auto" ? BACKEND_ORDER : [requested];
  const skipped: { backend: BackendName; reason: string }[] = [];
  // Native TensorFlow that runs on the CPU (the CUDA build without CUDA, or tfjs-node) is no GPU
  // backend: in auto it ranks below a hardware WebGPU adapter.
  let cpuTensorflow: Attempt | undefined;
  for (const backend of candidates) {
    const tried = await attempt(backend, requested === "auto");
    let reason = tried.ok ? await activate(backend) : tried.reason;
    if (reason === undefined && backend === "tensorflow" && requested === "auto" && !tried.gpu) {
      cpuTensorflow = tried;
      skipped.push({ backend, reason: `${tried.device}: tried after a hardware WebGPU adapter` });
      continue;
    }
    if (reason === undefined) {
      const device = backend === "wasm" ? await wasmDevice() : tried.device;
      current = { backend, requested, device, skipped, tfjsVersion: tf.version_core };
      return current;
    }
    if (cpuTensorflow && backend !== "webgpu") {
      await activate("tensorflow");
      skipped.pop();
      current = {
        backend: "tensorflow",
        requested,
        device: cpuTensorflow.device,
        skipped,
        tfjsVersion: tf.version_core,
      };
      return current;
    }
    reason ??= "unknown failure";
    if (requested !== "auto") {
      throw new Error(
        `Backend '${backend}' cannot start: ${reason}. It ${BACKEND_HELP[backend]}. ` +
          `Use { backend: "auto" } to take the best available one.`,
      );
    }
    skipped.push({ backend, reason });
  }
  throw new Error(`No tfjs backend could start: ${JSON.stringify(skipped)}`);
}

/**
 * The engine chosen by the last {@link initEngine}, or undefined before it ran.
 *
 * @example
 * ```ts
 * import { engineInfo } from "@actlab/actlab/engine";
 * import { initEngine } from "@actlab/actlab";
 * await initEngine({ backend: "cpu" });
 * engineInfo()?.backend; // "cpu"
 * ```
 */
export function engineInfo(): EngineInfo | undefined {
  return current && current.backend === tf.getBackend() ? current : undefined;
}

/**
 * The engine in use, starting tfjs with `auto` first when nothing has started it yet (so a sweep
 * or training run from a cell that skipped `initEngine()` works instead of failing on a backend
 * that "has not yet been initialized"); `notice` hears which backend was chosen, and why.
 *
 * @example
 * ```ts
 * import { ensureEngine } from "@actlab/actlab/engine";
 * const engine = await ensureEngine((m) => console.log(m));
 * console.assert(engine.backend.length > 0);
 * ```
 */
export async function ensureEngine(
  notice: (message: string) => void = console.warn,
): Promise<EngineInfo> {
  const known = engineInfo();
  if (known) return known;
  const started = await initEngine({ backend: "auto" });
  notice(
    `tfjs had not been started: started it on ${started.backend} (${started.device}), the best ` +
      `backend here. Call initEngine({ backend }) first to choose another.`,
  );
  return started;
}

/**
 * The backends that can start here, each with its device or the reason it cannot. Leaves the
 * current backend active.
 *
 * @example
 * ```ts
 * import { availableBackends } from "@actlab/actlab/engine";
 * for (const b of await availableBackends()) console.log(b.backend, b.ok, b.detail);
 * ```
 */
export async function availableBackends(): Promise<
  { backend: BackendName; ok: boolean; detail: string }[]
> {
  const out: { backend: BackendName; ok: boolean; detail: string }[] = [];
  for (const backend of BACKEND_ORDER) {
    const tried = await attempt(backend, false);
    const detail = backend === "wasm" ? await wasmDevice() : tried.ok ? tried.device : tried.reason;
    out.push({ backend, ok: tried.ok, detail });
  }
  return out;
}
