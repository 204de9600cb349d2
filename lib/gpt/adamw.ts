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

  /** One update with gradients by parameter name at learning rate `lr`. Grads are not disposed. */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.#t++;
    const b1 = this.#beta1, b2 = this.#beta2;
    const bc1 = 1 - b1 ** this.#t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.#t);
    tf.tidy(() => {
      const sB1 = tf.scalar(b1), s1mB1 = tf.scalar(1 - b1);
      const sB2 = tf.scalar(b2), s1mB2 = tf.scalar(1 - b2);
      const stepSize = tf.scalar(-lr / bc1);
      const bc2 = tf.scalar(bc2Sqrt);
      const eps = tf.scalar(this.#eps);
      const shrink = tf.scalar(1 - lr * this.#weightDecay);
      for (const p of this.#params) {
        const g = grads.get(p.name);
        if (g === undefined) throw new Error(`AdamW.step: no gradient for ${p.name}`);
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
  const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
  const norm = tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares)) as tf.Scalar;
  if (!(maxNorm > 0)) return { grads: new Map(grads), norm };
  const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))));
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, tf.mul(g, coef));
  return { grads: out, norm };
}
