/**
 * Every graph actlab builds — training step and gradients (with and without dropout), evaluation
 * loss, exported logits and loss, one-activation models — for every activation, against the
 * operator tables of the GPU providers (`lib/onnx/provider_ops.json`), and the primitive forms
 * that replace the ops a provider lacks, against the ops themselves on ONNX Runtime's CPU.
 */
import { assert, assertEquals } from "@std/assert";
import * as ort from "onnxruntime-node";
import { createGpt, gptConfig, initEngine } from "@actlab/actlab";
import { listActivations } from "@actlab/actlab/activations";
import { createOrtSession } from "@actlab/actlab/engine";
import { trainConfig } from "@actlab/actlab/gpt";
import {
  activationModel,
  gptLossGraph,
  gptToOnnx,
  gptTrainingGraph,
  GraphBuilder,
  graphOpTypes,
  LOWERABLE_OPS,
  lowerForProvider,
  PROVIDER_OPS,
  providerHasOp,
  unsupportedOps,
} from "@actlab/actlab/onnx";

await initEngine({ backend: "cpu" });

Deno.test("the tables name their source, commit and ONNX Runtime version", () => {
  assertEquals(PROVIDER_OPS.ortVersion, "1.30.0");
  for (const [name, t] of Object.entries(PROVIDER_OPS.providers)) {
    assert(t.source.startsWith("https://github.com/microsoft/onnxruntime/"), name);
    assert(Object.keys(t.ops).length > 80, `${name}: only ${Object.keys(t.ops).length} ops`);
  }
  assert(PROVIDER_OPS.providers.cuda.source.includes("001d12d2623fd411ce0f83d05abb5e82304a3389"));
});

Deno.test("an op is covered when one of its kernel ranges holds actlab's opset 20", () => {
  assertEquals(providerHasOp("webgpu", "ReduceMax"), true); // 20+
  assertEquals(providerHasOp("webgpu", "ReduceMax", 18), true); // 18-19
  assertEquals(providerHasOp("webgpu", "Transpose"), true); // 13-20
  assertEquals(providerHasOp("webgpu", "GridSample", 20), false); // 16-19 only
  assertEquals(providerHasOp("webgpu", "LogSoftmax"), false);
  assertEquals(providerHasOp("cuda", "SoftmaxCrossEntropyLoss"), false);
  assertEquals(providerHasOp("cuda", "Celu"), false);
  assertEquals(providerHasOp("cuda", "Gelu", 19), false); // Gelu 20+
  assertEquals(providerHasOp("cpu", "Anything"), true);
  assertEquals(providerHasOp("dml", "Relu"), undefined);
});

const train = trainConfig({ preset: "tiny" });
const GPU = ["webgpu", "cuda"] as const;

for (const def of listActivations()) {
  Deno.test(`every graph of ${def.name} uses only ops the WebGPU and CUDA providers have`, async () => {
    const problems: string[] = [];
    for (const provider of GPU) {
      const check = (what: string, bytes: Uint8Array) => {
        const missing = unsupportedOps(bytes, provider)!;
        if (missing.length > 0) problems.push(`${provider} ${what}: ${missing.join(", ")}`);
      };
      for (const dropout of [0, 0.1]) {
        // blockSize 8 < 16: the position embedding is sliced and its gradient padded
        const config = gptConfig({ preset: "tiny", vocabSize: 12, activation: def.name, dropout });
        const step = gptTrainingGraph(config, def, { batchSize: 2, seqLen: 8, train, provider });
        const grads = gptTrainingGraph(config, def, {
          batchSize: 2,
          kind: "gradients",
          provider,
        });
        check(`step (dropout ${dropout})`, step.bytes);
        check(`gradients (dropout ${dropout})`, grads.bytes);
      }
      const config = gptConfig({ preset: "tiny", vocabSize: 12, activation: def.name });
      check("evaluation loss", gptLossGraph(config, def, { provider }));
      const model = createGpt(config, { seed: 1 });
      check("exported logits", await gptToOnnx(model, { provider }));
      check("exported loss", await gptToOnnx(model, { kind: "loss", provider }));
      model.dispose();
      check("activation model", activationModel(def, { provider }));
    }
    assertEquals(problems, []);
  });
}

Deno.test("graphs for the CPU keep the activation ops as they are", () => {
  const celu = listActivations().find((d) => d.name === "celu")!;
  const g = new GraphBuilder();
  g.output(g.op("Celu", ["x"], { alpha: 1 }), "y");
  assertEquals(lowerForProvider(g, "cpu"), []);
  assertEquals(g.nodes[0].opType, "Celu");
  assertEquals(unsupportedOps(activationModel(celu), "webgpu"), ["Celu"]);
  assertEquals(unsupportedOps(activationModel(celu, { provider: "webgpu" }), "webgpu"), []);
});

/** y = op(x) on ONNX Runtime's CPU, as the op and in its primitive form. */
async function bothForms(
  build: (g: GraphBuilder) => string,
  op: string,
  xs: Float32Array,
): Promise<{ native: Float32Array; lowered: Float32Array; ops: Set<string> }> {
  let ops = new Set<string>();
  const run = async (lower: boolean) => {
    const g = new GraphBuilder();
    g.output(build(g), "y");
    if (lower) {
      assertEquals(lowerForProvider(g, "webgpu", { force: [op] }), [op]);
      ops = graphOpTypes(g);
    }
    const bytes = g.model({ inputs: { x: [xs.length] }, outputs: { y: [xs.length] } });
    const { session } = await createOrtSession(bytes, { provider: "cpu" });
    const y = (await session.run({ x: new ort.Tensor("float32", xs, [xs.length]) })).y;
    await session.release();
    return y.data as Float32Array;
  };
  return { native: await run(false), lowered: await run(true), ops };
}

const GRID = Float32Array.from({ length: 401 }, (_, i) => -20 + i / 10);
/** A graph of each op with a primitive form (non-default attributes where it has some). */
const FORMS: Record<string, (g: GraphBuilder) => string> = {
  Celu: (g) => g.op("Celu", ["x"], { alpha: 0.7 }),
  Selu: (g) => g.op("Selu", ["x"]),
  Softsign: (g) => g.op("Softsign", ["x"]),
  Sign: (g) => g.op("Sign", ["x"]),
  Mish: (g) => g.op("Mish", ["x"]),
  Softplus: (g) => g.op("Softplus", ["x"]),
  HardSigmoid: (g) => g.op("HardSigmoid", ["x"], { alpha: 0.25, beta: 0.4 }),
  HardSwish: (g) => g.op("HardSwish", ["x"]),
  Elu: (g) => g.op("Elu", ["x"], { alpha: 0.5 }),
  Gelu: (g) => g.op("Gelu", ["x"], { approximate: "tanh" }),
  LogSoftmax: (g) => g.op("LogSoftmax", ["x"], { axis: -1 }),
  Sum: (g) => g.op("Sum", ["x", "x", g.op("Neg", ["x"])]),
  PRelu: (g) => g.op("PRelu", ["x", g.constant(0.3)]),
};

Deno.test("every op lowerForProvider rewrites has a case here", () => {
  assertEquals(Object.keys(FORMS).sort(), [...LOWERABLE_OPS]);
});

for (const op of LOWERABLE_OPS) {
  Deno.test(`${op}'s primitive form matches the op within 1e-6 on [-20, 20] and uses only ops both GPU providers have`, async () => {
    const { native, lowered, ops } = await bothForms(FORMS[op], op, GRID);
    let worst = 0;
    native.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - lowered[i]) / Math.max(1, Math.abs(v)));
    });
    assert(worst <= 1e-6, `${op}: worst scaled error ${worst}`);
    const foreign = [...ops].filter((o) => GPU.some((p) => !providerHasOp(p, o)));
    assertEquals(foreign, [], `${op}'s form uses ops a GPU provider lacks`);
  });
}
