/**
 * Which Vulkan driver WebGPU runs on, on Linux: the drivers the Vulkan loader can see, the ones a
 * process has loaded, and the choice for a process that runs WebGPU work (a test worker, a bench
 * row) — the hardware GPU when there is one, SwiftShader (a CPU Vulkan driver, in Debian's
 * chromium package) only when there is none or when asked for.
 *
 * Both WebGPU implementations here sit on Vulkan: Deno's `navigator.gpu` (wgpu) and ONNX Runtime's
 * WebGPU provider (Dawn). The loader reads `VK_DRIVER_FILES` (or the older `VK_ICD_FILENAMES`) when
 * a process creates its Vulkan instance, so the driver is chosen per process, through its
 * environment: {@link planWebgpuEnv} gives the variables for a child process.
 *
 * `ACTLAB_VULKAN` picks: `auto` (default: hardware when present, else SwiftShader when installed),
 * `hardware` (never SwiftShader: no hardware adapter is an error, for GPU machines), `swiftshader`
 * (always SwiftShader). `ACTLAB_SWIFTSHADER_ICD` names SwiftShader's ICD file when it is not
 * Chromium's.
 *
 * In NVIDIA containers the Vulkan driver exists only when the container is started with
 * `NVIDIA_DRIVER_CAPABILITIES` including `graphics` (or `all`); without it there is no hardware
 * adapter, and the `auto` choice falls to SwiftShader and says so.
 *
 * @module
 */
import { choiceFromEnv } from "./_env.ts";
import { basename, join } from "./_path.ts";

/** Debian chromium's SwiftShader Vulkan driver (its ICD manifest). */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** What `ACTLAB_VULKAN` may say. */
export type VulkanChoice = "auto" | "hardware" | "swiftshader";

const VULKAN_CHOICES: readonly VulkanChoice[] = ["auto", "hardware", "swiftshader"];

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The SwiftShader ICD manifest to use: `ACTLAB_SWIFTSHADER_ICD` when set and present, else
 * Chromium's ({@link SWIFTSHADER_ICD}) when installed; undefined when there is none.
 *
 * @example
 * ```ts
 * import { swiftshaderIcd } from "@actlab/actlab/engine";
 * console.log(swiftshaderIcd() ?? "no SwiftShader here");
 * ```
 */
export function swiftshaderIcd(): string | undefined {
  for (const path of [env("ACTLAB_SWIFTSHADER_ICD"), SWIFTSHADER_ICD]) {
    if (path && exists(path)) return path;
  }
  return undefined;
}

/** Library names of Vulkan drivers (ICDs) that are software rasterisers on the CPU. */
const SOFTWARE_DRIVER = /swiftshader|vulkan_lvp|lavapipe/i;

/** Vulkan driver libraries worth recognising by name. */
const DRIVER_NAMES: ReadonlyArray<[RegExp, string]> = [
  [/swiftshader/i, "SwiftShader (software)"],
  [/vulkan_lvp/i, "lavapipe (software)"],
  [/nvidia/i, "NVIDIA"],
  [/vulkan_radeon/i, "AMD (RADV)"],
  [/amdvlk/i, "AMD (AMDVLK)"],
  [/vulkan_intel/i, "Intel (ANV)"],
  [/vulkan_(dzn|virtio|freedreno|panfrost|broadcom|powervr|asahi|nouveau)/i, "Mesa"],
];

/** A Vulkan driver (ICD) library, recognised by its file name. */
export interface VulkanDriver {
  /** The library file (as the manifest or the process map names it). */
  readonly library: string;
  /** The driver in words: "NVIDIA", "SwiftShader (software)", … or the file name. */
  readonly name: string;
  /** A software rasteriser on the CPU (SwiftShader, lavapipe). */
  readonly software: boolean;
}

/**
 * A driver library described: its vendor or project, and whether it renders on the CPU.
 *
 * @example
 * ```ts
 * import { describeVulkanDriver } from "@actlab/actlab/engine";
 * const d = describeVulkanDriver("/usr/lib/chromium/libvk_swiftshader.so");
 * console.assert(d.software && d.name === "SwiftShader (software)");
 * console.assert(describeVulkanDriver("libGLX_nvidia.so.0").name === "NVIDIA");
 * ```
 */
export function describeVulkanDriver(library: string): VulkanDriver {
  const file = basename(library);
  const name = DRIVER_NAMES.find(([re]) => re.test(file))?.[1] ?? file;
  return { library, name, software: SOFTWARE_DRIVER.test(file) };
}

/** A driver manifest the loader reads, and the library it names. */
export interface VulkanIcd extends VulkanDriver {
  /** The ICD manifest (JSON). */
  readonly manifest: string;
}

/** The folders the Vulkan loader searches for ICD manifests when no variable names them. */
function icdFolders(): string[] {
  const home = env("HOME");
  const config = (env("XDG_CONFIG_DIRS") ?? "/etc/xdg").split(":");
  const data = (env("XDG_DATA_DIRS") ?? "/usr/local/share:/usr/share").split(":");
  return [
    ...(home ? [join(home, ".config/vulkan/icd.d"), join(home, ".local/share/vulkan/icd.d")] : []),
    ...config.map((d) => join(d, "vulkan/icd.d")),
    "/etc/vulkan/icd.d",
    ...data.map((d) => join(d, "vulkan/icd.d")),
    "/usr/local/share/vulkan/icd.d",
    "/usr/share/vulkan/icd.d",
  ].filter((d, i, all) => all.indexOf(d) === i);
}

/**
 * The Vulkan driver manifests this process's loader would read: the files `VK_DRIVER_FILES` (or
 * `VK_ICD_FILENAMES`) names, else every `*.json` in the standard ICD folders, plus
 * `VK_ADD_DRIVER_FILES`; each with the library it loads. Empty off Linux or without permission.
 *
 * @example
 * ```ts
 * import { vulkanIcds } from "@actlab/actlab/engine";
 * for (const icd of vulkanIcds()) console.log(icd.name, icd.manifest);
 * ```
 */
export function vulkanIcds(): VulkanIcd[] {
  if (Deno.build.os !== "linux") return [];
  const named = env("VK_DRIVER_FILES") ?? env("VK_ICD_FILENAMES");
  const files: string[] = [];
  const addPath = (entry: string) => {
    try {
      if (Deno.statSync(entry).isDirectory) {
        for (const e of Deno.readDirSync(entry)) {
          if (e.name.endsWith(".json")) files.push(join(entry, e.name));
        }
      } else files.push(entry);
    } catch {
      // missing: the loader skips it too
    }
  };
  if (named) named.split(":").filter(Boolean).forEach(addPath);
  else icdFolders().forEach(addPath);
  (env("VK_ADD_DRIVER_FILES") ?? "").split(":").filter(Boolean).forEach(addPath);
  const icds: VulkanIcd[] = [];
  for (const manifest of files) {
    try {
      const json = JSON.parse(Deno.readTextFileSync(manifest));
      const library = json?.ICD?.library_path;
      if (typeof library === "string") icds.push({ manifest, ...describeVulkanDriver(library) });
    } catch {
      // unreadable or not a driver manifest
    }
  }
  return icds;
}

/**
 * The Vulkan driver libraries loaded into this process (from `/proc/self/maps`): after ONNX
 * Runtime's WebGPU provider has started, the drivers its Dawn could choose from. The loader loads
 * every driver it finds to enumerate adapters, so one driver here means the adapter was that
 * driver's; several mean one of them. Empty off Linux or before any Vulkan use.
 *
 * @example
 * ```ts
 * import { loadedVulkanDrivers } from "@actlab/actlab/engine";
 * console.log(loadedVulkanDrivers().map((d) => d.name)); // [] before any WebGPU work
 * ```
 */
export function loadedVulkanDrivers(): VulkanDriver[] {
  if (Deno.build.os !== "linux") return [];
  let maps: string;
  try {
    maps = Deno.readTextFileSync("/proc/self/maps");
  } catch {
    return [];
  }
  const known = new Set(vulkanIcds().map((icd) => basename(icd.library)));
  const libraries = new Set<string>();
  for (const line of maps.split("\n")) {
    const path = line.split(/\s+/)[5];
    if (!path?.startsWith("/")) continue;
    const file = basename(path);
    if (
      known.has(file) ||
      /libvk_swiftshader|libvulkan_\w+\.so|libGLX_nvidia|libEGL_nvidia|amdvlk/.test(file)
    ) libraries.add(path);
  }
  return [...libraries].sort().map(describeVulkanDriver);
}

/** What WebGPU found without any override (Deno's adapter, from `webgpuAdapter()`). */
export interface AdapterFound {
  /** A hardware adapter (not a software rasteriser, not a fallback adapter). */
  readonly hardware: boolean;
  /** The adapter's name, or why there is none. */
  readonly name: string;
}

/** The driver a WebGPU child process is to use, and why. */
export interface WebgpuEnvPlan {
  /** Environment variables for the child (empty: inherit the parent's Vulkan setup). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * `hardware`: the GPU found; `swiftshader`: the CPU driver; `caller`: the caller's own
   * `VK_DRIVER_FILES` / `VK_ICD_FILENAMES`; `none`: no driver that the choice allows.
   */
  readonly driver: "hardware" | "swiftshader" | "caller" | "none";
  /** The choice in force (`ACTLAB_VULKAN`). */
  readonly choice: VulkanChoice;
  /** Why, in a sentence. */
  readonly reason: string;
}

/** Options of {@link planWebgpuEnv}; each defaults to what the environment says. */
export interface PlanWebgpuEnvOptions {
  /** Default: `ACTLAB_VULKAN`, else `auto`. */
  readonly choice?: VulkanChoice;
  /** SwiftShader's ICD manifest, or null for none. Default {@link swiftshaderIcd}(). */
  readonly swiftshader?: string | null;
  /** The caller's own driver variable. Default `VK_DRIVER_FILES` or `VK_ICD_FILENAMES`. */
  readonly callerDrivers?: string | null;
}

/**
 * The Vulkan environment for a process that runs WebGPU work, given what WebGPU finds without an
 * override: the hardware GPU when there is one; SwiftShader only when there is none (`auto`) or
 * when asked for (`ACTLAB_VULKAN=swiftshader`); the caller's own `VK_DRIVER_FILES` /
 * `VK_ICD_FILENAMES` when set; with `ACTLAB_VULKAN=hardware`, never SwiftShader.
 *
 * @example
 * ```ts
 * import { planWebgpuEnv } from "@actlab/actlab/engine";
 * const gpu = { hardware: true, name: "NVIDIA H100 80GB HBM3" };
 * const cpuOnly = { hardware: false, name: "llvmpipe (LLVM 15.0.6, 256 bits)" };
 * const icd = "/usr/lib/chromium/vk_swiftshader_icd.json";
 * const opts = { choice: "auto", swiftshader: icd, callerDrivers: null } as const;
 * console.assert(planWebgpuEnv(gpu, opts).driver === "hardware");
 * console.assert(planWebgpuEnv(cpuOnly, opts).env.VK_DRIVER_FILES === icd);
 * console.assert(planWebgpuEnv(cpuOnly, { ...opts, choice: "hardware" }).driver === "none");
 * ```
 */
export function planWebgpuEnv(
  found: AdapterFound,
  options: PlanWebgpuEnvOptions = {},
): WebgpuEnvPlan {
  const choice = options.choice ??
    choiceFromEnv("ACTLAB_VULKAN", VULKAN_CHOICES, "a Vulkan driver choice") ?? "auto";
  const icd = options.swiftshader === undefined ? swiftshaderIcd() : options.swiftshader;
  const caller = options.callerDrivers === undefined
    ? env("VK_DRIVER_FILES") ?? env("VK_ICD_FILENAMES")
    : options.callerDrivers;
  const swiftshader = (reason: string): WebgpuEnvPlan => ({
    env: { VK_DRIVER_FILES: icd!, VK_ICD_FILENAMES: icd! },
    driver: "swiftshader",
    choice,
    reason,
  });
  if (choice === "swiftshader") {
    if (icd) return swiftshader(`SwiftShader (${icd}), as ACTLAB_VULKAN=swiftshader asks`);
    return {
      env: {},
      driver: "none",
      choice,
      reason: "ACTLAB_VULKAN=swiftshader, but no SwiftShader is installed (Debian's chromium " +
        "package has it; ACTLAB_SWIFTSHADER_ICD names another)",
    };
  }
  if (caller) {
    return { env: {}, driver: "caller", choice, reason: `the caller's Vulkan drivers (${caller})` };
  }
  if (found.hardware) {
    return { env: {}, driver: "hardware", choice, reason: `the hardware adapter ${found.name}` };
  }
  const none = `no hardware WebGPU adapter (found: ${found.name}; in an NVIDIA container, ` +
    "NVIDIA_DRIVER_CAPABILITIES must include graphics)";
  if (choice === "hardware") {
    return { env: {}, driver: "none", choice, reason: `${none}, and ACTLAB_VULKAN=hardware` };
  }
  if (icd) return swiftshader(`${none}: SwiftShader (software) instead`);
  return { env: {}, driver: "none", choice, reason: `${none}, and no SwiftShader installed` };
}
