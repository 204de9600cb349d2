/**
 * Which ONNX ops each GPU execution provider runs, as data (`provider_ops.json`: ONNX Runtime's
 * CUDA kernel table from `docs/OperatorKernels.md`, the native WebGPU provider's kernel table,
 * with source, commit and ORT version), and what actlab does with it:
 *
 * - {@link unsupportedOps} lists the op types of a graph that a provider lacks at actlab's opset
 *   (after ONNX Runtime's constant folding, which removes nodes that read only initializers), so
 *   a test can check every graph actlab builds before any session opens;
 * - {@link lowerForProvider} rewrites ops a provider lacks into primitives it has, when a
 *   primitive form is known ({@link LOWERABLE_OPS}): `Celu`, `Selu`, `Softsign`, `Sign` on WebGPU,
 *   `Mish` on CUDA, and more. Each form is the op's own definition (e.g. Selu = γ·Elu_α), so
 *   results agree with the fused kernel to float32 rounding. The CPU provider has every op and is
 *   never rewritten.
 *
 * @module
 */
import onnxProto from "onnx-proto";
import type { OrtProvider } from "../engine/ort.ts";
import { type GraphBuilder, ONNX_OPSET, ONNX_TYPES } from "./builder.ts";
import { addAll } from "./_reverse.ts";
import table from "./provider_ops.json" with { type: "json" };

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

/** One provider's column of `provider_ops.json`. */
export interface ProviderOpTable {
  /** Where the table was read (URL with commit). */
  readonly source: string;
  /** How it was read, and its caveats. */
  readonly sourceNote: string;
  /** Type-level gaps that the op names do not show. */
  readonly typeNotes: string;
  /** Op type → opset ranges with a kernel, e.g. `"6-12,13+"`. */
  readonly ops: Readonly<Record<string, string>>;
}

/** The tabulated providers (the CPU provider has every op; CoreML and DirectML are not tabulated). */
export type TabulatedProvider = "cuda" | "webgpu";

/**
 * The operator tables of the GPU providers, and the ONNX Runtime version they are pinned to.
 *
 * @example
 * ```ts
 * import { PROVIDER_OPS } from "@actlab/actlab/onnx";
 * console.assert(PROVIDER_OPS.ortVersion === "1.30.0" && "Gemm" in PROVIDER_OPS.providers.webgpu.ops);
 * ```
 */
export const PROVIDER_OPS: {
  readonly ortVersion: string;
  readonly providers: Readonly<Record<TabulatedProvider, ProviderOpTable>>;
} = table;

/** Parses "6-12,13+" into [[6, 12], [13, ∞]]. */
function ranges(spec: string): [number, number][] {
  return spec.split(",").map((part) => {
    const p = part.trim();
    if (p.endsWith("+")) return [Number(p.slice(0, -1)), Infinity];
    const [a, b] = p.split("-").map(Number);
    return [a, b ?? a];
  });
}

/**
 * Whether `provider` has a kernel for `opType` at `opset` (default actlab's): some registered
 * range [a, b] holds the opset. Kernels are registered at the op's versions, so this is exactly
 * "a kernel for the op's version at that opset". CPU: always; untabulated providers (CoreML,
 * DirectML): undefined.
 *
 * @example
 * ```ts
 * import { providerHasOp } from "@actlab/actlab/onnx";
 * console.assert(providerHasOp("webgpu", "Gelu") === true);
 * console.assert(providerHasOp("webgpu", "LogSoftmax") === false);
 * console.assert(providerHasOp("cuda", "Mish") === false);
 * ```
 */
export function providerHasOp(
  provider: OrtProvider,
  opType: string,
  opset: number = ONNX_OPSET,
): boolean | undefined {
  if (provider === "cpu") return true;
  const t = PROVIDER_OPS.providers[provider as TabulatedProvider];
  if (!t) return undefined;
  const spec = t.ops[opType];
  return spec !== undefined && ranges(spec).some(([a, b]) => a <= opset && opset <= b);
}

/** A graph node as the checker sees it. */
interface NodeLike {
  readonly opType: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
}

/**
 * The op types of the nodes a session would run: nodes whose inputs are all initializers (or
 * outputs of such nodes) are dropped, as ONNX Runtime's constant folding removes them before the
 * graph is placed on providers.
 */
function runtimeOpTypes(nodes: readonly NodeLike[], initializers: Iterable<string>): Set<string> {
  const constant = new Set(initializers);
  const ops = new Set<string>();
  for (const node of nodes) {
    // a Constant node is an initializer to ONNX Runtime (it runs on no provider)
    const folded = node.opType === "Constant" ||
      (node.input.length > 0 && node.input.every((i) => i === "" || constant.has(i)));
    if (folded) {
      for (const o of node.output) constant.add(o);
    } else {
      ops.add(node.opType);
    }
  }
  return ops;
}

/**
 * The op types a graph runs (after constant folding), from an encoded model or a builder.
 *
 * @example
 * ```ts
 * import { GraphBuilder, graphOpTypes } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * g.output(g.op("Relu", ["x"]), "y");
 * console.assert([...graphOpTypes(g)].sort().join() === "Identity,Relu");
 * ```
 */
export function graphOpTypes(graph: Uint8Array | GraphBuilder): Set<string> {
  if (graph instanceof Uint8Array) {
    const model = onnx.ModelProto.decode(graph);
    const inits = (model.graph.initializer as { name: string }[]).map((t) => t.name);
    return runtimeOpTypes(model.graph.node as NodeLike[], inits);
  }
  return runtimeOpTypes(graph.nodes as NodeLike[], graph.initializers.map((t) => t.name));
}

/**
 * The op types of `graph` that `provider` has no kernel for at actlab's opset, sorted; empty when
 * every node can run there. Undefined for a provider without a table (CoreML, DirectML).
 *
 * @example
 * ```ts
 * import { GraphBuilder, unsupportedOps } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * g.output(g.op("Celu", ["x"]), "y");
 * console.assert(unsupportedOps(g, "webgpu")?.join() === "Celu");
 * console.assert(unsupportedOps(g, "cpu")?.length === 0);
 * ```
 */
export function unsupportedOps(
  graph: Uint8Array | GraphBuilder,
  provider: OrtProvider,
): string[] | undefined {
  if (provider !== "cpu" && !(provider in PROVIDER_OPS.providers)) return undefined;
  return [...graphOpTypes(graph)].filter((op) => !providerHasOp(provider, op)).sort();
}

// ---------------------------------------------------------------------------------------------
// Primitive forms of ops some provider lacks

/** A node as the builder stores it. */
interface BuiltNode {
  opType: string;
  input: string[];
  output: string[];
  name: string;
  attribute: { name: string; f?: number; i?: number | { toNumber(): number }; s?: Uint8Array }[];
}

/** A numeric or string attribute of a stored node. */
function attr(node: BuiltNode, name: string): number | string | undefined {
  const a = node.attribute.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.s !== undefined && a.s.length > 0) return new TextDecoder().decode(a.s);
  if (a.f !== undefined && a.f !== 0) return a.f;
  if (a.i !== undefined) return typeof a.i === "number" ? a.i : a.i.toNumber();
  return a.f;
}

const num = (node: BuiltNode, name: string, fallback: number) => {
  const v = attr(node, name);
  return typeof v === "number" ? v : fallback;
};

/** ONNX's default Selu constants (float32). */
const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

/** Emits the primitive form of `node` into `g`; returns the value holding its (first) output. */
type Lowering = (g: GraphBuilder, node: BuiltNode) => string;

const LOWERINGS: Readonly<Record<string, Lowering>> = {
  // celu(x) = max(0, x) + min(0, α(e^(x/α) − 1))
  Celu(g, n) {
    const x = n.input[0], alpha = num(n, "alpha", 1);
    const neg = g.op("Mul", [
      g.op("Sub", [g.op("Exp", [g.op("Mul", [x, g.constant(1 / alpha)])]), g.constant(1)]),
      g.constant(alpha),
    ]);
    return g.op("Add", [g.op("Relu", [x]), g.op("Min", [neg, g.constant(0)])]);
  },
  // selu(x) = γ·elu_α(x)
  Selu: (g, n) =>
    g.op("Mul", [
      g.op("Elu", [n.input[0]], { alpha: num(n, "alpha", SELU_ALPHA) }),
      g.constant(num(n, "gamma", SELU_GAMMA)),
    ]),
  // softsign(x) = x/(1 + |x|)
  Softsign: (g, n) =>
    g.op("Div", [n.input[0], g.op("Add", [g.op("Abs", [n.input[0]]), g.constant(1)])]),
  // sign(x) = [x > 0] − [x < 0]
  Sign(g, n) {
    const x = n.input[0], f = ONNX_TYPES[g.floatType];
    const pos = g.op("Cast", [g.op("Greater", [x, g.constant(0)])], { to: f });
    return g.op("Sub", [pos, g.op("Cast", [g.op("Less", [x, g.constant(0)])], { to: f })]);
  },
  // prelu(x, a) = x (x ≥ 0), a·x otherwise
  PRelu(g, n) {
    const [x, a] = n.input;
    return g.op("Where", [
      g.op("Less", [x, g.constant(0)]),
      g.op("Mul", [x, a]),
      x,
    ]);
  },
  // mish(x) = x·tanh(softplus(x))
  Mish: (g, n) => g.op("Mul", [n.input[0], g.op("Tanh", [g.op("Softplus", [n.input[0]])])]),
  // softplus(x) = max(x, 0) + ln(1 + e^(−|x|)), without overflow
  Softplus(g, n) {
    const x = n.input[0];
    const tail = g.op("Log", [
      g.op("Add", [g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])]), g.constant(1)]),
    ]);
    return g.op("Add", [g.op("Relu", [x]), tail]);
  },
  // hardsigmoid(x) = clip(αx + β, 0, 1)
  HardSigmoid: (g, n) =>
    g.op("Clip", [
      g.op("Add", [
        g.op("Mul", [n.input[0], g.constant(num(n, "alpha", 0.2))]),
        g.constant(num(n, "beta", 0.5)),
      ]),
      g.constant(0),
      g.constant(1),
    ]),
  // hardswish(x) = x·clip(x/6 + ½, 0, 1)
  HardSwish: (g, n) =>
    g.op("Mul", [
      n.input[0],
      g.op("Clip", [
        g.op("Add", [g.op("Mul", [n.input[0], g.constant(1 / 6)]), g.constant(0.5)]),
        g.constant(0),
        g.constant(1),
      ]),
    ]),
  // elu(x) = x (x > 0), α(eˣ − 1) otherwise
  Elu(g, n) {
    const x = n.input[0];
    const neg = g.op("Mul", [
      g.op("Sub", [g.op("Exp", [g.op("Min", [x, g.constant(0)])]), g.constant(1)]),
      g.constant(num(n, "alpha", 1)),
    ]);
    return g.op("Where", [g.op("Greater", [x, g.constant(0)]), x, neg]);
  },
  // gelu(x) = ½x(1 + erf(x/√2)), or the tanh form
  Gelu(g, n) {
    const x = n.input[0];
    const half = g.op("Mul", [x, g.constant(0.5)]);
    if (attr(n, "approximate") === "tanh") {
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const inner = g.op("Mul", [
        g.op("Add", [x, g.op("Mul", [cube, g.constant(0.044715)])]),
        g.constant(Math.sqrt(2 / Math.PI)),
      ]);
      return g.op("Mul", [half, g.op("Add", [g.op("Tanh", [inner]), g.constant(1)])]);
    }
    const erf = g.op("Erf", [g.op("Mul", [x, g.constant(Math.SQRT1_2)])]);
    return g.op("Mul", [half, g.op("Add", [erf, g.constant(1)])]);
  },
  // log-softmax over `axis`: x − max − ln Σ e^(x − max)
  LogSoftmax(g, n) {
    const axis = g.constantInt64([num(n, "axis", -1)]);
    const shifted = g.op("Sub", [
      n.input[0],
      g.op("ReduceMax", [n.input[0], axis], { keepdims: 1 }),
    ]);
    const sum = g.op("ReduceSum", [g.op("Exp", [shifted]), axis], { keepdims: 1 });
    return g.op("Sub", [shifted, g.op("Log", [sum])]);
  },
  // Σ of any number of inputs as binary Adds
  Sum: (g, n) => n.input.length === 1 ? g.op("Identity", n.input) : addAll(g, n.input),
};

/**
 * The op types {@link lowerForProvider} can rewrite into primitives.
 *
 * @example
 * ```ts
 * import { LOWERABLE_OPS } from "@actlab/actlab/onnx";
 * console.assert(LOWERABLE_OPS.includes("Celu"));
 * ```
 */
export const LOWERABLE_OPS: readonly string[] = Object.keys(LOWERINGS).sort();

/**
 * Rewrites, in place, every node of `g` whose op `provider` lacks and that has a primitive form
 * ({@link LOWERABLE_OPS}), repeating until no such node is left (a form may use an op the
 * provider lacks too, e.g. Mish → Softplus). Node order stays topological. Returns the op types
 * rewritten. The CPU provider and untabulated ones are left alone.
 *
 * @example
 * ```ts
 * import { GraphBuilder, lowerForProvider, unsupportedOps } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * g.output(g.op("Selu", ["x"]), "y");
 * console.assert(lowerForProvider(g, "webgpu").join() === "Selu");
 * console.assert(unsupportedOps(g, "webgpu")?.length === 0);
 * ```
 */
export function lowerForProvider(
  g: GraphBuilder,
  provider: OrtProvider,
  options: {
    /** Op types to rewrite even where the provider has them (to check a form). */
    readonly force?: readonly string[];
  } = {},
): string[] {
  const force = new Set(options.force ?? []);
  if (force.size === 0 && (provider === "cpu" || !(provider in PROVIDER_OPS.providers))) return [];
  const lacks = (op: string) => force.has(op) || providerHasOp(provider, op) === false;
  const rewritten = new Set<string>();
  for (let pass = 0; pass < 8; pass++) {
    const old = g.nodes.splice(0) as BuiltNode[];
    let changed = false;
    for (const node of old) {
      const lower = LOWERINGS[node.opType];
      if (lower === undefined || node.output.length !== 1 || !lacks(node.opType)) {
        g.nodes.push(node);
        continue;
      }
      const start = g.nodes.length;
      const value = lower(g, node);
      // The form's result takes the node's output name (an Identity when it is an input).
      const added = g.nodes.slice(start) as BuiltNode[];
      const producer = added.find((m) => m.output[0] === value);
      if (producer) {
        producer.output[0] = node.output[0];
        for (const m of added) m.input = m.input.map((i) => (i === value ? node.output[0] : i));
      } else {
        g.nodes.push({ ...node, opType: "Identity", input: [value], attribute: [] });
      }
      rewritten.add(node.opType);
      changed = true;
    }
    if (!changed) break;
  }
  return [...rewritten].sort();
}
