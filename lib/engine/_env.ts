/**
 * What both engine halves (tfjs backends, ONNX Runtime providers) need from the environment: a
 * checked choice from an environment variable, a quiet Vulkan window-system layer, and the WebGPU
 * adapter Deno's `navigator.gpu` finds.
 *
 * @module
 */

/**
 * The value of `variable` when it is set: one of `auto` and `choices`, else an error naming the
 * variable, what it should hold (`what`, e.g. "a backend") and the choices. Undefined when unset
 * or unreadable (no env permission).
 */
export function choiceFromEnv<T extends string>(
  variable: string,
  choices: readonly T[],
  what: string,
): T | "auto" | undefined {
  let value: string | undefined;
  try {
    value = Deno.env.get(variable)?.trim() || undefined;
  } catch {
    return undefined; // no env permission
  }
  if (value === undefined) return undefined;
  if (value !== "auto" && !choices.includes(value as T)) {
    throw new Error(
      `${variable}=${value} is not ${what}: use one of auto, ${choices.join(", ")}, or unset it.`,
    );
  }
  return value as T | "auto";
}

/**
 * Vulkan's window-system layer complains on stderr ("XDG_RUNTIME_DIR is invalid or not set") when
 * the variable is missing, as on servers and in CI, although compute needs no display. Points it
 * at a private temporary folder before the first probe, so probing is quiet.
 */
export function quietWindowSystem(): void {
  try {
    const dir = Deno.env.get("XDG_RUNTIME_DIR");
    if (dir && Deno.statSync(dir).isDirectory) return;
    Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "actlab-xdg-" }));
  } catch {
    // no env permission: probing still works, only louder
  }
}

/** Adapter names of software rasterisers (CPU "GPUs"). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** What {@link probeWebgpuAdapter} found. */
export type WebgpuProbe =
  | { readonly found: false; readonly problem: string }
  | {
    readonly found: true;
    /** Description or vendor of the adapter. */
    readonly name: string;
    /** Flagged as a fallback adapter by the runtime. */
    readonly fallback: boolean;
    /** A fallback adapter, or one whose name is a known software rasteriser. */
    readonly software: boolean;
  };

let webgpuTouched = false;

/**
 * Whether this process has asked Deno's `navigator.gpu` for an adapter (which loads Vulkan drivers
 * into the process, as ONNX Runtime's Dawn does).
 *
 * @example
 * ```ts ignore
 * import { denoWebgpuUsed, probeWebgpuAdapter } from "./_env.ts";
 * await probeWebgpuAdapter();
 * console.assert(denoWebgpuUsed());
 * ```
 */
export function denoWebgpuUsed(): boolean {
  return webgpuTouched;
}

/** Asks Deno's `navigator.gpu` for a high-performance adapter, quietly. */
export async function probeWebgpuAdapter(): Promise<WebgpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { found: false, problem: "navigator.gpu is absent in this runtime" };
  quietWindowSystem();
  webgpuTouched = true;
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return { found: false, problem: `requestAdapter() failed: ${e}` };
  }
  if (!adapter) return { found: false, problem: "no WebGPU adapter (no GPU driver found)" };
  const info = adapter.info;
  const name = info.description || info.vendor || "unknown adapter";
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { found: true, name, fallback, software: fallback || SOFTWARE_ADAPTER.test(name) };
}
