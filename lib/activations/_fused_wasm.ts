/**
 * Fused kernels for tfjs-wasm: `wasm/kernels.c`, compiled to SIMD WebAssembly, instantiated on
 * tfjs-wasm's own memory so it reads and writes tensors in place. Math in float64, rounded once
 * to float32; one pass for the forward and one for the gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedKernelNames, registerFused } from "./_fused.ts";
import { KERNELS_WASM_BASE64 } from "./wasm/_kernels_wasm.ts";

/** Activations with a kernel in kernels.c. */
export const WASM_FUSED = ["gelu", "gelu_tanh", "silu", "quick_gelu"] as const;

interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type Exports = Record<string, (...offsets: number[]) => void>;

let module: WebAssembly.Module | undefined;
let bound: { memory: WebAssembly.Memory; exports: Exports } | undefined;

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** The kernels instantiated on this backend's memory (re-bound if tfjs-wasm was re-created). */
function kernelsOn(backend: WasmBackend): Exports {
  const memory = backend.wasm.asm.memory;
  if (bound?.memory !== memory) {
    module ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64) as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    bound = { memory, exports: instance.exports as unknown as Exports };
  }
  return bound.exports;
}

function offset(backend: WasmBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error("actlab wasm kernel: tensor data not found on the wasm backend");
  return data.memoryOffset;
}

/** Registers the wasm kernels of every activation in {@link WASM_FUSED}. */
export function registerWasmKernels(): void {
  for (const name of WASM_FUSED) {
    const { forward, gradient } = fusedKernelNames(name);
    tf.registerKernel({
      kernelName: forward,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend }) => {
        const wasm = backend as unknown as WasmBackend;
        const x = inputs.x as tf.TensorInfo;
        const out = wasm.makeOutput(x.shape, "float32");
        const n = tf.util.sizeFromShape(x.shape);
        if (n > 0) kernelsOn(wasm)[`${name}_f32`](offset(wasm, x), offset(wasm, out), n);
        return out;
      },
    });
    tf.registerKernel({
      kernelName: gradient,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend }) => {
        const wasm = backend as unknown as WasmBackend;
        const x = inputs.x as tf.TensorInfo;
        const dy = inputs.dy as tf.TensorInfo;
        const out = wasm.makeOutput(x.shape, "float32");
        const n = tf.util.sizeFromShape(x.shape);
        if (n > 0) {
          kernelsOn(wasm)[`${name}_grad_f32`](
            offset(wasm, x),
            offset(wasm, dy),
            offset(wasm, out),
            n,
          );
        }
        return out;
      },
    });
    registerFused(name, "wasm");
  }
}
