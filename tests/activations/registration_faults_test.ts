/**
 * Fault injection for registerActivation()'s probe: each test registers a definition with one
 * part broken and asserts the refusal names that part, the point, both values and the fix, and
 * that the registry is left as it was. checkActivation() runs the same probe on the active backend
 * and, with a runner, the lowering in ONNX Runtime.
 */
import { assert, assertEquals, assertInstanceOf, assertStringIncludes } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import {
  ActivationProbeError,
  checkActivation,
  hasActivation,
  type OnnxRunner,
} from "@actlab/actlab/activations";
import { activationModel } from "@actlab/actlab/onnx";
import { availableBackends, createOrtSession } from "@actlab/actlab/engine";
import {
  getActivation,
  getUnary,
  initEngine,
  registerActivation,
  unregisterActivation,
} from "@actlab/actlab";

await initEngine({ backend: "cpu" });

type Registration = Parameters<typeof registerActivation>[0];

/** Registers `def`, expects a probe refusal, and returns it (the name must stay unregistered). */
function refused(def: Registration, options: { override?: boolean } = {}): ActivationProbeError {
  let error: unknown;
  try {
    registerActivation(def, options);
  } catch (e) {
    error = e;
  }
  if (!(error instanceof ActivationProbeError)) {
    if (hasActivation(def.name) && !options.override) unregisterActivation(def.name);
    throw new Error(`expected a probe refusal, got ${error ?? "an accepted registration"}`);
  }
  assertStringIncludes(error.message, `registerActivation: '${def.name}' is refused`);
  assertStringIncludes(error.message, "{ probe: false }");
  if (!options.override) assertEquals(hasActivation(def.name), false, "refused, not registered");
  return error;
}

/** x·σ(x), float64. */
const silu = (x: number) => x / (1 + Math.exp(-x));

Deno.test("a reference that is NaN at an ordinary point is refused, naming the point", () => {
  const e = refused({
    name: "fault_log",
    reference: (x) => Math.log1p(x), // NaN below −1
    apply: (x) => tf.log1p(x),
  });
  assertEquals([e.part, e.at], ["reference", -3]);
  assertStringIncludes(e.message, "reference(x) is NaN at x = -3");
  assertStringIncludes(e.message, "must return a finite number");
});

Deno.test("a derivative with its sign flipped is refused against a finite difference", () => {
  const e = refused({
    name: "fault_sign",
    reference: (x) => x * Math.tanh(x),
    derivative: (x) => -(Math.tanh(x) + x / Math.cosh(x) ** 2),
    apply: (x) => tf.mul(x, tf.tanh(x)),
  });
  assertEquals([e.part, e.at], ["derivative", -3]);
  // f′(−3) = tanh(−3) − 3·sech²(3) = −1.0245…; the flipped one says +1.0245
  assertStringIncludes(e.message, "gives f′(x) = 1.024");
  assertStringIncludes(e.message, "a central difference of reference gives -1.024");
  assertStringIncludes(e.message, "or leave derivative out");
});

Deno.test("an apply with a typo in a constant is refused with both values", () => {
  const c = Math.sqrt(2 / Math.PI);
  const e = refused({
    name: "fault_typo",
    reference: (x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3))),
    // 0.44715 for 0.044715: the GELU typo that shipped in more than one codebase
    apply: (x) =>
      tf.mul(
        tf.mul(0.5, x),
        tf.add(1, tf.tanh(tf.mul(c, tf.add(x, tf.mul(0.44715, tf.pow(x, 3)))))),
      ),
  });
  assertEquals(e.part, "apply");
  assertEquals(e.at, -3);
  assertStringIncludes(
    e.message,
    "apply(x) gives 0 (float32 on cpu) at x = -3, reference -0.003637392",
  );
  assertStringIncludes(e.message, "Make apply and reference compute the same function");
});

Deno.test("an apply that changes the shape is refused, showing both shapes", () => {
  const e = refused({
    name: "fault_shape",
    reference: (x) => Math.max(0, x),
    apply: (x) => tf.reshape(tf.relu(x), [-1]),
  });
  assertEquals([e.part, e.at], ["apply", undefined]);
  assertStringIncludes(e.message, "apply(x) changed the shape: input [1,7], output [7]");
  assertStringIncludes(e.message, "An activation is elementwise");
});

Deno.test("an apply that returns another dtype is refused, saying how to cast", () => {
  const e = refused({
    name: "fault_dtype",
    reference: (x) => Math.max(0, x),
    apply: (x) => tf.cast(tf.relu(x), "int32"),
  });
  assertEquals(e.part, "apply");
  assertStringIncludes(e.message, "apply(x) returned dtype int32 for float32 input");
  assertStringIncludes(e.message, 'tf.cast(y, "float32")');
});

Deno.test("an ONNX lowering that computes another function is refused at registration", () => {
  const e = refused({
    name: "fault_onnx",
    reference: silu,
    apply: (x) => tf.mul(x, tf.sigmoid(x)),
    onnx: (g, x) => g.op("Mul", [x, g.op("Tanh", [x])]), // x·tanh(x), not x·σ(x)
  });
  assertEquals([e.part, e.at], ["onnx", -3]);
  assertStringIncludes(e.message, "the ONNX lowering (evaluated op by op in float64) gives 2.98");
  assertStringIncludes(e.message, `reference ${Number(silu(-3).toPrecision(7))}`);
  assertStringIncludes(e.message, "Fix the lowering");
});

Deno.test("a gated apply that swaps gate and value is refused and the swap is named", () => {
  const e = refused({
    kind: "gated",
    name: "fault_swapped",
    reference: (g, v) => silu(g) * v,
    apply: (g, v) => tf.mul(tf.mul(v, tf.sigmoid(v)), g), // silu(value)·gate
  });
  assertEquals(e.part, "apply");
  assertEquals(e.at, [-3, -2]);
  assertStringIncludes(e.message, "apply(gate, value) gives 0.7152175 (float32 on cpu)");
  assertStringIncludes(e.message, "at (gate, value) = (-3, -2)");
  assertStringIncludes(e.message, "apply seems to take (value, gate)");
});

Deno.test("a gated ONNX lowering that swaps its inputs is refused and the swap is named", () => {
  const e = refused({
    kind: "gated",
    name: "fault_onnx_swapped",
    reference: (g, v) => Math.tanh(g) * v,
    apply: (g, v) => tf.mul(tf.tanh(g), v),
    onnx: (b, g, v) => b.op("Mul", [b.op("Tanh", [v]), g]),
  });
  assertEquals(e.part, "onnx");
  assertStringIncludes(e.message, "The lowering seems to take (value, gate)");
});

Deno.test("a custom gradient that disagrees with the derivative is refused as the gradient", () => {
  const e = refused({
    name: "fault_gradient",
    reference: (x) => x * x,
    apply: (x) => tf.square(x),
    derivative: (x) => 2 * x,
    gradient: (x) => x, // forgot the 2
  });
  assertEquals([e.part, e.at], ["gradient", -3]);
  assertStringIncludes(e.message, "tfjs's gradient of apply(x) gives d/dx = -3");
  assertStringIncludes(e.message, "derivative -6");
});

Deno.test("an apply that throws is refused with its error", () => {
  const e = refused({
    name: "fault_throws",
    reference: (x) => x,
    apply: () => {
      throw new Error("kernel 'Foo' not registered");
    },
  });
  assertEquals(e.part, "apply");
  assertStringIncludes(e.message, "apply(x) threw on a float32 tensor of shape [1,7]");
  assertStringIncludes(e.message, "kernel 'Foo' not registered");
});

Deno.test("a duplicate name without override is refused before any probe", () => {
  const def = {
    name: "fault_dup",
    reference: (x: number) => 2 * x,
    apply: (x: tf.Tensor) => tf.mul(2, x),
  };
  registerActivation(def);
  try {
    let message = "";
    try {
      registerActivation({ ...def, reference: () => NaN });
    } catch (e) {
      assert(!(e instanceof ActivationProbeError));
      message = String(e);
    }
    assertStringIncludes(message, "'fault_dup' is already registered (as fault_dup)");
    assertStringIncludes(message, "Pass { override: true }");
  } finally {
    unregisterActivation("fault_dup");
  }
});

Deno.test("an invalid name is refused with the naming rule", () => {
  let message = "";
  try {
    registerActivation({ name: "2x-relu!", reference: (x) => x, apply: (x) => tf.clone(x) });
  } catch (e) {
    message = String(e);
  }
  assertStringIncludes(message, "name '2x-relu!' must start with a letter");
});

Deno.test("override does not skip the probe, and a refused override keeps the old entry", () => {
  registerActivation({
    name: "fault_keep",
    reference: silu,
    apply: (x) => tf.mul(x, tf.sigmoid(x)),
  });
  try {
    const e = refused({
      name: "fault_keep",
      reference: silu,
      apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(2, x))),
    }, { override: true });
    assertEquals(e.part, "apply");
    assertEquals(getUnary("fault_keep").reference(1), silu(1));
  } finally {
    unregisterActivation("fault_keep");
  }
});

Deno.test("probe: false registers a definition that is wrong on purpose (failure-path tests)", () => {
  registerActivation({ name: "fault_nan", reference: () => NaN, apply: (x) => tf.div(x, 0) }, {
    probe: false,
  });
  try {
    assert(Number.isNaN(getUnary("fault_nan").reference(1)));
  } finally {
    unregisterActivation("fault_nan");
  }
});

Deno.test("kinked and trivial definitions pass: relu with its conventions, identity as x => x", () => {
  registerActivation({
    name: "ok_relu",
    reference: (x) => Math.max(0, x),
    derivative: (x) => (x > 0 ? 1 : 0),
    apply: (x) => tf.relu(x),
    onnx: (g, x) => g.op("Relu", [x]),
  });
  registerActivation({ name: "ok_identity", reference: (x) => x, apply: (x) => x });
  unregisterActivation("ok_relu");
  unregisterActivation("ok_identity");
});

/** Runs a lowering in ONNX Runtime on the CPU provider. */
const ortRunner: OnnxRunner = async (def, inputs) => {
  const { session } = await createOrtSession(activationModel(def), { provider: "cpu" });
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor("float32", v, [v.length])]),
    );
    return (await session.run(feeds)).y.data as Float32Array;
  } finally {
    await session.release();
  }
};

Deno.test("checkActivation() reports what it checked, with the lowering run in ONNX Runtime", async () => {
  for (const name of ["gelu", "swiglu", "mish"]) {
    const report = await checkActivation(getActivation(name), { onnx: ortRunner });
    assertEquals(report.backend, "cpu");
    assertEquals(report.skipped, [], name);
    assertEquals(
      [...report.checked].sort(),
      ["apply", "derivative", "gradient", "onnx", "reference"],
      name,
    );
  }
});

Deno.test("parameterised activations pass the probe with their lowering run in ONNX Runtime", async () => {
  for (const spec of ["leaky_relu2(alpha=0.75)", "squareplus(b=1)", "leaky_relu2(alpha=-0.5)"]) {
    const report = await checkActivation(getActivation(spec), { onnx: ortRunner });
    assertEquals(report.skipped, [], spec);
    assertEquals(report.checked.length, 5, spec);
  }
});

Deno.test("checkActivation() with ONNX Runtime catches a lowering the float64 evaluator cannot read", async () => {
  // ThresholdedRelu(alpha = 1) is 0 up to x = 1: not relu, and outside the evaluator's op table
  registerActivation({
    name: "fault_thresholded",
    reference: (x) => Math.max(0, x),
    apply: (x) => tf.relu(x),
    onnx: (g, x) => g.op("ThresholdedRelu", [x], { alpha: 1 }),
  });
  try {
    const def = getActivation("fault_thresholded");
    const plain = await checkActivation(def);
    assertEquals(plain.skipped.map((s) => s.part), ["onnx"]);
    assertStringIncludes(plain.skipped[0].reason, "'ThresholdedRelu'");
    let error: unknown;
    await checkActivation(def, { onnx: ortRunner }).catch((e) => error = e);
    assertInstanceOf(error, ActivationProbeError);
    const e = error as ActivationProbeError;
    assertEquals([e.part, e.at], ["onnx", 0.5]);
    assertStringIncludes(
      e.message,
      "checkActivation: 'fault_thresholded' fails its probe: the ONNX lowering (run by the ONNX " +
        "runner) gives 0 at x = 0.5, reference 0.5",
    );
  } finally {
    unregisterActivation("fault_thresholded");
  }
});

Deno.test("registration leaves the active backend and the tensor count as they were", () => {
  const before = tf.memory().numTensors;
  registerActivation({ name: "ok_count", reference: silu, apply: (x) => tf.mul(x, tf.sigmoid(x)) });
  unregisterActivation("ok_count");
  refused({ name: "fault_count", reference: silu, apply: (x) => tf.reshape(x, [-1]) });
  assertEquals(tf.getBackend(), "cpu");
  assertEquals(tf.memory().numTensors, before);
});

const webgpu = (await availableBackends()).find((b) => b.backend === "webgpu");

Deno.test({
  name: "on webgpu (async reads) registration probes apply on cpu and leaves webgpu active",
  ignore: !webgpu?.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await initEngine({ backend: "webgpu" });
    try {
      const e = refused({
        name: "fault_webgpu",
        reference: silu,
        apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(2, x))),
      });
      assertStringIncludes(e.message, "(float32 on cpu)");
      assertEquals(tf.getBackend(), "webgpu");
      const report = await checkActivation(getActivation("silu"));
      assertEquals(report.backend, "webgpu");
      assertEquals(report.skipped, []);
    } finally {
      await initEngine({ backend: "cpu" });
    }
  },
});
