/**
 * Reverse-mode differentiation at the level of the mini-GPT's `Ops`: {@link GradientTape} is an
 * `Ops<string>` implementation that, like the inference trace, appends the forward ONNX nodes of
 * each call to a graph, and also records a backward rule for the call. After the forward pass,
 * {@link GradientTape.gradients} walks the records in reverse and emits the gradient nodes, so the
 * forward and backward pass end up in one ONNX graph.
 *
 * Shapes are static (the tape knows every value's shape), so broadcasting, reshapes and
 * reductions in the backward pass are resolved while the graph is built. Activations are
 * differentiated through their ONNX lowerings (`autodiff.ts`), so a user-registered activation
 * trains with no extra code.
 *
 * Choices made for ONNX Runtime's CPU kernels: weight products and their gradients are 2-D `Gemm`s
 * with transpose flags (one MLAS call each, no materialised transposes); the tied output head
 * multiplies by `wteᵀ` through `transB` and sends its gradient straight to `wte`; the embedding
 * gradient is a one-hot product (`Gemm`, V = 65 here) rather than a scatter; the causal mask is an
 * additive −∞ constant, whose gradient is the identity (softmax's backward is already 0 there);
 * the cross-entropy backward is fused: (softmax − onehot)/N from the loss op's log-probabilities.
 *
 * @module
 */
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";
import type { Ops } from "../gpt/ops.ts";
import { type GraphBuilder, ONNX_TYPES } from "./builder.ts";
import { differentiateRecorded, RecordingBuilder } from "./autodiff.ts";

/** A gradient contribution: the value it flows into and the gradient value. */
type Contribution = readonly [target: string, grad: string];

interface TapeEntry {
  readonly outputs: readonly string[];
  /** Gradients of the inputs from the gradients of the outputs (undefined: no gradient). */
  readonly backward: (dOutputs: readonly (string | undefined)[]) => Contribution[];
}

function noLowering(name: string): Error {
  return new Error(
    `Activation '${name}' has no ONNX lowering, so it cannot be trained on ONNX Runtime. ` +
      `Register it with an 'onnx' field: (g, x) => g.op("OpType", [x]) for unary, ` +
      `(g, gate, value) => ... for gated (see lib/activations/unary.ts for examples).`,
  );
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The broadcast shape of two shapes (numpy rules), or an error naming both. */
function broadcastShape(a: readonly number[], b: readonly number[], op: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`GradientTape.${op}: shapes [${a}] and [${b}] do not broadcast`);
    }
    out.push(Math.max(da, db));
  }
  return out;
}

/** Options of {@link GradientTape}. */
export interface GradientTapeOptions {
  /** Whether dropout is active (rate > 0 then emits ONNX `Dropout` in training mode). Default false. */
  readonly training?: boolean;
  /** Seed of the first dropout node; each further dropout node takes the next. Default 0. */
  readonly dropoutSeed?: number;
}

/**
 * Records the mini-GPT's forward pass into `g` together with a backward rule per `Ops` call.
 * Declare graph inputs with {@link GradientTape.input}, run the model with `tape.ops`, then call
 * {@link GradientTape.gradients} with the loss and the values to differentiate with respect to.
 *
 * @example
 * ```ts
 * import { GradientTape, GraphBuilder } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * const tape = new GradientTape(g);
 * const x = tape.input("x", [2, 3]);
 * const w = tape.input("w", [3, 4], { requiresGrad: true });
 * const y = tape.ops.softmax(tape.ops.linear(x, w)); // [2, 4]
 * const loss = tape.ops.crossEntropy(tape.ops.scale(y, 1), tape.input("t", [2], { dtype: "int32" }));
 * const grads = tape.gradients(loss, ["w"]);
 * g.output(grads.get("w")!, "dw"); // [3, 4]
 * ```
 */
export class GradientTape {
  /** The graph receiving forward and backward nodes. */
  readonly g: GraphBuilder;
  /** The `Ops` implementation to run the model with. */
  readonly ops: Ops<string>;
  readonly #shapes = new Map<string, readonly number[]>();
  readonly #requires = new Set<string>();
  readonly #entries: TapeEntry[] = [];
  /** 2-D transposes ([1, 0]) by output name → source, so products can use `transB` instead. */
  readonly #transposed = new Map<string, string>();
  readonly #oneHots = new Map<string, string>();
  /** Outputs of `causalMask` → the unmasked scores (a following softmax masks itself). */
  readonly #masked = new Map<string, string>();
  #dropoutSeed: number;
  /** The constant 1 that seeds the backward pass (d loss / d loss). */
  #seed: string | undefined;

  /** A tape recording into `g`. */
  constructor(g: GraphBuilder, options: GradientTapeOptions = {}) {
    this.g = g;
    this.#dropoutSeed = options.dropoutSeed ?? 0;
    this.ops = this.#makeOps(options.training ?? false);
  }

  /**
   * Declares a graph input (or any existing value) with its static shape; `requiresGrad` marks
   * it as something to differentiate with respect to (parameters).
   */
  input(
    name: string,
    shape: readonly number[],
    options: { readonly requiresGrad?: boolean; readonly dtype?: "float32" | "int32" } = {},
  ): string {
    this.#shapes.set(name, [...shape]);
    if (options.requiresGrad) this.#requires.add(name);
    return name;
  }

  /** The static shape of a value the tape knows. */
  shapeOf(name: string): readonly number[] {
    const s = this.#shapes.get(name);
    if (s === undefined) {
      throw new Error(
        `GradientTape: unknown value '${name}'; declare graph inputs with tape.input(name, shape)`,
      );
    }
    return s;
  }

  /** Whether `name` depends on a value declared with `requiresGrad`. */
  requiresGrad(name: string): boolean {
    return this.#requires.has(name);
  }

  /**
   * Emits the backward pass: the gradient of the scalar `loss` with respect to each of `wrt`
   * (value names; zeros for one the loss does not depend on). Gradients reaching a value from
   * several uses are summed.
   */
  gradients(loss: string, wrt: readonly string[]): Map<string, string> {
    const g = this.g;
    const pending = new Map<string, string[]>();
    const push = (name: string, grad: string) => {
      if (!this.#requires.has(name)) return;
      const list = pending.get(name);
      if (list) list.push(grad);
      else pending.set(name, [grad]);
    };
    const total = (name: string): string | undefined => {
      const list = pending.get(name);
      if (!list || list.length === 0) return undefined;
      const sum = list.length === 1 ? list[0] : g.op("Sum", list);
      pending.set(name, [sum]);
      return sum;
    };
    if (product(this.shapeOf(loss)) !== 1) {
      throw new RangeError(
        `GradientTape.gradients: the loss must be a scalar, got [${this.shapeOf(loss)}]`,
      );
    }
    pending.set(loss, [g.constant(1)]);
    this.#seed = pending.get(loss)![0];
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i];
      const dOut = entry.outputs.map(total);
      if (dOut.every((d) => d === undefined)) continue;
      for (const [target, grad] of entry.backward(dOut)) push(target, grad);
    }
    const out = new Map<string, string>();
    for (const name of wrt) {
      out.set(
        name,
        total(name) ??
          g.op("ConstantOfShape", [g.constantInt64(this.shapeOf(name))]), // float zeros
      );
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------

  /** Sets the shape of a new value and whether it requires a gradient (from its inputs). */
  #value(name: string, shape: readonly number[], inputs: readonly string[]): string {
    this.#shapes.set(name, [...shape]);
    if (inputs.some((i) => this.#requires.has(i))) this.#requires.add(name);
    return name;
  }

  /** Records a backward rule for outputs that depend on a parameter. */
  #record(outputs: readonly string[], backward: TapeEntry["backward"]): void {
    if (outputs.some((o) => this.#requires.has(o))) this.#entries.push({ outputs, backward });
  }

  /** Reshapes `x` of shape `from` to `shape` (no node when they are equal). */
  #reshape(x: string, from: readonly number[], shape: readonly number[]): string {
    if (from.length === shape.length && from.every((d, i) => d === shape[i])) return x;
    return this.g.op("Reshape", [x, this.g.constantInt64(shape)]);
  }

  /** Sums `grad` (of shape `from`) down to `to` over broadcast axes. */
  #reduceTo(grad: string, from: readonly number[], to: readonly number[]): string {
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    }
    if (axes.length === 0) return grad;
    const g = this.g;
    const summed = g.op("ReduceSum", [grad, g.constantInt64(axes)], { keepdims: 1 });
    return g.op("Reshape", [summed, g.constantInt64(to)]);
  }

  /** One-hot rows [N, V] of integer ids (any shape with N elements), cached per ids value. */
  #oneHot(ids: string, depth: number): string {
    const key = `${ids}/${depth}`;
    let oh = this.#oneHots.get(key);
    if (oh === undefined) {
      const g = this.g;
      const flat = g.op("Cast", [g.op("Reshape", [ids, g.constantInt64([-1])])], {
        to: ONNX_TYPES.int64,
      });
      const values = g.initializer(g.fresh("onehot_values"), Float32Array.of(0, 1), [2]);
      oh = g.op("OneHot", [flat, g.constantInt64([depth]), values], { axis: -1 }); // [N, V]
      this.#oneHots.set(key, oh);
    }
    return oh;
  }

  #makeOps(training: boolean): Ops<string> {
    const g = this.g;
    // deno-lint-ignore no-this-alias
    const tape = this;
    const shape = (n: string) => tape.shapeOf(n);

    function linear2d(x: string, w: string, bias: string | undefined): string {
      const xs = shape(x);
      const src = tape.#transposed.get(w);
      const [inDim, outDim] = src ? [shape(src)[1], shape(src)[0]] : shape(w);
      if (xs[xs.length - 1] !== inDim) {
        throw new RangeError(`linear: x [${xs}] does not match weight [${inDim}, ${outDim}]`);
      }
      const lead = xs.slice(0, -1);
      const n = product(lead);
      const x2 = tape.#reshape(x, xs, [n, inDim]);
      tape.#value(x2, [n, inDim], [x]);
      // y = x @ w, or x @ srcᵀ through transB for a transposed weight (the tied head)
      const target = src ?? w;
      const y2 = src ? g.op("Gemm", [x2, src], { transB: 1 }) : g.op("Gemm", [x2, w]);
      tape.#value(y2, [n, outDim], [x, target]);
      let y = tape.#value(tape.#reshape(y2, [n, outDim], [...lead, outDim]), [...lead, outDim], [
        x,
        target,
      ]);
      if (bias !== undefined) y = tape.#value(g.op("Add", [y, bias]), [...lead, outDim], [y, bias]);
      tape.#record([y], ([dy]) => {
        const out: Contribution[] = [];
        const dy2 = tape.#reshape(dy!, [...lead, outDim], [n, outDim]);
        if (tape.requiresGrad(x)) {
          // dx = dy @ wᵀ (= dy @ src for a transposed weight)
          const dx2 = src ? g.op("Gemm", [dy2, src]) : g.op("Gemm", [dy2, w], { transB: 1 });
          out.push([x, tape.#reshape(dx2, [n, inDim], xs)]);
        }
        if (tape.requiresGrad(target)) {
          // dw = xᵀ @ dy [in, out]; for src = wᵀ: dsrc = dyᵀ @ x [out, in]
          out.push([
            target,
            src ? g.op("Gemm", [dy2, x2], { transA: 1 }) : g.op("Gemm", [x2, dy2], { transA: 1 }),
          ]);
        }
        if (bias !== undefined && tape.requiresGrad(bias)) {
          out.push([bias, g.op("ReduceSum", [dy2, g.constantInt64([0])], { keepdims: 0 })]);
        }
        return out;
      });
      return y;
    }

    /**
     * softmax(causalMask(s)) without −∞ inside an exponential: ONNX Runtime's exp kernels turn
     * −∞ into denormals on the way to 0, which made the masked softmax 5× slower than the plain
     * one (unless the process flushes denormals). Here the exponential sees only finite inputs
     * and the mask selects afterwards: m = max over the past, e = [past]·exp(s − m), y = e/Σe.
     */
    function maskedSoftmax(scores: string): string {
      const ss = shape(scores);
      const t = ss.at(-1)!;
      const neg = new Float32Array(t * t), keep = new Float32Array(t * t);
      for (let i = 0; i < t; i++) {
        for (let j = 0; j < t; j++) {
          if (j > i) neg[i * t + j] = -Infinity;
          else keep[i * t + j] = 1;
        }
      }
      const negMask = g.initializer(g.fresh("causal_neg"), neg, [t, t]);
      const past = g.op("Cast", [g.initializer(g.fresh("causal_keep"), keep, [t, t])], {
        to: ONNX_TYPES.bool,
      });
      const last = g.constantInt64([-1]);
      const max = g.op("ReduceMax", [g.op("Add", [scores, negMask]), last], { keepdims: 1 });
      const e = g.op("Where", [past, g.op("Exp", [g.op("Sub", [scores, max])]), g.constant(0)]);
      const y = tape.#value(
        g.op("Div", [e, g.op("ReduceSum", [e, last], { keepdims: 1 })]),
        ss,
        [scores],
      );
      tape.#record([y], ([dy]) => [[scores, softmaxBackward(y, dy!)]]);
      return y;
    }

    /** dx = y·(dy − Σ dy·y) over the last axis. */
    function softmaxBackward(y: string, dy: string): string {
      const dot = g.op("ReduceSum", [g.op("Mul", [dy, y]), g.constantInt64([-1])], {
        keepdims: 1,
      });
      return g.op("Mul", [y, g.op("Sub", [dy, dot])]);
    }

    function activationGrad(
      rec: RecordingBuilder,
      inputs: readonly string[],
      y: string,
      what: string,
    ): void {
      tape.#record([y], ([dy]) => {
        const grads = differentiateRecorded(g, rec, { wrt: inputs, y, dy: dy!, what });
        const out: Contribution[] = [];
        inputs.forEach((input, i) => {
          if (grads[i] !== undefined) out.push([input, grads[i]!]);
        });
        return out;
      });
    }

    const ops: Ops<string> = {
      name: "onnx-tape",
      training,

      embedding(table, ids) {
        const [v, c] = shape(table);
        const is = shape(ids);
        const y = tape.#value(g.op("Gather", [table, ids], { axis: 0 }), [...is, c], [table]);
        tape.#record([y], ([dy]) => {
          // dTable = onehot(ids)ᵀ @ dy: [V, N] @ [N, C]
          const n = product(is);
          const dy2 = g.op("Reshape", [dy!, g.constantInt64([n, c])]);
          return [[table, g.op("Gemm", [tape.#oneHot(ids, v), dy2], { transA: 1 })]];
        });
        return y;
      },

      positionEmbedding(table, ids) {
        const [p, c] = shape(table);
        const t = shape(ids).at(-1)!;
        if (t > p) {
          throw new RangeError(
            `sequence length ${t} exceeds the context length (blockSize ${p}); ` +
              `crop the input to its last ${p} tokens`,
          );
        }
        if (t === p) return table; // every row: the table itself
        const y = tape.#value(
          g.op("Slice", [table, g.constantInt64([0]), g.constantInt64([t]), g.constantInt64([0])]),
          [t, c],
          [table],
        );
        // the rows after T get no gradient: pad with zeros
        tape.#record([y], ([dy]) => [[
          table,
          g.op("Pad", [dy!, g.constantInt64([0, 0, p - t, 0])]),
        ]]);
        return y;
      },

      linear: linear2d,

      add(a, b) {
        const sa = shape(a), sb = shape(b);
        const so = broadcastShape(sa, sb, "add");
        const y = tape.#value(g.op("Add", [a, b]), so, [a, b]);
        tape.#record([y], ([dy]) => {
          const out: Contribution[] = [];
          if (tape.requiresGrad(a)) out.push([a, tape.#reduceTo(dy!, so, sa)]);
          if (tape.requiresGrad(b)) out.push([b, tape.#reduceTo(dy!, so, sb)]);
          return out;
        });
        return y;
      },

      mul(a, b) {
        const sa = shape(a), sb = shape(b);
        const so = broadcastShape(sa, sb, "mul");
        const y = tape.#value(g.op("Mul", [a, b]), so, [a, b]);
        tape.#record([y], ([dy]) => {
          const out: Contribution[] = [];
          if (tape.requiresGrad(a)) out.push([a, tape.#reduceTo(g.op("Mul", [dy!, b]), so, sa)]);
          if (tape.requiresGrad(b)) out.push([b, tape.#reduceTo(g.op("Mul", [dy!, a]), so, sb)]);
          return out;
        });
        return y;
      },

      scale(x, s) {
        const y = tape.#value(g.op("Mul", [x, g.constant(s)]), shape(x), [x]);
        tape.#record([y], ([dy]) => [[x, g.op("Mul", [dy!, g.constant(s)])]]);
        return y;
      },

      layerNorm(x, weight, bias, eps) {
        const xs = shape(x);
        const c = xs.at(-1)!;
        // x̂ from the kernel (unit scale), then ·w (+ b): x̂ is kept for the backward pass
        const ones = g.initializer(g.fresh("ln_ones"), new Float32Array(c).fill(1), [c]);
        const [xhat, , invStd] = g.opMulti("LayerNormalization", [x, ones], 3, {
          axis: -1,
          epsilon: eps,
        });
        const scaled = g.op("Mul", [xhat, weight]);
        const y = bias === undefined ? scaled : g.op("Add", [scaled, bias]);
        const inputs = bias === undefined ? [x, weight] : [x, weight, bias];
        tape.#value(y, xs, inputs);
        tape.#record([y], ([dy]) => {
          // dx = rstd·(gx − mean(gx) − x̂·mean(gx·x̂)), gx = dy·w
          // dw = Σ dy·x̂,  db = Σ dy (over every axis but the last)
          const out: Contribution[] = [];
          const lead = g.constantInt64(xs.slice(0, -1).map((_, i) => i));
          const last = g.constantInt64([-1]);
          if (tape.requiresGrad(x)) {
            const gx = g.op("Mul", [dy!, weight]);
            const meanG = g.op("ReduceMean", [gx, last], { keepdims: 1 });
            const meanGX = g.op("ReduceMean", [g.op("Mul", [gx, xhat]), last], { keepdims: 1 });
            const inner = g.op("Sub", [g.op("Sub", [gx, meanG]), g.op("Mul", [xhat, meanGX])]);
            out.push([x, g.op("Mul", [inner, invStd])]);
          }
          if (tape.requiresGrad(weight)) {
            const dw = g.op("ReduceSum", [g.op("Mul", [dy!, xhat]), lead], { keepdims: 0 });
            out.push([weight, dw]);
          }
          if (bias !== undefined && tape.requiresGrad(bias)) {
            out.push([bias, g.op("ReduceSum", [dy!, lead], { keepdims: 0 })]);
          }
          return out;
        });
        return y;
      },

      split(x, sizes) {
        const xs = shape(x);
        const total = sizes.reduce((a, b) => a + b, 0);
        if (total !== xs.at(-1)) {
          throw new RangeError(`split: sizes [${sizes}] do not add up to the last axis of [${xs}]`);
        }
        const parts = g.opMulti("Split", [x, g.constantInt64(sizes)], sizes.length, { axis: -1 });
        parts.forEach((p, i) => tape.#value(p, [...xs.slice(0, -1), sizes[i]], [x]));
        tape.#record(parts, (dParts) => {
          const pieces = dParts.map((d, i) =>
            d ?? g.op("ConstantOfShape", [g.constantInt64([...xs.slice(0, -1), sizes[i]])])
          );
          return [[x, g.op("Concat", pieces, { axis: -1 })]];
        });
        return parts;
      },

      splitHeads(x, nHead) {
        const xs = shape(x);
        const c = xs.at(-1)!;
        const to = [...xs.slice(0, -1), nHead, c / nHead]; // [B, T, nh, hs]
        const y = tape.#value(g.op("Reshape", [x, g.constantInt64(to)]), to, [x]);
        tape.#record([y], ([dy]) => [[x, g.op("Reshape", [dy!, g.constantInt64(xs)])]]);
        return y;
      },

      mergeHeads(x) {
        const xs = shape(x);
        const to = [...xs.slice(0, -2), xs.at(-2)! * xs.at(-1)!]; // [B, T, C]
        const y = tape.#value(g.op("Reshape", [x, g.constantInt64(to)]), to, [x]);
        tape.#record([y], ([dy]) => [[x, g.op("Reshape", [dy!, g.constantInt64(xs)])]]);
        return y;
      },

      transpose(x, perm) {
        const xs = shape(x);
        const to = perm.map((p) => xs[p]);
        const y = tape.#value(g.op("Transpose", [x], { perm }), to, [x]);
        if (xs.length === 2 && perm[0] === 1) tape.#transposed.set(y, x);
        const inverse = perm.map((_, i) => perm.indexOf(i));
        tape.#record([y], ([dy]) => [[x, g.op("Transpose", [dy!], { perm: inverse })]]);
        return y;
      },

      matmul(a, b) {
        const sa = shape(a), sb = shape(b);
        const r = sa.length;
        if (
          r < 2 || sb.length !== r || sa.slice(0, -2).join() !== sb.slice(0, -2).join() ||
          sa[r - 1] !== sb[r - 2]
        ) {
          throw new RangeError(
            `matmul: [${sa}] @ [${sb}] needs equal batch axes and matching inner sizes`,
          );
        }
        const so = [...sa.slice(0, -1), sb[r - 1]];
        const y = tape.#value(g.op("MatMul", [a, b]), so, [a, b]);
        const swap = [...Array(r - 2).keys(), r - 1, r - 2];
        tape.#record([y], ([dy]) => {
          // da = dy @ bᵀ, db = aᵀ @ dy (ORT fuses the transposes into the products)
          const out: Contribution[] = [];
          if (tape.requiresGrad(a)) {
            out.push([a, g.op("MatMul", [dy!, g.op("Transpose", [b], { perm: swap })])]);
          }
          if (tape.requiresGrad(b)) {
            out.push([b, g.op("MatMul", [g.op("Transpose", [a], { perm: swap }), dy!])]);
          }
          return out;
        });
        return y;
      },

      causalMask(scores) {
        const ss = shape(scores);
        const t = ss.at(-1)!;
        const mask = new Float32Array(t * t);
        for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -Infinity;
        const m = g.initializer(g.fresh("causal_mask"), mask, [t, t]);
        const y = tape.#value(g.op("Add", [scores, m]), ss, [scores]);
        tape.#masked.set(y, scores);
        // + constant: the gradient passes through (softmax's backward is 0 where masked)
        tape.#record([y], ([dy]) => [[scores, dy!]]);
        return y;
      },

      softmax(x) {
        const unmasked = tape.#masked.get(x);
        if (unmasked !== undefined) return maskedSoftmax(unmasked);
        const y = tape.#value(g.op("Softmax", [x], { axis: -1 }), shape(x), [x]);
        tape.#record([y], ([dy]) => [[x, softmaxBackward(y, dy!)]]);
        return y;
      },

      activation(def: UnaryActivation, x) {
        if (!def.onnx) throw noLowering(def.name);
        const rec = new RecordingBuilder(g);
        const y = tape.#value(def.onnx(rec, x), shape(x), [x]);
        activationGrad(rec, [x], y, def.name);
        return y;
      },

      gatedActivation(def: GatedActivation, gate, value) {
        if (!def.onnx) throw noLowering(def.name);
        const rec = new RecordingBuilder(g);
        const y = tape.#value(def.onnx(rec, gate, value), shape(gate), [gate, value]);
        activationGrad(rec, [gate, value], y, def.name);
        return y;
      },

      dropout(x, rate) {
        if (!training || rate === 0) return x;
        const on = g.op("Cast", [g.constant(1)], { to: ONNX_TYPES.bool });
        const [y, mask] = g.opMulti("Dropout", [x, g.constant(rate), on], 2, {
          seed: tape.#dropoutSeed++,
        });
        tape.#value(y, shape(x), [x]);
        tape.#record([y], ([dy]) => {
          const keep = g.op("Cast", [mask], { to: ONNX_TYPES.float32 });
          return [[x, g.op("Mul", [g.op("Mul", [dy!, keep]), g.constant(1 / (1 - rate))])]];
        });
        return y;
      },

      crossEntropy(logits, targets) {
        const ls = shape(logits);
        const v = ls.at(-1)!;
        const n = product(ls.slice(0, -1));
        const l2 = g.op("Reshape", [logits, g.constantInt64([n, v])]); // [N, V]
        const labels = g.op("Cast", [g.op("Reshape", [targets, g.constantInt64([n])])], {
          to: ONNX_TYPES.int64,
        });
        const [loss, logp] = g.opMulti("SoftmaxCrossEntropyLoss", [l2, labels], 2, {
          reduction: "mean",
        });
        tape.#value(loss, [], [logits]);
        tape.#record([loss], ([dLoss]) => {
          // fused softmax + cross-entropy backward: (softmax − onehot)·dLoss/N
          const diff = g.op("Sub", [g.op("Exp", [logp]), tape.#oneHot(targets, v)]);
          const scale = dLoss === tape.#seed
            ? g.constant(1 / n)
            : g.op("Mul", [dLoss!, g.constant(1 / n)]);
          return [[logits, g.op("Reshape", [g.op("Mul", [diff, scale]), g.constantInt64(ls)])]];
        });
        return loss;
      },
    };
    return ops;
  }
}
