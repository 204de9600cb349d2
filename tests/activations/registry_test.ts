import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import {
  getActivation,
  getGated,
  getUnary,
  initEngine,
  listActivations,
  registerActivation,
  unregisterActivation,
} from "@actlab/actlab";
import { hasActivation, isBuiltinActivation } from "@actlab/actlab/activations";

await initEngine({ backend: "cpu" });

/** The built-ins' names by kind, in registry order, as golden.json records them. */
const golden: Record<"unary" | "gated", Record<string, unknown>> = JSON.parse(
  await Deno.readTextFile(new URL("./golden.json", import.meta.url)),
);

Deno.test("listActivations() lists every built-in once, unary then gated, before user ones", () => {
  const builtins = listActivations().filter((d) => isBuiltinActivation(d.name));
  assertEquals(
    builtins.map((d) => d.name),
    [...Object.keys(golden.unary), ...Object.keys(golden.gated)],
  );
  assertEquals(builtins.map((d) => d.kind), [
    ...Object.keys(golden.unary).map(() => "unary"),
    ...Object.keys(golden.gated).map(() => "gated"),
  ]);
  registerActivation({ name: "last_test", reference: (x) => x, apply: (x) => x });
  try {
    assertEquals(listActivations().at(-1)?.name, "last_test");
    assertEquals(listActivations().slice(0, builtins.length), builtins);
  } finally {
    unregisterActivation("last_test");
  }
});

Deno.test("aliases people bring from elsewhere resolve to the canonical definitions", () => {
  const cases: Record<string, string> = {
    gelu_new: "gelu_tanh",
    gelu_pytorch_tanh: "gelu_tanh",
    gelu_fast: "gelu_tanh",
    "GELU-tanh": "gelu_tanh",
    swish: "silu",
    relu_squared: "relu2",
    squared_relu: "relu2",
    gelu_exact: "gelu",
    " GELU ": "gelu",
    hard_swish: "hardswish",
    // Hugging Face ACT2FN, PyTorch, JAX and Keras names of the activations added with them
    gelu_accurate: "gelu_tanh",
    logsigmoid: "log_sigmoid",
    "log-sigmoid": "log_sigmoid",
    sparseplus: "sparse_plus",
    leaky_relu_squared: "leaky_relu2",
    laplace: "laplace",
    squareplus: "squareplus",
    smooth_relu2: "relu2_smooth",
    smoothed_relu2: "relu2_smooth",
    relu2_smoothed: "relu2_smooth",
  };
  for (const [alias, name] of Object.entries(cases)) assertEquals(getActivation(alias).name, name);
});

Deno.test("the HF, JAX and Keras activations take the values their sources define", () => {
  // HF LaplaceActivation: 0.5(1 + erf((x − 0.707107)/(0.282095·√2))), so ½ at x = μ
  assertEquals(getUnary("laplace").reference(0.707107), 0.5);
  assertAlmostEquals(getUnary("laplace").reference(1), 0.8504296492845703, 1e-15);
  // squareplus(x, b = 4) = (x + √(x² + 4))/2
  assertEquals(getUnary("squareplus").reference(0), 1);
  assertAlmostEquals(getUnary("squareplus").reference(-3), (-3 + Math.sqrt(13)) / 2, 1e-15);
  assertAlmostEquals(getUnary("squareplus(b=1)").reference(2), (2 + Math.sqrt(5)) / 2, 1e-15);
  // sparse_plus: 0 up to −1, (x + 1)²/4 between, x from 1
  const sparsePlus = getUnary("sparse_plus");
  assertEquals([-2, -1, 0, 1, 2].map((x) => sparsePlus.reference(x)), [0, 0, 0.25, 1, 2]);
  // log_sigmoid = −softplus(−x)
  assertAlmostEquals(getUnary("log_sigmoid").reference(0), -Math.LN2, 1e-16);
  assertEquals(getUnary("log_sigmoid").reference(-1000), -1000);
  // leaky_relu2 = leaky_relu(x, 0.5)²: positive on both sides
  assertEquals(getUnary("leaky_relu2").reference(-2), 1);
  assertEquals(getUnary("leaky_relu2").reference(3), 9);
  assertEquals(getUnary("leaky_relu2(alpha=0.75)").reference(-2), 2.25);
  assertEquals(getUnary("leaky_relu2(0.1)").name, "leaky_relu2(alpha=0.1)");
  assertEquals(getUnary("gelu_accurate"), getUnary("gelu_tanh"));
});

Deno.test("relu2_smooth is nanochat's ½x(x + √(x² + a²)), a = 0.2: relu2 as a → 0, a settable", () => {
  const f = getUnary("relu2_smooth");
  assertAlmostEquals(f.reference(3), 0.5 * 3 * (3 + Math.sqrt(9.04)), 1e-14);
  assertAlmostEquals(f.reference(-0.5), 0.5 * -0.5 * (-0.5 + Math.sqrt(0.29)), 1e-16);
  assertAlmostEquals(f.reference(-1e6), -0.01, 1e-15); // −a²/4 below
  assertAlmostEquals(f.derivative(0), 0.1, 1e-16); // a/2
  const sharp = getUnary("relu2_smooth(a=1e-6)");
  assertEquals(sharp.name, "relu2_smooth(a=0.000001)");
  assertAlmostEquals(sharp.reference(3), 9, 1e-11);
  assertAlmostEquals(sharp.reference(-3), 0, 1e-12);
  assertStringIncludes(String(assertThrows(() => getActivation("relu2_smooth(a=0)"))), "a must be");
});

Deno.test("an unknown name throws, listing the known names and the closest match", () => {
  const e = assertThrows(() => getActivation("gleu"));
  assertStringIncludes(e instanceof Error ? e.message : "", "Did you mean 'gelu'?");
  assertStringIncludes(e instanceof Error ? e.message : "", "swiglu");
  assertStringIncludes(e instanceof Error ? e.message : "", "registerActivation");
  assertStringIncludes(String(assertThrows(() => getActivation("swiglue"))), "'swiglu'");
  assertEquals(hasActivation("definitely_not_an_activation"), false);
});

Deno.test("leaky_relu's slope is settable by spec or parameters, and checked", () => {
  const def = getUnary("leaky_relu(slope=0.2)");
  assertEquals(def.name, "leaky_relu(slope=0.2)");
  assertAlmostEquals(def.reference(-2), -0.4, 1e-15);
  assertEquals(getActivation("leaky_relu", { slope: 0.2 }).name, "leaky_relu(slope=0.2)");
  assertEquals(getActivation("leaky_relu(0.3)").params, { slope: 0.3 });
  assertEquals(getActivation("leaky_relu").params, { slope: 0.01 });
  assertStringIncludes(String(assertThrows(() => getActivation("leaky_relu(alpha=1)"))), "'slope'");
  assertStringIncludes(
    String(assertThrows(() => getActivation("leaky_relu(slope=x)"))),
    "finite number",
  );
  assertStringIncludes(
    String(assertThrows(() => getActivation("gelu(slope=1)"))),
    "takes no parameters",
  );
  const elu = getUnary("elu(alpha=0.5)");
  assertAlmostEquals(elu.reference(-100), -0.5, 1e-15);
});

Deno.test("apply() of a parameterised activation uses its parameter on tensors", async () => {
  const def = getUnary("leaky_relu(slope=0.2)");
  const y = def.apply(tf.tensor1d([-1, 2]));
  assertEquals(Array.from(await y.data()), [Math.fround(-0.2), 2]);
});

Deno.test("registerActivation() adds a user activation that works like a built-in", async () => {
  const def = registerActivation({
    name: "xsin_test",
    description: "x·sin(x)",
    reference: (x) => x * Math.sin(x),
    derivative: (x) => Math.sin(x) + x * Math.cos(x),
    apply: (x) => tf.mul(x, tf.sin(x)),
  });
  try {
    assertEquals(getActivation("XSIN-test").name, "xsin_test");
    assert(listActivations({ kind: "unary" }).some((d) => d.name === "xsin_test"));
    assert(!isBuiltinActivation("xsin_test"));
    const unary = getUnary("xsin_test");
    assertEquals(unary, def);
    const x = tf.tensor1d([0.5, -2]);
    const g = tf.grad((t: tf.Tensor) => unary.apply(t))(x, tf.onesLike(x));
    const got = Array.from(await g.data());
    assertAlmostEquals(got[0], unary.derivative(0.5), 1e-6);
    assertAlmostEquals(got[1], unary.derivative(-2), 1e-6);
  } finally {
    unregisterActivation("xsin_test");
  }
  assertEquals(hasActivation("xsin_test"), false);
});

Deno.test("isBuiltinActivation() resolves aliases and parameterised specs like getActivation()", () => {
  assert(isBuiltinActivation("swish"));
  assert(isBuiltinActivation("leaky_relu(slope=0.2)"));
  assert(isBuiltinActivation("GELU-tanh"));
  assert(!isBuiltinActivation("no_such_activation"));
  assert(!isBuiltinActivation("(("));
});

Deno.test("a duplicate name throws unless override is set, and override replaces", () => {
  const spec = {
    name: "dup_test",
    reference: (x: number) => 2 * x,
    apply: (x: tf.Tensor) => tf.mul(2, x),
  };
  registerActivation(spec);
  try {
    const e = String(assertThrows(() => registerActivation(spec)));
    assertStringIncludes(e, "already registered");
    assertStringIncludes(e, "override");
    registerActivation({
      ...spec,
      reference: (x: number) => 3 * x,
      apply: (x: tf.Tensor) => tf.mul(3, x),
    }, { override: true });
    assertEquals(getUnary("dup_test").reference(1), 3);
  } finally {
    unregisterActivation("dup_test");
  }
  assertStringIncludes(
    String(assertThrows(() => registerActivation({ ...spec, name: "dup2", aliases: ["swish"] }))),
    "'swish' is already registered (as silu)",
  );
});

Deno.test("a user activation without a derivative gets a finite-difference one", () => {
  registerActivation({
    name: "cube_test",
    reference: (x) => x * x * x,
    apply: (x) => tf.pow(x, 3),
  });
  try {
    assertAlmostEquals(getUnary("cube_test").derivative(2), 12, 1e-8);
  } finally {
    unregisterActivation("cube_test");
  }
});

Deno.test("a gated user activation can be built from any unary by name", async () => {
  registerActivation({ kind: "gated", name: "mishglu_test", inner: "mish" });
  try {
    const def = getGated("mishglu_test");
    assertEquals(def.inner, "mish");
    const mish = getUnary("mish");
    assertEquals(def.reference(0.7, 3), mish.reference(0.7) * 3);
    const y = def.apply(tf.tensor1d([0.7]), tf.tensor1d([3]));
    assertAlmostEquals((await y.data())[0], mish.reference(0.7) * 3, 1e-6);
  } finally {
    unregisterActivation("mishglu_test");
  }
});

Deno.test("bad registrations say what is missing", () => {
  assertStringIncludes(
    String(
      assertThrows(() =>
        registerActivation({
          name: "1bad",
          reference: (x: number) => x,
          apply: (x: tf.Tensor) => x,
        })
      ),
    ),
    "must start with a letter",
  );
  assertStringIncludes(
    String(
      assertThrows(() =>
        registerActivation({ name: "noapply", reference: (x: number) => x } as never)
      ),
    ),
    "apply(x: tf.Tensor)",
  );
  assertStringIncludes(
    String(assertThrows(() => registerActivation({ kind: "gated", name: "g_x" }))),
    "inner",
  );
  assertStringIncludes(String(assertThrows(() => unregisterActivation("gelu"))), "built in");
});

Deno.test("gated apply() rejects mismatched shapes with a way out", () => {
  const swiglu = getGated("swiglu");
  assertStringIncludes(
    String(assertThrows(() => swiglu.apply(tf.zeros([2, 3]), tf.zeros([2, 4])))),
    "same shape",
  );
});

Deno.test("every definition carries a formula, a description and its properties", () => {
  for (const def of listActivations()) {
    assert(def.formula.length > 0, def.name);
    assert(def.description.length > 0, def.name);
    assertEquals(typeof def.properties.smooth, "boolean");
    assertEquals(typeof def.onnx, "function", `${def.name} has an ONNX lowering`);
  }
  assertEquals(getActivation("relu").properties.sparse, true);
  assertEquals(getActivation("gelu").properties.monotonic, false);
  assertEquals(getActivation("silu").properties.selfGated, true);
  assertEquals(getActivation("relu6").properties.boundedAbove, true);
});
