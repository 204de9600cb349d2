/**
 * Finite-difference checks of ONNX backward rules on ONNX Runtime (CPU): a graph computes outputs
 * y and, from cotangents r fed as inputs, the vector-Jacobian product ∂⟨r, y⟩/∂x of each
 * differentiated input x. The check perturbs each element of x by ±h, evaluates ⟨r, y⟩ with the
 * same graph, and compares the central difference with the graph's gradient.
 *
 * Float64 graphs (ONNX DOUBLE) where ONNX Runtime's CPU kernels take doubles: h = 1e-5, so the
 * difference is good to about 1e-10 relative and tolerances can be tight. Float32 graphs for ops
 * that only have float kernels: h = 2⁻⁷ on inputs of magnitude ≤ 4, so rounding (≈ 6e-8 of each
 * output, divided by 2h) and the truncation error (h²·f‴/6) each stay near 1e-5 relative.
 */
import * as ort from "onnxruntime-node";
import { createRng, type Rng } from "@actlab/actlab/core";
import { createOrtSession } from "@actlab/actlab/engine";
import { type FloatType, GraphBuilder, type ValueSpec } from "@actlab/actlab/onnx";

/**
 * Relative error allowed, ‖VJP − differences‖₂ / ‖differences‖₂. Seen over the rule tests:
 * ≤ 3e-10 in float64 graphs, ≤ 3e-5 in float32 ones (Softsign near its steep middle).
 */
export const FD_TOLERANCE = { float64: 1e-8, float32: 2e-4 } as const;

/** A float input: its shape, how its values are drawn, and whether it is differentiated. */
export interface FloatInput {
  readonly shape: readonly number[];
  /** Values are drawn uniformly from [lo, hi]. Default [−2, 2]. */
  readonly range?: readonly [lo: number, hi: number];
  /** Points (kinks) the values keep a distance ≥ 0.1 from, so x ± h never straddles one. */
  readonly avoid?: readonly number[];
  /** Whether the check differentiates with respect to it. Default true. */
  readonly grad?: boolean;
}

/** An int32 input (ids, targets) drawn uniformly from [0, below). */
export interface IntInput {
  readonly shape: readonly number[];
  readonly below: number;
}

/** What a check's graph gives back. */
export interface Built {
  /** Outputs y with their shapes; output i reads its cotangent from {@link cotangent}(i). */
  readonly outputs: readonly (readonly [name: string, shape: readonly number[]])[];
  /** The gradient value of each differentiated input. */
  readonly grads: ReadonlyMap<string, string>;
  /** True when the graph seeds its backward pass itself with 1 (a scalar loss, no cotangent). */
  readonly seeded?: boolean;
}

/** A finite-difference check of one graph. */
export interface GradientCheck {
  readonly floatType: FloatType;
  readonly inputs: Readonly<Record<string, FloatInput | IntInput>>;
  /** Emits the forward and backward nodes into `g`; inputs are graph inputs of the same names. */
  build(g: GraphBuilder): Built;
  /** Whether cotangent entry `i` of output `k` is zero (e.g. where y is −∞). Default: none. */
  readonly zeroCotangent?: (k: number, i: number) => boolean;
  /** Open a fresh session per evaluation (an op with a seeded random stream: dropout). */
  readonly freshSessions?: boolean;
  /** Seed of the input values and cotangents. Default 1. */
  readonly seed?: number;
}

/** The name of output `k`'s cotangent input. */
export const cotangent = (k: number): string => `cotangent_${k}`;

/** Per differentiated input: the graph's gradient, the finite differences, and how they differ. */
export interface CheckResult {
  readonly grad: Float64Array;
  readonly fd: Float64Array;
  /** ‖grad − fd‖₂ / ‖fd‖₂. */
  readonly relError: number;
  /** ‖fd‖₂, to tell a vanishing gradient apart. */
  readonly norm: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function draw(rng: Rng, spec: FloatInput, n: number, floatType: FloatType): Float64Array {
  const [lo, hi] = spec.range ?? [-2, 2];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = lo + (hi - lo) * rng.float(); while (spec.avoid?.some((k) => Math.abs(v - k) < 0.1));
    out[i] = floatType === "float32" ? Math.fround(v) : v;
  }
  return out;
}

/**
 * Runs a check: the graph's gradient and central differences per differentiated input.
 */
export async function gradientCheck(check: GradientCheck): Promise<Map<string, CheckResult>> {
  const { floatType } = check;
  const g = new GraphBuilder({ floatType });
  const built = check.build(g);
  const rng = createRng(check.seed ?? 1);
  const values = new Map<string, Float64Array | Int32Array>();
  const inputs: Record<string, ValueSpec> = {};
  for (const [name, spec] of Object.entries(check.inputs)) {
    const n = size(spec.shape);
    if ("below" in spec) {
      values.set(name, Int32Array.from({ length: n }, () => rng.int(spec.below)));
      inputs[name] = { dims: [...spec.shape], type: "int32" };
    } else {
      values.set(name, draw(rng, spec, n, floatType));
      inputs[name] = [...spec.shape];
    }
  }
  const round = (v: number) => floatType === "float32" ? Math.fround(v) : v;
  const cotangents = built.outputs.map(([, shape], k) =>
    Float64Array.from({ length: size(shape) }, (_, i) => {
      if (built.seeded) return 1;
      return check.zeroCotangent?.(k, i) ? 0 : round(rng.float() * 2 - 1);
    })
  );
  if (!built.seeded) {
    built.outputs.forEach(([, shape], k) => inputs[cotangent(k)] = [...shape]);
  }
  const outputs: Record<string, ValueSpec> = {};
  built.outputs.forEach(([name, shape], k) => outputs[g.output(name, `y_${k}`)] = [...shape]);
  for (const [name, grad] of built.grads) {
    outputs[g.output(grad, `grad_${name}`)] = [...(check.inputs[name].shape)];
  }
  const bytes = g.model({ inputs, outputs });
  const open = async () => (await createOrtSession(bytes, { provider: "cpu", threads: 1 })).session;
  let session = await open();
  const tensorType = floatType === "float32" ? "float32" : "float64";
  const tensor = (data: Float64Array | Int32Array, shape: readonly number[]) =>
    data instanceof Int32Array ? new ort.Tensor("int32", data, [...shape]) : new ort.Tensor(
      tensorType,
      floatType === "float32" ? Float32Array.from(data) : data,
      [...shape],
    );
  const run = async (vals: Map<string, Float64Array | Int32Array>) => {
    if (check.freshSessions) {
      await session.release();
      session = await open();
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, spec] of Object.entries(check.inputs)) {
      feeds[name] = tensor(vals.get(name)!, spec.shape);
    }
    if (!built.seeded) {
      built.outputs.forEach(([, shape], k) => feeds[cotangent(k)] = tensor(cotangents[k], shape));
    }
    return await session.run(feeds);
  };
  /** ⟨r, y⟩ over the entries with a nonzero cotangent. */
  const objective = (out: ort.InferenceSession.OnnxValueMapType) => {
    let sum = 0;
    built.outputs.forEach((_, k) => {
      const y = out[`y_${k}`].data as Float32Array | Float64Array;
      const r = cotangents[k];
      for (let i = 0; i < y.length; i++) if (r[i] !== 0) sum += r[i] * y[i];
    });
    return sum;
  };
  try {
    const base = await run(values);
    const results = new Map<string, CheckResult>();
    const h = floatType === "float32" ? 2 ** -7 : 1e-5;
    for (const name of built.grads.keys()) {
      const grad = Float64Array.from(base[`grad_${name}`].data as Float32Array | Float64Array);
      const x = values.get(name) as Float64Array;
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i];
        const up = round(x0 + h), down = round(x0 - h);
        x[i] = up;
        const fUp = objective(await run(values));
        x[i] = down;
        const fDown = objective(await run(values));
        x[i] = x0;
        fd[i] = (fUp - fDown) / (up - down);
      }
      let d = 0, n = 0;
      for (let i = 0; i < fd.length; i++) {
        d += (grad[i] - fd[i]) ** 2;
        n += fd[i] ** 2;
      }
      results.set(name, {
        grad,
        fd,
        relError: Math.sqrt(d) / Math.sqrt(n),
        norm: Math.sqrt(n),
      });
    }
    return results;
  } finally {
    await session.release();
  }
}
