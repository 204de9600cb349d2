/**
 * actlab: activation functions in transformers, from a Deno Jupyter notebook.
 *
 * The activation registry (exact math, gradients, your own activations), tfjs engine selection
 * (native TensorFlow, WebGPU, WebAssembly, CPU) and ONNX Runtime sessions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { getUnary, initEngine } from "@actlab/actlab";
 *
 * const engine = await initEngine({ backend: "auto" });
 * console.log(`tfjs on ${engine.backend} (${engine.device})`);
 * const gelu = getUnary("gelu");
 * gelu.reference(-1); // -0.15865525393145707 (float64)
 * const y = gelu.apply(tf.tensor([-1, 0, 1])); // float32, differentiable
 * ```
 *
 * @module
 */
export * from "./lib/activations/mod.ts";
export * from "./lib/engine/mod.ts";
export * from "./lib/onnx/mod.ts";
export * from "./lib/experiments/mod.ts";
export * from "./lib/gpt/mod.ts";
export * from "./datasets/mod.ts";
export * from "./lib/display/mod.ts";
export * from "./lib/notebook/mod.ts";
