/**
 * Forward-pass throughput of the nano mini-GPT on the same weights: ONNX Runtime (the traced
 * graph) against every tfjs backend present and PyTorch (`bench/torch_forward.py`, when
 * /usr/bin/python3 has torch), in one session; then ONNX Runtime's activation throughput (GB/s).
 *
 *   deno run -A bench/forward.ts [--activation gelu] [--batch 16] [--seq 64] [--repeats 20]
 *                                [--threads 1] [--backends wasm,cpu]
 */
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { activationModel } from "../lib/onnx/mod.ts";
import { availableBackends, createOrtSession } from "../lib/engine/mod.ts";
import { createGpt, getActivation, gptConfig, initEngine, OrtModel } from "../mod.ts";
import { encodeSafetensors, type SafetensorsTensor } from "../lib/gpt/mod.ts";
import { blasCoreType, defaultTorchPaths } from "./_torch.ts";
import { median } from "../lib/core/stats.ts";

const { values } = parseArgs({
  options: {
    activation: { type: "string", default: "gelu" },
    batch: { type: "string", default: "16" },
    seq: { type: "string", default: "64" },
    repeats: { type: "string", default: "20" },
    threads: { type: "string", default: "1" },
    backends: { type: "string" },
  },
});
const [batch, seq, repeats, threads] = [values.batch, values.seq, values.repeats, values.threads]
  .map(Number);
const config = gptConfig({ preset: "nano", vocabSize: 65, activation: values.activation });
const tokens = batch * seq;
const rows: { engine: string; device: string; ms: number }[] = [];
const ids = Int32Array.from({ length: tokens }, (_, i) => (i * 7 + 3) % 65);

// tfjs backends
const present = (await availableBackends()).filter((b) => b.ok).map((b) => b.backend);
const backends = values.backends?.split(",") ?? present;
let weights: Map<string, SafetensorsTensor> | undefined;
for (const backend of backends) {
  const engine = await initEngine({ backend: backend as never });
  const model = createGpt(config, { seed: 1 });
  const x = tf.tensor2d(ids, [batch, seq], "int32");
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const t0 = performance.now();
    const y = tf.tidy(() => model.logits(x));
    await y.data();
    y.dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  rows.push({ engine: `tfjs-${backend}`, device: engine.device, ms: median(times) });
  if (!weights) {
    weights = new Map();
    for (const s of model.specs) {
      const data = (await model.variables.get(s.name)!.data()) as Float32Array;
      weights.set(s.name, { dtype: "F32", shape: s.shape, data });
    }
    // ONNX Runtime on the same weights
    const onOrt = await OrtModel.fromGpt(model, { threads });
    const batchIds = { data: ids, shape: [batch, seq] as const };
    const ortTimes: number[] = [];
    for (let i = 0; i < repeats + 2; i++) {
      const t0 = performance.now();
      await onOrt.logits(batchIds);
      if (i >= 2) ortTimes.push(performance.now() - t0);
    }
    rows.push({
      engine: "onnxruntime",
      device: `${onOrt.provider}, ${threads} thread(s)`,
      ms: median(ortTimes),
    });
    await onOrt.release();
  }
  tf.dispose(x);
  model.dispose();
}

// PyTorch on the same weights
const dir = await Deno.makeTempDir();
try {
  const path = `${dir}/weights.safetensors`;
  await Deno.writeFile(
    path,
    encodeSafetensors(weights!, { case: JSON.stringify({ model: config }) }),
  );
  const script = new URL("./torch_forward.py", import.meta.url).pathname;
  const python = defaultTorchPaths().python;
  const blas = await blasCoreType(python); // the CPU's own OpenBLAS kernels, as the other benches
  const out = await new Deno.Command(python, {
    args: [script, path, `${batch}`, `${seq}`, `${repeats}`, `${threads}`],
    env: { ...blas.env, OPENBLAS_NUM_THREADS: `${threads}`, OMP_NUM_THREADS: `${threads}` },
    stderr: "piped",
  }).output().catch(() => undefined);
  if (out?.success) {
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    rows.push({
      engine: "pytorch",
      device: `CPU, torch ${r.torch}, ${r.threads} thread(s)${
        blas.env.OPENBLAS_CORETYPE ? `, OPENBLAS_CORETYPE=${blas.env.OPENBLAS_CORETYPE}` : ""
      }`,
      ms: r.median_ms,
    });
  } else {
    console.log("PyTorch skipped: /usr/bin/python3 with torch is not available here.\n");
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(
  `# Forward pass, nano mini-GPT (${values.activation}), batch ${batch} × ${seq} tokens\n`,
);
console.log("| engine | device | ms / forward | tokens/s |");
console.log("|---|---|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.engine} | ${r.device} | ${r.ms.toFixed(2)} | ${
      Math.round(tokens / r.ms * 1000).toLocaleString("en")
    } |`,
  );
}

// ONNX Runtime activation throughput
const n = 1 << 20;
console.log(
  `\n# ONNX Runtime activation throughput (${
    n.toLocaleString("en")
  } float32, ${threads} thread(s))\n`,
);
console.log("| activation | GB/s | ms |");
console.log("|---|---:|---:|");
for (const name of ["relu", "gelu", "gelu_tanh", "silu", "relu2", "swiglu", "geglu"]) {
  const def = getActivation(name);
  const { session } = await createOrtSession(activationModel(def), { provider: "cpu", threads });
  const x = new ort.Tensor("float32", Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 4), [
    n,
  ]);
  const feeds: Record<string, ort.Tensor> = def.kind === "unary" ? { x } : { gate: x, value: x };
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    if (i >= 2) times.push(performance.now() - t0);
  }
  const ms = median(times);
  const bytes = 4 * n * (def.kind === "unary" ? 2 : 3);
  console.log(`| ${name} | ${(bytes / ms / 1e6).toFixed(2)} | ${ms.toFixed(2)} |`);
  await session.release();
}
