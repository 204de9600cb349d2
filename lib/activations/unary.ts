/**
 * The built-in unary activations. Each entry puts the float64 reference and its derivative next
 * to the tfjs forward and gradient, so one can be read against the other; an entry with `math`
 * writes f and f′ once, over the algebra of `_algebra.ts`, and all four (plus, with
 * `fused: true`, its WGSL and C kernels) derive from it.
 *
 * Derivatives at kinks follow PyTorch's autograd (relu'(0) = 0, relu6'(6) = 0,
 * hardswish'(±3) = the inner formula), so gradients match a PyTorch reference bit for bit in
 * convention.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { gateProduct } from "./_algebra.ts";
import type { Algebra, UnaryMath } from "./_algebra.ts";
import { defineUnary } from "./_build.ts";
import { registerCpuKernels } from "./_fused_cpu.ts";
import { registerWasmKernels } from "./_fused_wasm.ts";
import { registerWebgpuKernels } from "./_fused_webgpu.ts";
import type { BuiltUnary } from "./_build.ts";
import { gateProduct as gateProduct64, sigmoid, softplus, SQRT_2_OVER_PI } from "./_math.ts";
import type { ActivationParams, ActivationProperties, OnnxBuilder } from "./types.ts";

const SMOOTH_SELF_GATED: ActivationProperties = {
  boundedBelow: true,
  boundedAbove: false,
  monotonic: false,
  smooth: true,
  selfGated: true,
  sparse: false,
};

const RELU_LIKE: ActivationProperties = {
  boundedBelow: true,
  boundedAbove: false,
  monotonic: true,
  smooth: false,
  selfGated: false,
  sparse: true,
};

function step(x: number, atZero = 0): number {
  return x > 0 ? 1 : x < 0 ? 0 : Number.isNaN(x) ? NaN : atZero;
}

/**
 * y with NaN wherever x is NaN. The clip kernels of tfjs-wasm and tfjs-webgpu (min/max)
 * return a bound for NaN; the math (and PyTorch) propagate it.
 */
function keepNaN(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.where(tf.isNaN(x), x, y);
}

/** 1 where lo < x < hi, 0 elsewhere (PyTorch's hardtanh backward mask). */
function openMask(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  return tf.cast(tf.logicalAnd(tf.greater(x, lo), tf.less(x, hi)), "float32");
}

function checkParams(name: string, given: ActivationParams, known: ActivationParams): void {
  const unknown = Object.keys(given).filter((k) => !(k in known));
  if (unknown.length > 0) {
    throw new Error(
      `${name}: unknown parameter ${unknown.map((k) => `'${k}'`).join(", ")}; ` +
        `it takes ${Object.keys(known).map((k) => `'${k}'`).join(", ")}.`,
    );
  }
  for (const [k, v] of Object.entries(given)) {
    if (!Number.isFinite(v)) throw new Error(`${name}: parameter '${k}' must be finite, got ${v}.`);
  }
}

/** Name of a parameterised activation: the plain name at default values, else `name(k=v)`. */
function paramName(base: string, params: ActivationParams, defaults: ActivationParams): string {
  const changed = Object.entries(params).filter(([k, v]) => defaults[k] !== v);
  return changed.length === 0 ? base : `${base}(${changed.map(([k, v]) => `${k}=${v}`).join(",")})`;
}

/**
 * σ(x) as ONNX nodes: 1/(1 + e^(−x)). ONNX Runtime's own Sigmoid kernel (MLAS) is a clamped
 * rational approximation with 2e-3 relative error near x = −10 (measured with ORT 1.30);
 * Exp and Reciprocal are accurate to 1.2e-7 there.
 */
export function sigmoidOnnx(g: OnnxBuilder, x: string): string {
  return g.op("Reciprocal", [g.op("Add", [g.constant(1), g.op("Exp", [g.op("Neg", [x])])])]);
}

/** Identity: f(x) = x (the linear MLP baseline). */
export const identity: BuiltUnary = defineUnary({
  name: "identity",
  aliases: ["linear", "none"],
  description: "No nonlinearity: the MLP collapses to a linear map.",
  formula: "x",
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  reference: (x) => x,
  derivative: (x) => (Number.isNaN(x) ? NaN : 1),
  forward: (x) => tf.clone(x),
  gradient: (x) => tf.onesLike(x),
  onnx: (g, x) => g.op("Identity", [x]),
});

/** Rectified linear unit: max(0, x). */
export const relu: BuiltUnary = defineUnary({
  name: "relu",
  description: "Cheap and sparse; shifts the mean positive and units can die.",
  formula: String.raw`\max(0, x)`,
  properties: RELU_LIKE,
  source: "Nair & Hinton 2010",
  kinks: [0],
  reference: (x) => (x > 0 ? x : Number.isNaN(x) ? NaN : 0),
  derivative: (x) => step(x),
  forward: (x) => tf.relu(x),
  gradient: (x) => tf.step(x, 0),
  onnx: (g, x) => g.op("Relu", [x]),
});

/** ReLU capped at 6: min(max(0, x), 6). */
export const relu6: BuiltUnary = defineUnary({
  name: "relu6",
  description: "ReLU clipped at 6 (MobileNet); bounded, so robust to low precision.",
  formula: String.raw`\min(\max(0, x), 6)`,
  properties: { ...RELU_LIKE, boundedAbove: true },
  source: "Krizhevsky 2010",
  kinks: [0, 6],
  reference: (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, 0), 6)),
  derivative: (x) => (Number.isNaN(x) ? NaN : x > 0 && x < 6 ? 1 : 0),
  forward: (x) => keepNaN(x, tf.relu6(x)),
  gradient: (x) => openMask(x, 0, 6),
  onnx: (g, x) => g.op("Clip", [x, g.constant(0), g.constant(6)]),
});

const LEAKY_DEFAULTS = { slope: 0.01 };

/** Leaky ReLU with negative slope `slope` (default 0.01): x for x > 0, slope·x otherwise. */
export function leakyRelu(params: ActivationParams = LEAKY_DEFAULTS): BuiltUnary {
  checkParams("leaky_relu", params, LEAKY_DEFAULTS);
  const { slope } = { ...LEAKY_DEFAULTS, ...params };
  return defineUnary({
    name: paramName("leaky_relu", { slope }, LEAKY_DEFAULTS),
    aliases: slope === LEAKY_DEFAULTS.slope ? ["leakyrelu", "lrelu"] : [],
    description: `ReLU with slope ${slope} for x < 0, so no unit dies.`,
    formula: String.raw`\begin{cases} x & x > 0 \\ ${slope}\,x & x \le 0 \end{cases}`,
    properties: { ...RELU_LIKE, boundedBelow: slope === 0, sparse: slope === 0 },
    source: "Maas et al. 2013",
    params: { slope },
    withParams: (p) => leakyRelu({ slope, ...p }),
    kinks: [0],
    reference: (x) => (x > 0 ? x : slope * x),
    derivative: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : slope),
    forward: (x) => tf.leakyRelu(x, slope),
    gradient: (x) => tf.step(x, slope),
    onnx: (g, x) => g.op("LeakyRelu", [x], { alpha: slope }),
  });
}

const ELU_DEFAULTS = { alpha: 1 };

/** Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise (α = 1 by default). */
export function elu(params: ActivationParams = ELU_DEFAULTS): BuiltUnary {
  checkParams("elu", params, ELU_DEFAULTS);
  const { alpha } = { ...ELU_DEFAULTS, ...params };
  return defineUnary({
    name: paramName("elu", { alpha }, ELU_DEFAULTS),
    description: "Smooth negative saturation at −α pushes mean activations toward zero.",
    formula: String.raw`\begin{cases} x & x > 0 \\ \alpha(e^x - 1) & x \le 0 \end{cases}`,
    properties: {
      boundedBelow: true,
      boundedAbove: false,
      monotonic: alpha >= 0,
      smooth: alpha === 1,
      selfGated: false,
      sparse: false,
    },
    source: "Clevert et al. 2015",
    params: { alpha },
    withParams: (p) => elu({ alpha, ...p }),
    kinks: [0],
    reference: (x) => (x > 0 ? x : alpha * Math.expm1(x)),
    derivative: (x) => (x > 0 ? 1 : alpha * Math.exp(x)),
    forward: (x) => tf.where(tf.greater(x, 0), x, tf.mul(alpha, tf.expm1(x))),
    gradient: (x) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.mul(alpha, tf.exp(x))),
    onnx: (g, x) => g.op("Elu", [x], { alpha }),
  });
}

/** SELU's λ and α (Klambauer et al. 2017), to float64 precision. */
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** Scaled ELU: λ·elu_α(x) with the self-normalising constants. */
export const selu: BuiltUnary = defineUnary({
  name: "selu",
  description: "ELU scaled so activations self-normalise toward zero mean, unit variance.",
  formula: String.raw`\lambda\begin{cases} x & x > 0 \\ \alpha(e^x - 1) & x \le 0 \end{cases}`,
  properties: {
    boundedBelow: true,
    boundedAbove: false,
    monotonic: true,
    smooth: false,
    selfGated: false,
    sparse: false,
  },
  source: "Klambauer et al. 2017",
  kinks: [0],
  reference: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
  derivative: (x) => SELU_SCALE * (x > 0 ? 1 : SELU_ALPHA * Math.exp(x)),
  forward: (x) =>
    tf.mul(SELU_SCALE, tf.where(tf.greater(x, 0), x, tf.mul(SELU_ALPHA, tf.expm1(x)))),
  gradient: (x) =>
    tf.where(
      tf.greater(x, 0),
      tf.fill(x.shape, SELU_SCALE),
      tf.mul(SELU_SCALE * SELU_ALPHA, tf.exp(x)),
    ),
  onnx: (g, x) => g.op("Selu", [x], { alpha: SELU_ALPHA, gamma: SELU_SCALE }),
});

const CELU_DEFAULTS = { alpha: 1 };

/** Continuously differentiable ELU: x for x > 0, α(e^(x/α) − 1) otherwise. */
export function celu(params: ActivationParams = CELU_DEFAULTS): BuiltUnary {
  checkParams("celu", params, CELU_DEFAULTS);
  const { alpha } = { ...CELU_DEFAULTS, ...params };
  if (alpha === 0) throw new Error("celu: alpha must be non-zero (it divides x).");
  return defineUnary({
    name: paramName("celu", { alpha }, CELU_DEFAULTS),
    description: "ELU reparameterised so its derivative is continuous for every α.",
    formula: String.raw`\begin{cases} x & x > 0 \\ \alpha(e^{x/\alpha} - 1) & x \le 0 \end{cases}`,
    properties: {
      boundedBelow: alpha > 0,
      boundedAbove: false,
      monotonic: true,
      smooth: true,
      selfGated: false,
      sparse: false,
    },
    source: "Barron 2017",
    params: { alpha },
    withParams: (p) => celu({ alpha, ...p }),
    kinks: [0],
    reference: (x) => (x > 0 ? x : alpha * Math.expm1(x / alpha)),
    derivative: (x) => (x > 0 ? 1 : Math.exp(x / alpha)),
    forward: (x) => tf.where(tf.greater(x, 0), x, tf.mul(alpha, tf.expm1(tf.div(x, alpha)))),
    gradient: (x) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(tf.div(x, alpha))),
    onnx: (g, x) => g.op("Celu", [x], { alpha }),
  });
}

/** GELU, exact form: x·Φ(x) with Φ the standard normal CDF (erf). */
export const gelu: BuiltUnary = defineUnary({
  name: "gelu",
  aliases: ["gelu_exact", "gelu_erf", "gelu_python"],
  description: "x weighted by the probability a standard normal is below it; the GPT default.",
  formula: String.raw`x\,\Phi(x) = \tfrac{x}{2}\left(1 + \operatorname{erf}(x/\sqrt{2})\right)`,
  properties: SMOOTH_SELF_GATED,
  source: "Hendrycks & Gimpel 2016",
  // f = x·Φ(x),  f′ = Φ(x) + x·φ(x)
  math: {
    f: (m, x) => m.gate(x, m.normalCdf(x)),
    df: (m, x) => m.add(m.normalCdf(x), m.gate(x, m.normalPdf(x))),
  },
  fused: true,
  onnx: (g, x) => g.op("Gelu", [x], { approximate: "none" }),
});

/** The cubic constant of the tanh approximation of GELU. */
export const GELU_TANH_CUBIC = 0.044715;

const GELU_TANH_DEFAULTS = { cubic: GELU_TANH_CUBIC };

/**
 * GELU, tanh approximation: 0.5x(1 + tanh(√(2/π)(x + c·x³))), c = 0.044715. The constant is a
 * parameter so the cost of a typo can be measured: `gelu_tanh(cubic=0.44715)`.
 */
export function geluTanhWith(params: ActivationParams = GELU_TANH_DEFAULTS): BuiltUnary {
  checkParams("gelu_tanh", params, GELU_TANH_DEFAULTS);
  const { cubic } = { ...GELU_TANH_DEFAULTS, ...params };
  const standard = cubic === GELU_TANH_CUBIC;
  // 0.5(1 + tanh u) = σ(2u): no 1 + tanh cancellation for negative x.
  // 2u(x) = 2√(2/π)(x + c·x³) and its slope 2u′(x) = 2√(2/π)(1 + 3c·x²).
  const u2 = <T>(m: Algebra<T>, x: T) =>
    m.mul(m.c(2 * SQRT_2_OVER_PI), m.add(x, m.mul(m.mul(m.mul(m.c(cubic), x), x), x)));
  const du2 = <T>(m: Algebra<T>, x: T) =>
    m.mul(m.c(2 * SQRT_2_OVER_PI), m.add(m.c(1), m.mul(m.mul(m.c(3 * cubic), x), x)));
  return defineUnary({
    name: paramName("gelu_tanh", { cubic }, GELU_TANH_DEFAULTS),
    aliases: standard
      ? [
        "gelu_new",
        "gelu_pytorch_tanh",
        "gelu_fast",
        "gelu_approx",
        "approximate_gelu",
        "gelu_approximate",
      ]
      : [],
    description: standard
      ? "GPT-2's tanh approximation of GELU; differs from the exact form by < 5e-4."
      : `tanh-GELU with cubic constant ${cubic} instead of 0.044715.`,
    formula: String
      .raw`\tfrac{x}{2}\left(1 + \tanh\!\left(\sqrt{2/\pi}\,(x + ${cubic}\,x^3)\right)\right)`,
    properties: SMOOTH_SELF_GATED,
    source: "Hendrycks & Gimpel 2016",
    params: { cubic },
    withParams: (p) => geluTanhWith({ cubic, ...p }),
    math: {
      // f = x·σ(2u),  f′ = σ(2u) + x·2u′·σ′(2u)
      f: (m, x) => m.gate(x, m.sigmoid(u2(m, x))),
      df: (m, x) =>
        m.add(m.sigmoid(u2(m, x)), m.gate(m.mul(x, du2(m, x)), m.sigmoidSlope(u2(m, x)))),
    },
    fused: standard,
    onnx: standard ? (g, x) => g.op("Gelu", [x], { approximate: "tanh" }) : (g, x) => {
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const inner = g.op("Add", [x, g.op("Mul", [cube, g.constant(cubic)])]);
      const gate = sigmoidOnnx(g, g.op("Mul", [inner, g.constant(2 * SQRT_2_OVER_PI)]));
      return g.op("Mul", [x, gate]);
    },
  });
}

/** GELU, tanh approximation with the standard constant 0.044715. */
export const geluTanh: BuiltUnary = geluTanhWith();

/** Self-gated x·σ(βx) and its derivative, shared by SiLU (β = 1) and quick GELU (β = 1.702). */
function sigmoidGated(beta: number): UnaryMath {
  const bx = <T>(m: Algebra<T>, x: T) => (beta === 1 ? x : m.mul(m.c(beta), x));
  // f = x·σ(βx),  f′ = σ(βx) + βx·σ′(βx)
  return {
    f: (m, x) => m.gate(x, m.sigmoid(bx(m, x))),
    df: (m, x) => m.add(m.sigmoid(bx(m, x)), m.gate(bx(m, x), m.sigmoidSlope(bx(m, x)))),
  };
}

/** The constant of quick GELU, x·σ(1.702x). */
export const QUICK_GELU_BETA = 1.702;

/** Quick GELU: x·σ(1.702x), the sigmoid approximation used by CLIP. */
export const quickGelu: BuiltUnary = defineUnary({
  name: "quick_gelu",
  aliases: ["gelu_quick", "gelu_sigmoid"],
  description: "Sigmoid approximation of GELU (CLIP); differs from exact GELU by < 0.02.",
  formula: String.raw`x\,\sigma(1.702\,x)`,
  properties: SMOOTH_SELF_GATED,
  source: "Hendrycks & Gimpel 2016",
  math: sigmoidGated(QUICK_GELU_BETA),
  fused: true,
  onnx: (g, x) => g.op("Mul", [x, sigmoidOnnx(g, g.op("Mul", [x, g.constant(1.702)]))]),
});

/** SiLU / Swish: x·σ(x). */
export const silu: BuiltUnary = defineUnary({
  name: "silu",
  aliases: ["swish", "swish1"],
  description: "Sigmoid-weighted linear unit; the gate of SwiGLU (LLaMA, PaLM).",
  formula: String.raw`x\,\sigma(x)`,
  properties: SMOOTH_SELF_GATED,
  source: "Elfwing et al. 2017; Ramachandran et al. 2017",
  math: sigmoidGated(1),
  fused: true,
  onnx: (g, x) => g.op("Mul", [x, sigmoidOnnx(g, x)]),
});

/**
 * tanh(softplus(x)) = n/(n + 2) with n = eˣ(eˣ + 2): exact in the lower tail (where
 * log(1 + eˣ) loses eˣ to rounding), and 1 above x = 20 where n would overflow.
 */
function tanhSoftplus(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const e = tf.exp(tf.minimum(x, 20));
    const n = tf.mul(e, tf.add(e, 2));
    return tf.where(tf.greater(x, 20), tf.onesLike(x), tf.div(n, tf.add(n, 2)));
  });
}

/** Mish: x·tanh(softplus(x)). */
export const mish: BuiltUnary = defineUnary({
  name: "mish",
  description: "x·tanh(softplus(x)): smooth, non-monotonic, like SiLU with a deeper dip.",
  formula: String.raw`x\,\tanh(\ln(1 + e^x))`,
  properties: SMOOTH_SELF_GATED,
  source: "Misra 2019",
  reference: (x) => gateProduct64(x, Math.tanh(softplus(x))),
  derivative: (x) => {
    const t = Math.tanh(softplus(x));
    return t + gateProduct64(gateProduct64(x, sigmoid(x)), 1 - t * t);
  },
  forward: (x) => gateProduct(x, tanhSoftplus(x)),
  gradient: (x) => {
    const t = tanhSoftplus(x);
    return tf.add(t, gateProduct(tf.mul(x, tf.sigmoid(x)), tf.sub(1, tf.square(t))));
  },
  onnx: (g, x) => g.op("Mish", [x]),
});

/** Hard swish: x·relu6(x + 3)/6 (MobileNetV3). */
export const hardswish: BuiltUnary = defineUnary({
  name: "hardswish",
  aliases: ["hard_swish", "h_swish", "hswish"],
  description: "Piecewise-quadratic SiLU without exponentials (MobileNetV3).",
  formula: String.raw`x\,\frac{\mathrm{relu6}(x + 3)}{6}`,
  properties: { ...SMOOTH_SELF_GATED, smooth: false, sparse: true },
  source: "Howard et al. 2019",
  kinks: [-3, 3],
  reference: (x) => (x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6),
  derivative: (x) => (Number.isNaN(x) ? NaN : x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1),
  forward: (x) => keepNaN(x, gateProduct(x, tf.div(tf.relu6(tf.add(x, 3)), 6))),
  gradient: (x) =>
    tf.where(
      tf.less(x, -3),
      tf.zerosLike(x),
      tf.where(tf.lessEqual(x, 3), tf.add(tf.div(x, 3), 0.5), tf.onesLike(x)),
    ),
  onnx: (g, x) => g.op("HardSwish", [x]),
});

/** Hard sigmoid: relu6(x + 3)/6. */
export const hardsigmoid: BuiltUnary = defineUnary({
  name: "hardsigmoid",
  aliases: ["hard_sigmoid", "h_sigmoid"],
  description: "Piecewise-linear sigmoid: 0 below −3, 1 above 3.",
  formula: String.raw`\frac{\mathrm{relu6}(x + 3)}{6}`,
  properties: { ...RELU_LIKE, boundedAbove: true },
  source: "Howard et al. 2019",
  kinks: [-3, 3],
  reference: (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x + 3, 0), 6) / 6),
  derivative: (x) => (Number.isNaN(x) ? NaN : x > -3 && x < 3 ? 1 / 6 : 0),
  forward: (x) => keepNaN(x, tf.div(tf.relu6(tf.add(x, 3)), 6)),
  gradient: (x) => tf.div(openMask(x, -3, 3), 6),
  onnx: (g, x) => g.op("HardSigmoid", [x], { alpha: 1 / 6, beta: 0.5 }),
});

/** Softplus: log(1 + eˣ), computed as max(x, 0) + log1p(e^(−|x|)). */
export const softplusAct: BuiltUnary = defineUnary({
  name: "softplus",
  description: "Smooth ReLU; its derivative is the sigmoid.",
  formula: String.raw`\ln(1 + e^x)`,
  properties: {
    boundedBelow: true,
    boundedAbove: false,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "Dugas et al. 2001",
  reference: softplus,
  derivative: sigmoid,
  forward: (x) => tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x))))),
  gradient: (x) => tf.sigmoid(x),
  onnx: (g, x) => g.op("Softplus", [x]),
});

/** Logistic sigmoid 1/(1 + e^(−x)). */
export const sigmoidAct: BuiltUnary = defineUnary({
  name: "sigmoid",
  aliases: ["logistic"],
  description: "The logistic function; saturates on both sides.",
  formula: String.raw`\frac{1}{1 + e^{-x}}`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  reference: sigmoid,
  derivative: (x) => sigmoid(x) * sigmoid(-x),
  forward: (x) => tf.sigmoid(x),
  gradient: (x) => {
    const s = tf.sigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  },
  onnx: sigmoidOnnx,
});

/** Hyperbolic tangent. */
export const tanh: BuiltUnary = defineUnary({
  name: "tanh",
  description: "Zero-centred sigmoid on (−1, 1).",
  formula: String.raw`\tanh x`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  reference: Math.tanh,
  derivative: (x) => {
    // sech²x = 4e/(1 + e)² with e = e^(−2|x|): no cancellation where tanh x rounds to ±1.
    const e = Math.exp(-2 * Math.abs(x));
    return 4 * e / ((1 + e) * (1 + e));
  },
  forward: (x) => tf.tanh(x),
  gradient: (x) => tf.sub(1, tf.square(tf.tanh(x))),
  onnx: (g, x) => g.op("Tanh", [x]),
});

/** Softsign: x/(1 + |x|). */
export const softsign: BuiltUnary = defineUnary({
  name: "softsign",
  description: "Rational tanh-like function with polynomial tails.",
  formula: String.raw`\frac{x}{1 + |x|}`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  kinks: [0],
  reference: (x) => (Number.isFinite(x) ? x / (1 + Math.abs(x)) : Math.sign(x)),
  derivative: (x) => 1 / ((1 + Math.abs(x)) * (1 + Math.abs(x))),
  forward: (x) => tf.where(tf.isInf(x), tf.sign(x), tf.div(x, tf.add(1, tf.abs(x)))),
  gradient: (x) => tf.reciprocal(tf.square(tf.add(1, tf.abs(x)))),
  onnx: (g, x) => g.op("Softsign", [x]),
});

/** Hard tanh: clip(x, −1, 1). */
export const hardtanh: BuiltUnary = defineUnary({
  name: "hardtanh",
  aliases: ["hard_tanh"],
  description: "tanh replaced by a clip to [−1, 1].",
  formula: String.raw`\max(-1, \min(1, x))`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: false,
    selfGated: false,
    sparse: false,
  },
  kinks: [-1, 1],
  reference: (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, -1), 1)),
  derivative: (x) => (Number.isNaN(x) ? NaN : x > -1 && x < 1 ? 1 : 0),
  forward: (x) => keepNaN(x, tf.clipByValue(x, -1, 1)),
  gradient: (x) => openMask(x, -1, 1),
  onnx: (g, x) => g.op("Clip", [x, g.constant(-1), g.constant(1)]),
});

/** Squared ReLU: relu(x)² (Primer; the modded-nanogpt MLP). */
export const relu2: BuiltUnary = defineUnary({
  name: "relu2",
  aliases: ["relu_squared", "squared_relu", "relu_sq", "sqrelu"],
  description: "Squared ReLU: sparse like ReLU, smoother kink; won in Primer and modded-nanogpt.",
  formula: String.raw`\max(0, x)^2`,
  properties: { ...RELU_LIKE, smooth: true },
  source: "So et al. 2021 (Primer)",
  kinks: [0],
  reference: (x) => (x > 0 ? x * x : Number.isNaN(x) ? NaN : 0),
  derivative: (x) => (x > 0 ? 2 * x : Number.isNaN(x) ? NaN : 0),
  forward: (x) => tf.square(tf.relu(x)),
  gradient: (x) => tf.mul(2, tf.relu(x)),
  onnx: (g, x) => {
    const r = g.op("Relu", [x]);
    return g.op("Mul", [r, r]);
  },
});

/** Squared ReLU6: relu6(x)². */
export const relu6Squared: BuiltUnary = defineUnary({
  name: "relu6_2",
  aliases: ["relu6_squared", "squared_relu6", "relu6_sq"],
  description: "Squared ReLU capped at 36: bounded, for low-precision training.",
  formula: String.raw`\min(\max(0, x), 6)^2`,
  properties: { ...RELU_LIKE, boundedAbove: true },
  source: "modded-nanogpt experiments",
  kinks: [0, 6],
  reference: (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, 0), 6) ** 2),
  derivative: (x) => (Number.isNaN(x) ? NaN : x > 0 && x < 6 ? 2 * x : 0),
  forward: (x) => keepNaN(x, tf.square(tf.relu6(x))),
  gradient: (x) => tf.mul(tf.mul(2, tf.relu(x)), openMask(x, -Infinity, 6)),
  onnx: (g, x) => {
    const r = g.op("Clip", [x, g.constant(0), g.constant(6)]);
    return g.op("Mul", [r, r]);
  },
});

/** Every built-in unary activation, in the order tables list them. */
export const BUILTIN_UNARY: readonly BuiltUnary[] = [
  identity,
  relu,
  relu6,
  leakyRelu(),
  elu(),
  selu,
  celu(),
  gelu,
  geluTanh,
  quickGelu,
  silu,
  mish,
  hardswish,
  hardsigmoid,
  softplusAct,
  sigmoidAct,
  tanh,
  softsign,
  hardtanh,
  relu2,
  relu6Squared,
];

for (const def of BUILTIN_UNARY) registerCpuKernels(def);
/** The fused-kernel set: every built-in whose entry says `fused: true`. */
export const FUSED_UNARY: readonly BuiltUnary[] = BUILTIN_UNARY.filter((def) => def.fused);
registerWasmKernels(FUSED_UNARY);
registerWebgpuKernels(FUSED_UNARY);
