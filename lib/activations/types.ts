/**
 * The shape of one activation definition in the registry.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Whether an activation maps one input (`unary`) or a gate and a value (`gated`). */
export type ActivationKind = "unary" | "gated";

/**
 * Qualitative properties of an activation, as plots and tables show them.
 *
 * For gated activations they describe the gate nonlinearity.
 */
export interface ActivationProperties {
  /** The output has a finite lower bound (ReLU, GELU, SiLU: yes; leaky ReLU: no). */
  readonly boundedBelow: boolean;
  /** The output has a finite upper bound (ReLU6, sigmoid, tanh: yes). */
  readonly boundedAbove: boolean;
  /** Non-decreasing over the whole real line (GELU and SiLU are not: they dip below zero). */
  readonly monotonic: boolean;
  /** Continuously differentiable everywhere (ReLU: no, it has a kink at 0). */
  readonly smooth: boolean;
  /** Of the form x·g(x): the input gates itself (SiLU, GELU, Mish). */
  readonly selfGated: boolean;
  /** Exactly zero on a half-line, so outputs are sparse (ReLU family). */
  readonly sparse: boolean;
}

/**
 * The small graph-building interface an ONNX lowering writes to.
 *
 * `lib/onnx` provides the implementation; a lowering only emits nodes.
 */
export interface OnnxBuilder {
  /** Adds a node `type(inputs)` with attributes and returns the name of its (first) output. */
  op(
    type: string,
    inputs: readonly string[],
    attributes?: Readonly<Record<string, number | string | readonly number[]>>,
  ): string;
  /** A float32 scalar constant, returned as a value name usable as an input. */
  constant(value: number): string;
}

/** An ONNX lowering of a unary activation: emits nodes for `y = f(x)` and returns y's name. */
export type UnaryOnnxLowering = (g: OnnxBuilder, x: string) => string;
/** An ONNX lowering of a gated activation: emits nodes for `y = f(gate, value)`. */
export type GatedOnnxLowering = (g: OnnxBuilder, gate: string, value: string) => string;

/** Numeric parameters of a parameterised activation, e.g. `{ slope: 0.01 }` for leaky ReLU. */
export type ActivationParams = Readonly<Record<string, number>>;

/** Fields every registry entry has, unary or gated. */
export interface DefinitionBase {
  /** Canonical registry name: lower snake case, e.g. `gelu_tanh`. */
  readonly name: string;
  /** Other names that resolve to this definition (`swish` → `silu`). */
  readonly aliases?: readonly string[];
  /** One line for tables and tooltips. */
  readonly description: string;
  /** The defining formula in TeX. */
  readonly formula: string;
  /** Qualitative properties (see {@link ActivationProperties}). */
  readonly properties: ActivationProperties;
  /** Where the activation comes from (paper, year), for tables. */
  readonly source?: string;
  /** Current parameter values of a parameterised activation. */
  readonly params?: ActivationParams;
  /**
   * Returns the same activation with other parameter values; present on parameterised
   * activations only. Unknown parameter names throw.
   */
  readonly withParams?: (params: ActivationParams) => ActivationDef;
}

/** An activation of one input: `y = f(x)`. */
export interface UnaryActivation extends DefinitionBase {
  /** Discriminant: one input. */
  readonly kind: "unary";
  /** Points where f is not twice differentiable (kinks of ReLU-like functions). */
  readonly kinks?: readonly number[];
  /** float64 reference value f(x). */
  reference(x: number): number;
  /** float64 reference derivative f'(x) (the subgradient tfjs uses at kinks). */
  derivative(x: number): number;
  /** f applied elementwise to a float32 tensor; differentiable with `tf.grad`. */
  apply(x: tf.Tensor): tf.Tensor;
  /** The ONNX lowering (filled by `lib/onnx`). */
  onnx?: UnaryOnnxLowering;
}

/** A gated activation: `y = f(gate, value)`, e.g. SwiGLU = silu(gate)·value. */
export interface GatedActivation extends DefinitionBase {
  /** Discriminant: gate and value. */
  readonly kind: "gated";
  /** The unary activation applied to the gate, when the form is `inner(gate)·value`. */
  readonly inner?: string;
  /** Gate values where f is not twice differentiable in the gate. */
  readonly kinks?: readonly number[];
  /** float64 reference value f(gate, value). */
  reference(gate: number, value: number): number;
  /** float64 partial derivatives `[∂f/∂gate, ∂f/∂value]`. */
  derivative(gate: number, value: number): [number, number];
  /** f applied elementwise to two float32 tensors of one shape; differentiable with `tf.grad`. */
  apply(gate: tf.Tensor, value: tf.Tensor): tf.Tensor;
  /** The ONNX lowering (filled by `lib/onnx`). */
  onnx?: GatedOnnxLowering;
}

/** Any registry entry. Narrow on `kind`. */
export type ActivationDef = UnaryActivation | GatedActivation;
