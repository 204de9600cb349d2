import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm"); await tf.ready();
const n = 1 << 20;
const x = tf.randomNormal([n]);
function bench(name: string, f: () => tf.Tensor) {
  for (let i = 0; i < 3; i++) f().dispose();
  const t0 = performance.now(); const R = 20;
  for (let i = 0; i < R; i++) { const y = f(); y.dataSync(); y.dispose(); }
  const ms = (performance.now() - t0) / R;
  console.log(name.padEnd(20), ms.toFixed(3), "ms", (n * 8 / ms / 1e6).toFixed(2), "GB/s");
}
bench("relu", () => tf.relu(x));
bench("sigmoid", () => tf.sigmoid(x));
bench("erf", () => tf.erf(x));
bench("exp", () => tf.exp(x));
bench("tanh", () => tf.tanh(x));
bench("mul", () => tf.mul(x, x));
bench("gelu_composite", () => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))));
bench("silu_composite", () => tf.tidy(() => tf.mul(x, tf.sigmoid(x))));
const backend: any = tf.backend();
const heap = () => backend.wasm.HEAPF32 as Float32Array;
function jsKernel(f: (v: number) => number) {
  const out = tf.zeros([n]) as tf.Tensor;
  const xo = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  const oo = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  const h = heap();
  for (let i = 0; i < n; i++) h[oo + i] = f(h[xo + i]);
  return out;
}
bench("js_relu", () => jsKernel((v) => v > 0 ? v : 0));
bench("js_silu", () => jsKernel((v) => v / (1 + Math.exp(-v))));
bench("js_gelu_tanh", () => jsKernel((v) => v / (1 + Math.exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)))));
