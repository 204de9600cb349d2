/**
 * The tape's rule table against finite differences on ONNX Runtime: each rule of `OP_RULES` has
 * cases here (a rule without one fails), each a tiny graph with seeded random inputs whose
 * vector-Jacobian product is compared with central differences, in float64 where ONNX Runtime's
 * CPU kernels take doubles.
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { getActivation } from "@actlab/actlab";
import type { Ops } from "@actlab/actlab/gpt";
import { GradientTape, type GraphBuilder } from "@actlab/actlab/onnx";
import type { GatedActivation, UnaryActivation } from "@actlab/actlab/activations";
import { OP_RULES, type OpName } from "../../lib/onnx/op_rules.ts";
import {
  cotangent,
  FD_TOLERANCE,
  type FloatInput,
  gradientCheck,
  type IntInput,
} from "./_gradient_check.ts";

/** One finite-difference case of a rule. */
interface TapeCase {
  /** Completes the test name after the op's name. */
  readonly label: string;
  readonly inputs: Readonly<Record<string, FloatInput | IntInput>>;
  /** The op call(s) under test; the result's gradients are checked. */
  readonly forward: (ops: Ops<string>) => string | string[];
  /** Why the case runs in float32 (an op without a float64 kernel); float64 when absent. */
  readonly float32?: string;
  readonly training?: boolean;
  /** Through `gradients()` of a scalar loss (cotangent 1) instead of `vjp()`. */
  readonly seeded?: boolean;
  readonly zeroCotangent?: (k: number, i: number) => boolean;
  readonly freshSessions?: boolean;
  /** A looser tolerance, with the reason. */
  readonly tolerance?: readonly [number, string];
}

const f = (...shape: number[]): FloatInput => ({ shape });
const ids = (below: number, ...shape: number[]): IntInput => ({ shape, below });
const unary = (name: string) => getActivation(name) as UnaryActivation;
const gated = (name: string) => getActivation(name) as GatedActivation;

/** Seen: 2.5e-8 for dx. */
const LAYER_NORM_TOLERANCE = [
  1e-6,
  "ONNX Runtime returns 1/σ in float32 (stash_type) even from float64 inputs",
] as const;

const CASES: { readonly [K in OpName]: readonly TapeCase[] } = {
  embedding: [{
    label: "rows picked by ids, repeated ids summing",
    inputs: { table: f(5, 3), ids: ids(5, 2, 4) },
    forward: (ops) => ops.embedding("table", "ids"),
  }],
  positionEmbedding: [{
    label: "the first T rows, the rest getting zeros",
    inputs: { table: f(6, 3), ids: ids(5, 2, 4) },
    forward: (ops) => ops.positionEmbedding("table", "ids"),
  }, {
    label: "every row when T is the context length",
    inputs: { table: f(4, 3), ids: ids(5, 2, 4) },
    forward: (ops) => ops.positionEmbedding("table", "ids"),
  }],
  linear: [{
    label: "x @ w over the last axis",
    inputs: { x: f(2, 3, 4), w: f(4, 5) },
    forward: (ops) => ops.linear("x", "w"),
  }, {
    label: "with a bias",
    inputs: { x: f(2, 3, 4), w: f(4, 5), b: f(5) },
    forward: (ops) => ops.linear("x", "w", "b"),
  }, {
    label: "by a transposed weight (the tied head's transB)",
    inputs: { x: f(2, 3, 4), wte: f(5, 4) },
    forward: (ops) => ops.linear("x", ops.transpose("wte", [1, 0])),
  }, {
    label: "by a transposed weight, with a bias",
    inputs: { x: f(2, 3, 4), wte: f(5, 4), b: f(5) },
    forward: (ops) => ops.linear("x", ops.transpose("wte", [1, 0]), "b"),
  }, {
    label: "of a 2-D input, with a constant weight",
    inputs: { x: f(3, 4), w: { shape: [4, 2], grad: false } },
    forward: (ops) => ops.linear("x", "w"),
  }],
  linearSplit: [{
    label: "into two parts, one product per weight slice",
    inputs: { x: f(2, 3, 4), w: f(4, 7) },
    forward: (ops) => ops.linearSplit("x", "w", undefined, [3, 4]),
  }, {
    label: "into three parts with a bias",
    inputs: { x: f(2, 3, 4), w: f(4, 6), b: f(6) },
    forward: (ops) => ops.linearSplit("x", "w", "b", [2, 2, 2]),
  }, {
    label: "by a transposed weight (slices of its source's rows)",
    inputs: { x: f(2, 3, 4), wte: f(5, 4) },
    forward: (ops) => ops.linearSplit("x", ops.transpose("wte", [1, 0]), undefined, [2, 3]),
  }, {
    label: "with a part left unused (zeros for its weight and bias slices)",
    inputs: { x: f(3, 4), w: f(4, 6), b: f(6) },
    forward: (ops) => ops.linearSplit("x", "w", "b", [2, 1, 3])[1],
  }, {
    label: "into one part (a plain linear)",
    inputs: { x: f(3, 4), w: f(4, 2), b: f(2) },
    forward: (ops) => ops.linearSplit("x", "w", "b", [2]),
  }],
  add: [{
    label: "of equal shapes",
    inputs: { a: f(2, 3), b: f(2, 3) },
    forward: (ops) => ops.add("a", "b"),
  }, {
    label: "broadcasting both ways",
    inputs: { a: f(2, 1, 4), b: f(3, 1) },
    forward: (ops) => ops.add("a", "b"),
  }],
  mul: [{
    label: "of equal shapes",
    inputs: { a: f(2, 3), b: f(2, 3) },
    forward: (ops) => ops.mul("a", "b"),
  }, {
    label: "broadcasting both ways",
    inputs: { a: f(2, 1, 4), b: f(3, 1) },
    forward: (ops) => ops.mul("a", "b"),
  }, {
    label: "of a value by itself",
    inputs: { a: f(2, 3) },
    forward: (ops) => ops.mul("a", "a"),
  }],
  scale: [{
    label: "by a constant",
    inputs: { x: f(2, 3) },
    forward: (ops) => ops.scale("x", -1.7),
  }],
  layerNorm: [{
    label: "with weight and bias",
    inputs: { x: f(2, 3, 5), w: f(5), b: f(5) },
    forward: (ops) => ops.layerNorm("x", "w", "b", 1e-5),
    tolerance: LAYER_NORM_TOLERANCE,
  }, {
    label: "without a bias, with a large epsilon",
    inputs: { x: f(3, 4), w: f(4) },
    forward: (ops) => ops.layerNorm("x", "w", undefined, 0.5),
    tolerance: LAYER_NORM_TOLERANCE,
  }],
  split: [{
    label: "into parts of the last axis",
    inputs: { x: f(2, 7) },
    forward: (ops) => ops.split("x", [3, 4]),
  }, {
    label: "with a part left unused (zeros)",
    inputs: { x: f(2, 7) },
    forward: (ops) => ops.split("x", [2, 1, 4])[1],
  }],
  splitHeads: [{
    label: "into 2 heads",
    inputs: { x: f(2, 3, 6) },
    forward: (ops) => ops.splitHeads("x", 2),
  }],
  mergeHeads: [{
    label: "of 2 heads",
    inputs: { x: f(2, 3, 2, 3) },
    forward: (ops) => ops.mergeHeads("x"),
  }],
  transpose: [{
    label: "of three axes",
    inputs: { x: f(2, 3, 4) },
    forward: (ops) => ops.transpose("x", [2, 0, 1]),
  }, {
    label: "of a matrix",
    inputs: { x: f(3, 4) },
    forward: (ops) => ops.transpose("x", [1, 0]),
  }],
  matmul: [{
    label: "batched over one axis",
    inputs: { a: f(2, 3, 4), b: f(2, 4, 5) },
    forward: (ops) => ops.matmul("a", "b"),
  }, {
    label: "batched over two axes",
    inputs: { a: f(2, 2, 3, 4), b: f(2, 2, 4, 3) },
    forward: (ops) => ops.matmul("a", "b"),
  }],
  causalMask: [{
    label: "on the entries it keeps",
    inputs: { s: f(2, 4, 4) },
    forward: (ops) => ops.causalMask("s"),
    zeroCotangent: (_k, i) => i % 4 > Math.floor(i / 4) % 4, // −∞ above the diagonal
  }],
  softmax: [{
    label: "over the last axis",
    inputs: { x: f(3, 5) },
    forward: (ops) => ops.softmax("x"),
  }, {
    label: "of causally masked scores (the fused path)",
    inputs: { s: f(2, 4, 4) },
    forward: (ops) => ops.softmax(ops.causalMask("s")),
  }],
  activation: [{
    label: "silu, a lowering with the σ chain",
    inputs: { x: f(3, 5) },
    forward: (ops) => ops.activation(unary("silu"), "x"),
  }, {
    label: "relu, away from its kink",
    inputs: { x: { shape: [3, 5], avoid: [0] } },
    forward: (ops) => ops.activation(unary("relu"), "x"),
  }, {
    label: "gelu",
    inputs: { x: f(3, 5) },
    forward: (ops) => ops.activation(unary("gelu"), "x"),
    float32: "ONNX Runtime's Gelu has no float64 kernel",
  }],
  gatedActivation: [{
    label: "swiglu",
    inputs: { gate: f(3, 4), value: f(3, 4) },
    forward: (ops) => ops.gatedActivation(gated("swiglu"), "gate", "value"),
  }, {
    label: "geglu",
    inputs: { gate: f(3, 4), value: f(3, 4) },
    forward: (ops) => ops.gatedActivation(gated("geglu"), "gate", "value"),
    float32: "ONNX Runtime's Gelu has no float64 kernel",
  }],
  dropout: [{
    label: "when training, with its seeded mask",
    inputs: { x: f(4, 5) },
    forward: (ops) => ops.dropout("x", 0.5),
    training: true,
    freshSessions: true, // a session's dropout stream moves on with every run
  }, {
    label: "as the identity when not training",
    inputs: { x: f(4, 5) },
    forward: (ops) => ops.dropout("x", 0.5),
  }],
  crossEntropy: [{
    label: "as the loss gradients() starts from",
    inputs: { logits: f(2, 3, 5), targets: ids(5, 2, 3) },
    forward: (ops) => ops.crossEntropy("logits", "targets"),
    seeded: true,
  }, {
    label: "with an incoming gradient",
    inputs: { logits: f(2, 3, 5), targets: ids(5, 2, 3) },
    forward: (ops) => ops.crossEntropy("logits", "targets"),
  }],
};

/** Builds a case's graph on a tape: forward, then the VJP of every float input it marks. */
function buildCase(c: TapeCase, g: GraphBuilder) {
  const tape = new GradientTape(g, { training: c.training, dropoutSeed: 7 });
  const wrt: string[] = [];
  for (const [name, spec] of Object.entries(c.inputs)) {
    const float = !("below" in spec);
    const requiresGrad = float && spec.grad !== false;
    tape.input(name, spec.shape, { requiresGrad, dtype: float ? "float32" : "int32" });
    if (requiresGrad) wrt.push(name);
  }
  const outputs = [c.forward(tape.ops)].flat();
  const grads = c.seeded
    ? tape.gradients(outputs[0], wrt)
    : tape.vjp(outputs.map((o, k) => [o, cotangent(k)] as const), wrt);
  return {
    outputs: outputs.map((o) => [o, tape.shapeOf(o)] as const),
    grads,
    seeded: c.seeded,
  };
}

Deno.test("every rule of the tape has finite-difference cases", () => {
  const missing = Object.keys(OP_RULES).filter((name) => !(CASES[name as OpName]?.length > 0));
  assertEquals(missing, [], `rules without a finite-difference case: ${missing.join(", ")}`);
});

for (const name of Object.keys(OP_RULES) as OpName[]) {
  for (const c of CASES[name] ?? []) {
    const floatType = c.float32 ? "float32" : "float64";
    const tolerance = c.tolerance?.[0] ?? FD_TOLERANCE[floatType];
    Deno.test(`${name} ${c.label}: the VJP matches central differences within ${tolerance} (${floatType})`, async () => {
      const results = await gradientCheck({
        floatType,
        inputs: c.inputs,
        build: (g) => buildCase(c, g),
        zeroCotangent: c.zeroCotangent,
        freshSessions: c.freshSessions,
      });
      assertGreater(results.size, 0);
      for (const [input, r] of results) {
        assertGreater(r.norm, 1e-3, `${input}: the gradient vanishes, so the case checks nothing`);
        assert(
          r.relError <= tolerance,
          `${name} ${c.label}, d/d${input}: relative error ${r.relError.toExponential(2)}\n` +
            `  VJP ${[...r.grad].map((v) => v.toPrecision(6))}\n` +
            `  FD  ${[...r.fd].map((v) => v.toPrecision(6))}`,
        );
      }
    });
  }
}
