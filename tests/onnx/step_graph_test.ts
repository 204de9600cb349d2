/**
 * The shape of the compiled step's graph where it saves passes over activations: a linear layer
 * whose output is split (the attention's q, k, v; a gated MLP's gate and value) splits its weight,
 * not its output, and joins per-part weight gradients, not per-part output gradients; a bias is
 * the C input of its Gemm rather than a separate Add; additions are two-input `Sum`s, which ONNX
 * Runtime does not fuse into its slow CPU `SkipLayerNormalization`; gradient masks are products,
 * not `Where`. The numbers these graphs compute are checked elsewhere (`tape_test.ts` against
 * finite differences, `train_test.ts` against tfjs).
 */
import { assert, assertEquals } from "@std/assert";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { getActivation, gptConfig } from "@actlab/actlab";
import { ortSessionOptions } from "@actlab/actlab/engine";
import { assembleParams, gptLoss, gptParamSpecs, trainConfig } from "@actlab/actlab/gpt";
import { gptTrainingGraph, GradientTape, GraphBuilder } from "@actlab/actlab/onnx";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

interface Node {
  readonly opType: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
}

/** The forward and backward nodes of a tiny GPT's loss, with its parameters' gradients. */
function stepGraph(activation: string, bias: boolean) {
  const config = gptConfig({
    preset: "tiny",
    vocabSize: 13,
    blockSize: 8,
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    activation,
    bias,
  });
  const act = getActivation(activation);
  const specs = gptParamSpecs(config, act);
  const g = new GraphBuilder();
  const tape = new GradientTape(g);
  for (const s of specs) tape.input(s.name, s.shape, { requiresGrad: true });
  tape.input("x", [3, 8], { dtype: "int32" });
  tape.input("y", [3, 8], { dtype: "int32" });
  const params = assembleParams(config, act, (name) => name);
  const loss = gptLoss(tape.ops, params, config, act, "x", "y");
  const grads = tape.gradients(loss, specs.map((s) => s.name));
  return { nodes: g.nodes as Node[], specs: specs.map((s) => s.name), grads };
}

for (const [activation, bias] of [["swiglu", false], ["swiglu", true], ["gelu", true]] as const) {
  const what = `${activation}${bias ? " with biases" : ""}`;

  Deno.test(`the ${what} step splits weights, never activations, and joins only parameter gradients`, () => {
    const { nodes, specs, grads } = stepGraph(activation, bias);
    const params = new Set(specs);
    const splits = nodes.filter((n) => n.opType === "Split");
    // per layer: c_attn (and the gated c_fc), each with its bias when there are biases
    const perLayer = (activation === "swiglu" ? 2 : 1) * (bias ? 2 : 1);
    assertEquals(splits.length, 2 * perLayer);
    for (const n of splits) assert(params.has(n.input[0]), `Split of ${n.input[0]}`);
    const gradients = new Set(grads.values());
    const concats = nodes.filter((n) => n.opType === "Concat");
    assertEquals(concats.length, splits.length);
    for (const n of concats) assert(gradients.has(n.output[0]), `Concat to ${n.output[0]}`);
  });

  if (!bias) continue;
  Deno.test(`the ${what} step's linear layers are Gemms with their biases inside`, () => {
    const { nodes, specs } = stepGraph(activation, bias);
    const biases = new Set(specs.filter((s) => /\.(c_attn|c_fc|c_proj)\.bias$/.test(s)));
    assertEquals(biases.size, 8);
    const producer = new Map(nodes.flatMap((n) => n.output.map((o) => [o, n] as const)));
    /** The parameter a value is, or a Split of. */
    const origin = (v: string) =>
      producer.get(v)?.opType === "Split" ? producer.get(v)!.input[0] : v;
    const withBias = nodes.filter((n) => n.opType === "Gemm" && biases.has(origin(n.input[2])));
    // c_attn: q, k, v; c_fc: gate, value (gated) or one; c_proj; per layer
    assertEquals(withBias.length, 2 * (3 + (activation === "swiglu" ? 2 : 1) + 2));
    const adds = nodes.filter((n) => n.opType === "Add" && n.input.some((i) => biases.has(i)));
    assertEquals(adds, []);
  });
}

/** The op types ONNX Runtime's CPU provider runs for a step graph, after its optimisations. */
async function optimizedOpTypes(bytes: Uint8Array): Promise<Set<string>> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-optimized-" });
  try {
    const path = `${dir}/step.onnx`;
    const session = await ort.InferenceSession.create(bytes, {
      ...ortSessionOptions("cpu", { threads: 1 }),
      optimizedModelFilePath: path,
    });
    await session.release();
    const model = onnx.ModelProto.decode(await Deno.readFile(path));
    return new Set((model.graph.node as Node[]).map((n) => n.opType));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the nano step's additions are Sums, kept out of SkipLayerNormalization", async () => {
  const config = gptConfig({ preset: "nano", vocabSize: 65, activation: "relu" });
  const graph = gptTrainingGraph(config, getActivation("relu"), {
    batchSize: 12,
    train: trainConfig({ preset: "nano" }),
  });
  const ops = await optimizedOpTypes(graph.bytes);
  assert(ops.has("LayerNormalization"), [...ops].join());
  assert(!ops.has("SkipLayerNormalization"), "an Add was fused into SkipLayerNormalization");
});

for (const activation of ["relu", "gelu"]) {
  Deno.test(`the ${activation} step masks by products, not by ONNX Runtime's slow Where`, () => {
    const config = gptConfig({ preset: "nano", vocabSize: 65, activation });
    const g = onnx.ModelProto.decode(
      gptTrainingGraph(config, getActivation(activation), {
        batchSize: 2,
        train: trainConfig({ preset: "nano" }),
      }).bytes,
    ).graph;
    assertEquals((g.node as Node[]).filter((n) => n.opType === "Where").length, 0);
  });
}

Deno.test("a causal softmax stays finite when a future score is far above the past's", async () => {
  // Scores of one row grow during training; one 1,000 above the past's maximum overflows exp to ∞,
  // which a mask by multiplication would turn into NaN (Muon's nano runs hit it at step 201).
  const g = new GraphBuilder();
  const tape = new GradientTape(g);
  tape.input("s", [1, 3, 3], { requiresGrad: true });
  const y = tape.ops.softmax(tape.ops.causalMask("s"));
  const [[, ds]] = tape.vjp([[y, "dy"]], ["s"]);
  const bytes = g.model({
    inputs: { s: [1, 3, 3], dy: [1, 3, 3] },
    outputs: { [g.output(y, "y")]: [1, 3, 3], [g.output(ds, "ds")]: [1, 3, 3] },
  });
  const session = await ort.InferenceSession.create(
    bytes,
    ortSessionOptions("cpu", { threads: 1 }),
  );
  try {
    const s = Float32Array.from([0.5, 1000, 2000, 1, 2, 3000, -1, 0, 1]);
    const dy = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = await session.run({
      s: new ort.Tensor("float32", s, [1, 3, 3]),
      dy: new ort.Tensor("float32", dy, [1, 3, 3]),
    });
    const got = [...(out.y.data as Float32Array)];
    // Row by row over the past only: [1], [e¹, e²]/Σ, [e⁻¹, e⁰, e¹]/Σ; the future gets 0.
    const soft = (xs: number[]) =>
      xs.map((x) => Math.exp(x) / xs.reduce((a, v) => a + Math.exp(v), 0));
    const want = [1, 0, 0, ...soft([1, 2]), 0, ...soft([-1, 0, 1])];
    got.forEach((v, i) => assert(Math.abs(v - want[i]) < 1e-6, `y[${i}] = ${v}, want ${want[i]}`));
    assert([...(out.ds.data as Float32Array)].every(Number.isFinite), "the gradient is finite");
  } finally {
    await session.release();
  }
});
