/**
 * A float64 evaluator of activation lowerings: an {@link OnnxBuilder} that computes each node as
 * it is emitted, on a handful of numbers, with the op's ONNX meaning. Registration uses it to
 * probe a user's `onnx` field without ONNX Runtime (which is asynchronous and lives in a higher
 * layer); `checkActivation()` can run the same lowering in ONNX Runtime as well.
 *
 * Elementwise ops only (activations are elementwise). A lowering that emits any other op stops
 * the evaluation with {@link UnsupportedOnnxOp}; the caller then leaves the lowering to an
 * ONNX Runtime check.
 *
 * @module
 */
import { erf, sigmoid, softplus } from "./_math.ts";
import type { OnnxBuilder } from "./types.ts";

type Attributes = Readonly<Record<string, number | string | readonly number[]>>;
type Values = readonly number[];

/** Thrown when a lowering emits an op the evaluator does not know. */
export class UnsupportedOnnxOp extends Error {
  /** The ONNX op type. */
  readonly op: string;
  constructor(op: string) {
    super(`the float64 evaluator has no '${op}' op`);
    this.name = "UnsupportedOnnxOp";
    this.op = op;
  }
}

/** ONNX's default Selu constants (float32). */
const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
/** ONNX TensorProto data types that Cast can target and that change values here. */
const BOOL = 9;
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);

const attr = (a: Attributes, key: string, fallback: number): number =>
  typeof a[key] === "number" ? a[key] as number : fallback;
const bool = (b: boolean): number => (b ? 1 : 0);

/** Ops of one input: x ↦ y, with the node's attributes. */
const UNARY: Record<string, (x: number, a: Attributes) => number> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Sign: Math.sign,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Sqrt: Math.sqrt,
  Exp: Math.exp,
  Log: Math.log,
  Reciprocal: (x) => 1 / x,
  Sin: Math.sin,
  Cos: Math.cos,
  Tanh: Math.tanh,
  Erf: erf,
  Sigmoid: sigmoid,
  Softplus: softplus,
  Softsign: (x) => x / (1 + Math.abs(x)),
  Relu: (x) => (x < 0 ? 0 : x),
  LeakyRelu: (x, a) => (x < 0 ? attr(a, "alpha", 0.01) * x : x),
  Elu: (x, a) => (x < 0 ? attr(a, "alpha", 1) * Math.expm1(x) : x),
  Celu: (x, a) => {
    const alpha = attr(a, "alpha", 1);
    return x < 0 ? alpha * Math.expm1(x / alpha) : x;
  },
  Selu: (x, a) =>
    attr(a, "gamma", SELU_GAMMA) * (x > 0 ? x : attr(a, "alpha", SELU_ALPHA) * Math.expm1(x)),
  HardSigmoid: (x, a) => Math.max(0, Math.min(1, attr(a, "alpha", 0.2) * x + attr(a, "beta", 0.5))),
  HardSwish: (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
  Mish: (x) => x * Math.tanh(softplus(x)),
  Gelu: (x, a) =>
    a.approximate === "tanh"
      ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
      : 0.5 * x * (1 + erf(x / Math.SQRT2)),
  IsNaN: (x) => bool(Number.isNaN(x)),
  IsInf: (x) => bool(x === Infinity || x === -Infinity),
  Not: (x) => bool(!x),
  Cast: (x, a) => {
    const to = attr(a, "to", 1);
    return to === BOOL ? bool(x !== 0) : INTEGER_TYPES.has(to) ? Math.trunc(x) : x;
  },
};

/** Ops of two inputs: (a, b) ↦ y. */
const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: Math.pow,
  Greater: (a, b) => bool(a > b),
  Less: (a, b) => bool(a < b),
  GreaterOrEqual: (a, b) => bool(a >= b),
  LessOrEqual: (a, b) => bool(a <= b),
  Equal: (a, b) => bool(a === b),
  And: (a, b) => bool(!!a && !!b),
  Or: (a, b) => bool(!!a || !!b),
  Xor: (a, b) => bool(!!a !== !!b),
};

/** max/min as ONNX defines them for floats: NaN in, NaN out. */
function nanAware(pick: (a: number, b: number) => number): (a: number, b: number) => number {
  return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : pick(a, b));
}

/**
 * An {@link OnnxBuilder} that evaluates every node on `n` points as it is emitted. Inputs are
 * given by name; constants are rounded to float32, as in a real graph.
 */
export class EvaluatingBuilder implements OnnxBuilder {
  readonly #values = new Map<string, Values>();
  readonly #n: number;
  #next = 0;

  constructor(inputs: Readonly<Record<string, Values>>) {
    const lengths = new Set(Object.values(inputs).map((v) => v.length));
    if (lengths.size !== 1) throw new Error("EvaluatingBuilder: inputs must have one length");
    this.#n = [...lengths][0];
    for (const [name, values] of Object.entries(inputs)) this.#values.set(name, values);
  }

  /** The values of `name` on the points (a scalar is broadcast). */
  values(name: string): number[] {
    const v = this.#values.get(name);
    if (v === undefined) throw new Error(`no node produced '${name}'`);
    return Array.from({ length: this.#n }, (_, i) => v.length === 1 ? v[0] : v[i]);
  }

  /** Whether some node (or an input) produced `name`. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  constant(value: number): string {
    return this.#store([Math.fround(value)]);
  }

  op(type: string, inputs: readonly string[], attributes: Attributes = {}): string {
    const args = inputs.map((name) => (name === "" ? undefined : this.#input(name, type)));
    const at = (v: Values | undefined, i: number) =>
      v === undefined ? NaN : v.length === 1 ? v[0] : v[i];
    const n = args.some((v) => v !== undefined && v.length > 1) ? this.#n : 1;
    const out = (f: (i: number) => number) =>
      this.#store(Array.from({ length: n }, (_, i) => f(i)));
    const unary = UNARY[type];
    if (unary) return out((i) => unary(at(args[0], i), attributes));
    const binary = BINARY[type];
    if (binary) return out((i) => binary(at(args[0], i), at(args[1], i)));
    switch (type) {
      case "Max":
      case "Min": {
        const pick = nanAware(type === "Max" ? Math.max : Math.min);
        return out((i) => args.map((v) => at(v, i)).reduce(pick));
      }
      case "Where":
        return out((i) => (at(args[0], i) ? at(args[1], i) : at(args[2], i)));
      case "Clip":
        return out((i) => {
          const x = at(args[0], i);
          const lo = args[1] === undefined ? -Infinity : at(args[1], i);
          const hi = args[2] === undefined ? Infinity : at(args[2], i);
          return Number.isNaN(x) ? x : Math.min(Math.max(x, lo), hi);
        });
      case "Constant":
        if (typeof attributes.value_float === "number") {
          return this.constant(attributes.value_float);
        }
    }
    throw new UnsupportedOnnxOp(type);
  }

  #input(name: string, type: string): Values {
    const v = this.#values.get(name);
    if (v === undefined) {
      throw new Error(`a '${type}' node reads '${name}', which no earlier node produced`);
    }
    return v;
  }

  #store(values: Values): string {
    const name = `_v${this.#next++}`;
    this.#values.set(name, values);
    return name;
  }
}
