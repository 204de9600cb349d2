/**
 * The mini-GPT's `Ops` as ONNX, one rule per operation: the forward lowering (the nodes a call
 * emits, with static shapes) and the backward rule (the nodes of its vector-Jacobian product)
 * side by side. {@link GradientTape} is a thin adapter over this table: it runs `forward` for each
 * call, records the step, and hands the steps to the reverse pass it shares with the activation
 * autodiff (`_reverse.ts`). Activations are the one place the backward rule is not written here:
 * their lowerings are differentiated node by node by the per-ONNX-op rules of `autodiff.ts`.
 *
 * Choices made for ONNX Runtime's CPU kernels: weight products and their gradients are 2-D `Gemm`s
 * with transpose flags (one MLAS call each, no materialised transposes), a bias riding in the
 * Gemm's C input; a linear layer whose output is split (`linearSplit`: q, k, v; gate and value)
 * splits its small weight instead and runs one Gemm per part, so no pass copies the large
 * activation or its gradient (nano SwiGLU step, 1 thread: 5 ms of `Split` and `Concat` became 1 ms
 * at the same `Gemm` time); the tied output head multiplies by `wteᵀ` through `transB` and sends
 * its gradient straight to `wte`; the embedding gradient is a one-hot product (`Gemm`, V = 65 here)
 * rather than a scatter; the causal mask is an additive −∞ constant, whose gradient is the identity
 * (softmax's backward is already 0 there), and a softmax of masked scores skips the −∞ altogether;
 * the cross-entropy is a log-softmax and a `GatherElements` of the targets, its backward fused:
 * (softmax − onehot)/N; the residual and embedding additions are two-input `Sum`s, which ONNX
 * Runtime does not fuse into its slow CPU `SkipLayerNormalization`. Every op is one that ONNX
 * Runtime's CPU, CUDA and WebGPU providers all have, or one `lowerForProvider` rewrites for a
 * provider without it (`_portable.ts`, `provider_ops.ts`: WebGPU's two-input `Sum` becomes `Add`):
 * no `SoftmaxCrossEntropyLoss`, `OneHot`, `Dropout` or variadic `Sum`. The inference trace
 * (`trace.ts`) lowers the same operations with dynamic batch and sequence sizes for export, so its
 * forms differ where these need static shapes or keep values for the backward pass.
 *
 * @module
 */
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";
import type { Ops } from "../gpt/ops.ts";
import { type GraphBuilder, ONNX_TYPES } from "./builder.ts";
import { differentiateRecorded, RecordingBuilder } from "./autodiff.ts";
import { dropoutScale, logSoftmax, meanNll } from "./_portable.ts";

/** What a rule sees of the tape: the graph, static shapes, and state shared between rules. */
export interface TapeContext {
  /** The graph receiving forward and backward nodes. */
  readonly g: GraphBuilder;
  /** Whether dropout is active. */
  readonly training: boolean;
  /**
   * Whether layer norm uses ONNX Runtime's `LayerNormalization` kernel and its third output
   * (1/σ) for the backward pass (CPU); false: μ, σ and x̂ from primitives (GPU providers, whose
   * fused kernels need not produce that output: WebGPU's `SkipLayerNormalization` fusion drops it).
   */
  readonly fusedLayerNorm: boolean;
  /** The static shape of a value. */
  shape(name: string): readonly number[];
  /** Whether a value depends on something being differentiated (skip gradients it cannot use). */
  requiresGrad(name: string): boolean;
  /** One-hot rows [N, V] of integer ids (any shape with N elements), emitted once per ids value. */
  oneHot(ids: string, depth: number): string;
  /** Whether `grad` is the constant 1 that seeds `gradients()` (a product by it can be skipped). */
  isSeed(grad: string): boolean;
  /** The seed of the next dropout node. */
  nextDropoutSeed(): number;
  /** The int32 scalar that names the optimizer step, mixed into every dropout mask. */
  dropoutStep(): string;
  /** Outputs of 2-D transposes → their source, so a product can use `transB` instead. */
  readonly transposed: Map<string, string>;
  /** Outputs of `causalMask` → the unmasked scores (a following softmax masks by itself). */
  readonly masked: Map<string, string>;
}

/** What a rule's forward pass recorded. */
export interface Recorded<S> {
  /** The values the op is differentiable in, in the order `backward` returns their gradients. */
  readonly inputs: readonly (string | undefined)[];
  /** The output values with their static shapes. */
  readonly outputs: readonly (readonly [name: string, shape: readonly number[]])[];
  /** What the backward rule reads (forward values, shapes). */
  readonly saved: S;
}

/**
 * One `Ops` operation on the tape: `forward` emits its nodes and returns what it recorded (or an
 * existing value, returned as is, when the call is the identity); `backward` emits the gradients
 * of the recorded inputs (`undefined` where none is needed) from those of the outputs.
 */
export interface OpRule<A extends readonly unknown[], S> {
  /** Whether the `Ops` method returns every output as a list (`split`) rather than the first. */
  readonly list?: true;
  /** Emits the forward nodes of `ops.<name>(...args)`. */
  forward(t: TapeContext, ...args: A): Recorded<S> | string;
  /** Emits the vector-Jacobian product. */
  backward(
    t: TapeContext,
    saved: S,
    dOutputs: readonly (string | undefined)[],
  ): readonly (string | undefined)[];
}

/** An operation of the `Ops` interface (its methods). */
export type OpName = Exclude<keyof Ops<string>, "name" | "training">;

/** A rule, with its saved state inferred from `forward` and checked in `backward`. */
const rule = <A extends readonly unknown[], S>(r: OpRule<A, S>): OpRule<A, S> => r;

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

/** Reshapes `x` of shape `from` to `shape` (no node when they are equal). */
function reshape(
  g: GraphBuilder,
  x: string,
  from: readonly number[],
  shape: readonly number[],
): string {
  if (from.length === shape.length && from.every((d, i) => d === shape[i])) return x;
  return g.op("Reshape", [x, g.constantInt64(shape)]);
}

/** Sums `grad` (of shape `from`) down to `to` over broadcast axes. */
function reduceTo(
  g: GraphBuilder,
  grad: string,
  from: readonly number[],
  to: readonly number[],
): string {
  const lead = from.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) {
    if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const summed = g.op("ReduceSum", [grad, g.constantInt64(axes)], { keepdims: 1 });
  return g.op("Reshape", [summed, g.constantInt64(to)]);
}

/** dx = y·(dy − Σ dy·y) over the last axis. */
function softmaxBackward(g: GraphBuilder, y: string, dy: string): string {
  const dot = g.op("ReduceSum", [g.op("Mul", [dy, y]), g.constantInt64([-1])], {
    keepdims: 1,
  });
  return g.op("Mul", [y, g.op("Sub", [dy, dot])]);
}

/**
 * softmax(causalMask(s)) over the last axis (length t) without −∞ inside an exponential: ONNX
 * Runtime's exp kernels turn −∞ into denormals on the way to 0, which made the masked softmax 5×
 * slower than the plain one (unless the process flushes denormals). Here the exponential sees only
 * finite inputs and the mask selects afterwards: m = max over the past, e = [past]·exp(min(s − m,
 * 0)), y = e/Σe, the mask a product by 0 or 1. The min is exact over the past (s − m ≤ 0 there)
 * and keeps a future score far above the past's maximum from overflowing to ∞, which the product
 * by 0 would turn into NaN (Muon at lr 2.5e-3 reached such scores after 200 nano steps).
 */
function causalSoftmax(g: GraphBuilder, scores: string, t: number): string {
  const neg = new Float32Array(t * t), keep = new Float32Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      if (j > i) neg[i * t + j] = -Infinity;
      else keep[i * t + j] = 1;
    }
  }
  const negMask = g.initializer(g.fresh("causal_neg"), neg, [t, t]);
  const keepMask = g.initializer(g.fresh("causal_keep"), keep, [t, t]);
  const last = g.constantInt64([-1]);
  const max = g.op("ReduceMax", [g.op("Add", [scores, negMask]), last], { keepdims: 1 });
  // exp(min(s − m, 0)) is in [0, 1], so ·1 and ·0 are exact: the values of Where(past, e, 0)
  const shifted = g.op("Min", [g.op("Sub", [scores, max]), g.constant(0)]);
  const e = g.op("Mul", [g.op("Exp", [shifted]), keepMask]);
  return g.op("Div", [e, g.op("ReduceSum", [e, last], { keepdims: 1 })]);
}

/** What a linear layer's forward pass saved for its backward pass. */
interface LinearSaved {
  readonly x: string;
  readonly xs: readonly number[];
  /** x as [N, in]. */
  readonly x2: string;
  /** The differentiated weight: w [in, out], or the source [out, in] of a transposed weight. */
  readonly weight: string;
  /** Whether `weight` is a transposed weight's source [out, in] (products through transB). */
  readonly source: boolean;
  /** The weight's slice per part: [in, size] (source: [size, in]). */
  readonly slices: readonly string[];
  readonly sizes: readonly number[];
  readonly bias: string | undefined;
  readonly lead: readonly number[];
  readonly n: number;
  readonly inDim: number;
}

/**
 * The forward pass of `linear` (one part) and `linearSplit`: x [..., in] as [N, in], the weight
 * (and bias [out]) split into the parts' column slices when there are several, and per part one
 * Gemm with the bias slice as its C input (broadcast over the rows): y = x @ w + b in one pass.
 * A transposed weight (the tied head's wteᵀ) is read from its source [out, in] through transB.
 */
function linearParts(
  { g, shape, transposed }: TapeContext,
  op: string,
  x: string,
  w: string,
  bias: string | undefined,
  parts?: readonly number[],
): Recorded<LinearSaved> {
  const xs = shape(x);
  const src = transposed.get(w);
  const [inDim, outDim] = src ? [shape(src)[1], shape(src)[0]] : shape(w);
  if (xs.at(-1) !== inDim) {
    throw new RangeError(`${op}: x [${xs}] does not match weight [${inDim}, ${outDim}]`);
  }
  const sizes = parts ?? [outDim];
  if (sizes.reduce((a, b) => a + b, 0) !== outDim) {
    throw new RangeError(`${op}: sizes [${sizes}] do not add up to the weight's ${outDim} outputs`);
  }
  if (bias !== undefined && shape(bias).join() !== String(outDim)) {
    throw new RangeError(`${op}: the bias [${shape(bias)}] must be [${outDim}]`);
  }
  const lead = xs.slice(0, -1);
  const n = product(lead);
  const x2 = reshape(g, x, xs, [n, inDim]);
  const weight = src ?? w;
  const splits = sizes.length > 1 ? g.constantInt64(sizes) : undefined;
  const cut = (v: string, axis: number) =>
    splits === undefined ? [v] : g.opMulti("Split", [v, splits], sizes.length, { axis });
  const slices = cut(weight, src ? 0 : 1);
  const biases = bias === undefined ? undefined : cut(bias, 0);
  const outputs = sizes.map((size, i) => {
    const inputs = biases ? [x2, slices[i], biases[i]] : [x2, slices[i]];
    const y2 = g.op("Gemm", inputs, src ? { transB: 1 } : {}); // [N, size]
    const ys = [...lead, size];
    return [reshape(g, y2, [n, size], ys), ys] as const;
  });
  const saved = { x, xs, x2, weight, source: !!src, slices, sizes, bias, lead, n, inDim };
  return { inputs: [x, weight, bias], outputs, saved };
}

/**
 * dx = Σ dyᵢ @ wᵢᵀ, each Gemm adding the previous parts' sum through its C input (no separate
 * Add); dw = the parts' xᵀ @ dyᵢ side by side (dsrc: dyᵢᵀ @ x stacked), db = the parts' Σ dyᵢ
 * over the rows side by side; a part without a gradient contributes zeros.
 */
function linearPartsBackward(
  { g, requiresGrad }: TapeContext,
  s: LinearSaved,
  dParts: readonly (string | undefined)[],
): (string | undefined)[] {
  const dy2 = dParts.map((d, i) =>
    d === undefined ? undefined : reshape(g, d, [...s.lead, s.sizes[i]], [s.n, s.sizes[i]])
  );
  let dx: string | undefined;
  if (requiresGrad(s.x)) {
    let sum: string | undefined;
    dy2.forEach((d, i) => {
      if (d === undefined) return;
      const inputs = sum === undefined ? [d, s.slices[i]] : [d, s.slices[i], sum];
      sum = g.op("Gemm", inputs, s.source ? {} : { transB: 1 }); // [N, in]
    });
    if (sum !== undefined) dx = reshape(g, sum, [s.n, s.inDim], s.xs);
  }
  const joined = (values: string[], axis: number) =>
    values.length === 1 ? values[0] : g.op("Concat", values, { axis });
  const dw = requiresGrad(s.weight)
    ? joined(
      dy2.map((d, i) => {
        const size = s.sizes[i];
        if (d === undefined) return g.zeros(s.source ? [size, s.inDim] : [s.inDim, size]);
        return s.source
          ? g.op("Gemm", [d, s.x2], { transA: 1 }) // dsrc [size, in]
          : g.op("Gemm", [s.x2, d], { transA: 1 }); // dw [in, size]
      }),
      s.source ? 0 : 1,
    )
    : undefined;
  let db: string | undefined;
  if (s.bias !== undefined && requiresGrad(s.bias)) {
    const rows = g.constantInt64([0]);
    db = joined(
      dy2.map((d, i) =>
        d === undefined ? g.zeros([s.sizes[i]]) : g.op("ReduceSum", [d, rows], { keepdims: 0 })
      ),
      0,
    );
  }
  return [dx, dw, db];
}

function noLowering(name: string): Error {
  return new Error(
    `Activation '${name}' has no ONNX lowering, so it cannot be trained on ONNX Runtime. ` +
      `Register it with an 'onnx' field: (g, x) => g.op("OpType", [x]) for unary, ` +
      `(g, gate, value) => ... for gated (see lib/activations/unary.ts for examples).`,
  );
}

/** What an activation rule saves: the recorded lowering, its inputs and output. */
interface Lowered {
  readonly rec: RecordingBuilder;
  readonly inputs: readonly string[];
  readonly y: string;
  readonly what: string;
}

/** Runs an activation's lowering through a recorder, so its nodes can be differentiated. */
function lowered(
  t: TapeContext,
  def: UnaryActivation | GatedActivation,
  inputs: readonly string[],
  lower: (g: RecordingBuilder) => string,
): Recorded<Lowered> {
  if (!def.onnx) throw noLowering(def.name);
  const rec = new RecordingBuilder(t.g);
  const y = lower(rec);
  return { inputs, outputs: [[y, t.shape(inputs[0])]], saved: { rec, inputs, y, what: def.name } };
}

/** The chain rule over a lowering's recorded nodes, with the per-ONNX-op rules of autodiff.ts. */
function differentiateLowering(
  t: TapeContext,
  { rec, inputs, y, what }: Lowered,
  [dy]: readonly (string | undefined)[],
): (string | undefined)[] {
  return differentiateRecorded(t.g, rec, { wrt: inputs, y, dy: dy!, what });
}

/**
 * The table: one rule per `Ops` operation. A new operation of the interface is a type error
 * here until it has a rule (and a finite-difference case in `tests/onnx/tape_test.ts`).
 *
 * @example
 * ```ts
 * import { OP_RULES } from "./op_rules.ts";
 * console.assert(Object.keys(OP_RULES).includes("layerNorm"));
 * ```
 */
export const OP_RULES = {
  /** y = table[ids]; dtable = onehot(ids)ᵀ @ dy: [V, N] @ [N, C]. */
  embedding: rule({
    forward(t, table: string, ids: string) {
      const [v, c] = t.shape(table);
      const is = t.shape(ids);
      const y = t.g.op("Gather", [table, ids], { axis: 0 });
      return { inputs: [table], outputs: [[y, [...is, c]]], saved: { ids, v, c, n: product(is) } };
    },
    backward({ g, oneHot }, { ids, v, c, n }, [dy]) {
      const dy2 = g.op("Reshape", [dy!, g.constantInt64([n, c])]);
      return [g.op("Gemm", [oneHot(ids, v), dy2], { transA: 1 })];
    },
  }),

  /** y = the first T rows of the table; dtable = dy padded with zeros for the rows after T. */
  positionEmbedding: rule({
    forward({ g, shape }, table: string, ids: string) {
      const [p, c] = shape(table);
      const t = shape(ids).at(-1)!;
      if (t > p) {
        throw new RangeError(
          `sequence length ${t} exceeds the context length (blockSize ${p}); ` +
            `crop the input to its last ${p} tokens`,
        );
      }
      if (t === p) return table; // every row: the table itself
      const ends = [g.constantInt64([0]), g.constantInt64([t]), g.constantInt64([0])];
      const y = g.op("Slice", [table, ...ends]);
      return { inputs: [table], outputs: [[y, [t, c]]], saved: { p, t } };
    },
    backward: ({ g }, { p, t }, [dy]) => [g.op("Pad", [dy!, g.constantInt64([0, 0, p - t, 0])])],
  }),

  /**
   * y = x @ w + b as one 2-D Gemm with the bias as its C input, or x @ srcᵀ through transB when
   * w is a transposed weight (the tied head); dx = dy @ wᵀ, dw = xᵀ @ dy (dsrc = dyᵀ @ x),
   * db = Σ dy over the rows. See {@link linearParts}.
   */
  linear: rule({
    forward: (t, x: string, w: string, bias?: string) => linearParts(t, "linear", x, w, bias),
    backward: linearPartsBackward,
  }),

  /**
   * The parts of x @ w + b cut along the last axis, one Gemm per slice of the weight (and bias):
   * the weight [in, out] is split, not the [N, out] output, and the backward pass concatenates
   * the per-part dw and db (small) instead of the parts' dy (large), summing the per-part dx in
   * the Gemms' C input. See {@link linearParts}.
   */
  linearSplit: rule({
    list: true,
    forward: (t, x: string, w: string, bias: string | undefined, sizes: readonly number[]) =>
      linearParts(t, "linearSplit", x, w, bias, sizes),
    backward: linearPartsBackward,
  }),

  /**
   * y = a + b (broadcast); da, db = dy summed over the axes each was broadcast along. Emitted as a
   * two-input `Sum`, which ONNX Runtime adds as fast as `Add` but does not fuse with a following
   * `LayerNormalization` into its CPU `SkipLayerNormalization`, ten times slower than the two
   * (the nano step's first layer norm: 0.5 ms against 0.06 ms per step). `Sum` is rewritten to
   * `Add` for providers without it (`lowerForProvider`).
   */
  add: rule({
    forward({ g, shape }, a: string, b: string) {
      const so = broadcastShape(shape(a), shape(b), "add");
      const y = g.op("Sum", [a, b]);
      return { inputs: [a, b], outputs: [[y, so]], saved: { a, b, so } };
    },
    backward: ({ g, shape, requiresGrad }, { a, b, so }, [dy]) => [
      requiresGrad(a) ? reduceTo(g, dy!, so, shape(a)) : undefined,
      requiresGrad(b) ? reduceTo(g, dy!, so, shape(b)) : undefined,
    ],
  }),

  /** y = a·b (broadcast); da = dy·b, db = dy·a, each summed over its broadcast axes. */
  mul: rule({
    forward({ g, shape }, a: string, b: string) {
      const so = broadcastShape(shape(a), shape(b), "mul");
      return { inputs: [a, b], outputs: [[g.op("Mul", [a, b]), so]], saved: { a, b, so } };
    },
    backward: ({ g, shape, requiresGrad }, { a, b, so }, [dy]) => [
      requiresGrad(a) ? reduceTo(g, g.op("Mul", [dy!, b]), so, shape(a)) : undefined,
      requiresGrad(b) ? reduceTo(g, g.op("Mul", [dy!, a]), so, shape(b)) : undefined,
    ],
  }),

  /** y = x·s; dx = dy·s. */
  scale: rule({
    forward: ({ g, shape }, x: string, s: number) => ({
      inputs: [x],
      outputs: [[g.op("Mul", [x, g.constant(s)]), shape(x)]],
      saved: s,
    }),
    backward: ({ g }, s, [dy]) => [g.op("Mul", [dy!, g.constant(s)])],
  }),

  /**
   * y = x̂·w (+ b), x̂ = (x − mean)·rstd, kept for the backward pass (from the kernel with unit
   * scale, or from primitives: see {@link TapeContext.fusedLayerNorm});
   * dx = rstd·(gx − mean(gx) − x̂·mean(gx·x̂)) with gx = dy·w; dw = Σ dy·x̂, db = Σ dy over every
   * axis but the last.
   */
  layerNorm: rule({
    forward(
      { g, shape, fusedLayerNorm },
      x: string,
      weight: string,
      bias: string | undefined,
      eps: number,
    ) {
      const xs = shape(x);
      const c = xs.at(-1)!;
      let xhat: string, invStd: string;
      if (fusedLayerNorm) {
        const ones = g.initializer(g.fresh("ln_ones"), new Float32Array(c).fill(1), [c]);
        const [normed, , rstd] = g.opMulti("LayerNormalization", [x, ones], 3, {
          axis: -1,
          epsilon: eps,
        });
        xhat = normed;
        // ONNX Runtime keeps the statistics in float32 (stash_type) even for float64 graphs
        invStd = g.floatType === "float32"
          ? rstd
          : g.op("Cast", [rstd], { to: ONNX_TYPES[g.floatType] });
      } else {
        const last = g.constantInt64([-1]);
        const d = g.op("Sub", [x, g.op("ReduceMean", [x, last], { keepdims: 1 })]);
        const variance = g.op("ReduceMean", [g.op("Mul", [d, d]), last], { keepdims: 1 });
        invStd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, g.constant(eps)])])]);
        xhat = g.op("Mul", [d, invStd]);
      }
      const scaled = g.op("Mul", [xhat, weight]);
      const y = bias === undefined ? scaled : g.op("Add", [scaled, bias]);
      const saved = { x, weight, bias, xs, xhat, invStd };
      return { inputs: [x, weight, bias], outputs: [[y, xs]], saved };
    },
    backward({ g, requiresGrad }, { x, weight, bias, xs, xhat, invStd }, [dy]) {
      const lead = g.constantInt64(xs.slice(0, -1).map((_, i) => i));
      const last = g.constantInt64([-1]);
      let dx: string | undefined;
      if (requiresGrad(x)) {
        const gx = g.op("Mul", [dy!, weight]);
        const meanG = g.op("ReduceMean", [gx, last], { keepdims: 1 });
        const meanGX = g.op("ReduceMean", [g.op("Mul", [gx, xhat]), last], { keepdims: 1 });
        const inner = g.op("Sub", [g.op("Sub", [gx, meanG]), g.op("Mul", [xhat, meanGX])]);
        dx = g.op("Mul", [inner, invStd]);
      }
      const dw = requiresGrad(weight)
        ? g.op("ReduceSum", [g.op("Mul", [dy!, xhat]), lead], { keepdims: 0 })
        : undefined;
      const db = bias !== undefined && requiresGrad(bias)
        ? g.op("ReduceSum", [dy!, lead], { keepdims: 0 })
        : undefined;
      return [dx, dw, db];
    },
  }),

  /** Parts of the last axis; dx = the parts' gradients concatenated (zeros for a part without). */
  split: rule({
    list: true,
    forward({ g, shape }, x: string, sizes: readonly number[]) {
      const xs = shape(x);
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== xs.at(-1)) {
        throw new RangeError(`split: sizes [${sizes}] do not add up to the last axis of [${xs}]`);
      }
      const parts = g.opMulti("Split", [x, g.constantInt64(sizes)], sizes.length, { axis: -1 });
      const shapes = sizes.map((s) => [...xs.slice(0, -1), s]);
      return { inputs: [x], outputs: parts.map((p, i) => [p, shapes[i]] as const), saved: shapes };
    },
    backward: ({ g }, shapes, dParts) => [
      g.op("Concat", dParts.map((d, i) => d ?? g.zeros(shapes[i])), { axis: -1 }),
    ],
  }),

  /** [B, T, C] → [B, T, nh, C / nh]; dx = dy reshaped back. */
  splitHeads: rule({
    forward({ g, shape }, x: string, nHead: number) {
      const xs = shape(x);
      const to = [...xs.slice(0, -1), nHead, xs.at(-1)! / nHead]; // [B, T, nh, hs]
      return { inputs: [x], outputs: [[g.op("Reshape", [x, g.constantInt64(to)]), to]], saved: xs };
    },
    backward: ({ g }, xs, [dy]) => [g.op("Reshape", [dy!, g.constantInt64(xs)])],
  }),

  /** [B, T, nh, hs] → [B, T, nh · hs]; dx = dy reshaped back. */
  mergeHeads: rule({
    forward({ g, shape }, x: string) {
      const xs = shape(x);
      const to = [...xs.slice(0, -2), xs.at(-2)! * xs.at(-1)!]; // [B, T, C]
      return { inputs: [x], outputs: [[g.op("Reshape", [x, g.constantInt64(to)]), to]], saved: xs };
    },
    backward: ({ g }, xs, [dy]) => [g.op("Reshape", [dy!, g.constantInt64(xs)])],
  }),

  /** Permuted axes; dx = dy permuted back (the inverse permutation). */
  transpose: rule({
    forward({ g, shape, transposed }, x: string, perm: readonly number[]) {
      const xs = shape(x);
      const y = g.op("Transpose", [x], { perm });
      if (xs.length === 2 && perm[0] === 1) transposed.set(y, x);
      return { inputs: [x], outputs: [[y, perm.map((p) => xs[p])]], saved: perm };
    },
    backward: ({ g }, perm, [dy]) => [
      g.op("Transpose", [dy!], { perm: perm.map((_, i) => perm.indexOf(i)) }),
    ],
  }),

  /** y = a @ b over the last two axes; da = dy @ bᵀ, db = aᵀ @ dy (ORT fuses the transposes). */
  matmul: rule({
    forward({ g, shape }, a: string, b: string) {
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
      const swap = [...Array(r - 2).keys(), r - 1, r - 2];
      const y = g.op("MatMul", [a, b]);
      return {
        inputs: [a, b],
        outputs: [[y, [...sa.slice(0, -1), sb[r - 1]]]],
        saved: { a, b, swap },
      };
    },
    backward: ({ g, requiresGrad }, { a, b, swap }, [dy]) => [
      requiresGrad(a) ? g.op("MatMul", [dy!, g.op("Transpose", [b], { perm: swap })]) : undefined,
      requiresGrad(b) ? g.op("MatMul", [g.op("Transpose", [a], { perm: swap }), dy!]) : undefined,
    ],
  }),

  /** y = scores + (−∞ above the diagonal); dx = dy (a following softmax's backward is 0 there). */
  causalMask: rule({
    forward({ g, shape, masked }, scores: string) {
      const ss = shape(scores);
      const t = ss.at(-1)!;
      const mask = new Float32Array(t * t);
      for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -Infinity;
      const m = g.initializer(g.fresh("causal_mask"), mask, [t, t]);
      const y = g.op("Add", [scores, m]);
      masked.set(y, scores);
      return { inputs: [scores], outputs: [[y, ss]], saved: undefined };
    },
    backward: (_t, _s, [dy]) => [dy],
  }),

  /**
   * y = softmax over the last axis (of the unmasked scores, when x is a causal mask's output: see
   * {@link causalSoftmax}); dx = y·(dy − Σ dy·y), to the unmasked scores.
   */
  softmax: rule({
    forward({ g, shape, masked }, x: string) {
      const scores = masked.get(x);
      const y = scores === undefined
        ? g.op("Softmax", [x], { axis: -1 })
        : causalSoftmax(g, scores, shape(scores).at(-1)!);
      const input = scores ?? x;
      return { inputs: [input], outputs: [[y, shape(input)]], saved: y };
    },
    backward: ({ g }, y, [dy]) => [softmaxBackward(g, y, dy!)],
  }),

  /**
   * y = f(x) through the activation's ONNX lowering; dx by autodiff.ts, node by node. A trainable
   * activation's parameters (scalars [], per channel [H]) are inputs of the lowering too: their
   * gradients, elementwise over x's shape, are summed down to each parameter's shape.
   */
  activation: rule({
    forward(t, def: UnaryActivation, x: string, params?: Readonly<Record<string, string>>) {
      const names = (def.trainable ?? []).map((p) => {
        const value = params?.[p.name];
        if (value === undefined) {
          throw new Error(
            `Activation '${def.name}': its trainable parameter '${p.name}' is missing`,
          );
        }
        return value;
      });
      const recorded = lowered(t, def, [x, ...names], (rec) => def.onnx!(rec, x, params));
      return {
        ...recorded,
        saved: { ...recorded.saved, shapes: [x, ...names].map((n) => t.shape(n)) },
      };
    },
    backward(t, saved, dOutputs) {
      const grads = differentiateLowering(t, saved, dOutputs);
      const xs = saved.shapes[0];
      return grads.map((
        d,
        i,
      ) => (i === 0 || d === undefined ? d : reduceTo(t.g, d, xs, saved.shapes[i])));
    },
  }),

  /** y = f(gate, value) through the lowering; dgate, dvalue by autodiff.ts, node by node. */
  gatedActivation: rule({
    forward: (t, def: GatedActivation, gate: string, value: string) =>
      lowered(t, def, [gate, value], (rec) => def.onnx!(rec, gate, value)),
    backward: differentiateLowering,
  }),

  /**
   * y = x·m when training, m = 1/(1 − rate) where kept and 0 where dropped, from the seeded
   * integer hash of (node seed, step, element) in `_portable.ts`; dx = dy·m.
   */
  dropout: rule({
    forward({ g, shape, training, nextDropoutSeed, dropoutStep }, x: string, rate: number) {
      if (!training || rate === 0) return x;
      const xs = shape(x);
      const scale = dropoutScale(g, xs, { seed: nextDropoutSeed(), step: dropoutStep(), rate });
      const y = g.op("Mul", [x, scale]);
      return { inputs: [x], outputs: [[y, xs]], saved: scale };
    },
    backward: ({ g }, scale, [dy]) => [g.op("Mul", [dy!, scale])],
  }),

  /**
   * Mean cross-entropy of logits [..., V] against int32 targets: −mean log-softmax at the
   * targets (`GatherElements`), with the fused backward dlogits = (softmax − onehot)·dloss/N,
   * softmax = e/Σe from the forward pass.
   */
  crossEntropy: rule({
    forward({ g, shape }, logits: string, targets: string) {
      const ls = shape(logits);
      const v = ls.at(-1)!;
      const n = product(ls.slice(0, -1));
      const l2 = g.op("Reshape", [logits, g.constantInt64([n, v])]); // [N, V]
      const { e, s, logp } = logSoftmax(g, l2);
      const labels = g.op("Reshape", [targets, g.constantInt64([n, 1])]); // [N, 1] int32
      const loss = meanNll(g, logp, labels, 2);
      return { inputs: [logits], outputs: [[loss, []]], saved: { targets, ls, v, n, e, s } };
    },
    backward({ g, oneHot, isSeed }, { targets, ls, v, n, e, s }, [dLoss]) {
      const diff = g.op("Sub", [g.op("Div", [e, s]), oneHot(targets, v)]);
      const scale = isSeed(dLoss!) ? g.constant(1 / n) : g.op("Mul", [dLoss!, g.constant(1 / n)]);
      return [g.op("Reshape", [g.op("Mul", [diff, scale]), g.constantInt64(ls)])];
    },
  }),
} satisfies { readonly [K in OpName]: OpRule<Parameters<Ops<string>[K]>, unknown> };
