/**
 * Trainable activations (prelu, xielu, polynorm): the gradients with respect to the input and to
 * each parameter, from the float64 derivatives, from central differences of the float64
 * references, from tfjs autodiff and from the ONNX gradient graph the compiled training step
 * uses (`GradientTape` over the lowering), all at parameter values away from the initial ones.
 * Rows of H = 8 hidden units, per-channel parameters with 8 values.
 */
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { assert } from "@std/assert";
import { getUnary, initEngine, type UnaryActivation } from "@actlab/actlab";
import { GradientTape, GraphBuilder } from "@actlab/actlab/onnx";
import { createOrtSession } from "@actlab/actlab/engine";

await initEngine({ backend: "cpu" });

const R = 6, H = 8;
/** Inputs [R, H]: a spread over [−3, 3] that avoids the kinks at 0 and −1e-6. */
const X = Array.from(
  { length: R * H },
  (_, i) => Math.fround(-3 + 6 * ((i * 37) % 48) / 47 + 0.01),
);
/** Cotangents dy [R, H]. */
const DY = Array.from({ length: R * H }, (_, i) => Math.fround(Math.sin(i + 1)));

/** Parameter values away from the inits: per channel, H values; scalars, one. */
const PARAMS: Record<string, Record<string, number[]>> = {
  prelu: { a: Array.from({ length: H }, (_, c) => -0.2 + 0.1 * c) },
  xielu: { alpha_p_raw: [0.3], alpha_n_raw: [-1.2] },
  polynorm: { w1: [0.7], w2: [-0.2], w3: [0.05], b: [0.1] },
};

/** The float64 gradients of ⟨dy, f(x; p)⟩ in x and in each parameter (summed over its uses). */
function float64Gradients(def: UnaryActivation, params: Record<string, number[]>) {
  const dx = new Array<number>(R * H).fill(0);
  const dp: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(params)) dp[k] = v.map(() => 0);
  const at = (c: number) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.length === 1 ? v[0] : v[c]]));
  for (let r = 0; r < R; r++) {
    const row = X.slice(r * H, r * H + H);
    const dyRow = DY.slice(r * H, r * H + H);
    if (def.overChannels) {
      const { dx: g, dparams } = def.overChannels.vjp(row, dyRow, at(0));
      g.forEach((v, c) => dx[r * H + c] = v);
      for (const k of Object.keys(dp)) dp[k][0] += dparams[k];
      continue;
    }
    for (let c = 0; c < H; c++) {
      dx[r * H + c] = dyRow[c] * def.derivative(row[c], at(c));
      const d = def.paramDerivative!(row[c], at(c));
      for (const k of Object.keys(dp)) dp[k][params[k].length === 1 ? 0 : c] += dyRow[c] * d[k];
    }
  }
  return { dx, dp };
}

/** ⟨dy, f(x; p)⟩ in float64. */
function objective(def: UnaryActivation, x: number[], params: Record<string, number[]>): number {
  let sum = 0;
  const at = (c: number) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.length === 1 ? v[0] : v[c]]));
  for (let r = 0; r < R; r++) {
    const row = x.slice(r * H, r * H + H);
    const y = def.overChannels
      ? def.overChannels.reference(row, at(0))
      : row.map((v, c) => def.reference(v, at(c)));
    y.forEach((v, c) => sum += DY[r * H + c] * v);
  }
  return sum;
}

/** ‖a − b‖ / ‖b‖. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

const shapeOf = (v: number[]) => (v.length === 1 ? [] : [v.length]);

for (const name of Object.keys(PARAMS)) {
  const def = getUnary(name);
  const params = PARAMS[name];
  const want = float64Gradients(def, params);

  Deno.test(`${name}: the float64 gradients in x and in each parameter match central differences to 1e-7`, () => {
    const h = 1e-6;
    const fdX = X.map((_, i) => {
      const up = [...X], down = [...X];
      up[i] += h;
      down[i] -= h;
      return (objective(def, up, params) - objective(def, down, params)) / (2 * h);
    });
    assert(relError(want.dx, fdX) < 1e-7, `dx off by ${relError(want.dx, fdX)}`);
    for (const [k, v] of Object.entries(params)) {
      const fd = v.map((_, j) => {
        const shift = (s: number) => ({ ...params, [k]: v.map((t, i) => (i === j ? t + s : t)) });
        return (objective(def, X, shift(h)) - objective(def, X, shift(-h))) / (2 * h);
      });
      assert(relError(want.dp[k], fd) < 1e-7, `d${k} off by ${relError(want.dp[k], fd)}`);
    }
  });

  Deno.test(`${name}: tfjs autodiff gives the float64 gradients in x and in each parameter (1e-5)`, async () => {
    const x = tf.tensor2d(X, [R, H]);
    const dy = tf.tensor2d(DY, [R, H]);
    const names = Object.keys(params);
    const tensors = names.map((k) => tf.tensor(params[k], shapeOf(params[k])));
    const grads = tf.grads((...args: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((k, i) => [k, args[i + 1]]));
      return def.apply(args[0], p);
    })([x, ...tensors], dy);
    const [gx, ...gp] = await Promise.all(grads.map((g) => g.data()));
    tf.dispose([x, dy, ...tensors, ...grads]);
    assert(relError(gx, want.dx) < 1e-5, `dx off by ${relError(gx, want.dx)}`);
    names.forEach((k, i) => {
      assert(relError(gp[i], want.dp[k]) < 1e-5, `d${k}: ${gp[i]} vs ${want.dp[k]}`);
    });
  });

  Deno.test(`${name}: the ONNX gradient graph (GradientTape) gives the float64 gradients (1e-5)`, async () => {
    const g = new GraphBuilder();
    const tape = new GradientTape(g);
    const names = Object.keys(params);
    const x = tape.input("x", [R, H], { requiresGrad: true });
    const p = Object.fromEntries(
      names.map((k) => [k, tape.input(`p_${k}`, shapeOf(params[k]), { requiresGrad: true })]),
    );
    tape.input("dy", [R, H]);
    const y = tape.ops.activation(def, x, p);
    const grads = tape.vjp([[y, "dy"]], [x, ...names.map((k) => p[k])]);
    g.output(grads.get(x)!, "dx");
    const outputs: Record<string, number[]> = { dx: [R, H] };
    for (const k of names) {
      g.output(grads.get(p[k])!, `d_${k}`);
      outputs[`d_${k}`] = shapeOf(params[k]);
    }
    const inputs: Record<string, number[]> = { x: [R, H], dy: [R, H] };
    for (const k of names) inputs[`p_${k}`] = shapeOf(params[k]);
    const { session } = await createOrtSession(g.model({ inputs, outputs }), { provider: "cpu" });
    const f32 = (v: number[], dims: number[]) =>
      new ort.Tensor("float32", Float32Array.from(v), dims);
    const feeds: Record<string, ort.Tensor> = { x: f32(X, [R, H]), dy: f32(DY, [R, H]) };
    for (const k of names) feeds[`p_${k}`] = f32(params[k], shapeOf(params[k]));
    const out = await session.run(feeds);
    await session.release();
    const dx = out.dx.data as Float32Array;
    assert(relError(dx, want.dx) < 1e-5, `dx off by ${relError(dx, want.dx)}`);
    for (const k of names) {
      const got = out[`d_${k}`].data as Float32Array;
      assert(relError(got, want.dp[k]) < 1e-5, `d${k}: ${[...got]} vs ${want.dp[k]}`);
    }
  });
}
