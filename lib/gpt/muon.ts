/**
 * Muon — MomentUm Orthogonalized by Newton–Schulz (Keller Jordan, 2024): SGD with Nesterov
 * momentum whose update of each hidden weight matrix is replaced by (roughly) the nearest
 * semi-orthogonal matrix, found by a quintic Newton–Schulz iteration; AdamW updates everything
 * else. The update follows Keller Jordan's reference (`KellerJordan/Muon`, `muon.py`:
 * `zeropower_via_newtonschulz5`, `muon_update`, `SingleDeviceMuonWithAuxAdam`), which
 * modded-nanogpt's records and nanochat's first `nanochat/muon.py` share:
 *
 *     m ← m + (1 − β)·(g − m)                 momentum, an average of gradients (lerp)
 *     u ← g + β·(m − g)                       Nesterov: look ahead along the momentum (lerp)
 *     O ← NS₅(u)                              ≈ U·Vᵀ of u = U·S·Vᵀ, every singular value ~1
 *     p ← p·(1 − lr·wd) − lr·√max(1, out/in)·O
 *
 * One difference, on purpose: the reference runs the iteration in bfloat16 on the GPU; here it
 * runs in float32 on every engine (the difference is far below the iteration's own spread of
 * singular values, 0.5–1.5, which the reference says does not hurt). modded-nanogpt's first
 * records wrote the momentum as b ← β·b + g, u ← g + β·b: the same direction over 1 − β, which
 * the normalisation before the iteration removes.
 *
 * Learning rates: one schedule (warmup, cosine decay) drives both groups. AdamW's parameters move
 * at the schedule's rate, Muon's at `muonLrRatio` times it (default 20: Muon's 0.02 over nanoGPT's
 * AdamW 1e-3), as nanochat multiplies every group's initial rate by one schedule factor
 * (`scripts/base_train.py`, `get_lr_multiplier`); a learning-rate sweep thus moves both at a
 * fixed ratio. Not taken over: nanochat's momentum warmup (0.85 → 0.95 over its first 300 steps,
 * a training-script choice, not the optimizer's) and its later Muon (Polar Express coefficients,
 * variance normalisation, cautious weight decay).
 *
 * The update is written once, against a small matrix arithmetic ({@link MatrixArith}): tfjs
 * tensors here ({@link Muon}, the eager engine) and ONNX graph values in the compiled training
 * step (`lib/onnx/train_graph.ts`). Weights are stored `[in, out]` (`y = x @ W`), the transpose of
 * PyTorch's `nn.Linear` weight `[out, in]` that the reference is written for; the orientation and
 * the scale below are the reference's, read in that layout.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { AdamW, type AdamWOptions, type AdamWParam } from "./adamw.ts";
import {
  checkOptimizerState,
  muonBufferName,
  type OptimizerBuffer,
  type OptimizerState,
} from "./optimizer.ts";

/**
 * The quintic Newton–Schulz coefficients (a, b, c) of X ← a·X + b·(XXᵀ)X + c·(XXᵀ)²X, chosen by
 * Keller Jordan to maximise the slope at zero: five steps do not drive every singular value of a
 * normalised matrix to 1 but into roughly 0.5–1.5, which the reference finds does not hurt
 * (KellerJordan/Muon `muon.py`, modded-nanogpt's records' `train_gpt.py`, nanochat's first
 * `nanochat/muon.py`: `a, b, c = (3.4445, -4.7750, 2.0315)`).
 *
 * @example
 * ```ts
 * import { NS_COEFFICIENTS } from "./muon.ts";
 * const [a, b, c] = NS_COEFFICIENTS;
 * console.assert(Math.abs(a + b + c - 1.001) < 1e-9); // the polynomial maps 1 to about 1
 * ```
 */
export const NS_COEFFICIENTS: readonly [a: number, b: number, c: number] = [3.4445, -4.775, 2.0315];

/**
 * Newton–Schulz steps per update: 5, the reference's `ns_steps` (KellerJordan/Muon, nanochat).
 *
 * @example
 * ```ts
 * import { NS_STEPS } from "./muon.ts";
 * console.assert(NS_STEPS === 5);
 * ```
 */
export const NS_STEPS = 5;

/**
 * Added to the Frobenius norm before dividing by it, so a zero update stays zero: 1e-7, the
 * reference's (`X / (X.norm() + 1e-7)`; the norm bounds the spectral norm, so every singular value
 * starts at most 1, inside the iteration's basin).
 *
 * @example
 * ```ts
 * import { NS_EPS } from "./muon.ts";
 * console.assert(NS_EPS === 1e-7);
 * ```
 */
export const NS_EPS = 1e-7;

/**
 * The arithmetic Muon's update is written against: scalar constants (broadcast), elementwise
 * add, subtract and multiply, matrix product, transpose and the Frobenius norm (a scalar).
 * Implemented by tfjs tensors here and by ONNX graph values in `lib/onnx/train_graph.ts`.
 */
export interface MatrixArith<V> {
  /** A scalar. */
  constant(x: number): V;
  /** a + b (broadcasting scalars). */
  add(a: V, b: V): V;
  /** a − b (broadcasting scalars). */
  sub(a: V, b: V): V;
  /** a·b elementwise (broadcasting scalars). */
  mul(a: V, b: V): V;
  /** a / b elementwise (broadcasting scalars). */
  div(a: V, b: V): V;
  /** The matrix product a·b. */
  matMul(a: V, b: V): V;
  /** aᵀ. */
  transpose(a: V): V;
  /** √(Σ a²), a scalar. */
  frobeniusNorm(a: V): V;
}

/**
 * The orthogonalisation NS₅(G) ≈ U·Vᵀ of G = U·S·Vᵀ, G `[rows, cols]` in this project's `[in, out]`
 * layout: G over its Frobenius norm (+ {@link NS_EPS}), then {@link NS_STEPS} quintic steps
 * X ← a·X + (b·A + c·A·A)·X with A = X·Xᵀ. As the reference, the iteration works on the
 * orientation whose Gram matrix A is the smaller: PyTorch's `[out, in]` weight is transposed
 * when out > in — here, where the weight is `[in, out]`, that is the weight as it is, and the
 * weight is transposed when in ≥ out (so a square matrix is iterated as PyTorch iterates it).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { newtonSchulz5, tensorMatrixArith } from "./muon.ts";
 * const o = tf.tidy(() => {
 *   const g = tf.tensor2d([[3, 0], [0, 1], [0, 0]]); // [in 3, out 2], singular values 3 and 1
 *   const x = newtonSchulz5(tensorMatrixArith, g, [3, 2]) as tf.Tensor2D;
 *   return tf.matMul(x, x, true, false); // XᵀX ≈ I: both singular values near 1
 * });
 * const [s1, , , s2] = o.dataSync();
 * console.assert(Math.abs(s1 - 1) < 0.35 && Math.abs(s2 - 1) < 0.35);
 * o.dispose();
 * ```
 */
export function newtonSchulz5<V>(
  o: MatrixArith<V>,
  g: V,
  [rows, cols]: readonly [number, number] | readonly number[],
): V {
  const [a, b, c] = NS_COEFFICIENTS.map((k) => o.constant(k));
  const transposed = rows >= cols; // PyTorch's [out, in] = [cols, rows] is not taller than wide
  let x = transposed ? o.transpose(g) : g; // [min, max]
  x = o.div(x, o.add(o.frobeniusNorm(x), o.constant(NS_EPS)));
  for (let i = 0; i < NS_STEPS; i++) {
    const gram = o.matMul(x, o.transpose(x)); // A = X·Xᵀ [min, min]
    // b·A + (c·A)·A, in the reference's order of operations
    const poly = o.add(o.mul(b, gram), o.matMul(o.mul(c, gram), gram));
    x = o.add(o.mul(a, x), o.matMul(poly, x));
  }
  return transposed ? o.transpose(x) : x;
}

/**
 * The factor Muon scales the orthogonalised update of a `[rows, cols]` = `[in, out]` weight by:
 * √max(1, out/in) — the reference's `max(1, rows/cols) ** 0.5` of PyTorch's `[out, in]` weight
 * (KellerJordan/Muon `muon_update`; nanochat `nanochat/muon.py`), so a tall matrix, whose
 * orthogonal update has smaller entries, moves as much per entry as a square one.
 *
 * @example
 * ```ts
 * import { muonScale } from "./muon.ts";
 * console.assert(muonScale([32, 128]) === 2); // c_fc: in 32, out 128
 * console.assert(muonScale([128, 32]) === 1); // the MLP's c_proj
 * ```
 */
export function muonScale([rows, cols]: readonly [number, number] | readonly number[]): number {
  return Math.sqrt(Math.max(1, cols / rows));
}

/** The per-step values of one Muon update, in the arithmetic's value type. */
export interface MuonCoefficients<V> {
  /** The gradient-clipping factor every gradient is multiplied by first. */
  readonly gradScale: V;
  /** Momentum β. */
  readonly momentum: V;
  /** 1 − β. */
  readonly oneMinusMomentum: V;
  /** Muon's learning rate this step. */
  readonly lr: V;
  /** 1 − lr·wd, or undefined when there is no weight decay. */
  readonly shrink?: V;
}

/**
 * One Muon update of a `[rows, cols]` weight p with gradient g and momentum m (see the module
 * note for the formula); returns the new p and m.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { muonUpdate, tensorMatrixArith as o } from "./muon.ts";
 * const [p1, m1] = tf.tidy(() => {
 *   const k = { gradScale: o.constant(1), momentum: o.constant(0.95), oneMinusMomentum: o.constant(0.05), lr: o.constant(0.02) };
 *   const p = tf.zeros([4, 4]), g = tf.eye(4), m = tf.zeros([4, 4]);
 *   return muonUpdate(o, k, p, g, m, [4, 4]);
 * });
 * console.assert(Math.abs(m1.dataSync()[0] - 0.05) < 1e-7); // m ← (1 − β)·g
 * console.assert(p1.dataSync()[0] < 0 && p1.dataSync()[1] === 0); // a step against I, off-diagonal 0
 * tf.dispose([p1, m1]);
 * ```
 */
export function muonUpdate<V>(
  o: MatrixArith<V>,
  k: MuonCoefficients<V>,
  p: V,
  g: V,
  m: V,
  shape: readonly number[],
): [p: V, m: V] {
  const gs = o.mul(g, k.gradScale);
  const m1 = o.add(m, o.mul(o.sub(gs, m), k.oneMinusMomentum)); // m.lerp_(g, 1 − β)
  const u = o.add(gs, o.mul(o.sub(m1, gs), k.momentum)); // g.lerp_(m, β): Nesterov
  const step = o.mul(newtonSchulz5(o, u, shape), o.constant(muonScale(shape)));
  const decayed = k.shrink === undefined ? p : o.mul(p, k.shrink);
  return [o.sub(decayed, o.mul(step, k.lr)), m1];
}

/**
 * {@link MatrixArith} on tfjs tensors (float32, on the active backend). Call inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorMatrixArith as o } from "./muon.ts";
 * const n = tf.tidy(() => o.frobeniusNorm(tf.tensor2d([[3, 4]])));
 * console.assert(n.dataSync()[0] === 5);
 * n.dispose();
 * ```
 */
export const tensorMatrixArith: MatrixArith<tf.Tensor> = {
  constant: (x) => tf.scalar(x),
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  matMul: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  transpose: (a) => tf.transpose(a),
  frobeniusNorm: (a) => tf.sqrt(tf.sum(tf.square(a))),
};

/** Muon's hyper-parameters, and those of the AdamW it runs beside. */
export interface MuonOptions {
  /** Nesterov momentum β. Default 0.95. */
  readonly momentum?: number;
  /** Muon's learning rate over the rate a step is given (which AdamW takes as is). Default 20. */
  readonly lrRatio?: number;
  /** Muon's decoupled weight decay. Default 0. */
  readonly weightDecay?: number;
  /** The AdamW of the other parameters. */
  readonly adamw?: AdamWOptions;
}

/** A parameter of {@link Muon}: an AdamW parameter, and whether Muon updates it. */
export interface MuonParam extends AdamWParam {
  /** Muon updates it (a 2-D hidden weight); else AdamW does. */
  readonly muon: boolean;
}

/**
 * Muon for the parameters marked `muon`, AdamW for the others, stepped together (as
 * `SingleDeviceMuonWithAuxAdam` in KellerJordan/Muon): a step at rate `lr` moves AdamW's
 * parameters at `lr` and Muon's at `lr · lrRatio`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Muon } from "./muon.ts";
 * const w = tf.variable(tf.zeros([2, 2])), b = tf.variable(tf.zeros([2]));
 * const opt = new Muon([
 *   { name: "w", variable: w, decay: true, muon: true },
 *   { name: "b", variable: b, decay: false, muon: false },
 * ], { lrRatio: 10 });
 * opt.step(new Map([["w", tf.eye(2)], ["b", tf.ones([2])]]), 0.01);
 * console.assert(Math.abs(b.dataSync()[0] + 0.01) < 1e-6); // AdamW's first step: lr·sign(g)
 * console.assert(w.dataSync()[0] < -0.05 && w.dataSync()[1] === 0); // Muon: lr·10 along I
 * opt.dispose();
 * ```
 */
export class Muon {
  readonly #muon: readonly MuonParam[];
  readonly #adamw: AdamW;
  readonly #momentum: Map<string, tf.Variable>;
  readonly #beta: number;
  readonly #lrRatio: number;
  readonly #weightDecay: number;
  #t = 0;

  /** An optimizer over `params` with zeroed momentum and moments. */
  constructor(params: readonly MuonParam[], options: MuonOptions = {}) {
    for (const p of params) {
      if (p.muon && p.variable.rank !== 2) {
        throw new Error(`Muon: ${p.name} has shape [${p.variable.shape}]; Muon takes matrices`);
      }
    }
    this.#muon = params.filter((p) => p.muon);
    this.#adamw = new AdamW(params.filter((p) => !p.muon), options.adamw);
    this.#beta = options.momentum ?? 0.95;
    this.#lrRatio = options.lrRatio ?? 20;
    this.#weightDecay = options.weightDecay ?? 0;
    this.#momentum = new Map(this.#muon.map((p) => [p.name, zerosVariable(p.variable)]));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.#t;
  }

  /**
   * One update with gradients by parameter name: AdamW's parameters at rate `lr`, Muon's at
   * `lr · lrRatio`; `gradScale` multiplies every gradient first (the clipping coefficient).
   * Grads are not disposed.
   */
  step(
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
    options: { readonly gradScale?: number } = {},
  ): void {
    for (const p of this.#muon) {
      if (!grads.has(p.name)) throw new Error(`Muon.step: no gradient for ${p.name}`);
    }
    const gradScale = options.gradScale ?? 1;
    this.#adamw.step(grads, lr, { gradScale });
    this.#t++;
    const muonLr = lr * this.#lrRatio;
    tf.tidy(() => {
      const o = tensorMatrixArith;
      const k: MuonCoefficients<tf.Tensor> = {
        gradScale: o.constant(gradScale),
        momentum: o.constant(this.#beta),
        oneMinusMomentum: o.constant(1 - this.#beta),
        lr: o.constant(muonLr),
        shrink: this.#weightDecay !== 0 ? o.constant(1 - muonLr * this.#weightDecay) : undefined,
      };
      for (const p of this.#muon) {
        const m = this.#momentum.get(p.name)!;
        const [p1, m1] = muonUpdate(o, k, p.variable, grads.get(p.name)!, m, p.variable.shape);
        m.assign(m1);
        p.variable.assign(p1);
      }
    });
  }

  /** The step count, AdamW's moments and Muon's momentum buffers (host copies). */
  async state(): Promise<OptimizerState> {
    const inner = await this.#adamw.state();
    const buffers = new Map(inner.buffers);
    for (const p of this.#muon) {
      const data = await this.#momentum.get(p.name)!.data() as Float32Array;
      buffers.set(muonBufferName(p.name), Float32Array.from(data));
    }
    return { optimizer: "muon", step: this.#t, buffers };
  }

  /** Takes over a saved state (see {@link OptimizerState}); refuses one that does not fit. */
  restore(state: OptimizerState): void {
    const expected: OptimizerBuffer[] = [
      ...this.#muon.map((p) => ({
        name: muonBufferName(p.name),
        param: p.name,
        shape: p.variable.shape,
      })),
      ...this.#adamw.buffers(),
    ];
    checkOptimizerState(state, "muon", expected, "Muon.restore");
    const adam = new Map([...state.buffers].filter(([name]) => !name.startsWith("muon_m/")));
    this.#adamw.restore({ optimizer: "adamw", step: state.step, buffers: adam });
    for (const p of this.#muon) {
      const data = state.buffers.get(muonBufferName(p.name))!;
      tf.tidy(() => this.#momentum.get(p.name)!.assign(tf.tensor(data, p.variable.shape)));
    }
    this.#t = state.step;
  }

  /** Frees the momentum buffers and AdamW's moments. */
  dispose(): void {
    for (const t of this.#momentum.values()) t.dispose();
    this.#adamw.dispose();
  }
}

/** A non-trainable zero variable shaped as `like`. */
function zerosVariable(like: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false); // shares z's data; dispose the handle
  z.dispose();
  return v;
}
