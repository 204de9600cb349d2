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
import { sigmoid, softplus, SQRT_2_OVER_PI } from "./_math.ts";
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
        "gelu_accurate", // HF's AccurateGELUActivation: the same tanh form, √(2/π) computed
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
 * Mish written with sigmoids only. With s = σ(x) and q = σ(−x): 1 + eˣ = 1/q, so
 * t = tanh(softplus(x)) = (1 − q²)/(1 + q²) = s(1 + q)/(1 + q²), free of the cancellation of
 * 1 − q² in the lower tail, and 1 − t² = 4q²/(1 + q²)², free of it in the upper tail. Every term
 * is finite at ±∞, and the products with x are gates: at x = −∞, x·s is the limit 0 (not ∞·0).
 */
const MISH: UnaryMath = {
  // f = x·t
  f: (m, x) => m.gate(x, mishTanhSoftplus(m, x)),
  // f′ = t + x·σ(x)·(1 − t²)
  df: (m, x) => {
    const q = m.sigmoid(m.mul(m.c(-1), x));
    const r = m.div(m.c(2), m.add(m.c(1), m.mul(q, q)));
    const slope = m.mul(m.mul(q, q), m.mul(r, r)); // 1 − t² = (2q/(1 + q²))²
    return m.add(mishTanhSoftplus(m, x), m.gate(m.gate(x, m.sigmoid(x)), slope));
  },
};

/** tanh(softplus(x)) = σ(x)(1 + σ(−x))/(1 + σ(−x)²). */
function mishTanhSoftplus<T>(m: Algebra<T>, x: T): T {
  const q = m.sigmoid(m.mul(m.c(-1), x));
  return m.div(m.mul(m.sigmoid(x), m.add(m.c(1), q)), m.add(m.c(1), m.mul(q, q)));
}

/** Mish: x·tanh(softplus(x)). */
export const mish: BuiltUnary = defineUnary({
  name: "mish",
  description: "x·tanh(softplus(x)): smooth, non-monotonic, like SiLU with a deeper dip.",
  formula: String.raw`x\,\tanh(\ln(1 + e^x))`,
  properties: SMOOTH_SELF_GATED,
  source: "Misra 2019",
  math: MISH,
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

/** A finite stand-in for ±∞ in ONNX lowerings, so x − x-like steps never meet ∞ − ∞. */
const ONNX_BIG = 1e30;

/**
 * |x| as ONNX nodes, `2·relu(x) − x` of x clipped to ±1e30: its gradient rule gives −1 at
 * x = 0, the left-hand slope, matching Relu's rule (relu′(0) = 0); a lowering that adds
 * relu(x) and a function of |x| then differentiates to the true (smooth) slope at 0, where Abs's
 * rule (sign(0) = 0) would mix conventions.
 */
function absLeft(g: OnnxBuilder, x: string): string {
  const xc = g.op("Clip", [x, g.constant(-ONNX_BIG), g.constant(ONNX_BIG)]);
  return g.op("Sub", [g.op("Mul", [g.op("Relu", [xc]), g.constant(2)]), xc]);
}

const SQUAREPLUS_DEFAULTS = { b: 4 };

/**
 * Squareplus: (x + √(x² + b))/2, b = 4 by default (JAX, Keras). Computed as
 * relu(x) + (b/2)/(√(x² + b) + |x|), the same value without the cancellation of x + √(x² + b)
 * for negative x.
 *
 * @example
 * ```ts
 * import { squareplus } from "@actlab/actlab/activations";
 * squareplus().reference(0); // 1 (√b/2)
 * squareplus({ b: 1 }).name; // "squareplus(b=1)"
 * ```
 */
export function squareplus(params: ActivationParams = SQUAREPLUS_DEFAULTS): BuiltUnary {
  checkParams("squareplus", params, SQUAREPLUS_DEFAULTS);
  const { b } = { ...SQUAREPLUS_DEFAULTS, ...params };
  if (!(b > 0)) throw new Error(`squareplus: b must be positive, got ${b}.`);
  const half = b / 2;
  // f = relu(x) + (b/2)/(s + |x|),  f′ = (1 + x/s)/2 = 1 − t (x ≥ 0) or t (x < 0),
  // t = (b/2)/(s·(s + |x|)), s = √(x² + b)
  const s = (x: number) => Math.sqrt(x * x + b);
  const t = (x: number) => half / (s(x) * (s(x) + Math.abs(x)));
  const sTensor = (x: tf.Tensor) => tf.sqrt(tf.add(tf.square(x), b));
  return defineUnary({
    name: paramName("squareplus", { b }, SQUAREPLUS_DEFAULTS),
    aliases: b === SQUAREPLUS_DEFAULTS.b ? ["square_plus"] : [],
    description: `Algebraic softplus (x + √(x² + ${b}))/2: smooth ReLU without exp or log.`,
    formula: String.raw`\tfrac{1}{2}\left(x + \sqrt{x^2 + ${b}}\right)`,
    properties: {
      boundedBelow: true,
      boundedAbove: false,
      monotonic: true,
      smooth: true,
      selfGated: false,
      sparse: false,
    },
    source: "Barron 2021",
    params: { b },
    withParams: (p) => squareplus({ b, ...p }),
    reference: (x) => Math.max(0, x) + half / (s(x) + Math.abs(x)),
    derivative: (x) => (x >= 0 ? 1 - t(x) : t(x)),
    forward: (x) => tf.add(tf.relu(x), tf.div(half, tf.add(sTensor(x), tf.abs(x)))),
    gradient: (x) => {
      const tx = tf.div(half, tf.mul(sTensor(x), tf.add(sTensor(x), tf.abs(x))));
      return tf.where(tf.greaterEqual(x, 0), tf.sub(1, tx), tx);
    },
    onnx: (g, x) => {
      const root = g.op("Sqrt", [g.op("Add", [g.op("Mul", [x, x]), g.constant(b)])]);
      const tail = g.op("Div", [g.constant(half), g.op("Add", [root, absLeft(g, x)])]);
      return g.op("Add", [g.op("Relu", [x]), tail]);
    },
  });
}

/**
 * Sparse plus: 0 for x ≤ −1, (x + 1)²/4 on (−1, 1), x for x ≥ 1 (JAX, Keras): softplus's
 * piecewise-quadratic twin, exactly zero below −1 and continuously differentiable.
 */
export const sparsePlus: BuiltUnary = defineUnary({
  name: "sparse_plus",
  aliases: ["sparseplus"],
  description: "Piecewise-quadratic softplus: exactly 0 below −1, x above 1, C¹ in between.",
  formula: String
    .raw`\begin{cases} 0 & x \le -1 \\ \tfrac14 (x + 1)^2 & -1 < x < 1 \\ x & x \ge 1 \end{cases}`,
  properties: {
    boundedBelow: true,
    boundedAbove: false,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: true,
  },
  source: "JAX and Keras sparse_plus",
  kinks: [-1, 1],
  // f′ = clip((x + 1)/2, 0, 1), continuous; f″ jumps at ±1
  reference: (x) => (x <= -1 ? 0 : x >= 1 ? x : (x + 1) * (x + 1) / 4),
  derivative: (x) => (x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2),
  forward: (x) =>
    keepNaN(
      x,
      tf.where(
        tf.greaterEqual(x, 1),
        x,
        tf.where(tf.greater(x, -1), tf.div(tf.square(tf.add(x, 1)), 4), tf.zerosLike(x)),
      ),
    ),
  gradient: (x) => keepNaN(x, tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1)),
  // h = clip((x + 1)/2, 0, 1), u = relu(x + 1): f = h·(u − h). Its rule-by-rule gradient
  // h′(u − 2h) + h·u′ is right at the kinks whichever side the masks take (u − 2h = 0 at ±1).
  onnx: (g, x) => {
    const x1 = g.op("Add", [x, g.constant(1)]);
    const h = g.op("Clip", [g.op("Mul", [x1, g.constant(0.5)]), g.constant(0), g.constant(1)]);
    return g.op("Mul", [h, g.op("Sub", [g.op("Relu", [x1]), h])]);
  },
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

/** Log-sigmoid: log σ(x) = −softplus(−x), computed as min(x, 0) − log1p(e^(−|x|)). */
export const logSigmoid: BuiltUnary = defineUnary({
  name: "log_sigmoid",
  aliases: ["logsigmoid"],
  description: "log σ(x) = −softplus(−x): x for x ≪ 0, up to 0 from below; never positive.",
  formula: String.raw`\log \sigma(x) = -\ln(1 + e^{-x})`,
  properties: {
    boundedBelow: false,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "PyTorch LogSigmoid; JAX, Keras log_sigmoid",
  // f = −softplus(−x),  f′ = σ(−x)
  reference: (x) => -softplus(-x),
  derivative: (x) => sigmoid(-x),
  forward: (x) => tf.sub(tf.neg(tf.relu(tf.neg(x))), tf.log1p(tf.exp(tf.neg(tf.abs(x))))),
  gradient: (x) => tf.sigmoid(tf.neg(x)),
  // −relu(−x) − log(1 + e^(−|x|)), |x| taken with the convention that matches Relu's rule at 0
  // (absLeft of −x), so the differentiated graph gives σ(0) = ½ there. No Softplus op.
  onnx: (g, x) => {
    const negX = g.op("Neg", [x]);
    const e = g.op("Exp", [g.op("Neg", [absLeft(g, negX)])]);
    const tail = g.op("Log", [g.op("Add", [g.constant(1), e])]);
    return g.op("Sub", [g.op("Neg", [g.op("Relu", [negX])]), tail]);
  },
});

/** The Laplace activation's μ and σ, as Hugging Face's `LaplaceActivation` writes them. */
const LAPLACE_MU = 0.707107;
const LAPLACE_SIGMA = 0.282095;

/** Laplace: Φ((x − μ)/σ) = ½(1 + erf((x − μ)/(σ√2))), μ = 0.707107, σ = 0.282095 (MEGA). */
export const laplace: BuiltUnary = defineUnary({
  name: "laplace",
  description: "A normal CDF step centred at μ ≈ 1/√2 with σ ≈ 1/(2√π); MEGA's attention.",
  formula: String
    .raw`\tfrac12\left(1 + \operatorname{erf}\!\left(\frac{x - \mu}{\sigma\sqrt{2}}\right)\right),\ \mu = 0.707107,\ \sigma = 0.282095`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "Ma et al. 2022 (MEGA); Hugging Face LaplaceActivation",
  // f = Φ(z),  f′ = φ(z)/σ,  z = (x − μ)/σ
  math: {
    f: (m, x) => m.normalCdf(m.div(m.sub(x, m.c(LAPLACE_MU)), m.c(LAPLACE_SIGMA))),
    df: (m, x) =>
      m.div(m.normalPdf(m.div(m.sub(x, m.c(LAPLACE_MU)), m.c(LAPLACE_SIGMA))), m.c(LAPLACE_SIGMA)),
  },
  onnx: (g, x) => {
    const z = g.op("Mul", [
      g.op("Sub", [x, g.constant(LAPLACE_MU)]),
      g.constant(1 / (LAPLACE_SIGMA * Math.SQRT2)),
    ]);
    return g.op("Add", [g.op("Mul", [g.op("Erf", [z]), g.constant(0.5)]), g.constant(0.5)]);
  },
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

const LEAKY_RELU2_DEFAULTS = { alpha: 0.5 };

/**
 * Squared leaky ReLU: LeakyReLU_α(x)², α = 0.5 by default: x² for x > 0 and (αx)² (positive)
 * otherwise, as `F.leaky_relu(x, 0.5).square()` in the 2026 parameter-golf speedruns.
 *
 * @example
 * ```ts
 * import { leakyRelu2 } from "@actlab/actlab/activations";
 * leakyRelu2().reference(-2); // 1 ((0.5·−2)²)
 * leakyRelu2({ alpha: 0.75 }).name; // "leaky_relu2(alpha=0.75)"
 * ```
 */
export function leakyRelu2(params: ActivationParams = LEAKY_RELU2_DEFAULTS): BuiltUnary {
  checkParams("leaky_relu2", params, LEAKY_RELU2_DEFAULTS);
  const { alpha } = { ...LEAKY_RELU2_DEFAULTS, ...params };
  const standard = alpha === LEAKY_RELU2_DEFAULTS.alpha;
  return defineUnary({
    name: paramName("leaky_relu2", { alpha }, LEAKY_RELU2_DEFAULTS),
    aliases: standard
      ? ["leaky_relu_squared", "squared_leaky_relu", "leaky_relu_sq", "lrelu2"]
      : [],
    description: `Squared leaky ReLU, slope ${alpha} below 0: relu2 whose negative side still ` +
      `passes a gradient.`,
    formula: String.raw`\begin{cases} x^2 & x > 0 \\ (${alpha}\,x)^2 & x \le 0 \end{cases}`,
    properties: {
      boundedBelow: true,
      boundedAbove: false,
      monotonic: alpha === 0,
      smooth: true,
      selfGated: false,
      sparse: alpha === 0,
    },
    source: "parameter-golf speedruns, 2026",
    params: { alpha },
    withParams: (p) => leakyRelu2({ alpha, ...p }),
    kinks: [0],
    // f = r², r = x (x > 0) or αx;  f′ = 2r·r′ = 2x or 2α²x
    reference: (x) => (x > 0 ? x * x : alpha * alpha * x * x),
    derivative: (x) => (x > 0 ? 2 * x : 2 * alpha * alpha * x),
    forward: (x) => tf.square(tf.leakyRelu(x, alpha)),
    gradient: (x) => tf.mul(tf.mul(2, tf.leakyRelu(x, alpha)), tf.step(x, alpha)),
    onnx: (g, x) => {
      const r = g.op("LeakyRelu", [x], { alpha });
      return g.op("Mul", [r, r]);
    },
  });
}

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
  // 2x on (0, 6), else 0 (a where, not 2·relu(x)·mask, so x = +∞ gives 0 rather than ∞·0)
  gradient: (x) =>
    keepNaN(
      x,
      tf.where(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), tf.mul(2, x), tf.zerosLike(x)),
    ),
  onnx: (g, x) => {
    const r = g.op("Clip", [x, g.constant(0), g.constant(6)]);
    return g.op("Mul", [r, r]);
  },
});

const RELU2_SMOOTH_DEFAULTS = { a: 0.2 };

/**
 * Where relu2_smooth's correction term stops following x: it is computed at x clipped to
 * ±2^60. Then x² + a² stays finite in float32 (2^120 < 3.4e38), and at x = ±∞ the term is
 * ±a²/4 exactly (s + |x| = 2^61 exactly, even from a sqrt one ulp off). Past 2^60 the term is
 * ±a²/4 to float64 precision anyway (it differs from it by a⁴/(16x²)).
 */
const RELU2_SMOOTH_CLIP = 2 ** 60;

/**
 * Smoothed squared ReLU: ½·x·(x + √(x² + a²)), a = 0.2 by default (nanochat issue #828):
 * relu(x)² as a → 0, smooth everywhere, x·squareplus(x) with b = a². Written as
 * relu(x)² + ½·x·q with q = a²/(s + |x|) = s − |x|, s = √(x² + a²), so no x + s cancels for
 * negative x; f′ = (x + s)²/(2s) = 2·relu(x) + q²/(2s).
 *
 * @example
 * ```ts
 * import { relu2Smooth } from "@actlab/actlab/activations";
 * relu2Smooth().reference(0); // 0
 * relu2Smooth().derivative(0); // 0.10000000000000003 (a/2)
 * relu2Smooth({ a: 0.5 }).name; // "relu2_smooth(a=0.5)"
 * ```
 */
export function relu2Smooth(params: ActivationParams = RELU2_SMOOTH_DEFAULTS): BuiltUnary {
  checkParams("relu2_smooth", params, RELU2_SMOOTH_DEFAULTS);
  const { a } = { ...RELU2_SMOOTH_DEFAULTS, ...params };
  // a² and a²/2^61 normal in float32, a² negligible next to 2^120
  if (!(a >= 1e-6 && a <= 1e6)) {
    throw new Error(`relu2_smooth: a must be between 1e-6 and 1e6, got ${a}.`);
  }
  const standard = a === RELU2_SMOOTH_DEFAULTS.a;
  const a2 = a * a;
  // r = relu(x); with x clipped to ±2^60: s = √(x² + a²), q = a²/(s + |x|) = s − |x|
  const parts = <T>(m: Algebra<T>, x: T) => {
    const xc = m.min(m.max(x, m.c(-RELU2_SMOOTH_CLIP)), m.c(RELU2_SMOOTH_CLIP));
    const s = m.sqrt(m.add(m.mul(xc, xc), m.c(a2)));
    return { r: m.max(x, m.c(0)), xc, s, q: m.div(m.c(a2), m.add(s, m.abs(xc))) };
  };
  return defineUnary({
    name: paramName("relu2_smooth", { a }, RELU2_SMOOTH_DEFAULTS),
    aliases: standard ? ["smooth_relu2", "smoothed_relu2", "relu2_smoothed"] : [],
    description: `Smoothed squared ReLU, a = ${a}: relu2 without the kink at 0; monotonic, ` +
      `tending to −a²/4 as x → −∞.`,
    formula: String.raw`\tfrac{x}{2}\left(x + \sqrt{x^2 + a^2}\right),\ a = ${a}`,
    properties: {
      boundedBelow: true,
      boundedAbove: false,
      monotonic: true, // f′ = (x + s)²/(2s) ≥ 0
      smooth: true,
      selfGated: true, // x·squareplus(x)
      sparse: false,
    },
    source: "nanochat issue #828",
    params: { a },
    withParams: (p) => relu2Smooth({ a, ...p }),
    math: {
      // f = ½x(x + s) = relu(x)² + ½·x·q   (x + s = 2·relu(x) + q); at x = ±∞: ∞, −a²/4
      f: (m, x) => {
        const { r, xc, q } = parts(m, x);
        return m.add(m.mul(r, r), m.mul(m.mul(m.c(0.5), xc), q));
      },
      // f′ = ½(x + s) + ½x(1 + x/s) = (x + s)²/(2s) = 2·relu(x) + q²/(2s); at x = ±∞: ∞, 0.
      // s there as max(s, |x|): s up to the clip, |x| past it, so f′(−∞) is 0, not f′(−2^60).
      df: (m, x) => {
        const { r, s, q } = parts(m, x);
        const s2 = m.mul(m.c(2), m.max(s, m.abs(x)));
        return m.add(m.mul(m.c(2), r), m.div(m.mul(q, q), s2));
      },
    },
    fused: standard,
    // ONNX Runtime trains through this graph's node-by-node derivative. Near 0 (x ≥ −a) the
    // pieces above, |x| as absLeft (Abs's rule needs Sign, which ORT's WebGPU provider lacks).
    // Below −a, the derivative of ½·x·q would be ½q(1 − |x|/s), which cancels (relative error
    // ~x²/a² ulps, even a wrong sign far out), so there f = −(a²/2)/(1 + w), w = √(1 + v²),
    // v = a/|x|, whose derivative is a product of positive factors. Both branches are finite
    // for every x (|x| clipped to [a, 2^60] in the far one), so Where's zero gradient to the
    // unused branch stays 0, and x = −∞ gives −a²/4 and slope 0.
    onnx: (g, x) => {
      const r = g.op("Relu", [x]);
      const xc = g.op("Clip", [
        x,
        g.constant(-RELU2_SMOOTH_CLIP),
        g.constant(RELU2_SMOOTH_CLIP),
      ]);
      const s = g.op("Sqrt", [g.op("Add", [g.op("Mul", [xc, xc]), g.constant(a2)])]);
      const q = g.op("Div", [g.constant(a2), g.op("Add", [s, absLeft(g, xc)])]);
      const near = g.op("Add", [
        g.op("Mul", [r, r]),
        g.op("Mul", [g.op("Mul", [xc, g.constant(0.5)]), q]),
      ]);
      const t = g.op("Clip", [g.op("Neg", [x]), g.constant(a), g.constant(RELU2_SMOOTH_CLIP)]);
      const v = g.op("Div", [g.constant(a), t]);
      const w = g.op("Sqrt", [g.op("Add", [g.op("Mul", [v, v]), g.constant(1)])]);
      const far = g.op("Div", [g.constant(-a2 / 2), g.op("Add", [w, g.constant(1)])]);
      return g.op("Where", [g.op("Less", [x, g.constant(-a)]), far, near]);
    },
  });
}

/** Smoothed squared ReLU with nanochat's a = 0.2. */
export const relu2SmoothAct: BuiltUnary = relu2Smooth();

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
  squareplus(),
  sparsePlus,
  sigmoidAct,
  logSigmoid,
  laplace,
  tanh,
  softsign,
  hardtanh,
  relu2,
  leakyRelu2(),
  relu6Squared,
  relu2SmoothAct,
];

for (const def of BUILTIN_UNARY) registerCpuKernels(def);
/** The fused-kernel set: every built-in whose entry says `fused: true`. */
export const FUSED_UNARY: readonly BuiltUnary[] = BUILTIN_UNARY.filter((def) => def.fused);
registerWasmKernels(FUSED_UNARY);
registerWebgpuKernels(FUSED_UNARY);
