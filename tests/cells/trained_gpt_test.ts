import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertStringIncludes } from "@std/assert";
import {
  checkpointBytes,
  createGpt,
  createRng,
  type Gpt,
  gptConfig,
  initEngine,
  syntheticDataset,
  trainGpt,
} from "@actlab/actlab";
import { trainedGpt } from "@actlab/actlab/cells";
import { sampleBatch } from "@actlab/actlab/core";

await initEngine({ backend: "wasm" });
const data = syntheticDataset({ length: 4000 });
const SETTINGS = { activation: "relu", preset: "tiny", iters: 10, seed: 1, evalIters: 2 } as const;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Runs `fn` with console.log captured. */
async function logged<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = log;
  }
}

/** The model's loss on one fixed validation batch. */
async function batchLoss(model: Gpt): Promise<number> {
  const shape = { batchSize: 4, blockSize: model.config.blockSize };
  const batch = sampleBatch(data.val, shape, createRng(0));
  const loss = tf.tidy(() => {
    const dims: [number, number] = [shape.batchSize, shape.blockSize];
    return model.loss(tf.tensor2d(batch.x, dims, "int32"), tf.tensor2d(batch.y, dims, "int32"));
  });
  const value = (await loss.data())[0];
  loss.dispose();
  return value;
}

Deno.test({
  name: "trainedGpt() trains once, then rebuilds the same model from the cache without training",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      let steps = 0;
      const first = await logged(() =>
        trainedGpt(data, SETTINGS, { dir, progress: false, onStep: () => void steps++ })
      );
      assertEquals(steps, 10);
      assertStringIncludes(first.lines[0], "[cached] gpt-relu: computed in");

      const second = await logged(() =>
        trainedGpt(data, SETTINGS, { dir, progress: false, onStep: () => void steps++ })
      );
      assertEquals(steps, 10, "a cache hit trains no step");
      assertStringIncludes(second.lines[0], "[cached] gpt-relu: reused the result");
      assertEquals(second.value.final, first.value.final);
      assertEquals(
        await checkpointBytes(second.value.model),
        await checkpointBytes(first.value.model),
      );
      assertEquals(first.value.model.tokenizer?.describe(), data.tokenizer.describe());
      first.value.model.dispose();
      second.value.model.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainedGpt() returns the model trainGpt() trains with the same settings",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { model, final } = await trainedGpt(data, SETTINGS, {
        dir,
        progress: false,
        quiet: true,
      });
      const direct = createGpt(
        gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size, activation: "relu" }),
        { seed: 1, tokenizer: data.tokenizer },
      );
      const r = await trainGpt(direct, data, {
        preset: "tiny",
        iters: 10,
        seed: 1,
        evalEvery: 10,
        evalIters: 2,
      });
      // Same backend, same seeds: the same numbers (compared within 1e-6).
      assertEquals(r.evals.map((e) => e.iter), [0, 10]);
      assertEquals(final.iter, 10);
      assertAlmostEquals(final.valLoss, r.final.valLoss, 1e-6);
      assertAlmostEquals(final.trainLoss, r.final.trainLoss, 1e-6);
      assertAlmostEquals(await batchLoss(model), await batchLoss(direct), 1e-6);
      const untrained = createGpt(direct.config, { seed: 1 });
      assert(
        Math.abs(await batchLoss(untrained) - await batchLoss(model)) > 1e-3,
        "the loss check can tell a trained model from an untrained one",
      );
      untrained.dispose();
      direct.dispose();
      model.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainedGpt() keeps a separate entry for each change of settings or dataset",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const run = async (settings: Parameters<typeof trainedGpt>[1], ds = data) => {
        let steps = 0;
        const r = await trainedGpt(ds, settings, {
          dir,
          progress: false,
          quiet: true,
          onStep: () => void steps++,
        });
        r.model.dispose();
        return { steps, final: r.final };
      };
      const base = await run(SETTINGS);
      const variants = [
        { ...SETTINGS, seed: 2 },
        { ...SETTINGS, activation: "gelu" },
        { ...SETTINGS, iters: 11 },
        { ...SETTINGS, evalIters: 3 },
        { ...SETTINGS, train: { learningRate: 1e-3 } },
        { ...SETTINGS, cacheKey: { definition: "v2" } },
        { ...SETTINGS, engine: "ort" as const },
      ];
      for (const v of variants) {
        const r = await run(v);
        assertEquals(r.steps, v.iters, `${JSON.stringify(v)} trains its own model`);
      }
      const other = syntheticDataset({ length: 5000 }); // same name, other size
      assertEquals(other.name, data.name);
      assertEquals((await run(SETTINGS, other)).steps, 10, "another dataset trains afresh");
      assertEquals((await run(SETTINGS)).steps, 0, "the first settings are still stored");
      assertEquals((await run({ ...SETTINGS, seed: 2 })).steps, 0);
      const spelledOut = { ...SETTINGS, engine: "tfjs", train: { learningRate: 3e-3 } } as const;
      assertEquals((await run(spelledOut)).steps, 0, "the tiny preset's defaults, spelled out");
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((f) =>
        f.endsWith(".json")
      );
      assertEquals(files.length, 1 + variants.length + 1);
      assert(files.every((f) => /^gpt-(relu|gelu)-[0-9a-f]{16}\.json$/.test(f)), files.join(", "));
      assertEquals(base.final.iter, 10);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainedGpt() shows one progress bar that counts the steps and ends done",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const chunks: string[] = [];
    const write = Deno.stderr.writeSync;
    Deno.stderr.writeSync = (p: Uint8Array) => {
      chunks.push(new TextDecoder().decode(p));
      return p.length;
    };
    try {
      const { model } = await trainedGpt(data, SETTINGS, { dir, quiet: true, label: "relu model" });
      model.dispose();
    } finally {
      Deno.stderr.writeSync = write;
      await Deno.remove(dir, { recursive: true });
    }
    const text = chunks.join("");
    assertStringIncludes(text, "relu model");
    assert(/10\/10 .*loss=\d.* done/.test(text), text);
  },
});
