import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { normalCdf, normalPdf, gateProduct, sigmoid } from "./lib/activations/_math.ts";
await tf.setBackend("wasm"); await tf.ready();
const n = 1 << 20;
const x = tf.randomNormal([2048, 512]);
const be: any = tf.backend();
function gelu64(v: number) { return gateProduct(v, normalCdf(v)); }
function silu64(v: number) { return gateProduct(v, sigmoid(v)); }
tf.registerKernel({ kernelName: "GeluJs", backendName: "wasm", kernelFunc: ({ inputs, backend }: any) => {
  const xin = inputs.x; const out = backend.makeOutput(xin.shape, "float32");
  const src = backend.typedArrayFromHeap(xin) as Float32Array; const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < src.length; i++) dst[i] = gelu64(src[i]);
  return out; } } as any);
tf.registerKernel({ kernelName: "SiluJs", backendName: "wasm", kernelFunc: ({ inputs, backend }: any) => {
  const xin = inputs.x; const out = backend.makeOutput(xin.shape, "float32");
  const src = backend.typedArrayFromHeap(xin) as Float32Array; const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < src.length; i++) dst[i] = silu64(src[i]);
  return out; } } as any);
function bench(name: string, f: () => tf.Tensor) {
  for (let i = 0; i < 3; i++) tf.tidy(f);
  const t0 = performance.now(); const R = 20;
  for (let i = 0; i < R; i++) { tf.tidy(f); }
  const ms = (performance.now() - t0) / R;
  console.log(name.padEnd(24), ms.toFixed(3), "ms", (n * 8 / ms / 1e6).toFixed(2), "GB/s");
}
const geluComp = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2))));
bench("relu", () => tf.relu(x));
bench("gelu_composite", () => geluComp(x));
bench("gelu_js", () => tf.engine().runKernel("GeluJs", { x }) as tf.Tensor);
bench("silu_composite", () => tf.mul(x, tf.sigmoid(x)));
bench("silu_js", () => tf.engine().runKernel("SiluJs", { x }) as tf.Tensor);
bench("relu fwd+bwd", () => tf.grad((t: tf.Tensor) => tf.relu(t).sum())(x));
bench("gelu comp fwd+bwd", () => tf.grad((t: tf.Tensor) => geluComp(t).sum())(x));
bench("silu comp fwd+bwd", () => tf.grad((t: tf.Tensor) => tf.mul(t, tf.sigmoid(t)).sum())(x));
bench("sum only", () => x.sum());
