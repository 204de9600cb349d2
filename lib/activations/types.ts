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

/**
 * An ONNX lowering of a unary activation: emits nodes for `y = f(x)` and returns y's name. A
 * trainable activation also takes the value names of its parameters (`params`, by
 * {@link TrainableParamSpec} name); without them it uses their initial values as constants.
 */
export type UnaryOnnxLowering = (
  g: OnnxBuilder,
  x: string,
  params?: Readonly<Record<string, string>>,
) => string;
/** An ONNX lowering of a gated activation: emits nodes for `y = f(gate, value)`. */
export type GatedOnnxLowering = (g: OnnxBuilder, gate: string, value: string) => string;

/**
 * A parameter an activation learns during training, declared by the activation: the GPT creates
 * one per layer (`h.{l}.mlp.act.{name}`), both engines train it, checkpoints keep it.
 */
export interface TrainableParamSpec {
  /** Parameter name, e.g. `a` (PReLU) or `alpha_p_raw` (xIELU); part of the checkpoint key. */
  readonly name: string;
  /** `scalar`: one value per layer; `channel`: one per MLP hidden unit (shape [H]). */
  readonly shape: "scalar" | "channel";
  /** Initial value of the stored parameter (the raw value where `value` maps it). */
  readonly init: number;
  /** Whether AdamW's weight decay applies to it. */
  readonly decay: boolean;
  /** One line for tables and docs. */
  readonly description: string;
  /**
   * Where the stored value is a raw parameterisation (xIELU stores softplus⁻¹ of α): the
   * quantity people read, its name and how it follows from the raw value (float64).
   */
  readonly value?: { readonly name: string; readonly of: (raw: number) => number };
}

/** Values of an activation's trainable parameters by name (float64; a channel's own value). */
export type TrainableValues = Readonly<Record<string, number>>;

/** Trainable parameters as tfjs tensors by name: scalars `[]`, per channel `[H]`. */
export type TrainableTensors = Readonly<Record<string, tf.Tensor>>;

/**
 * The float64 math of an activation that normalises over the channel (last) axis, so one output
 * depends on the whole row of hidden units (PolyNorm). Accuracy checks compare rows.
 */
export interface RowMath {
  /** float64 y = f(row) for one row of hidden units. */
  reference(row: readonly number[], params?: TrainableValues): number[];
  /** float64 vector-Jacobian product: the gradients of ⟨dy, f(row)⟩ for the row and parameters. */
  vjp(
    row: readonly number[],
    dy: readonly number[],
    params?: TrainableValues,
  ): { readonly dx: number[]; readonly dparams: Record<string, number> };
}

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
  /**
   * float64 reference value f(x); a trainable activation takes its parameter values (default:
   * their initial values).
   */
  reference(x: number, params?: TrainableValues): number;
  /** float64 reference derivative f'(x) (the subgradient tfjs uses at kinks). */
  derivative(x: number, params?: TrainableValues): number;
  /**
   * f applied elementwise to a float32 tensor; differentiable with `tf.grad`. A trainable
   * activation takes its parameters as tensors (scalars `[]`, per channel `[H]` over the last
   * axis; default: constants at their initial values), differentiable too.
   */
  apply(x: tf.Tensor, params?: TrainableTensors): tf.Tensor;
  /** The ONNX lowering (filled by `lib/onnx`). */
  onnx?: UnaryOnnxLowering;
  /**
   * Parameters the activation learns (PReLU's slope, xIELU's α): the GPT creates them per
   * layer. Absent on fixed activations.
   */
  readonly trainable?: readonly TrainableParamSpec[];
  /** float64 ∂f/∂p for each trainable parameter at x (elementwise trainable activations). */
  paramDerivative?(x: number, params?: TrainableValues): Record<string, number>;
  /**
   * Set when f is not elementwise but normalises over the channel (last) axis (PolyNorm):
   * `reference`/`derivative` then give the elementwise curve at unit RMS, and this the true map
   * of a row. Elementwise accuracy checks and plots treat such an entry by rows.
   */
  readonly overChannels?: RowMath;
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
