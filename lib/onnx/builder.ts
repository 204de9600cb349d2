/**
 * Building ONNX graphs with the `onnx-proto` schema (protobufjs), and the one-activation models
 * that check every registry lowering in ONNX Runtime.
 *
 * @module
 */
import onnxProto from "onnx-proto";
import type { ActivationDef, OnnxBuilder } from "../activations/types.ts";
import type { OrtProvider } from "../engine/ort.ts";
import { lowerForProvider } from "./provider_ops.ts";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

/** The ONNX opset actlab emits: 20 has a native `Gelu` with `approximate`. */
export const ONNX_OPSET = 20;
/** ONNX IR version matching {@link ONNX_OPSET}. */
export const ONNX_IR_VERSION = 9;

/** ONNX element types actlab uses (TensorProto.DataType). */
export const ONNX_TYPES = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 } as const;
/** An element type name of {@link ONNX_TYPES}. */
export type OnnxElementType = keyof typeof ONNX_TYPES;

/** The float element type of a graph's values, constants and weights. */
export type FloatType = "float32" | "float64";

/** An ONNX node attribute value: int or float, string, or a list of ints or floats. */
export type Attribute = number | string | readonly number[];

/** Attributes that are floats even when the value is a whole number. */
const FLOAT_ATTRIBUTES = new Set(["alpha", "beta", "gamma", "epsilon"]);

function attributeProto(name: string, value: Attribute) {
  if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger)
      ? { name, type: 7, ints: value }
      : { name, type: 6, floats: value };
  }
  return Number.isInteger(value) && !FLOAT_ATTRIBUTES.has(name)
    ? { name, type: 2, i: value }
    : { name, type: 1, f: value };
}

/**
 * A graph input or output: its dims (strings are dynamic) and element type (default: the
 * builder's float type).
 */
export type ValueSpec = (string | number)[] | {
  dims: (string | number)[];
  type: OnnxElementType;
};

/**
 * Collects ONNX nodes and initializers with fresh value names; {@link GraphBuilder.model} wraps
 * them into an encoded ModelProto. Float values are float32, or float64 with
 * `{ floatType: "float64" }` (for gradient checks; fewer ONNX Runtime kernels take doubles).
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * g.output(g.op("Relu", ["x"]), "y");
 * const bytes = g.model({ inputs: { x: ["n"] }, outputs: { y: ["n"] } });
 * ```
 */
export class GraphBuilder implements OnnxBuilder {
  /** NodeProtos recorded so far. */
  // deno-lint-ignore no-explicit-any
  readonly nodes: any[] = [];
  /** TensorProtos (weights and constants) recorded so far. */
  // deno-lint-ignore no-explicit-any
  readonly initializers: any[] = [];
  /** Element type of constants, weights and (by default) graph inputs and outputs. */
  readonly floatType: FloatType;
  #counter = 0;

  /** A builder of float32 graphs, or of `options.floatType`. */
  constructor(options: { readonly floatType?: FloatType } = {}) {
    this.floatType = options.floatType ?? "float32";
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Adds a node and returns the name of its output. */
  op(
    type: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, Attribute>> = {},
  ): string {
    return this.opMulti(type, inputs, 1, attributes)[0];
  }

  /** Adds a node with `outputs` outputs and returns their names. */
  opMulti(
    type: string,
    inputs: readonly string[],
    outputs: number,
    attributes: Readonly<Record<string, Attribute>> = {},
  ): string[] {
    const base = this.fresh(type.toLowerCase());
    const names = Array.from({ length: outputs }, (_, i) => (i === 0 ? base : `${base}_${i}`));
    this.nodes.push({
      opType: type,
      input: [...inputs],
      output: names,
      name: base,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return names;
  }

  /** Copies `value` into a value named `name` (graph outputs get readable names this way). */
  output(value: string, name: string): string {
    this.nodes.push({ opType: "Identity", input: [value], output: [name], name, attribute: [] });
    return name;
  }

  /** A float scalar initializer (of the builder's float type). */
  constant(value: number): string {
    const name = this.fresh("const");
    this.initializers.push({
      name,
      dataType: ONNX_TYPES[this.floatType],
      dims: [],
      rawData: this.#floatBytes([value]),
    });
    return name;
  }

  /** Float zeros of a static shape (of the builder's float type). */
  zeros(dims: readonly number[]): string {
    const shape = this.constantInt64(dims);
    return this.floatType === "float32"
      ? this.op("ConstantOfShape", [shape]) // float32 zeros by default
      : this.op("Expand", [this.constant(0), shape]);
  }

  /** An int64 1-D initializer (shapes, split sizes, slice bounds). */
  constantInt64(values: readonly number[]): string {
    const name = this.fresh("const_i64");
    const rawData = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    this.initializers.push({ name, dataType: ONNX_TYPES.int64, dims: [values.length], rawData });
    return name;
  }

  /** An int32 initializer of the given dims (default 1-D): ids, class indices, hash constants. */
  constantInt32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh("const_i32");
    const rawData = new Uint8Array(Int32Array.from(values).buffer);
    this.initializers.push({ name, dataType: ONNX_TYPES.int32, dims: [...dims], rawData });
    return name;
  }

  /** A named float initializer (a weight) with its values, stored as the builder's float type. */
  initializer(name: string, values: Float32Array | Float64Array, dims: readonly number[]): string {
    const dataType = ONNX_TYPES[this.floatType];
    this.initializers.push({ name, dataType, dims: [...dims], rawData: this.#floatBytes(values) });
    return name;
  }

  /** Little-endian bytes of `values` as the builder's float type. */
  #floatBytes(values: ArrayLike<number>): Uint8Array {
    const typed = this.floatType === "float32"
      ? new Float32Array(values)
      : new Float64Array(values);
    return new Uint8Array(typed.buffer);
  }

  /**
   * The graph as a GraphProto object (not encoded) with the given inputs and outputs: the body of
   * a control-flow node (`Loop`), or what {@link GraphBuilder.model} wraps.
   */
  graph(io: {
    inputs: Record<string, ValueSpec>;
    outputs: Record<string, ValueSpec>;
    name?: string;
  }): Record<string, unknown> {
    const valueInfo = (name: string, spec: ValueSpec) => {
      const { dims, type } = Array.isArray(spec) ? { dims: spec, type: this.floatType } : spec;
      return {
        name,
        type: {
          tensorType: {
            elemType: ONNX_TYPES[type],
            shape: {
              dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
            },
          },
        },
      };
    };
    return {
      name: io.name ?? "actlab",
      node: this.nodes,
      initializer: this.initializers,
      input: Object.entries(io.inputs).map(([n, d]) => valueInfo(n, d)),
      output: Object.entries(io.outputs).map(([n, d]) => valueInfo(n, d)),
    };
  }

  /** Encodes the graph as a ModelProto with the given inputs and outputs. */
  model(io: {
    inputs: Record<string, ValueSpec>;
    outputs: Record<string, ValueSpec>;
    name?: string;
    docString?: string;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: "actlab",
      docString: io.docString ?? "",
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      graph: this.graph(io),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * An ONNX model of one activation through its registry lowering: input `x` (unary) or `gate`
 * and `value` (gated), output `y`, all float32 of any length. A definition without a lowering
 * throws an error saying what to add. With `provider`, ops it lacks are rewritten into
 * primitives it has (`lowerForProvider`).
 *
 * @example
 * ```ts
 * import { activationModel } from "@actlab/actlab/onnx";
 * import { createOrtSession } from "@actlab/actlab/engine";
 * import { getActivation } from "@actlab/actlab";
 * const { session } = await createOrtSession(activationModel(getActivation("gelu")));
 * ```
 */
export function activationModel(
  def: ActivationDef,
  options: { readonly provider?: OrtProvider } = {},
): Uint8Array {
  if (!def.onnx) {
    throw new Error(
      `Activation '${def.name}' has no ONNX lowering. Add an 'onnx' field to its definition: ` +
        `(g, x) => g.op("OpType", [x]) for unary, (g, gate, value) => ... for gated.`,
    );
  }
  const g = new GraphBuilder();
  g.output(def.kind === "unary" ? def.onnx(g, "x") : def.onnx(g, "gate", "value"), "y");
  lowerForProvider(g, options.provider ?? "cpu");
  const inputs: Record<string, string[]> = def.kind === "unary"
    ? { x: ["n"] }
    : { gate: ["n"], value: ["n"] };
  return g.model({ inputs, outputs: { y: ["n"] }, name: def.name });
}
