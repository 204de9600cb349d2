/**
 * AdamW (Loshchilov & Hutter 2019) with PyTorch's update order, and global-norm gradient clipping.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** β1, the gradient average's decay. Default 0.9. */
  readonly beta1?: number;
  /** β2, the squared-gradient average's decay. Default 0.999. */
  readonly beta2?: number;
  /** ε added to the denominator. Default 1e-8. */
  readonly eps?: number;
  /** Decoupled weight decay for parameters marked `decay`. Default 0.01. */
  readonly weightDecay?: number;
}

/** A parameter the optimizer updates. */
export interface AdamWParam {
  /** Name (for state and messages). */
  readonly name: string;
  /** The variable, updated in place with `assign`. */
  readonly variable: tf.Variable;
  /** Whether weight decay applies (2-D weights: yes; LayerNorm scales and biases: no). */
  readonly decay: boolean;
}

/**
 * AdamW as `torch.optim.AdamW`: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { AdamW } from "./adamw.ts";
 * const w = tf.variable(tf.tensor1d([1, -1]));
 * const opt = new AdamW([{ name: "w", variable: w, decay: false }]);
 * opt.step(new Map([["w", tf.tensor1d([0.5, -0.5])]]), 0.1);
 * console.assert(Math.abs(w.dataSync()[0] - 0.9) < 1e-6); // first step moves lr·sign(g)
 * ```
 */
export class AdamW {
  readonly #params: readonly AdamWParam[];
  readonly #m: Map<string, tf.Variable>;
  readonly #v: Map<string, tf.Variable>;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;
  readonly #weightDecay: number;
  #t = 0;

  /** An optimizer over `params` with zeroed moments. */
  constructor(params: readonly AdamWParam[], options: AdamWOptions = {}) {
    this.#params = params;
    this.#beta1 = options.beta1 ?? 0.9;
    this.#beta2 = options.beta2 ?? 0.999;
    this.#eps = options.eps ?? 1e-8;
    this.#weightDecay = options.weightDecay ?? 0.01;
    const zeros = (p: AdamWParam): tf.Variable => {
      const z = tf.zerosLike(p.variable);
      const v = tf.variable(z, false); // shares z's data; dispose the handle
      z.dispose();
      return v;
    };
    this.#m = new Map(params.map((p) => [p.name, zeros(p)]));
    this.#v = new Map(params.map((p) => [p.name, zeros(p)]));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.#t;
  }

  /**
   * One update with gradients by parameter name at learning rate `lr`; `gradScale` multiplies
   * every gradient first (the clipping coefficient). Grads are not disposed.
   */
  step(
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
    options: { readonly gradScale?: number } = {},
  ): void {
    this.#t++;
    const b1 = this.#beta1, b2 = this.#beta2;
    const bc1 = 1 - b1 ** this.#t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.#t);
    const gradScale = options.gradScale ?? 1;
    for (const p of this.#params) {
      if (!grads.has(p.name)) throw new Error(`AdamW.step: no gradient for ${p.name}`);
    }
    if (tf.getBackend() === "wasm") {
      // One pass over memory per parameter instead of about twelve tfjs ops.
      registerAdamWKernel();
      tf.tidy(() => {
        for (const p of this.#params) {
          const m = this.#m.get(p.name)!, v = this.#v.get(p.name)!;
          const [pNew, mNew, vNew] = tf.engine().runKernel(
            ADAMW_KERNEL,
            { p: p.variable, g: grads.get(p.name)!, m, v },
            {
              beta1: b1,
              beta2: b2,
              eps: this.#eps,
              shrink: p.decay ? 1 - lr * this.#weightDecay : 1,
              stepSize: lr / bc1,
              bc2Sqrt,
              gradScale,
            } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
          m.assign(mNew);
          v.assign(vNew);
          p.variable.assign(pNew);
        }
      });
      return;
    }
    tf.tidy(() => {
      const sB1 = tf.scalar(b1), s1mB1 = tf.scalar(1 - b1);
      const sB2 = tf.scalar(b2), s1mB2 = tf.scalar(1 - b2);
      const stepSize = tf.scalar(-lr / bc1);
      const bc2 = tf.scalar(bc2Sqrt);
      const eps = tf.scalar(this.#eps);
      const shrink = tf.scalar(1 - lr * this.#weightDecay);
      const scale = tf.scalar(gradScale);
      for (const p of this.#params) {
        const g = gradScale === 1 ? grads.get(p.name)! : tf.mul(grads.get(p.name)!, scale);
        const m = this.#m.get(p.name)!, v = this.#v.get(p.name)!;
        const param = p.decay && this.#weightDecay !== 0 ? tf.mul(p.variable, shrink) : p.variable;
        const mNew = tf.add(tf.mul(m, sB1), tf.mul(g, s1mB1));
        const vNew = tf.add(tf.mul(v, sB2), tf.mul(tf.square(g), s1mB2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), bc2), eps);
        m.assign(mNew);
        v.assign(vNew);
        p.variable.assign(tf.add(param, tf.mul(tf.div(mNew, denom), stepSize)));
      }
    });
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
  }
}

const ADAMW_KERNEL = "ActlabAdamWUpdate";
let adamwRegistered = false;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** The fused update on tfjs-wasm: reads p, g, m, v once from the heap, writes p', m', v'. */
function registerAdamWKernel(): void {
  if (adamwRegistered) return;
  adamwRegistered = true;
  tf.registerKernel({
    kernelName: ADAMW_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmBackendLike;
      const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as Record<string, number>;
      const outs = [be.makeOutput(p.shape, "float32"), be.makeOutput(p.shape, "float32")];
      outs.push(be.makeOutput(p.shape, "float32"));
      // Views after every allocation: growing the heap detaches earlier views.
      const [P, G, M, V] = [p, g, m, v].map((t) => be.typedArrayFromHeap(t));
      const [P2, M2, V2] = outs.map((t) => be.typedArrayFromHeap(t));
      const { beta1, beta2, eps, shrink, stepSize, bc2Sqrt, gradScale } = a;
      for (let i = 0; i < P.length; i++) {
        const gi = G[i] * gradScale;
        const mi = beta1 * M[i] + (1 - beta1) * gi;
        const vi = beta2 * V[i] + (1 - beta2) * gi * gi;
        M2[i] = mi;
        V2[i] = vi;
        P2[i] = P[i] * shrink - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
      }
      return outs;
    },
  });
}

/**
 * The global L2 norm of a set of gradients, √(Σ g²), as a scalar tensor. Call inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { globalNorm } from "./adamw.ts";
 * const n = globalNorm(new Map([["a", tf.tensor1d([3])], ["b", tf.tensor1d([4])]]));
 * console.assert(Math.abs(n.dataSync()[0] - 5) < 1e-6);
 * ```
 */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
  // stack + sum rather than addN: tfjs-webgpu 4.22's AddN sums only its first 4 inputs.
  return tf.sqrt(tf.sum(tf.stack(squares))) as tf.Scalar;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`, as `clip_grad_norm_`: every
 * gradient is multiplied by min(1, maxNorm / (norm + 1e-6)). Returns the new gradients and the
 * norm before clipping (a scalar tensor). Call inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByGlobalNorm } from "./adamw.ts";
 * const { grads, norm } = clipByGlobalNorm(new Map([["a", tf.tensor1d([3, 4])]]), 1);
 * console.assert(Math.abs(norm.dataSync()[0] - 5) < 1e-6);
 * console.assert(Math.abs(grads.get("a")!.dataSync()[0] - 0.6) < 1e-5);
 * ```
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  if (!(maxNorm > 0)) return { grads: new Map(grads), norm };
  const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))));
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, tf.mul(g, coef));
  return { grads: out, norm };
}
