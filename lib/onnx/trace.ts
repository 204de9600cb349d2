/**
 * Tracing: an implementation of the mini-GPT's `Ops` interface whose tensors are ONNX value
 * names and whose operations record graph nodes. Running the model's own forward pass
 * (`gptForward`) through it yields the ONNX graph of that model, with no second copy of the model.
 * Batch and sequence length stay dynamic: every input-dependent size is read with `Shape` inside
 * the graph, and nothing computes on int64 or with ops a GPU provider lacks (see `_portable.ts`),
 * so the graph runs wholly on ONNX Runtime's CPU, CUDA and WebGPU providers.
 *
 * @module
 */
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";
import type { Ops } from "../gpt/ops.ts";
import type { GraphBuilder } from "./builder.ts";
import { logSoftmax, meanNll } from "./_portable.ts";

function noLowering(name: string): Error {
  return new Error(
    `Activation '${name}' has no ONNX lowering, so the model cannot be exported or run on ONNX ` +
      `Runtime. Register it with an 'onnx' field: (g, x) => g.op("OpType", [x]) for unary, ` +
      `(g, gate, value) => ... for gated (see lib/activations/unary.ts for examples).`,
  );
}

/**
 * `Ops` over ONNX value names: each call appends nodes to `g` and returns its output's name.
 *
 * @example
 * ```ts
 * import { GraphBuilder, onnxTraceOps } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * const ops = onnxTraceOps(g);
 * const y = ops.softmax(ops.scale("x", 2)); // nodes Mul, Softmax recorded in g
 * ```
 */
export function onnxTraceOps(g: GraphBuilder): Ops<string> {
  const linear = (x: string, w: string, bias?: string) => {
    const y = g.op("MatMul", [x, w]);
    return bias === undefined ? y : g.op("Add", [y, bias]);
  };
  const split = (x: string, sizes: readonly number[]) =>
    g.opMulti("Split", [x, g.constantInt64(sizes)], sizes.length, { axis: -1 });
  return {
    name: "onnx-trace",
    training: false,

    embedding: (table, ids) => g.op("Gather", [table, ids], { axis: 0 }), // [B, T, C]

    positionEmbedding(table, ids) {
      const t = g.op("Shape", [ids], { start: -1 }); // [T]
      return g.op("Slice", [table, g.constantInt64([0]), t, g.constantInt64([0])]); // [T, C]
    },

    linear,
    linearSplit: (x, w, bias, sizes) => split(linear(x, w, bias), sizes),

    add: (a, b) => g.op("Add", [a, b]),
    mul: (a, b) => g.op("Mul", [a, b]),
    scale: (x, s) => g.op("Mul", [x, g.constant(s)]),

    layerNorm: (x, weight, bias, eps) =>
      g.op("LayerNormalization", bias === undefined ? [x, weight] : [x, weight, bias], {
        axis: -1,
        epsilon: eps,
      }),

    split,
    splitHeads: (x, nHead) => g.op("Reshape", [x, g.constantInt64([0, 0, nHead, -1])]),
    mergeHeads: (x) => g.op("Reshape", [x, g.constantInt64([0, 0, -1])]),
    transpose: (x, perm) => g.op("Transpose", [x], { perm }),
    matmul: (a, b) => g.op("MatMul", [a, b]),

    causalMask(scores) {
      // positions 1…T as floats (Expand, CumSum: no int64 arithmetic), then row ≥ column
      const t = g.op("Shape", [scores], { start: -1 }); // [1] = [T]
      const pos = g.op("CumSum", [g.op("Expand", [g.constant(1), t]), g.constantInt32([0], [])]);
      const past = g.op("GreaterOrEqual", [
        g.op("Reshape", [pos, g.constantInt64([-1, 1])]), // [T, 1]
        g.op("Reshape", [pos, g.constantInt64([1, -1])]), // [1, T]
      ]); // [T, T]
      return g.op("Where", [past, scores, g.constant(-Infinity)]);
    },

    softmax: (x) => g.op("Softmax", [x], { axis: -1 }),

    activation(def: UnaryActivation, x, params) {
      if (!def.onnx) throw noLowering(def.name);
      return def.onnx(g, x, params);
    },

    gatedActivation(def: GatedActivation, gate, value) {
      if (!def.onnx) throw noLowering(def.name);
      return def.onnx(g, gate, value);
    },

    dropout: (x) => x, // inference graph

    crossEntropy(logits, targets) {
      const { logp } = logSoftmax(g, logits); // [B, T, V]
      const labels = g.op("Reshape", [targets, g.constantInt64([0, 0, 1])]); // [B, T, 1] int32
      return meanNll(g, logp, labels, 3);
    },
  };
}
