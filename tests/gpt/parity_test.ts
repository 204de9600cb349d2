/**
 * tfjs ↔ PyTorch parity: the same weights and batches give the same logits (max abs ≤ 1e-4) and
 * the same first five AdamW losses (≤ 1e-4) in actlab and in the independent PyTorch
 * implementation `torch_parity.py`. Skips, with a message, where `/usr/bin/python3` lacks torch.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { fileURLToPath } from "node:url";
import { initEngine } from "../../lib/engine/mod.ts";
import { createGpt, gptConfig, trainConfig, Trainer } from "../../lib/gpt/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/gpt/safetensors.ts";
import type { SafetensorsTensor } from "../../lib/gpt/safetensors.ts";
import { createRng, sampleBatch } from "../../lib/core/mod.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./torch_parity.py", import.meta.url));
const TOLERANCE = 1e-4;
const STEPS = 5;

function torchAvailable(): string | null {
  try {
    const out = new Deno.Command(PYTHON, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "piped",
    })
      .outputSync();
    return out.success ? null : new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!;
  } catch (err) {
    return String(err);
  }
}

const missing = torchAvailable();
if (missing !== null) {
  console.warn(
    `parity_test: skipped — ${PYTHON} cannot import torch (${missing}). ` +
      `Install Debian python3-torch (CI does) to run the PyTorch parity test.`,
  );
}

/** Activation, and whether the case adds biases and an untied output head. */
const CASES = [
  { activation: "gelu", extras: false },
  { activation: "relu", extras: false },
  { activation: "swiglu", extras: false },
  { activation: "gelu_tanh", extras: true },
] as const;

interface CaseResult {
  activation: string;
  logitsTfjs: Float32Array;
  lossesTfjs: number[];
  path: string;
}

/** Builds a model and five batches, writes them for PyTorch, records tfjs logits and losses. */
async function prepareCase(dir: string, activation: string, extras: boolean): Promise<CaseResult> {
  const model = createGpt(
    gptConfig({
      preset: "tiny",
      vocabSize: 23,
      blockSize: 16,
      nLayer: 2,
      nHead: 2,
      nEmbd: 32,
      activation,
      bias: extras,
      tiedEmbeddings: !extras,
    }),
    { seed: 11 },
  );
  const tcfg = trainConfig({
    preset: "tiny",
    iters: STEPS,
    warmupIters: 2,
    learningRate: 1e-2,
    minLearningRate: 1e-3,
    batchSize: 4,
  });
  const rng = createRng(5);
  // A periodic sequence with a little noise: learnable, so five steps visibly lower the loss.
  const data = Int32Array.from(
    { length: 2000 },
    (_, i) => rng.int(10) === 0 ? rng.int(23) : (i * 5) % 23,
  );
  const batches = Array.from(
    { length: STEPS },
    () => sampleBatch(data, { batchSize: 4, blockSize: 16 }, rng),
  );
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of model.specs) {
    const v = await model.variables.get(spec.name)!.data();
    tensors.set(spec.name, { dtype: "F32", shape: spec.shape, data: v as Float32Array });
  }
  const stack = (k: "x" | "y") => {
    const out = new Int32Array(STEPS * 64);
    batches.forEach((b, i) => out.set(b[k], i * 64));
    return out;
  };
  tensors.set("batch.x", { dtype: "I32", shape: [STEPS, 4, 16], data: stack("x") });
  tensors.set("batch.y", { dtype: "I32", shape: [STEPS, 4, 16], data: stack("y") });
  const path = `${dir}/${activation}${extras ? "-bias-untied" : ""}.safetensors`;
  await Deno.writeFile(
    path,
    encodeSafetensors(tensors, { case: JSON.stringify({ model: model.config, train: tcfg }) }),
  );

  const logits = tf.tidy(() => model.logits(tf.tensor2d(batches[0].x, [4, 16], "int32")));
  const logitsTfjs = (await logits.data()) as Float32Array;
  logits.dispose();
  const trainer = new Trainer(model, tcfg);
  const lossesTfjs: number[] = [];
  for (let i = 0; i < STEPS; i++) lossesTfjs.push((await trainer.step(batches[i], i)).loss);
  trainer.dispose();
  model.dispose();
  return {
    activation: `${activation}${extras ? " (biases, untied head)" : ""}`,
    logitsTfjs,
    lossesTfjs,
    path,
  };
}

Deno.test({
  name: "tfjs-wasm logits and first five AdamW losses match PyTorch within 1e-4",
  ignore: missing !== null,
  permissions: { read: true, write: true, run: true, env: true },
  async fn() {
    await initEngine({ backend: "wasm" });
    const dir = await Deno.makeTempDir({ prefix: "actlab-parity-" });
    try {
      const cases: CaseResult[] = [];
      for (const c of CASES) cases.push(await prepareCase(dir, c.activation, c.extras));
      const out = await new Deno.Command(PYTHON, {
        args: [SCRIPT, ...cases.map((c) => c.path)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, `torch_parity.py failed:\n${new TextDecoder().decode(out.stderr)}`);
      for (const c of cases) {
        const res = decodeSafetensors(
          await Deno.readFile(c.path.replace(".safetensors", ".out.safetensors")),
        );
        const logitsTorch = res.tensors.get("logits")!.data as Float32Array;
        assertEquals(logitsTorch.length, c.logitsTfjs.length);
        let maxLogit = 0;
        for (let i = 0; i < logitsTorch.length; i++) {
          maxLogit = Math.max(maxLogit, Math.abs(logitsTorch[i] - c.logitsTfjs[i]));
        }
        const lossesTorch = [...(res.tensors.get("losses")!.data as Float32Array)];
        const maxLoss = Math.max(...lossesTorch.map((l, i) => Math.abs(l - c.lossesTfjs[i])));
        assert(
          maxLogit <= TOLERANCE,
          `${c.activation}: logits differ from PyTorch by up to ${maxLogit} (tolerance ${TOLERANCE})`,
        );
        assert(
          maxLoss <= TOLERANCE,
          `${c.activation}: AdamW losses differ by up to ${maxLoss}: tfjs ${c.lossesTfjs} vs ` +
            `torch ${lossesTorch}`,
        );
        console.log(
          `${c.activation}: max |Δlogit| ${maxLogit.toExponential(2)}, max |Δloss| ${
            maxLoss.toExponential(2)
          }, losses ${c.lossesTfjs.map((l) => l.toFixed(4))}`,
        );
        // The losses must actually move, or the comparison would be vacuous.
        assert(
          c.lossesTfjs[STEPS - 1] < c.lossesTfjs[0] - 0.01,
          `${c.activation}: loss did not decrease`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
