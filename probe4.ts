const n = 1 << 20;
const x = new Float32Array(n); for (let i = 0; i < n; i++) x[i] = (Math.random() - 0.5) * 8;
const y = new Float32Array(n);
const C = Array.from({length: 20}, (_, i) => 1 / (i + 1));
function bench(name: string, f: (v: number) => number) {
  for (let r = 0; r < 3; r++) for (let i = 0; i < n; i++) y[i] = f(x[i]);
  const t0 = performance.now(); const R = 10;
  for (let r = 0; r < R; r++) for (let i = 0; i < n; i++) y[i] = f(x[i]);
  const ms = (performance.now() - t0) / R;
  console.log(name.padEnd(16), ms.toFixed(2), "ms/1M", (n * 8 / ms / 1e6).toFixed(2), "GB/s");
}
bench("relu", (v) => v > 0 ? v : 0);
bench("exp", (v) => Math.exp(v));
bench("silu", (v) => v / (1 + Math.exp(-v)));
bench("tanh", (v) => Math.tanh(v));
bench("clenshaw20", (v) => { const t = (v - 2) / (v + 2); let d = 0, dd = 0; for (let j = 19; j > 0; j--) { const s = d; d = 2 * t * d - dd + C[j]; dd = s; } return t * d - dd + 0.5 * C[0]; });
bench("poly12+exp", (v) => { const t = 1 / (1 + 0.5 * Math.abs(v)); let p = 0.17; for (let j = 0; j < 10; j++) p = p * t + C[j]; return t * Math.exp(-v * v + p); });
