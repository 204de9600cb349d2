/**
 * AdamW (Loshchilov & Hutter 2019) with PyTorch's update order, and global-norm gradient clipping.
 *
 * The update (and the clipping factor) is written once, against a small elementwise arithmetic
 * over a value type: plain numbers, one element at a time, in the fused tfjs-wasm kernel (one
 * pass over memory per parameter; float64 within an element), and tfjs tensors on every other
 * backend (the data stays on the device; float32 op by op). The two agree within a few float32
 * ulps. The compiled engine's AdamW is part of its ONNX training graph (`lib/onnx/`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { registerWasmKernel } from "./_wasm_kernel.ts";
import {
  adamBufferNames,
  checkOptimizerState,
  type OptimizerBuffer,
  type OptimizerState,
} from "./optimizer.ts";

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

// ---------------------------------------------------------------------------------------------
// The update, written once

/** The elementwise arithmetic the optimizer's math is written against. */
interface Arith<V> {
  constant(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  sqrt(a: V): V;
  min(a: V, b: V): V;
}

/** The coefficients of one step for one parameter, as values of the arithmetic's type. */
interface Coefficients<V> {
  /** The clipping factor every gradient is multiplied by first. */
  readonly gradScale: V;
  readonly beta1: V;
  /** 1 − β1. */
  readonly oneMinusBeta1: V;
  readonly beta2: V;
  /** 1 − β2. */
  readonly oneMinusBeta2: V;
  /** 1 − lr·wd for decayed parameters, 1 for the others. */
  readonly shrink: V;
  /** lr / (1 − β1ᵗ). */
  readonly stepSize: V;
  /** √(1 − β2ᵗ). */
  readonly bc2Sqrt: V;
  readonly eps: V;
}

/**
 * One AdamW update of parameter p with gradient g and moments m, v, as `torch.optim.AdamW`:
 *
 *     g ← g·gradScale
 *     m ← β1·m + (1 − β1)·g
 *     v ← β2·v + (1 − β2)·g²
 *     p ← p·(1 − lr·wd) − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * Returns the new p, m, v.
 */
function adamwUpdate<V>(o: Arith<V>, k: Coefficients<V>, p: V, g: V, m: V, v: V): [V, V, V] {
  const gs = o.mul(g, k.gradScale);
  const m1 = o.add(o.mul(k.beta1, m), o.mul(k.oneMinusBeta1, gs));
  const v1 = o.add(o.mul(k.beta2, v), o.mul(o.mul(k.oneMinusBeta2, gs), gs));
  const denom = o.add(o.div(o.sqrt(v1), k.bc2Sqrt), k.eps);
  const p1 = o.sub(o.mul(p, k.shrink), o.div(o.mul(k.stepSize, m1), denom));
  return [p1, m1, v1];
}

/** Numbers: float64 within an element, rounded to float32 when stored. */
const numberArith: Arith<number> = {
  constant: (x) => x,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  sqrt: Math.sqrt,
  min: Math.min,
};

/** tfjs tensors: float32 op by op, on the active backend. */
const tensorArith: Arith<tf.Tensor> = {
  constant: (x) => tf.scalar(x),
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  sqrt: (a) => tf.sqrt(a),
  min: (a, b) => tf.minimum(a, b),
};

/** The coefficients as constants of the arithmetic (scalar tensors: call inside `tf.tidy`). */
function constants<V>(o: Arith<V>, k: Coefficients<number>): Coefficients<V> {
  const entries = Object.entries(k).map(([name, x]) => [name, o.constant(x)]);
  return Object.fromEntries(entries) as unknown as Coefficients<V>;
}

/** `clip_grad_norm_`'s factor: min(1, maxNorm / (norm + 1e-6)). */
function clipFactor<V>(o: Arith<V>, norm: V, maxNorm: number): V {
  return o.min(o.constant(1), o.div(o.constant(maxNorm), o.add(norm, o.constant(1e-6))));
}

const ADAMW_KERNEL = "ActlabAdamWUpdate";

/** The AdamW update of whole parameter, gradient and moment arrays (p1, m1, v1 written). */
type UpdateLoop = (
  k: Coefficients<number>,
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  p1: Float32Array,
  m1: Float32Array,
  v1: Float32Array,
) => void;

let updateLoop: UpdateLoop | undefined;

/**
 * {@link adamwUpdate} as straight-line JavaScript over Float32Arrays, generated from the formula:
 * an arithmetic over expression names records each operation as one `const` (float64, in the
 * formula's order, so the numbers equal {@link numberArith}'s exactly), and the loop body is
 * compiled once. About 4× faster than calling the arithmetic's functions element by element.
 */
function generatedUpdateLoop(): UpdateLoop {
  if (updateLoop) return updateLoop;
  const lines: string[] = [];
  const op = (expr: string) => {
    const name = `t${lines.length}`;
    lines.push(`const ${name} = ${expr};`);
    return name;
  };
  const sourceArith: Arith<string> = {
    constant: (x) => op(String(x)),
    add: (a, b) => op(`${a} + ${b}`),
    sub: (a, b) => op(`${a} - ${b}`),
    mul: (a, b) => op(`${a} * ${b}`),
    div: (a, b) => op(`${a} / ${b}`),
    sqrt: (a) => op(`Math.sqrt(${a})`),
    min: (a, b) => op(`Math.min(${a}, ${b})`),
  };
  const names = Object.keys(numberCoefficients({})) as (keyof Coefficients<number>)[];
  const coefficients = Object.fromEntries(names.map((n) => [n, `k_${n}`]));
  const [p1, m1, v1] = adamwUpdate(
    sourceArith,
    coefficients as unknown as Coefficients<string>,
    "P[i]",
    "G[i]",
    "M[i]",
    "V[i]",
  );
  const body = [
    ...names.map((n) => `const k_${n} = k.${n};`),
    "for (let i = 0; i < P.length; i++) {",
    ...lines.map((l) => `  ${l}`),
    `  P1[i] = ${p1};`,
    `  M1[i] = ${m1};`,
    `  V1[i] = ${v1};`,
    "}",
  ].join("\n");
  return updateLoop = new Function("k", "P", "G", "M", "V", "P1", "M1", "V1", body) as UpdateLoop;
}

/** {@link adamwUpdate} as a tfjs-wasm kernel: reads p, g, m, v once, writes p', m', v'. */
function registerAdamWKernel(): void {
  registerWasmKernel(ADAMW_KERNEL, ({ p, g, m, v }, heap, attrs) => {
    const k = numberCoefficients(attrs);
    const outs = [p, m, v].map(() => heap.makeOutput(p.shape, "float32"));
    const [P, G, M, V] = [p, g, m, v].map((t) => heap.typedArrayFromHeap(t));
    const [P1, M1, V1] = outs.map((t) => heap.typedArrayFromHeap(t));
    generatedUpdateLoop()(k, P, G, M, V, P1, M1, V1);
    return outs;
  });
}

/** The coefficients from kernel attributes, as an object of one fixed shape (fast to read). */
function numberCoefficients(a: tf.NamedAttrMap): Coefficients<number> {
  const n = (name: keyof Coefficients<number>) => a[name] as number;
  return {
    gradScale: n("gradScale"),
    beta1: n("beta1"),
    oneMinusBeta1: n("oneMinusBeta1"),
    beta2: n("beta2"),
    oneMinusBeta2: n("oneMinusBeta2"),
    shrink: n("shrink"),
    stepSize: n("stepSize"),
    bc2Sqrt: n("bc2Sqrt"),
    eps: n("eps"),
  };
}

// ---------------------------------------------------------------------------------------------
// The optimizer

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
    for (const p of this.#params) {
      if (!grads.has(p.name)) throw new Error(`AdamW.step: no gradient for ${p.name}`);
    }
    this.#t++;
    const gradScale = options.gradScale ?? 1;
    const keep = this.#coefficients(lr, gradScale, false);
    const decay = this.#coefficients(lr, gradScale, true);
    const wasm = tf.getBackend() === "wasm";
    if (wasm) registerAdamWKernel();
    tf.tidy(() => {
      const [keepT, decayT] = wasm
        ? []
        : [constants(tensorArith, keep), constants(tensorArith, decay)];
      for (const p of this.#params) {
        const m = this.#m.get(p.name)!, v = this.#v.get(p.name)!, g = grads.get(p.name)!;
        const [p1, m1, v1] = wasm
          ? tf.engine().runKernel(ADAMW_KERNEL, { p: p.variable, g, m, v }, {
            ...(p.decay ? decay : keep),
          }) as tf.Tensor[]
          : adamwUpdate(tensorArith, p.decay ? decayT! : keepT!, p.variable, g, m, v);
        m.assign(m1);
        v.assign(v1);
        p.variable.assign(p1);
      }
    });
  }

  /** The moment buffers' names, parameters and shapes (`adam_m/<name>`, `adam_v/<name>`). */
  buffers(): OptimizerBuffer[] {
    return this.#params.flatMap((p) => {
      const { m, v } = adamBufferNames(p.name), shape = p.variable.shape;
      return [{ name: m, param: p.name, shape }, { name: v, param: p.name, shape }];
    });
  }

  /** The step count and both moments of every parameter (host copies). */
  async state(): Promise<OptimizerState> {
    const buffers = new Map<string, Float32Array>();
    for (const p of this.#params) {
      const { m, v } = adamBufferNames(p.name);
      buffers.set(m, Float32Array.from(await this.#m.get(p.name)!.data() as Float32Array));
      buffers.set(v, Float32Array.from(await this.#v.get(p.name)!.data() as Float32Array));
    }
    return { optimizer: "adamw", step: this.#t, buffers };
  }

  /**
   * Takes over a saved state (see {@link AdamW.state}): the moments and the step count, so the
   * bias corrections continue where they were. Refuses a state that does not fit.
   */
  restore(state: OptimizerState): void {
    checkOptimizerState(state, "adamw", this.buffers(), "AdamW.restore");
    for (const p of this.#params) {
      const { m, v } = adamBufferNames(p.name);
      tf.tidy(() => {
        this.#m.get(p.name)!.assign(tf.tensor(state.buffers.get(m)!, p.variable.shape));
        this.#v.get(p.name)!.assign(tf.tensor(state.buffers.get(v)!, p.variable.shape));
      });
    }
    this.#t = state.step;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
  }

  /** The coefficients of this step for a decayed or an undecayed parameter. */
  #coefficients(lr: number, gradScale: number, decay: boolean): Coefficients<number> {
    const b1 = this.#beta1, b2 = this.#beta2, t = this.#t;
    return {
      gradScale,
      beta1: b1,
      oneMinusBeta1: 1 - b1,
      beta2: b2,
      oneMinusBeta2: 1 - b2,
      shrink: decay ? 1 - lr * this.#weightDecay : 1,
      stepSize: lr / (1 - b1 ** t),
      bc2Sqrt: Math.sqrt(1 - b2 ** t),
      eps: this.#eps,
    };
  }
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
 * The factor `clip_grad_norm_` multiplies every gradient by: min(1, maxNorm / (norm + 1e-6)), or
 * 1 when `maxNorm` ≤ 0 (no clipping). {@link AdamW.step} takes it as `gradScale`.
 *
 * @example
 * ```ts
 * import { gradClipScale } from "./adamw.ts";
 * console.assert(gradClipScale(0.5, 1) === 1);
 * console.assert(Math.abs(gradClipScale(4, 1) - 0.25) < 1e-6);
 * ```
 */
export function gradClipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? clipFactor(numberArith, norm, maxNorm) : 1;
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
  const coef = clipFactor(tensorArith, norm, maxNorm);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, tf.mul(g, coef));
  return { grads: out, norm };
}
