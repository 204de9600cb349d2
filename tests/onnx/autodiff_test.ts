/**
 * The activation autodiff's gradient rules, one per ONNX op type, against finite differences on
 * ONNX Runtime: every op of `onnxGradientOps()` has cases here (an op without one fails), each a
 * one-node lowering differentiated by `differentiateRecorded` — float64 where ONNX Runtime's CPU
 * kernel takes doubles, float32 where it has only a float kernel.
 */
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import type { OnnxBuilder } from "@actlab/actlab/activations";
import {
  differentiateRecorded,
  GraphBuilder,
  onnxGradientOps,
  RecordingBuilder,
} from "@actlab/actlab/onnx";
import { cotangent, FD_TOLERANCE, type FloatInput, gradientCheck } from "./_gradient_check.ts";

/** One finite-difference case of an op's rule: a lowering of inputs named a, b, … */
interface OpCase {
  /** Completes the test name after the op's name. */
  readonly label: string;
  readonly inputs: Readonly<Record<string, FloatInput>>;
  readonly lower: (g: OnnxBuilder, ...inputs: string[]) => string;
  /** Why the case runs in float32 (no float64 kernel on ONNX Runtime's CPU); float64 if absent. */
  readonly float32?: string;
}

const N = 12;
const x = (range?: [number, number], avoid?: number[]): FloatInput => ({
  shape: [N],
  range,
  avoid,
});
const FLOAT_ONLY = "ONNX Runtime's CPU kernel is float32 only";
const unaryCase = (
  op: string,
  attributes: Record<string, number | string> = {},
  input = x(),
  float32?: string,
  label = Object.keys(attributes).length ? `with ${JSON.stringify(attributes)}` : "elementwise",
): OpCase => ({
  label,
  inputs: { x: input },
  lower: (g, a) => g.op(op, [a], attributes),
  float32,
});
const binaryCase = (op: string, b = x()): OpCase => ({
  label: "in both inputs",
  inputs: { a: x(), b },
  lower: (g, a, bb) => g.op(op, [a, bb]),
});

/** The ops as they were when this file loaded: the built-in rules. */
const BUILT_IN = onnxGradientOps();

const CASES: Readonly<Record<string, readonly OpCase[]>> = {
  Identity: [unaryCase("Identity")],
  Neg: [unaryCase("Neg")],
  Add: [binaryCase("Add"), {
    label: "of a value and itself",
    inputs: { a: x() },
    lower: (g, a) => g.op("Add", [a, a]),
  }],
  Sub: [binaryCase("Sub")],
  Mul: [binaryCase("Mul"), {
    label: "of a value and itself (x·x gets both gradients)",
    inputs: { a: x() },
    lower: (g, a) => g.op("Mul", [a, a]),
  }, {
    label: "by a constant",
    inputs: { a: x() },
    lower: (g, a) => g.op("Mul", [a, g.constant(-0.75)]),
  }],
  Div: [binaryCase("Div", x([0.5, 2])), {
    label: "by a negative denominator",
    inputs: { a: x(), b: x([-2, -0.5]) },
    lower: (g, a, b) => g.op("Div", [a, b]),
  }],
  Reciprocal: [
    unaryCase("Reciprocal", {}, x([0.5, 2]), undefined, "of positive inputs"),
    unaryCase("Reciprocal", {}, x([-2, -0.5]), undefined, "of negative inputs"),
  ],
  Exp: [unaryCase("Exp")],
  Log: [unaryCase("Log", {}, x([0.3, 3]))],
  Sqrt: [unaryCase("Sqrt", {}, x([0.3, 3]))],
  Abs: [unaryCase("Abs", {}, x([-2, 2], [0]), undefined, "away from its kink")],
  Pow: [{
    label: "by a constant integer exponent",
    inputs: { a: x() },
    lower: (g, a) => g.op("Pow", [a, g.constant(3)]),
  }, {
    label: "by a constant fractional exponent",
    inputs: { a: x([0.3, 3]) },
    lower: (g, a) => g.op("Pow", [a, g.constant(1.5)]),
  }],
  Tanh: [unaryCase("Tanh")],
  Sigmoid: [unaryCase("Sigmoid", {}, x([-4, 4]))],
  Erf: [unaryCase("Erf", {}, x(), FLOAT_ONLY)],
  Relu: [unaryCase("Relu", {}, x([-2, 2], [0]), undefined, "away from its kink")],
  LeakyRelu: [unaryCase("LeakyRelu", { alpha: 0.1 }, x([-2, 2], [0]), FLOAT_ONLY)],
  Elu: [unaryCase("Elu", { alpha: 0.7 }, x([-2, 2], [0]), FLOAT_ONLY)],
  Selu: [
    unaryCase("Selu", {}, x([-2, 2], [0]), FLOAT_ONLY),
    unaryCase("Selu", { alpha: 1.5, gamma: 0.8 }, x([-2, 2], [0]), FLOAT_ONLY),
  ],
  Celu: [unaryCase("Celu", { alpha: 1.3 }, x([-2, 2], [0]), FLOAT_ONLY)],
  Clip: [{
    label: "between constant bounds (open interval)",
    inputs: { a: x([-2, 2], [-1, 1.5]) },
    lower: (g, a) => g.op("Clip", [a, g.constant(-1), g.constant(1.5)]),
  }, {
    label: "with a lower bound only",
    inputs: { a: x([-2, 2], [0.25]) },
    lower: (g, a) => g.op("Clip", [a, g.constant(0.25)]),
  }],
  Gelu: [
    unaryCase("Gelu", { approximate: "none" }, x([-3, 3]), FLOAT_ONLY),
    unaryCase("Gelu", { approximate: "tanh" }, x([-3, 3]), FLOAT_ONLY),
  ],
  Mish: [unaryCase("Mish", {}, x([-3, 3]), FLOAT_ONLY)],
  HardSwish: [unaryCase("HardSwish", {}, x([-4, 4], [-3, 3]), FLOAT_ONLY)],
  HardSigmoid: [
    unaryCase("HardSigmoid", { alpha: 0.3, beta: 0.4 }, x([-3, 3], [-4 / 3, 2]), FLOAT_ONLY),
  ],
  Softplus: [unaryCase("Softplus", {}, x([-3, 3]), FLOAT_ONLY)],
  Softsign: [unaryCase("Softsign", {}, x([-3, 3], [0]), FLOAT_ONLY)],
  PRelu: [{
    label: "in x and its slope, away from the kink",
    inputs: { a: x([-2, 2], [0]), b: x([-1, 1]) },
    lower: (g, a, b) => g.op("PRelu", [a, b]),
    float32: FLOAT_ONLY,
  }],
  Where: [{
    label: "in both branches (the condition takes none)",
    inputs: { a: x([-2, 2], [0]), b: x() },
    lower: (g, a, b) =>
      g.op("Where", [g.op("Greater", [a, g.constant(0)]), b, g.op("Mul", [a, a])]),
  }],
  Min: [binaryCase("Min"), {
    label: "against a constant",
    inputs: { a: x([-2, 2], [-0.5]) },
    lower: (g, a) => g.op("Min", [a, g.constant(-0.5)]),
  }],
  Max: [binaryCase("Max")],
  ReduceMean: [{
    label: "over the last axis, its mean broadcast back (RMSNorm's shape)",
    inputs: { a: x() },
    lower: (g, a) => {
      const last = g.op("Constant", [], { value_ints: [-1] });
      return g.op("Mul", [a, g.op("ReduceMean", [g.op("Mul", [a, a]), last], { keepdims: 1 })]);
    },
  }],
};

/** The graph of a case: its lowering and the gradient of every input. */
function buildCase(c: OpCase, g: GraphBuilder) {
  const rec = new RecordingBuilder(g);
  const names = Object.keys(c.inputs);
  const y = c.lower(rec, ...names);
  const grads = differentiateRecorded(g, rec, { wrt: names, y, dy: cotangent(0), what: "test" });
  return {
    outputs: [[y, [N]] as const],
    grads: new Map(names.map((name, i) => [name, grads[i]!])),
  };
}

Deno.test("every ONNX op with a gradient rule has finite-difference cases", () => {
  const missing = BUILT_IN.filter((op) => !(CASES[op]?.length > 0));
  assertEquals(missing, [], `ops without a finite-difference case: ${missing.join(", ")}`);
});

for (const op of BUILT_IN) {
  for (const c of CASES[op] ?? []) {
    const floatType = c.float32 ? "float32" : "float64";
    const tolerance = FD_TOLERANCE[floatType];
    Deno.test(`${op} ${c.label}: the rule matches central differences within ${tolerance} (${floatType})`, async () => {
      const results = await gradientCheck({
        floatType,
        inputs: c.inputs,
        build: (g) => buildCase(c, g),
      });
      for (const [input, r] of results) {
        assertGreater(r.norm, 1e-3, `${input}: the gradient vanishes, so the case checks nothing`);
        assert(
          r.relError <= tolerance,
          `${op} ${c.label}, d/d${input}: relative error ${r.relError.toExponential(2)}\n` +
            `  rule ${[...r.grad].map((v) => v.toPrecision(6))}\n` +
            `  FD   ${[...r.fd].map((v) => v.toPrecision(6))}`,
        );
      }
    });
  }
}

const sigmoidChain = (g: OnnxBuilder, a: string) =>
  g.op("Reciprocal", [g.op("Add", [g.constant(1), g.op("Exp", [g.op("Neg", [a])])])]);

Deno.test("σ written as 1/(1 + e^(−x)) is differentiated in three nodes, matching central differences", async () => {
  const results = await gradientCheck({
    floatType: "float64",
    inputs: { x: x([-4, 4]) },
    build: (g) => buildCase({ label: "", inputs: { x: x() }, lower: sigmoidChain }, g),
  });
  assert(results.get("x")!.relError <= FD_TOLERANCE.float64, `${results.get("x")!.relError}`);
  const g = new GraphBuilder();
  const rec = new RecordingBuilder(g);
  const y = sigmoidChain(rec, "x");
  const before = g.nodes.length;
  differentiateRecorded(g, rec, { wrt: ["x"], y, dy: "dy", what: "sigmoid" });
  assertEquals(g.nodes.map((n) => n.opType).slice(before), ["Sub", "Mul", "Mul"]);
});

/** Gradient nodes differentiateRecorded() emits for a lowering of x. */
function gradientOps(lower: (g: OnnxBuilder, a: string) => string): string[] {
  const g = new GraphBuilder();
  const rec = new RecordingBuilder(g);
  const y = lower(rec, "x");
  const before = g.nodes.length;
  differentiateRecorded(g, rec, { wrt: ["x"], y, dy: "dy", what: "gated" });
  return g.nodes.map((n) => n.opType).slice(before);
}

for (
  const [label, beta, ops] of [
    ["x·σ(x) (SiLU) in four nodes", 1, ["Sub", "Mul", "Add", "Mul"]],
    ["x·σ(1.702x) (quick GELU) in five nodes", 1.702, ["Sub", "Mul", "Mul", "Add", "Mul"]],
  ] as const
) {
  const lower = (g: OnnxBuilder, a: string) =>
    g.op("Mul", [a, sigmoidChain(g, beta === 1 ? a : g.op("Mul", [a, g.constant(beta)]))]);
  Deno.test(`a self-gated product ${label}, dy·(s + β·y·(1 − s)), matches central differences`, async () => {
    const results = await gradientCheck({
      floatType: "float64",
      inputs: { x: x([-6, 6]) },
      build: (g) => buildCase({ label: "", inputs: { x: x() }, lower }, g),
    });
    assert(results.get("x")!.relError <= FD_TOLERANCE.float64, `${results.get("x")!.relError}`);
    assertEquals(gradientOps(lower), [...ops]);
  });
}

Deno.test("a self-gated product whose σ and x have other uses still matches central differences", async () => {
  // y = x·σ(x) + σ(x) + x: the σ output and x feed other nodes, whose gradients add to the product's
  const lower = (g: OnnxBuilder, a: string) => {
    const s = sigmoidChain(g, a);
    return g.op("Add", [g.op("Add", [g.op("Mul", [s, a]), s]), a]);
  };
  const results = await gradientCheck({
    floatType: "float64",
    inputs: { x: x([-5, 5]) },
    build: (g) => buildCase({ label: "", inputs: { x: x() }, lower }, g),
  });
  assert(results.get("x")!.relError <= FD_TOLERANCE.float64, `${results.get("x")!.relError}`);
});

Deno.test("a chain whose inner value has another use is differentiated node by node instead", async () => {
  // y = σ(x) + e^(−x): the Exp output feeds two nodes, so the fused σ rule must not apply
  const lower = (g: OnnxBuilder, a: string) => {
    const e = g.op("Exp", [g.op("Neg", [a])]);
    return g.op("Add", [g.op("Reciprocal", [g.op("Add", [g.constant(1), e])]), e]);
  };
  const results = await gradientCheck({
    floatType: "float64",
    inputs: { x: x([-3, 3]) },
    build: (g) => buildCase({ label: "", inputs: { x: x() }, lower }, g),
  });
  assert(results.get("x")!.relError <= FD_TOLERANCE.float64, `${results.get("x")!.relError}`);
});

Deno.test("differentiateRecorded() names the op without a rule and the activation", () => {
  const g = new GraphBuilder();
  const rec = new RecordingBuilder(g);
  const y = rec.op("Sin", ["x"]);
  assertThrows(
    () => differentiateRecorded(g, rec, { wrt: ["x"], y, dy: "dy", what: "my_sine" }),
    Error,
    "Activation 'my_sine': its ONNX lowering uses 'Sin', which has no gradient rule",
  );
});

Deno.test("differentiateRecorded() gives no gradient for an input the output does not depend on", () => {
  const g = new GraphBuilder();
  const rec = new RecordingBuilder(g);
  const y = rec.op("Tanh", ["a"]);
  const [da, db] = differentiateRecorded(g, rec, { wrt: ["a", "b"], y, dy: "dy", what: "t" });
  assert(da !== undefined);
  assertEquals(db, undefined);
});
