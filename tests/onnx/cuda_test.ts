/**
 * Training on ONNX Runtime's CUDA provider cannot feed back garbage. onnxruntime-node delivers CUDA
 * outputs to host memory only, and its binding may let ONNX Runtime replace a pre-allocated output
 * instead of filling it; so `OrtTrainer` hands it no buffers to fill and takes the state from what
 * each call returns, checked output by output. Everywhere (on the CPU provider, the same code
 * path): no call gets a pre-allocated output, and a missing or misshapen output throws and keeps
 * the weights. Where the CUDA provider is installed: single steps and `stepMany`'s ONNX `Loop`
 * calls train like the CPU provider, and like each other.
 */
import * as ort from "onnxruntime-node";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { createGpt, createRng, gptConfig, initEngine, syntheticDataset } from "@actlab/actlab";
import { type Batch, sampleBatch } from "@actlab/actlab/core";
import { ortCudaStatus } from "@actlab/actlab/engine";
import { trainConfig } from "@actlab/actlab/gpt";
import { OrtTrainer } from "@actlab/actlab/onnx";

await initEngine({ backend: "cpu" });
const ds = syntheticDataset({ length: 20_000 });
const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size });
const train = trainConfig({ preset: "tiny" });
const options = { sanitizeResources: false, sanitizeOps: false };

function batches(n: number): Batch[] {
  const rng = createRng(8);
  return Array.from(
    { length: n },
    () => sampleBatch(ds.train, { batchSize: train.batchSize, blockSize: config.blockSize }, rng),
  );
}

type Run = ort.InferenceSession["run"];
// The session class's prototype (the type declares a factory, the value is the class).
const proto = (ort.InferenceSession as unknown as { prototype: { run: Run } }).prototype;

/** Runs `fn` with every session call seen (and optionally changed) by `spy`. */
async function withRunSpy<T>(
  spy: (out: Record<string, unknown>, fetches: unknown) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const original = proto.run;
  proto.run = async function (this: ort.InferenceSession, ...args: Parameters<Run>) {
    const out = await original.apply(this, args);
    spy(out as Record<string, unknown>, args[1]);
    return out;
  } as Run;
  try {
    return await fn();
  } finally {
    proto.run = original;
  }
}

Deno.test({
  name: "OrtTrainer hands ONNX Runtime no pre-allocated outputs, in single steps or Loop calls",
  ...options,
  fn: async () => {
    const model = createGpt(config, { seed: 4 });
    const trainer = await OrtTrainer.create(model, train, { provider: "cpu", threads: 1 });
    const filled: string[] = [];
    try {
      await withRunSpy((_, fetches) => {
        if (fetches && typeof fetches === "object" && !Array.isArray(fetches)) {
          for (const [name, value] of Object.entries(fetches)) {
            if (value !== null && value instanceof ort.Tensor) filled.push(name);
          }
        }
      }, async () => {
        const bs = batches(5);
        await trainer.step(bs[0], 0);
        await trainer.step(bs[1], 1);
        await trainer.stepMany(bs.slice(2), 2);
      });
      assertEquals(filled, []);
      assertEquals(trainer.steps, 5);
    } finally {
      await trainer.dispose();
      model.dispose();
    }
  },
});

for (const fault of ["missing", "misshapen"] as const) {
  Deno.test({
    name: `a ${fault} state output fails the step loudly and keeps the weights from before`,
    ...options,
    fn: async () => {
      const model = createGpt(config, { seed: 4 });
      const trainer = await OrtTrainer.create(model, train, { provider: "cpu", threads: 1 });
      try {
        const bs = batches(2);
        await trainer.step(bs[0], 0);
        const before = await trainer.parameters();
        const victim = "next/wte.weight";
        const e: Error = await withRunSpy((out) => {
          if (!(victim in out)) return;
          if (fault === "missing") delete out[victim];
          else out[victim] = new ort.Tensor("float32", new Float32Array(3), [3]);
        }, () => assertRejects(() => trainer.step(bs[1], 1), Error));
        assert(e.message.includes(victim), e.message);
        assert(e.message.includes("kept"), e.message);
        assertEquals(trainer.steps, 1);
        assertEquals(await trainer.parameters(), before);
        // and the trainer goes on from there
        assert(Number.isFinite((await trainer.step(bs[1], 1)).loss));
      } finally {
        await trainer.dispose();
        model.dispose();
      }
    },
  });
}

const cuda = ortCudaStatus();
const skip = cuda.available ? "" : ` (skipped: ${cuda.reason})`;

/** Losses and final parameters of 6 steps on `provider`, `perCall` steps per session call. */
async function trainOn(provider: "cpu" | "cuda", perCall: number) {
  const model = createGpt(config, { seed: 4 });
  const trainer = await OrtTrainer.create(model, train, { provider, threads: 1 });
  try {
    const bs = batches(6);
    const losses: number[] = [];
    for (let i = 0; i < bs.length; i += perCall) {
      const infos = perCall === 1
        ? [await trainer.step(bs[i], i)]
        : await trainer.stepMany(bs.slice(i, i + perCall), i);
      losses.push(...infos.map((s) => s.loss));
    }
    return { losses, params: await trainer.parameters(), provider: trainer.provider };
  } finally {
    await trainer.dispose();
    model.dispose();
  }
}

function maxParamDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

// CUDA's matrix products may use TF32 (ONNX Runtime's default), so CUDA is held to CPU within
// 2e-3 of loss and 1e-2 of any weight over 6 steps; garbage fed back moves them by far more.
for (const perCall of [1, 3]) {
  const how = perCall === 1 ? "single steps" : "3-step Loop calls (stepMany)";
  Deno.test({
    name: `CUDA trains like the CPU provider in ${how}: losses within 2e-3 over 6 steps${skip}`,
    ignore: !cuda.available,
    ...options,
    fn: async () => {
      const cpu = await trainOn("cpu", 1), gpu = await trainOn("cuda", perCall);
      assertEquals(gpu.provider, "cuda");
      assertEquals(gpu.losses.length, 6);
      gpu.losses.forEach((l, i) =>
        assert(Math.abs(l - cpu.losses[i]) <= 2e-3, `step ${i}: ${l} vs ${cpu.losses[i]}`)
      );
      const worst = maxParamDiff(gpu.params, cpu.params);
      assert(worst <= 1e-2, `max |Δweight| ${worst}`);
      assert(gpu.losses[0] !== gpu.losses[5], "the loss never moved: nothing trained");
    },
  });
}

Deno.test({
  name: `on CUDA, Loop calls and single steps reach the same weights within 1e-4${skip}`,
  ignore: !cuda.available,
  ...options,
  fn: async () => {
    const one = await trainOn("cuda", 1), three = await trainOn("cuda", 3);
    three.losses.forEach((l, i) => assert(Math.abs(l - one.losses[i]) <= 1e-4, `step ${i}`));
    const worst = maxParamDiff(three.params, one.params);
    assert(worst <= 1e-4, `max |Δweight| ${worst}`);
  },
});
