/**
 * The built-in trainable activations: activations that carry parameters of their own, which the
 * GPT creates per layer (`h.{l}.mlp.act.{name}`) and both engines train. Each entry puts the
 * float64 reference, its derivative in x and in every parameter, the tfjs forward (differentiated
 * by tfjs autodiff in x and in the parameter tensors) and the ONNX lowering side by side.
 *
 * - `prelu`: one slope per hidden unit (He et al. 2015), PyTorch's init 0.25, no weight decay
 *   (PyTorch's docs advise none on PReLU's slope).
 * - `xielu`: xIELU (Huang et al. 2024, arXiv 2411.13010), two scalars per layer in the published
 *   parameterisation: α_p = softplus(raw_p), α_n = β + softplus(raw_n), β = 0.5, ε = −1e-6.
 * - `polynorm`: PolyNorm of PolyCom (Zhuo et al. 2024, arXiv 2411.03884): Σᵢ wᵢ·rmsnorm(xⁱ) + b for
 *   i = 1, 2, 3. Not elementwise: each power is normalised over the hidden units of its row, so the
 *   entry is unary with `overChannels` (its row math); `reference(x)` is the curve at unit RMS.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sigmoid, softplus } from "./_math.ts";
import type {
  OnnxBuilder,
  RowMath,
  TrainableParamSpec,
  TrainableTensors,
  TrainableValues,
  UnaryActivation,
} from "./types.ts";

/**
 * The initial values of an activation's trainable parameters, by name (empty for a fixed one).
 *
 * @example
 * ```ts
 * import { trainableInit } from "@actlab/actlab/activations";
 * import { getUnary } from "@actlab/actlab";
 * trainableInit(getUnary("prelu")); // { a: 0.25 }
 * ```
 */
export function trainableInit(
  def: { readonly trainable?: readonly TrainableParamSpec[] },
): Record<string, number> {
  return Object.fromEntries((def.trainable ?? []).map((p) => [p.name, p.init]));
}

/** Given values over the initial ones; an unknown name throws naming the known ones. */
function valuesOf(def: UnaryActivation, given?: TrainableValues): Record<string, number> {
  const init = trainableInit(def);
  for (const k of Object.keys(given ?? {})) {
    if (!(k in init)) {
      throw new Error(
        `${def.name}: unknown trainable parameter '${k}'; it has ${Object.keys(init).join(", ")}.`,
      );
    }
  }
  return { ...init, ...given };
}

/** Parameter tensors, with float32 constants at the initial values for those not given. */
function tensorsOf(def: UnaryActivation, given?: TrainableTensors): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const p of def.trainable ?? []) out[p.name] = given?.[p.name] ?? tf.scalar(p.init);
  return out;
}

/** Parameter value names for a lowering, with constants at the initial values for those not given. */
function namesOf(
  def: UnaryActivation,
  g: OnnxBuilder,
  given?: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of def.trainable ?? []) out[p.name] = given?.[p.name] ?? g.constant(p.init);
  return out;
}

function asFloat(x: tf.Tensor): tf.Tensor {
  return x.dtype === "float32" ? x : tf.cast(x, "float32");
}

/**
 * softplus⁻¹(y) = ln(eʸ − 1), the raw value whose softplus is y.
 *
 * @example
 * ```ts
 * import { inverseSoftplus, softplus } from "@actlab/actlab/activations";
 * softplus(inverseSoftplus(0.8)); // 0.8
 * ```
 */
export function inverseSoftplus(y: number): number {
  return Math.log(Math.expm1(y));
}

// ---------------------------------------------------------------------------------------------
// PReLU

/**
 * PyTorch's initial slope of `nn.PReLU`.
 *
 * @example
 * ```ts
 * import { PRELU_INIT } from "@actlab/actlab/activations";
 * PRELU_INIT; // 0.25
 * ```
 */
export const PRELU_INIT = 0.25;

/**
 * Parametric ReLU: x for x > 0, a·x otherwise, with a learned slope a per hidden unit (PyTorch's
 * `nn.PReLU(num_parameters=H)`, init 0.25). Derivatives follow PyTorch: ∂/∂x = 1 (x > 0) or a,
 * ∂/∂a = 0 (x > 0) or x.
 *
 * @example
 * ```ts
 * import { getUnary } from "@actlab/actlab";
 * const prelu = getUnary("prelu");
 * prelu.reference(-2); // -0.5 (slope 0.25)
 * prelu.reference(-2, { a: 0.1 }); // -0.2
 * prelu.paramDerivative!(-2); // { a: -2 }
 * ```
 */
export const prelu: UnaryActivation = {
  kind: "unary",
  name: "prelu",
  aliases: ["parametric_relu"],
  description: "Leaky ReLU whose negative slope is learned, one per hidden unit.",
  formula: String.raw`\begin{cases} x & x > 0 \\ a_c\,x & x \le 0 \end{cases}`,
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: true,
    smooth: false,
    selfGated: false,
    sparse: false,
  },
  source: "He et al. 2015",
  kinks: [0],
  trainable: [{
    name: "a",
    shape: "channel",
    init: PRELU_INIT,
    decay: false,
    description: "negative slope of each hidden unit",
  }],
  reference(x, params) {
    const { a } = valuesOf(prelu, params);
    return x > 0 ? x : a * x;
  },
  derivative(x, params) {
    const { a } = valuesOf(prelu, params);
    return x > 0 ? 1 : Number.isNaN(x) ? NaN : a;
  },
  paramDerivative: (x) => ({ a: x > 0 ? 0 : x }),
  apply(x, params) {
    const input = asFloat(x);
    const { a } = tensorsOf(prelu, params);
    // relu(x) + a·min(x, 0): at 0, ∂/∂x = a (min's tie goes to x) and ∂/∂a = 0, as PyTorch
    return tf.add(tf.relu(input), tf.mul(a, tf.minimum(input, 0)));
  },
  onnx(g, x, params) {
    const { a } = namesOf(prelu, g, params);
    return g.op("PRelu", [x, a]);
  },
};

// ---------------------------------------------------------------------------------------------
// xIELU

/**
 * xIELU's fixed constants: β = 0.5, ε = −1e-6 (as float32, the value a float32 graph holds) and
 * the initial α_p = α_n = 0.8.
 *
 * @example
 * ```ts
 * import { XIELU } from "@actlab/actlab/activations";
 * XIELU.beta; // 0.5
 * ```
 */
export const XIELU: {
  readonly beta: number;
  readonly eps: number;
  readonly alphaInit: number;
} = { beta: 0.5, eps: Math.fround(-1e-6), alphaInit: 0.8 };

/**
 * xIELU (arXiv 2411.13010, as HF transformers' `XIELUActivation`): α_p·x² + β·x for x > 0, else
 * α_n·(expm1(min(x, ε)) − x) + β·x, with α_p = softplus(α_p_raw), α_n = β + softplus(α_n_raw),
 * β = 0.5, ε = −1e-6; α_p and α_n start at 0.8, so the raw parameters start at
 * ln(expm1(0.8)) and ln(expm1(0.3)). Two scalars per layer, no weight decay.
 *
 * @example
 * ```ts
 * import { getUnary } from "@actlab/actlab";
 * const xielu = getUnary("xielu");
 * xielu.reference(2); // 0.8·4 + 0.5·2 = 4.2
 * xielu.trainable!.map((p) => p.value!.of(p.init)); // [0.8, 0.8]
 * ```
 */
export const xielu: UnaryActivation = {
  kind: "unary",
  name: "xielu",
  description: "Trainable: quadratic above 0, an integrated ELU below, learned α_p and α_n.",
  formula: String.raw`\begin{cases} \alpha_p x^2 + \beta x & x > 0 \\ ` +
    String.raw`\alpha_n(e^{\min(x,\varepsilon)} - 1 - x) + \beta x & x \le 0 \end{cases}`,
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: false,
    smooth: false,
    selfGated: false,
    sparse: false,
  },
  source: "Huang et al. 2024 (arXiv 2411.13010)",
  kinks: [XIELU.eps, 0],
  trainable: [
    {
      name: "alpha_p_raw",
      shape: "scalar",
      init: inverseSoftplus(XIELU.alphaInit),
      decay: false,
      description: "softplus⁻¹ of α_p, the curvature above 0",
      value: { name: "alpha_p", of: (raw) => softplus(raw) },
    },
    {
      name: "alpha_n_raw",
      shape: "scalar",
      init: inverseSoftplus(XIELU.alphaInit - XIELU.beta),
      decay: false,
      description: "softplus⁻¹ of α_n − β, the scale below 0",
      value: { name: "alpha_n", of: (raw) => XIELU.beta + softplus(raw) },
    },
  ],
  reference(x, params) {
    const v = valuesOf(xielu, params);
    const { beta, eps } = XIELU;
    if (x > 0) return softplus(v.alpha_p_raw) * x * x + beta * x;
    const alphaN = beta + softplus(v.alpha_n_raw);
    // α_n·(expm1(min(x, ε)) − x) + βx, grouped so x = −∞ gives the limit +∞ (α_n > β)
    return alphaN * Math.expm1(Math.min(x, eps)) + (beta - alphaN) * x;
  },
  // f′ = 2α_p·x + β (x > 0); α_n·(eˣ·[x ≤ ε] − 1) + β otherwise (min's gradient goes to x at a tie)
  derivative(x, params) {
    const v = valuesOf(xielu, params);
    const { beta, eps } = XIELU;
    if (x > 0) return 2 * softplus(v.alpha_p_raw) * x + beta;
    if (Number.isNaN(x)) return NaN;
    const alphaN = beta + softplus(v.alpha_n_raw);
    return alphaN * ((x <= eps ? Math.exp(x) : 0) - 1) + beta;
  },
  // ∂f/∂raw = ∂f/∂α · σ(raw) (softplus′ = σ)
  paramDerivative(x, params) {
    const v = valuesOf(xielu, params);
    return x > 0 ? { alpha_p_raw: x * x * sigmoid(v.alpha_p_raw), alpha_n_raw: 0 } : {
      alpha_p_raw: 0,
      alpha_n_raw: (Math.expm1(Math.min(x, XIELU.eps)) - x) * sigmoid(v.alpha_n_raw),
    };
  },
  apply(x, params) {
    const input = asFloat(x);
    const p = tensorsOf(xielu, params);
    const beta = tf.scalar(XIELU.beta);
    const alphaP = tf.softplus(p.alpha_p_raw);
    const spN = tf.softplus(p.alpha_n_raw);
    const alphaN = tf.add(beta, spN);
    // β·relu(x) + α_p·relu(x)² + (β − α_n)·min(x, 0) + α_n·(expm1(min(x, ε)) − [x > 0]·expm1(ε)):
    // each branch vanishes exactly on the other side (the expm1(ε) terms cancel bit for bit), no
    // ∞ − ∞ at ±∞, and no where (tfjs's Greater has no gradient)
    const pos = tf.relu(input);
    const neg = tf.minimum(input, 0);
    const eps = tf.scalar(XIELU.eps);
    const below = tf.sub(
      tf.expm1(tf.minimum(input, eps)),
      tf.mul(tf.step(input, 0), tf.expm1(eps)),
    );
    return tf.addN([
      tf.mul(beta, pos),
      tf.mul(alphaP, tf.square(pos)),
      tf.mul(tf.neg(spN), neg), // β − α_n = −softplus(α_n_raw)
      tf.mul(alphaN, below),
    ]);
  },
  onnx(g, x, params) {
    const p = namesOf(xielu, g, params);
    const beta = g.constant(XIELU.beta);
    const alphaP = g.op("Softplus", [p.alpha_p_raw]);
    const alphaN = g.op("Add", [g.op("Softplus", [p.alpha_n_raw]), beta]);
    const linear = g.op("Mul", [x, beta]);
    const pos = g.op("Add", [g.op("Mul", [g.op("Mul", [x, x]), alphaP]), linear]);
    // expm1 as Exp − 1: ≤ 6e-8 absolute off expm1 in float32, far below the 1e-6 checks
    const m = g.op("Min", [x, g.constant(XIELU.eps)]);
    // α_n·(eᵐ − 1) + (β − α_n)·x: no ∞ − ∞ at x = −∞
    const em1 = g.op("Sub", [g.op("Exp", [m]), g.constant(1)]);
    const neg = g.op("Add", [
      g.op("Mul", [em1, alphaN]),
      g.op("Mul", [x, g.op("Sub", [beta, alphaN])]),
    ]);
    return g.op("Where", [g.op("Greater", [x, g.constant(0)]), pos, neg]);
  },
};

// ---------------------------------------------------------------------------------------------
// PolyNorm

/**
 * PolyNorm's RMSNorm epsilon (PolyCom's default).
 *
 * @example
 * ```ts
 * import { POLYNORM_EPS } from "@actlab/actlab/activations";
 * POLYNORM_EPS; // 1e-6
 * ```
 */
export const POLYNORM_EPS = 1e-6;
const POLY_WEIGHTS = ["w1", "w2", "w3"] as const;

/** The row math of PolyNorm: y = Σᵢ wᵢ·xⁱ/√(mean(x²ⁱ) + ε) + b, and its vector-Jacobian product. */
const polynormRows: RowMath = {
  reference(row, params) {
    const v = valuesOf(polynorm, params);
    const n = row.length;
    const y = new Array<number>(n).fill(v.b);
    for (let k = 1; k <= 3; k++) {
      const pw = row.map((x) => x ** k);
      const r = 1 / Math.sqrt(pw.reduce((s, t) => s + t * t, 0) / n + POLYNORM_EPS);
      const w = v[POLY_WEIGHTS[k - 1]];
      for (let i = 0; i < n; i++) y[i] += w * pw[i] * r;
    }
    return y;
  },
  vjp(row, dy, params) {
    const v = valuesOf(polynorm, params);
    const n = row.length;
    const dx = new Array<number>(n).fill(0);
    const dparams: Record<string, number> = { b: dy.reduce((s, t) => s + t, 0) };
    for (let k = 1; k <= 3; k++) {
      // u = p·r, p = xᵏ, r = (mean p² + ε)^(−½): ∂⟨g, u⟩/∂p = r·g − r³·p·⟨g, p⟩/n, g = w·dy
      const pw = row.map((x) => x ** k);
      const r = 1 / Math.sqrt(pw.reduce((s, t) => s + t * t, 0) / n + POLYNORM_EPS);
      const w = v[POLY_WEIGHTS[k - 1]];
      const dotDyP = dy.reduce((s, t, i) => s + t * pw[i], 0);
      dparams[POLY_WEIGHTS[k - 1]] = dotDyP * r;
      for (let i = 0; i < n; i++) {
        const dp = w * (r * dy[i] - r ** 3 * pw[i] * dotDyP / n);
        dx[i] += dp * k * row[i] ** (k - 1);
      }
    }
    return { dx, dparams };
  },
};

/**
 * PolyNorm (PolyCom, arXiv 2411.03884): Σᵢ₌₁³ wᵢ·rmsnorm(xⁱ) + b, each power normalised over the
 * hidden units of its row (RMSNorm without a gain, ε = 1e-6); w₁ = w₂ = w₃ = 1/3 and b = 0 at
 * init, four scalars per layer without weight decay. Not elementwise: `overChannels` is its row
 * math, and `reference(x)` the elementwise curve at unit RMS (w₁x + w₂x² + w₃x³ + b), for plots.
 *
 * @example
 * ```ts
 * import { getUnary } from "@actlab/actlab";
 * const polynorm = getUnary("polynorm");
 * polynorm.overChannels !== undefined; // true: it normalises over the hidden units
 * polynorm.overChannels!.reference([1, -1]); // ≈ [1, -1/3]: x, x², x³ each already at unit RMS
 * ```
 */
export const polynorm: UnaryActivation = {
  kind: "unary",
  name: "polynorm",
  aliases: ["poly_norm"],
  description: "Trainable, over channels: a learned mix of x, x², x³, each RMS-normalised.",
  formula: String
    .raw`\sum_{i=1}^{3} w_i\,\frac{x^i}{\sqrt{\langle x^{2i}\rangle_c + \epsilon}} + b`,
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: false,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "Zhuo et al. 2024, PolyCom (arXiv 2411.03884)",
  kinks: [],
  trainable: [
    ...POLY_WEIGHTS.map((name, i): TrainableParamSpec => ({
      name,
      shape: "scalar",
      init: 1 / 3,
      decay: false,
      description: `weight of the normalised x${["", "²", "³"][i]}`,
    })),
    { name: "b", shape: "scalar", init: 0, decay: false, description: "bias" },
  ],
  overChannels: polynormRows,
  reference(x, params) {
    const v = valuesOf(polynorm, params);
    return ((v.w3 * x + v.w2) * x + v.w1) * x + v.b; // Horner: the limits at ±∞ hold
  },
  derivative(x, params) {
    const v = valuesOf(polynorm, params);
    return (3 * v.w3 * x + 2 * v.w2) * x + v.w1;
  },
  apply(x, params) {
    const input = asFloat(x);
    const p = tensorsOf(polynorm, params);
    const norm = (t: tf.Tensor) =>
      tf.mul(t, tf.rsqrt(tf.add(tf.mean(tf.square(t), -1, true), POLYNORM_EPS)));
    const x2 = tf.square(input);
    const x3 = tf.mul(x2, input);
    const mix = tf.addN([
      tf.mul(p.w1, norm(input)),
      tf.mul(p.w2, norm(x2)),
      tf.mul(p.w3, norm(x3)),
    ]);
    return tf.add(mix, p.b);
  },
  onnx(g, x, params) {
    const p = namesOf(polynorm, g, params);
    // RMSNorm over the last axis; the axes as a Constant node (OnnxBuilder makes float scalars)
    const last = g.op("Constant", [], { value_ints: [-1] });
    const norm = (t: string) => {
      const ms = g.op("ReduceMean", [g.op("Mul", [t, t]), last], { keepdims: 1 });
      return g.op("Div", [t, g.op("Sqrt", [g.op("Add", [ms, g.constant(POLYNORM_EPS)])])]);
    };
    const x2 = g.op("Mul", [x, x]);
    const x3 = g.op("Mul", [x2, x]);
    const sum = g.op("Add", [
      g.op("Add", [g.op("Mul", [norm(x), p.w1]), g.op("Mul", [norm(x2), p.w2])]),
      g.op("Mul", [norm(x3), p.w3]),
    ]);
    return g.op("Add", [sum, p.b]);
  },
};

/**
 * Every built-in trainable activation, in the order tables list them (after the fixed unary ones).
 *
 * @example
 * ```ts
 * import { BUILTIN_TRAINABLE } from "@actlab/actlab/activations";
 * BUILTIN_TRAINABLE.map((d) => d.name); // ["prelu", "xielu", "polynorm"]
 * ```
 */
export const BUILTIN_TRAINABLE: readonly UnaryActivation[] = [prelu, xielu, polynorm];
