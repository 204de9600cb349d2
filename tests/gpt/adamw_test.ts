/**
 * AdamW's one update rule runs in two forms: per element in the fused tfjs-wasm kernel (float64
 * within an element) and as tfjs ops elsewhere (float32 op by op). Both must follow PyTorch's rule.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { AdamW, gradClipScale } from "../../lib/gpt/mod.ts";

const N = 257;
const initial = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.7) * 0.5);
const gradAt = (t: number) =>
  Float32Array.from({ length: N }, (_, i) => Math.cos(i * 1.3 + t) * 1e-2);
const options = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const schedule = [{ lr: 1e-2, gradScale: 1 }, { lr: 5e-3, gradScale: 0.25 }, {
  lr: 1e-3,
  gradScale: 1,
}];

/** Three AdamW steps on the active backend, for a decayed and an undecayed parameter. */
async function threeSteps(): Promise<Float32Array[]> {
  const vars = [tf.variable(tf.tensor1d(initial)), tf.variable(tf.tensor1d(initial))];
  const opt = new AdamW([
    { name: "decayed", variable: vars[0], decay: true },
    { name: "kept", variable: vars[1], decay: false },
  ], options);
  schedule.forEach(({ lr, gradScale }, t) => {
    const g = tf.tensor1d(gradAt(t));
    opt.step(new Map([["decayed", g], ["kept", g]]), lr, { gradScale });
    g.dispose();
  });
  const out = [await vars[0].data() as Float32Array, await vars[1].data() as Float32Array];
  opt.dispose();
  tf.dispose(vars);
  return out;
}

/** The same steps in float64, written from `torch.optim.AdamW`'s documentation. */
function reference(decay: boolean): number[] {
  const p = Array.from(initial), m = new Array(N).fill(0), v = new Array(N).fill(0);
  const { beta1: b1, beta2: b2, eps, weightDecay: wd } = options;
  schedule.forEach(({ lr, gradScale }, i) => {
    const t = i + 1, g = gradAt(i);
    for (let j = 0; j < N; j++) {
      const gj = g[j] * gradScale;
      if (decay) p[j] *= 1 - lr * wd;
      m[j] = b1 * m[j] + (1 - b1) * gj;
      v[j] = b2 * v[j] + (1 - b2) * gj * gj;
      p[j] -= (lr / (1 - b1 ** t)) * m[j] / (Math.sqrt(v[j]) / Math.sqrt(1 - b2 ** t) + eps);
    }
  });
  return p;
}

Deno.test("AdamW's fused wasm kernel and its tfjs-op form follow PyTorch's rule within 2e-7 (about 3 float32 ulps at 0.5)", async () => {
  try {
    for (const backend of ["wasm", "cpu"] as const) {
      await initEngine({ backend });
      const [decayed, kept] = await threeSteps();
      for (const [got, want] of [[decayed, reference(true)], [kept, reference(false)]] as const) {
        const worst = Math.max(...want.map((w, i) => Math.abs(w - got[i])));
        assert(worst <= 2e-7, `${backend}: max |Δ| ${worst} from the float64 reference`);
      }
      assert(decayed.some((x, i) => x !== kept[i]), `${backend}: weight decay had no effect`);
    }
  } finally {
    await initEngine({ backend: "wasm" });
  }
});

Deno.test("gradClipScale() is clip_grad_norm_'s factor min(1, maxNorm / (norm + 1e-6)), 1 without clipping", () => {
  assertEquals(gradClipScale(0.5, 1), 1);
  assertEquals(gradClipScale(3, 1), 1 / (3 + 1e-6));
  assertEquals(gradClipScale(3, 0), 1);
  assertEquals(gradClipScale(Infinity, 1), 0);
});
