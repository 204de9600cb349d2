/**
 * Fused kernels for tfjs-wasm: `wasm/kernels.c` (its activations generated from their registry
 * math by `tools/gen_kernels.ts`), compiled to SIMD WebAssembly, instantiated on tfjs-wasm's own
 * memory so it reads and writes tensors in place. float32 arithmetic; one pass for the forward
 * and one for the gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedKernelNames, registerFused } from "./_fused.ts";
import { KERNELS_WASM_BASE64 } from "./wasm/_kernels_wasm.ts";

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

function compiled(): WebAssembly.Module {
  return module ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64) as BufferSource);
}

/**
 * The activations the committed wasm module exports kernels for (`<name>_f32` and
 * `<name>_grad_f32`).
 */
export function wasmKernelNames(): string[] {
  const exported = new Set(WebAssembly.Module.exports(compiled()).map((e) => e.name));
  return [...exported].filter((e) => e.endsWith("_grad_f32"))
    .map((e) => e.slice(0, -"_grad_f32".length))
    .filter((name) => exported.has(`${name}_f32`));
}

/** The kernels instantiated on this backend's memory (re-bound if tfjs-wasm was re-created). */
function kernelsOn(backend: WasmBackend): Exports {
  const memory = backend.wasm.asm.memory;
  if (bound?.memory !== memory) {
    const instance = new WebAssembly.Instance(compiled(), { env: { memory } });
    bound = { memory, exports: instance.exports as unknown as Exports };
  }
  return bound.exports;
}

function offset(backend: WasmBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error("actlab wasm kernel: tensor data not found on the wasm backend");
  return data.memoryOffset;
}

/**
 * Registers the wasm kernels of the given fused activations. One the module lacks (kernels.c
 * not regenerated and rebuilt since its entry became fused) stays on its composite here; the
 * tests report it.
 */
export function registerWasmKernels(defs: readonly { readonly name: string }[]): void {
  const available = new Set(wasmKernelNames());
  for (const { name } of defs) {
    if (!available.has(name)) continue;
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
