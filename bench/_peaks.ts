/**
 * Peak arithmetic of GPUs, for model FLOPs utilisation (MFU): the dense FP32 rate of the CUDA cores
 * (no tensor cores, no sparsity) at boost clock, from the vendors' datasheets. actlab's graphs are
 * float32; ONNX Runtime's CUDA provider may run their matrix products on TF32 tensor cores, which
 * can take a row's MFU past 1 against this peak. `--peak-tflops` replaces the table.
 *
 * @module
 */

/** A device's peak and where the number comes from. */
export interface Peak {
  /** Dense FP32 TFLOP/s. */
  readonly tflops: number;
  /** The table entry that matched, in words. */
  readonly basis: string;
}

/** Name patterns, most specific first, with dense FP32 TFLOP/s (datasheet, boost clock). */
const FP32_PEAKS: ReadonlyArray<[RegExp, number, string]> = [
  [/H100.*PCIe/i, 51, "H100 PCIe"],
  [/H100.*NVL/i, 60, "H100 NVL"],
  [/H100/i, 67, "H100 SXM"],
  [/H200.*NVL/i, 60, "H200 NVL"],
  [/GH200|H200/i, 67, "H200 SXM"],
  [/A100/i, 19.5, "A100"],
  [/L40S/i, 91.6, "L40S"],
  [/L40/i, 90.5, "L40"],
  [/\bL4\b/i, 30.3, "L4"],
  [/A10G?\b/i, 31.2, "A10"],
  [/V100.*PCIe/i, 14, "V100 PCIe"],
  [/V100/i, 15.7, "V100 SXM2"],
  [/\bT4\b/i, 8.1, "T4"],
  [/RTX 4090/i, 82.6, "GeForce RTX 4090"],
  [/RTX 3090/i, 35.6, "GeForce RTX 3090"],
];

/**
 * The dense FP32 peak of a GPU named `name` (as nvidia-smi or a WebGPU adapter names it), or
 * undefined for a device the table does not know.
 *
 * @example
 * ```ts ignore
 * import { gpuPeak } from "./_peaks.ts";
 * gpuPeak("NVIDIA H100 80GB HBM3"); // { tflops: 67, basis: "H100 SXM" }
 * gpuPeak("SwiftShader Device (Subzero)"); // undefined
 * ```
 */
export function gpuPeak(name: string): Peak | undefined {
  const hit = FP32_PEAKS.find(([re]) => re.test(name));
  return hit ? { tflops: hit[1], basis: `${hit[2]}, dense FP32 datasheet peak` } : undefined;
}
