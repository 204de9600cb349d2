/**
 * Peak arithmetic, for model FLOPs utilisation (MFU) and rooflines. GPUs: the dense FP32 rate of
 * the CUDA cores (no tensor cores, no sparsity) at boost clock, from the vendors' datasheets.
 * actlab's graphs are float32; ONNX Runtime's CUDA provider may run their matrix products on TF32
 * tensor cores, which can take a row's MFU past 1 against this peak. `--peak-tflops` replaces the
 * table. CPUs: measured, as the rate of a large single-precision matrix product on ONNX Runtime's
 * CPU provider (MLAS), the kernels the compiled step's own products run on.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { createOrtSession } from "../lib/engine/mod.ts";
import { GraphBuilder } from "../lib/onnx/mod.ts";

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

/**
 * The measured float32 peak of this CPU at `threads` intra-op threads: the best GFLOP/s of `reps`
 * runs of an n×n by n×n `MatMul` on ONNX Runtime's CPU provider, with the session options the
 * training step uses (`ortSessionOptions`). Load on a shared machine only lowers it; the second
 * core's worth shows in the ratio of the figures at all cores and at one.
 *
 * @example
 * ```ts ignore
 * import { cpuGemmPeak } from "./_peaks.ts";
 * const one = await cpuGemmPeak(1); // e.g. 121 GFLOP/s
 * ```
 */
export async function cpuGemmPeak(
  threads: number,
  options: { readonly n?: number; readonly reps?: number } = {},
): Promise<number> {
  const n = options.n ?? 1024, reps = options.reps ?? 5;
  const g = new GraphBuilder();
  g.output(g.op("MatMul", ["a", "b"]), "y");
  const bytes = g.model({ inputs: { a: [n, n], b: [n, n] }, outputs: { y: [n, n] } });
  const { session } = await createOrtSession(bytes, { provider: "cpu", threads });
  const operand = () =>
    new ort.Tensor("float32", Float32Array.from({ length: n * n }, (_, i) => (i % 7) / 7), [n, n]);
  const feeds = { a: operand(), b: operand() };
  try {
    await session.run(feeds); // warm-up: packing, allocation
    let best = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t0);
    }
    return 2 * n ** 3 / best / 1e6;
  } finally {
    await session.release();
  }
}
