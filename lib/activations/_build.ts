/**
 * Builders that turn a plain description (float64 reference, derivative, tfjs forward and
 * gradient, or the one {@link UnaryMath} they all derive from) into a registry entry with a
 * gradient-correct `apply`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { F64, TENSORS } from "./_algebra.ts";
import type { UnaryMath } from "./_algebra.ts";
import { fusedKernelFor } from "./_fused.ts";
import type {
  ActivationParams,
  ActivationProperties,
  GatedActivation,
  GatedOnnxLowering,
  UnaryActivation,
  UnaryOnnxLowering,
} from "./types.ts";

/** The fields every unary spec has, however its math is given. */
interface UnarySpecBase {
  name: string;
  aliases?: readonly string[];
  description: string;
  formula: string;
  properties: ActivationProperties;
  source?: string;
  params?: ActivationParams;
  withParams?: (params: ActivationParams) => UnaryActivation;
  /**
   * Points where f is not twice differentiable (the derivative or the second derivative
   * jumps); finite-difference checks stay away from them.
   */
  kinks?: readonly number[];
  onnx?: UnaryOnnxLowering;
}

/**
 * An activation written once as {@link UnaryMath}: its float64 reference and derivative, tfjs
 * forward and gradient, and (with `fused`) its WGSL and C kernels all come from `math`.
 */
export interface UnaryMathSpec extends UnarySpecBase {
  /** f and f′ side by side, over any algebra. */
  math: UnaryMath;
  /**
   * Compile `math` into fused float32 kernels: WGSL for webgpu (at run time) and C for wasm
   * (`deno task build:wasm` regenerates `wasm/kernels.c` and rebuilds the module).
   */
  fused?: boolean;
}

/** An activation given as four separate functions (float64 and tfjs). */
export interface UnaryFunctionsSpec extends UnarySpecBase {
  math?: undefined;
  fused?: false;
  reference(x: number): number;
  derivative(x: number): number;
  /** f(x) from tfjs ops, float32 in and out. */
  forward(x: tf.Tensor): tf.Tensor;
  /** f'(x) from tfjs ops; the backward pass multiplies it by dy. Omitted: tfjs autodiff. */
  gradient?(x: tf.Tensor): tf.Tensor;
}

/** What a unary activation is made of; {@link defineUnary} turns it into a registry entry. */
export type UnarySpec = UnaryMathSpec | UnaryFunctionsSpec;

/** A unary registry entry plus the bookkeeping the builder adds. */
export interface BuiltUnary extends UnaryActivation {
  /** Points where f is not twice differentiable (for tests and plots). */
  readonly kinks: readonly number[];
  /** The one definition of f and f′ the other forms derive from, where the entry has one. */
  readonly math?: UnaryMath;
  /** Whether fused WGSL and C kernels are generated from `math` (the fused-kernel set). */
  readonly fused: boolean;
}

function asFloat(x: tf.Tensor): tf.Tensor {
  return x.dtype === "float32" ? x : tf.cast(x, "float32");
}

/** The four functions of a spec, derived from its math where it has one. */
function functionsOf(spec: UnarySpec) {
  const { math } = spec;
  if (math === undefined) return spec;
  return {
    reference: (x: number) => math.f(F64, x),
    derivative: (x: number) => math.df(F64, x),
    forward: (x: tf.Tensor) => math.f(TENSORS, x),
    gradient: (x: tf.Tensor) => math.df(TENSORS, x),
  };
}

/** Builds a unary registry entry whose `apply` runs a fused kernel where one exists. */
export function defineUnary(spec: UnarySpec): BuiltUnary {
  const { reference, derivative, forward, gradient } = functionsOf(spec);
  const composite = gradient
    ? tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([input]);
      return {
        value: forward(input),
        gradFunc: (dy, saved) => tf.mul(dy, gradient(saved[0])),
      };
    }) as (x: tf.Tensor) => tf.Tensor
    : forward;
  const def: BuiltUnary = {
    kind: "unary",
    name: spec.name,
    aliases: spec.aliases ?? [],
    description: spec.description,
    formula: spec.formula,
    properties: spec.properties,
    source: spec.source,
    params: spec.params,
    withParams: spec.withParams,
    kinks: spec.kinks ?? [],
    math: spec.math,
    fused: spec.fused ?? false,
    reference,
    derivative,
    onnx: spec.onnx,
    apply(x: tf.Tensor): tf.Tensor {
      const input = asFloat(x);
      const fused = fusedKernelFor(def.name);
      return fused ? fused(input) : composite(input);
    },
  };
  return def;
}

/** What a gated activation is made of; {@link defineGated} turns it into a registry entry. */
export interface GatedSpec {
  name: string;
  aliases?: readonly string[];
  description: string;
  formula: string;
  properties: ActivationProperties;
  source?: string;
  /** The unary applied to the gate when the form is inner(gate)·value. */
  inner?: UnaryActivation;
  reference(gate: number, value: number): number;
  derivative(gate: number, value: number): [number, number];
  /** f(gate, value) from tfjs ops; differentiated by tfjs autodiff. */
  forward(gate: tf.Tensor, value: tf.Tensor): tf.Tensor;
  onnx?: GatedOnnxLowering;
}

/** Builds a gated registry entry. Shapes of gate and value must match. */
export function defineGated(spec: GatedSpec): GatedActivation {
  return {
    kind: "gated",
    name: spec.name,
    aliases: spec.aliases ?? [],
    description: spec.description,
    formula: spec.formula,
    properties: spec.properties,
    source: spec.source,
    inner: spec.inner?.name,
    kinks: (spec.inner as { kinks?: readonly number[] } | undefined)?.kinks ?? [],
    reference: spec.reference,
    derivative: spec.derivative,
    onnx: spec.onnx,
    apply(gate: tf.Tensor, value: tf.Tensor): tf.Tensor {
      if (!tf.util.arraysEqual(gate.shape, value.shape)) {
        throw new Error(
          `${spec.name}: gate and value must have the same shape, got [${gate.shape}] and ` +
            `[${value.shape}]. Split the MLP's up-projection into two equal halves first.`,
        );
      }
      return spec.forward(asFloat(gate), asFloat(value));
    },
  };
}

/**
 * The gated form inner(gate)·value for any unary activation: ReGLU, GEGLU, SwiGLU and the
 * gated version of a user's own activation.
 *
 * @example
 * ```ts
 * import { gatedFrom } from "@actlab/actlab/activations";
 * import { getUnary } from "@actlab/actlab";
 * const geglu = gatedFrom(getUnary("mish"), { name: "my_mishglu" });
 * geglu.reference(1, 2); // 2·gelu(1)
 * ```
 */
export function gatedFrom(
  inner: UnaryActivation,
  options: { name: string; aliases?: readonly string[]; description?: string; source?: string },
): GatedActivation {
  return defineGated({
    name: options.name,
    aliases: options.aliases,
    description: options.description ?? `${inner.name}(gate)·value`,
    formula: String.raw`\mathrm{${inner.name.replaceAll("_", String.raw`\_`)}}(g)\cdot v`,
    properties: inner.properties,
    source: options.source,
    inner,
    reference: (g, v) => inner.reference(g) * v,
    derivative: (g, v) => [inner.derivative(g) * v, inner.reference(g)],
    forward: (g, v) => tf.mul(inner.apply(g), v),
    onnx: (b, g, v) => {
      if (!inner.onnx) {
        throw new Error(
          `${options.name}: its gate activation '${inner.name}' has no ONNX lowering; ` +
            `give it an 'onnx' field (a function (g, x) => name emitting ONNX nodes).`,
        );
      }
      return b.op("Mul", [inner.onnx(b, g), v]);
    },
  });
}
