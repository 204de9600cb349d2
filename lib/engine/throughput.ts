/**
 * Throughput of activations and matmuls on the current tfjs backend, for the demo and the
 * benchmark scripts (figures, never assertions).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationDef } from "../activations/types.ts";

/** One throughput measurement. */
export interface Throughput {
  /** Median milliseconds per call. */
  readonly ms: number;
  /** Gigabytes per second of float32 traffic (inputs read + outputs written). */
  readonly gbPerS: number;
  /** Calls timed. */
  readonly repeats: number;
}

/** Times `run` (which returns tensors to dispose) after a warm-up, reading back the result. */
async function time(run: () => tf.Tensor[], minMs: number): Promise<{ ms: number; n: number }> {
  const once = async () => {
    const t0 = performance.now();
    const out = run();
    await out[out.length - 1].data(); // wait for the device (webgpu) to finish
    tf.dispose(out);
    return performance.now() - t0;
  };
  await once();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < minMs && samples.length < 200)) {
    samples.push(await once());
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1], n: samples.length };
}

/**
 * Forward (and optionally forward + backward) throughput of an activation on `size` float32
 * elements. Traffic counts each input read and output written once (forward: 8 bytes/element
 * unary, 12 gated; backward adds dy read, x read, dx written).
 *
 * @example
 * ```ts
 * import { activationThroughput } from "@actlab/actlab/engine";
 * import { getActivation, initEngine } from "@actlab/actlab";
 * await initEngine({ backend: "wasm" });
 * const t = await activationThroughput(getActivation("gelu"), { size: 1 << 18 });
 * console.log(`${t.gbPerS.toFixed(2)} GB/s`);
 * ```
 */
export async function activationThroughput(
  def: ActivationDef,
  options: { size?: number; backward?: boolean; minMs?: number } = {},
): Promise<Throughput> {
  const size = options.size ?? 1 << 20;
  const x = tf.randomNormal([size]);
  const v = tf.randomNormal([size]);
  const dy = tf.onesLike(x);
  const f = (a: tf.Tensor) => (def.kind === "unary" ? def.apply(a) : def.apply(a, v));
  const run = options.backward ? () => [tf.grad(f)(x, dy)] : () => [f(x)];
  const { ms, n } = await time(run, options.minMs ?? 300);
  tf.dispose([x, v, dy]);
  const inputs = def.kind === "unary" ? 1 : 2;
  const bytes = 4 * size * (options.backward ? 2 * inputs + 3 : inputs + 1);
  return { ms, gbPerS: bytes / ms / 1e6, repeats: n };
}

/**
 * GFLOP/s of an n×n by n×n float32 matmul on the current backend.
 *
 * @example
 * ```ts
 * import { initEngine } from "@actlab/actlab";
 * import { matmulThroughput } from "@actlab/actlab/engine";
 * await initEngine({ backend: "cpu" });
 * const { gflops } = await matmulThroughput({ n: 128 });
 * ```
 */
export async function matmulThroughput(
  options: { n?: number; minMs?: number } = {},
): Promise<{ ms: number; gflops: number; repeats: number }> {
  const n = options.n ?? 512;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const { ms, n: repeats } = await time(() => [tf.matMul(a, b)], options.minMs ?? 300);
  tf.dispose([a, b]);
  return { ms, gflops: 2 * n ** 3 / ms / 1e6, repeats };
}
