/**
 * Fused elementwise kernels: one pass over memory for an activation (and one for its gradient)
 * instead of the several passes its tfjs composite takes. Registered per tfjs backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A fused implementation of one activation on one backend: x ↦ f(x), gradient included. */
export type FusedKernel = (x: tf.Tensor) => tf.Tensor;

const kernels = new Map<string, Map<string, FusedKernel>>();

/** Registers a fused kernel for activation `name` on tfjs backend `backend`. */
export function registerFused(name: string, backend: string, kernel: FusedKernel): void {
  let byBackend = kernels.get(name);
  if (!byBackend) kernels.set(name, byBackend = new Map());
  byBackend.set(backend, kernel);
}

/** Removes every fused kernel of activation `name` (when a user overrides the definition). */
export function unregisterFused(name: string): void {
  kernels.delete(name);
}

let enabled = true;

/** Turns fused kernels on or off (benchmarks compare both); returns the previous setting. */
export function setFusedKernels(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** The fused kernel for `name` on the current backend, if there is one and they are enabled. */
export function fusedKernelFor(name: string): FusedKernel | undefined {
  if (!enabled) return undefined;
  return kernels.get(name)?.get(tf.getBackend());
}

/** Backends that have a fused kernel for `name`. */
export function fusedBackends(name: string): string[] {
  return [...(kernels.get(name)?.keys() ?? [])];
}
