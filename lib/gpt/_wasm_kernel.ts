/**
 * JavaScript kernels on tfjs-wasm's heap: the plumbing shared by the fused kernels of this layer
 * (AdamW's update, the row-wise split).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** tfjs-wasm's backend as a kernel sees it: allocate an output, view a tensor in the heap. */
export interface WasmHeap {
  /** A new float32 output tensor of `shape`. */
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  /** The tensor's data as a view into the wasm heap (detached when the heap grows). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Registers `kernelFunc` as the tfjs-wasm kernel `name` unless one is registered under that name.
 * The function must allocate all outputs before taking views: allocating may grow the heap and
 * detach earlier views.
 *
 * @example
 * ```ts ignore
 * registerWasmKernel("Twice", ({ x }, heap) => {
 *   const out = heap.makeOutput(x.shape, "float32");
 *   const [src, dst] = [heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(out)];
 *   for (let i = 0; i < src.length; i++) dst[i] = 2 * src[i];
 *   return out;
 * });
 * ```
 */
export function registerWasmKernel(
  name: string,
  kernelFunc: (
    inputs: Record<string, tf.TensorInfo>,
    heap: WasmHeap,
    attrs: tf.NamedAttrMap,
  ) => tf.TensorInfo | tf.TensorInfo[],
): void {
  if (tf.getKernel(name, "wasm") !== undefined) return;
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) =>
      kernelFunc(
        inputs as Record<string, tf.TensorInfo>,
        backend as unknown as WasmHeap,
        attrs ?? {},
      ),
  });
}
