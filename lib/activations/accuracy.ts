/**
 * Accuracy of an activation's tfjs implementation against its float64 reference, on the
 * current tfjs backend: forward values, gradients, and the reference derivative itself against a
 * central finite difference.
 *
 * Errors are absolute where |reference| ≤ 1 and relative above: |got − want| / max(1, |want|).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationDef, GatedActivation, UnaryActivation } from "./types.ts";

/** Largest error found and where. */
export interface ErrorPoint {
  /** max over the grid of |got − want| / max(1, |want|). */
  readonly maxError: number;
  /** The input where it occurs (gated: [gate, value]). */
  readonly at: number | readonly [number, number];
  /** The value computed there. */
  readonly got: number;
  /** The reference value there. */
  readonly want: number;
}

/** What {@link measureAccuracy} reports for one activation on one backend. */
export interface AccuracyReport {
  /** The activation's name. */
  readonly activation: string;
  /** The tfjs backend measured. */
  readonly backend: string;
  /** Number of grid points checked. */
  readonly points: number;
  /** float32 forward against the float64 reference. */
  readonly forward: ErrorPoint;
  /** tfjs gradient against the float64 derivative (gated: the worse of the two partials). */
  readonly gradient: ErrorPoint;
}

/** |got − want| / max(1, |want|), with NaN = NaN and equal infinities counted as exact. */
export function scaledError(got: number, want: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) {
    return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  }
  if (got === want) return 0;
  return Math.abs(got - want) / Math.max(1, Math.abs(want));
}

/**
 * The input grid of the accuracy checks: [-10, 10] every 0.005, plus 0, ±1e-3, ±1e-6, 6 and
 * large |x| (±20, ±30, ±50, ±100, ±1000), each rounded to float32.
 *
 * @example
 * ```ts
 * import { accuracyGrid } from "@actlab/actlab/activations";
 * accuracyGrid().length; // 4020
 * ```
 */
export function accuracyGrid(): number[] {
  const xs: number[] = [];
  for (let i = -2000; i <= 2000; i++) xs.push(Math.fround(i * 0.005));
  xs.push(1e-3, -1e-3, 1e-6, -1e-6, 6, 20, -20, 30, -30, 50, -50, 100, -100, 1000, -1000);
  xs.push(-0.5e-3, 0.5e-3, 2.5e-3, -2.5e-3);
  return xs.map(Math.fround);
}

/** Values of the second input (the `value`) paired with every gate in gated checks. */
const GATED_VALUES = [-3, -1, -0.25, 0.5, 2, 7].map(Math.fround);

function worst(
  got: ArrayLike<number>,
  want: (i: number) => number,
  at: (i: number) => number | readonly [number, number],
): ErrorPoint {
  let best: ErrorPoint = { maxError: 0, at: at(0), got: got[0], want: want(0) };
  for (let i = 0; i < got.length; i++) {
    const w = want(i);
    const e = scaledError(got[i], w);
    if (e > best.maxError || Number.isNaN(e)) {
      best = { maxError: e, at: at(i), got: got[i], want: w };
    }
  }
  return best;
}

function maxOf(a: ErrorPoint, b: ErrorPoint): ErrorPoint {
  return b.maxError > a.maxError ? b : a;
}

async function unaryReport(def: UnaryActivation, xs: number[]): Promise<AccuracyReport> {
  const x = tf.tensor1d(xs);
  const y = def.apply(x);
  const g = tf.grad((t: tf.Tensor) => def.apply(t))(x, tf.onesLike(x));
  const [yv, gv] = await Promise.all([y.data(), g.data()]);
  tf.dispose([x, y, g]);
  return {
    activation: def.name,
    backend: tf.getBackend(),
    points: xs.length,
    forward: worst(yv as Float32Array, (i) => def.reference(xs[i]), (i) => xs[i]),
    gradient: worst(gv as Float32Array, (i) => def.derivative(xs[i]), (i) => xs[i]),
  };
}

/**
 * An activation that normalises over channels (PolyNorm), checked by rows: the grid split into
 * rows of 60 (one row when its length is not a multiple), each row against the float64 row
 * reference, the gradient (of Σ y) against the row's vector-Jacobian product with dy = 1.
 */
async function rowReport(
  def: UnaryActivation,
  rows: NonNullable<UnaryActivation["overChannels"]>,
  xs: number[],
): Promise<AccuracyReport> {
  const width = xs.length % 60 === 0 ? 60 : xs.length;
  const x = tf.tensor2d(xs, [xs.length / width, width]);
  const y = def.apply(x);
  const g = tf.grad((t: tf.Tensor) => def.apply(t))(x, tf.onesLike(x));
  const [yv, gv] = await Promise.all([y.data(), g.data()]);
  tf.dispose([x, y, g]);
  const want: number[] = [], wantGrad: number[] = [];
  for (let r = 0; r < xs.length; r += width) {
    const row = xs.slice(r, r + width);
    want.push(...rows.reference(row));
    wantGrad.push(...rows.vjp(row, row.map(() => 1)).dx);
  }
  return {
    activation: def.name,
    backend: tf.getBackend(),
    points: xs.length,
    forward: worst(yv as Float32Array, (i) => want[i], (i) => xs[i]),
    gradient: worst(gv as Float32Array, (i) => wantGrad[i], (i) => xs[i]),
  };
}

async function gatedReport(def: GatedActivation, xs: number[]): Promise<AccuracyReport> {
  const gates = GATED_VALUES.flatMap(() => xs);
  const values = GATED_VALUES.flatMap((v) => xs.map(() => v));
  const g = tf.tensor1d(gates);
  const v = tf.tensor1d(values);
  const y = def.apply(g, v);
  const [dg, dv] = tf.grads((a: tf.Tensor, b: tf.Tensor) => def.apply(a, b))(
    [g, v],
    tf.onesLike(g),
  );
  const [yv, dgv, dvv] = await Promise.all([y.data(), dg.data(), dv.data()]);
  tf.dispose([g, v, y, dg, dv]);
  const at = (i: number) => [gates[i], values[i]] as const;
  return {
    activation: def.name,
    backend: tf.getBackend(),
    points: gates.length,
    forward: worst(yv as Float32Array, (i) => def.reference(gates[i], values[i]), at),
    gradient: maxOf(
      worst(dgv as Float32Array, (i) => def.derivative(gates[i], values[i])[0], at),
      worst(dvv as Float32Array, (i) => def.derivative(gates[i], values[i])[1], at),
    ),
  };
}

/**
 * Measures the float32 tfjs forward and gradient of `def` on the current backend against its
 * float64 reference and derivative. A trainable activation is measured at its initial
 * parameters; one that normalises over channels (`overChannels`) by rows of the grid.
 *
 * @example
 * ```ts
 * import { getActivation, initEngine } from "@actlab/actlab";
 * import { measureAccuracy } from "@actlab/actlab/activations";
 * await initEngine({ backend: "cpu" });
 * const report = await measureAccuracy(getActivation("gelu"));
 * report.forward.maxError < 1e-6; // true
 * ```
 */
export function measureAccuracy(
  def: ActivationDef,
  options: { grid?: number[] } = {},
): Promise<AccuracyReport> {
  const xs = (options.grid ?? accuracyGrid()).map(Math.fround);
  if (def.kind === "gated") return gatedReport(def, xs);
  return def.overChannels ? rowReport(def, def.overChannels, xs) : unaryReport(def, xs);
}

/**
 * The float64 reference derivative against a central finite difference of the reference, on
 * the grid away from the activation's kinks (where a difference quotient is meaningless).
 * Returns the largest scaled error.
 *
 * @example
 * ```ts
 * import { getActivation } from "@actlab/actlab";
 * import { derivativeCheck } from "@actlab/actlab/activations";
 * derivativeCheck(getActivation("silu")).maxError < 1e-7; // true
 * ```
 */
export function derivativeCheck(
  def: ActivationDef,
  options: { grid?: number[]; kinks?: readonly number[] } = {},
): ErrorPoint {
  const kinks = options.kinks ?? def.kinks ?? [];
  const xs = (options.grid ?? accuracyGrid()).filter((x) =>
    Math.abs(x) <= 100 && kinks.every((k) => Math.abs(x - k) > 1e-3)
  );
  const fd = (f: (t: number) => number, t: number) => {
    const h = 1e-5 * Math.max(1, Math.abs(t));
    return (f(t + h) - f(t - h)) / (2 * h);
  };
  if (def.kind === "unary") {
    const got = xs.map((x) => def.derivative(x));
    return worst(got, (i) => fd(def.reference, xs[i]), (i) => xs[i]);
  }
  let result: ErrorPoint = { maxError: 0, at: [0, 0], got: 0, want: 0 };
  for (const v of GATED_VALUES) {
    const dg = xs.map((g) => def.derivative(g, v)[0]);
    const dv = xs.map((g) => def.derivative(g, v)[1]);
    result = maxOf(
      result,
      worst(dg, (i) => fd((t) => def.reference(t, v), xs[i]), (i) => [xs[i], v]),
    );
    result = maxOf(
      result,
      worst(dv, (i) => fd((t) => def.reference(xs[i], t), v), (i) => [xs[i], v]),
    );
  }
  return result;
}
