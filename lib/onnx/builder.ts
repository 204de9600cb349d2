/**
 * Building ONNX graphs with the `onnx-proto` schema (protobufjs), and the one-activation models
 * that check every registry lowering in ONNX Runtime.
 *
 * @module
 */
import onnxProto from "onnx-proto";
import type { ActivationDef, OnnxBuilder } from "../activations/types.ts";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

/** The ONNX opset actlab emits: 20 has a native `Gelu` with `approximate`. */
export const ONNX_OPSET = 20;
/** ONNX IR version matching {@link ONNX_OPSET}. */
export const ONNX_IR_VERSION = 9;
const FLOAT = 1;

type Attribute = number | string | readonly number[];

function attributeProto(name: string, value: Attribute) {
  if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger)
      ? { name, type: 7, ints: value }
      : { name, type: 6, floats: value };
  }
  return Number.isInteger(value) && !["alpha", "beta", "gamma"].includes(name)
    ? { name, type: 2, i: value }
    : { name, type: 1, f: value };
}

/**
 * Collects ONNX nodes and constants with fresh value names; {@link GraphBuilder.model} wraps
 * them into an encoded ModelProto.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "@actlab/actlab";
 * const g = new GraphBuilder();
 * const y = g.op("Relu", ["x"]);
 * const bytes = g.model({ inputs: { x: ["n"] }, outputs: { [y]: ["n"] } });
 * ```
 */
export class GraphBuilder implements OnnxBuilder {
  // deno-lint-ignore no-explicit-any
  readonly nodes: any[] = [];
  // deno-lint-ignore no-explicit-any
  readonly initializers: any[] = [];
  #counter = 0;

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
    const output = this.fresh(type.toLowerCase());
    this.nodes.push({
      opType: type,
      input: [...inputs],
      output: [output],
      name: output,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return output;
  }

  /** Copies `value` into a value named `name` (graph outputs get readable names this way). */
  output(value: string, name: string): string {
    this.nodes.push({ opType: "Identity", input: [value], output: [name], name, attribute: [] });
    return name;
  }

  /** A float32 scalar initializer. */
  constant(value: number): string {
    const name = this.fresh("const");
    this.initializers.push({ name, dataType: FLOAT, dims: [], floatData: [value] });
    return name;
  }

  /** Encodes the graph as a ModelProto with float32 inputs and outputs of the given shapes. */
  model(io: {
    inputs: Record<string, (string | number)[]>;
    outputs: Record<string, (string | number)[]>;
    name?: string;
  }): Uint8Array {
    const valueInfo = (name: string, dims: (string | number)[]) => ({
      name,
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: {
            dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
          },
        },
      },
    });
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: "actlab",
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      graph: {
        name: io.name ?? "actlab",
        node: this.nodes,
        initializer: this.initializers,
        input: Object.entries(io.inputs).map(([n, d]) => valueInfo(n, d)),
        output: Object.entries(io.outputs).map(([n, d]) => valueInfo(n, d)),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * An ONNX model of one activation through its registry lowering: input `x` (unary) or `gate`
 * and `value` (gated), output `y`, all float32 of any length. A definition without a lowering
 * throws an error saying what to add.
 *
 * @example
 * ```ts
 * import { activationModel, createOrtSession, getActivation } from "@actlab/actlab";
 * const { session } = await createOrtSession(activationModel(getActivation("gelu")));
 * ```
 */
export function activationModel(def: ActivationDef): Uint8Array {
  if (!def.onnx) {
    throw new Error(
      `Activation '${def.name}' has no ONNX lowering. Add an 'onnx' field to its definition: ` +
        `(g, x) => g.op("OpType", [x]) for unary, (g, gate, value) => ... for gated.`,
    );
  }
  const g = new GraphBuilder();
  g.output(def.kind === "unary" ? def.onnx(g, "x") : def.onnx(g, "gate", "value"), "y");
  const inputs: Record<string, string[]> = def.kind === "unary"
    ? { x: ["n"] }
    : { gate: ["n"], value: ["n"] };
  return g.model({ inputs, outputs: { y: ["n"] }, name: def.name });
}
