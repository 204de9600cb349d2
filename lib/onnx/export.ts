/**
 * Export of a trained mini-GPT to ONNX: the model's own forward pass traced into a graph with
 * one named initializer per parameter (the checkpoint keys), dynamic batch and sequence length.
 *
 * @module
 */
import type { OrtProvider } from "../engine/ort.ts";
import type { Gpt } from "../gpt/model.ts";
import { assembleParams, gptForward, gptLoss } from "../gpt/model.ts";
import { atomicWriteFile } from "../core/fs.ts";
import { CharTokenizer } from "../core/tokenizer.ts";
import { GraphBuilder } from "./builder.ts";
import { onnxTraceOps } from "./trace.ts";
import { lowerForProvider } from "./provider_ops.ts";

/** What the exported graph computes. */
export type OnnxGraphKind = "logits" | "loss";

/**
 * The ONNX model of `model`: input `idx` int32 [batch, seq]; output `logits` float32
 * [batch, seq, vocab] (kind `logits`), or with input `targets` int32 [batch, seq] the scalar mean
 * cross-entropy `loss` (kind `loss`). Weights are read from the model's current values. The
 * graph runs on every provider actlab targets; with `provider`, the activation's ops that
 * provider lacks are also rewritten into primitives (`lowerForProvider`).
 *
 * @example
 * ```ts ignore
 * import { gptToOnnx } from "@actlab/actlab/onnx";
 * const bytes = await gptToOnnx(model); // Uint8Array, an ONNX ModelProto
 * ```
 */
export async function gptToOnnx(
  model: Gpt,
  options: { kind?: OnnxGraphKind; provider?: OrtProvider } = {},
): Promise<Uint8Array> {
  const kind = options.kind ?? "logits";
  const provider = options.provider ?? "cpu";
  const g = new GraphBuilder();
  for (const spec of model.specs) {
    const v = model.variables.get(spec.name);
    if (!v) throw new Error(`gptToOnnx: the model has no parameter ${spec.name}`);
    g.initializer(spec.name, (await v.data()) as Float32Array, spec.shape);
  }
  const params = assembleParams(model.config, model.activation, (name) => name);
  const ops = onnxTraceOps(g);
  const { config, activation } = model;
  const doc = JSON.stringify({
    actlab: "mini-GPT",
    config,
    vocabulary: model.tokenizer instanceof CharTokenizer
      ? model.tokenizer.vocab.join("")
      : undefined,
    tokenizer: model.tokenizer && !(model.tokenizer instanceof CharTokenizer)
      ? model.tokenizer.spec
      : undefined,
  });
  const idx = { dims: ["batch", "seq"], type: "int32" as const };
  if (kind === "logits") {
    g.output(gptForward(ops, params, config, activation, "idx"), "logits");
    lowerForProvider(g, provider);
    return g.model({
      inputs: { idx },
      outputs: { logits: ["batch", "seq", config.vocabSize] },
      name: `gpt_${activation.name}`,
      docString: doc,
    });
  }
  g.output(gptLoss(ops, params, config, activation, "idx", "targets"), "loss");
  lowerForProvider(g, provider);
  return g.model({
    inputs: { idx, targets: idx },
    outputs: { loss: [] },
    name: `gpt_${activation.name}_loss`,
    docString: doc,
  });
}

/**
 * Writes the model's ONNX graph to `path` (atomically: a temporary file, then a rename), so any
 * ONNX Runtime client can open it. Returns the number of bytes written.
 *
 * @example
 * ```ts ignore
 * import { exportOnnx } from "@actlab/actlab";
 * await exportOnnx(model, "gpt_gelu.onnx");
 * ```
 */
export async function exportOnnx(
  model: Gpt,
  path: string,
  options: { kind?: OnnxGraphKind } = {},
): Promise<number> {
  const bytes = await gptToOnnx(model, options);
  await atomicWriteFile(path, bytes);
  return bytes.length;
}
