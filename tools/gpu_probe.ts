/**
 * What GPU this machine offers actlab, in one screen: the Vulkan drivers the loader sees, the
 * adapter ONNX Runtime's WebGPU provider gets (as far as it can be told: ONNX Runtime does not
 * name it, so the Vulkan drivers its process loaded), the adapter Deno's own WebGPU gets, whether
 * ONNX Runtime's CUDA provider and the CUDA libraries it needs are present, what nvidia-smi says,
 * and which driver the GPU tests and `bench/gpu.ts` will use. The offline GPU bundle's `run.sh`
 * runs it first; it is as useful on its own:
 *
 * ```sh
 * deno run -A tools/gpu_probe.ts          # a report; --json for one JSON object
 * ```
 *
 * In a container with an NVIDIA GPU, Vulkan (and so WebGPU) exists only when the container was
 * started with `NVIDIA_DRIVER_CAPABILITIES` including `graphics` (or `all`); the probe says when
 * that is the likely reason for finding no hardware adapter.
 *
 * @module
 */
import {
  cudaLibraries,
  ortBindingProviders,
  ortCudaStatus,
  ortVersion,
  ortWebgpuAdapter,
  planWebgpuEnv,
  vulkanIcds,
  webgpuAdapter,
} from "../lib/engine/mod.ts";

/** nvidia-smi's one-line account of the GPUs, or why there is none. */
async function nvidiaSmi(): Promise<{ found: boolean; text: string }> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=index,name,driver_version,memory.total", "--format=csv,noheader"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(15_000),
    }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
    return { found: out.success && text.length > 0, text: text || `exit ${out.code}` };
  } catch (e) {
    return { found: false, text: e instanceof Deno.errors.NotFound ? "not installed" : String(e) };
  }
}

/** Both adapters as seen by a fresh process with `env` (this file with `--adapters`). */
async function adaptersWith(env: Readonly<Record<string, string>>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--adapters"],
    env: { ...env },
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(60_000),
  }).output().catch((e) => e as Error);
  if (out instanceof Error) return { error: out.message };
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as { ort: string; deno: string };
  } catch {
    return { error: `exit ${out.code}` };
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Probes the machine and returns the report as data (what `--json` prints).
 *
 * @example
 * ```ts ignore
 * import { probeGpu } from "./gpu_probe.ts";
 * const report = await probeGpu();
 * console.log(report.plan.reason);
 * ```
 */
export async function probeGpu() {
  const icds = vulkanIcds();
  // ONNX Runtime first, so that its process map shows only the drivers its Dawn loaded.
  const ort = await ortWebgpuAdapter();
  const deno = await webgpuAdapter();
  const smi = await nvidiaSmi();
  const nvidiaDevice = smi.found || exists("/dev/nvidia0") || exists("/dev/nvidiactl");
  let capabilities: string | undefined;
  try {
    capabilities = Deno.env.get("NVIDIA_DRIVER_CAPABILITIES");
  } catch {
    capabilities = undefined;
  }
  const graphics = capabilities === undefined ? undefined : /\b(graphics|all)\b/.test(capabilities);
  const hardwareVulkan = deno.hardware || ort.software === false;
  const warnings: string[] = [];
  if (nvidiaDevice && !hardwareVulkan) {
    warnings.push(
      "an NVIDIA GPU is present but no hardware Vulkan adapter: " +
        (graphics === false
          ? `NVIDIA_DRIVER_CAPABILITIES=${capabilities} lacks graphics; start the container with ` +
            "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics (or all)"
          : "check that the NVIDIA Vulkan driver (nvidia_icd.json and libGLX_nvidia.so.0) is " +
            "installed or mounted, and libvulkan1 is present; `vulkaninfo --summary` shows it"),
    );
  }
  const plan = planWebgpuEnv({
    hardware: hardwareVulkan,
    name: ort.software === false ? ort.drivers.map((d) => d.name).join(", ") : deno.name,
  });
  // With a driver chosen for them (SwiftShader), what the tests' processes will see.
  const planned = Object.keys(plan.env).length ? await adaptersWith(plan.env) : undefined;
  return {
    deno: Deno.version.deno,
    onnxRuntime: ortVersion(),
    platform: `${Deno.build.os} ${Deno.build.arch}`,
    vulkanDrivers: icds.map((i) => ({ name: i.name, manifest: i.manifest, library: i.library })),
    ortWebgpu: {
      started: ort.started,
      adapterNamedByOrt: ort.exposed,
      drivers: ort.drivers.map((d) => d.name),
      software: ort.software ?? null,
      account: ort.name,
    },
    denoWebgpu: deno,
    ortProviders: ortBindingProviders(),
    ortCuda: ortCudaStatus(),
    cudaLibraries: cudaLibraries(),
    nvidiaSmi: smi.text,
    nvidiaDriverCapabilities: capabilities ?? null,
    plan: { driver: plan.driver, choice: plan.choice, reason: plan.reason, env: plan.env },
    planned: planned ?? null,
    warnings,
  };
}

if (import.meta.main && Deno.args.includes("--adapters")) {
  const ort = await ortWebgpuAdapter();
  const deno = await webgpuAdapter();
  console.log(JSON.stringify({ ort: ort.name, deno: deno.name }));
} else if (import.meta.main) {
  const report = await probeGpu();
  if (Deno.args.includes("--json")) {
    console.log(JSON.stringify(report));
  } else {
    const lines = [
      `Deno ${report.deno}, ONNX Runtime ${report.onnxRuntime}, ${report.platform}`,
      `Vulkan drivers the loader sees: ${
        report.vulkanDrivers.map((d) => `${d.name} (${d.manifest})`).join("; ") || "none"
      }`,
      `ONNX Runtime WebGPU (this machine's own Vulkan setup): ${
        report.ortWebgpu.started
          ? `starts; adapter: ${report.ortWebgpu.account}`
          : `does not start: ${
            report.ortWebgpu.account.replace(/^.*(Failed to get a WebGPU adapter)/s, "$1")
          }`
      }`,
      `Deno WebGPU adapter: ${report.denoWebgpu.name} (${
        report.denoWebgpu.hardware ? "hardware" : "software or none"
      })`,
      `ONNX Runtime providers: ${
        report.ortProviders.map((p) => `${p.name}${p.bundled ? "" : " (downloaded)"}`).join(", ")
      }`,
      `ONNX Runtime CUDA provider: ${report.ortCuda.reason}`,
      `CUDA libraries: ${
        report.cudaLibraries.map((l) => `${l.name} ${l.status}${l.path ? ` (${l.path})` : ""}`)
          .join(", ")
      }`,
      `nvidia-smi: ${report.nvidiaSmi.replaceAll("\n", " | ")}`,
      `NVIDIA_DRIVER_CAPABILITIES: ${report.nvidiaDriverCapabilities ?? "unset"}`,
      `GPU tests and bench/gpu.ts run WebGPU on: ${report.plan.driver} — ${report.plan.reason}`,
      ...(report.planned
        ? [
          "error" in report.planned
            ? `  with ${JSON.stringify(report.plan.env)}: probe failed (${report.planned.error})`
            : `  there, ONNX Runtime's adapter: ${report.planned.ort}; Deno's: ${report.planned.deno}`,
        ]
        : []),
      ...report.warnings.map((w) => `WARNING: ${w}`),
    ];
    for (const line of lines) console.log(line);
  }
}
