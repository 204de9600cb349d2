/**
 * Fused elementwise kernels: one pass over memory for an activation (and one for its gradient)
 * instead of the several passes its tfjs composite takes. Each fused activation is a tfjs kernel
 * `Actlab_<name>` with gradient kernel `Actlab_<name>_grad`, implemented per backend
 * (`_fused_cpu.ts`: JavaScript float64, for every built-in; `_fused_wasm.ts`: SIMD WebAssembly
 * and `_fused_webgpu.ts`: WGSL, for the entries with `fused: true`, generated from their math).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A fused implementation of one activation on one backend: x ↦ f(x), gradient included. */
export type FusedKernel = (x: tf.Tensor) => tf.Tensor;

const kernels = new Map<string, Set<string>>();
const gradientsRegistered = new Set<string>();

/** The tfjs kernel names of a fused activation. */
export function fusedKernelNames(name: string): { forward: string; gradient: string } {
  return { forward: `Actlab_${name}`, gradient: `Actlab_${name}_grad` };
}

/**
 * Declares that `backend` has kernels for activation `name` (registered by the caller under
 * {@link fusedKernelNames}); registers the gradient rule dy ↦ Actlab_<name>_grad(dy, x) once.
 */
export function registerFused(name: string, backend: string): void {
  const { forward, gradient } = fusedKernelNames(name);
  if (!gradientsRegistered.has(forward)) {
    tf.registerGradient({
      kernelName: forward,
      inputsToSave: ["x"],
      gradFunc: (dy, saved) => ({
        x: () => tf.engine().runKernel(gradient, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor,
      }),
    });
    gradientsRegistered.add(forward);
  }
  let backends = kernels.get(name);
  if (!backends) kernels.set(name, backends = new Set());
  backends.add(backend);
}

/** Stops dispatching activation `name` to fused kernels (when a user overrides the definition). */
export function unregisterFused(name: string): void {
  kernels.delete(name);
}

let enabled = true;

/**
 * Turns fused kernels on or off (benchmarks compare both); returns the previous setting.
 *
 * @example
 * ```ts
 * import { setFusedKernels } from "@actlab/actlab/activations";
 * const before = setFusedKernels(false); // composites of tfjs ops only
 * setFusedKernels(before);
 * ```
 */
export function setFusedKernels(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** The fused op for `name` on the current backend, if there is one and they are enabled. */
export function fusedKernelFor(name: string): FusedKernel | undefined {
  if (!enabled || !kernels.get(name)?.has(tf.getBackend())) return undefined;
  const { forward } = fusedKernelNames(name);
  return (x) => tf.engine().runKernel(forward, { x }) as tf.Tensor;
}

/**
 * Backends that have a fused kernel for activation `name`.
 *
 * @example
 * ```ts
 * import { fusedBackends } from "@actlab/actlab/activations";
 * fusedBackends("gelu"); // ["cpu", "wasm", "webgpu"]
 * ```
 */
export function fusedBackends(name: string): string[] {
  return [...(kernels.get(name) ?? [])];
}
