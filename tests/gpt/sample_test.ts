import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { createGpt, generate, gptConfig, sampleToken } from "../../lib/gpt/mod.ts";
import { trainGpt } from "../../lib/train/mod.ts";
import { createRng } from "../../lib/core/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 20_000 });
const model = createGpt(gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size }), {
  seed: 1,
  tokenizer: ds.tokenizer,
});
await trainGpt(model, ds, { preset: "tiny", iters: 150, evalEvery: 0 });

Deno.test("generate() returns the prompt plus maxTokens characters, same seed same text", async () => {
  const a = await generate(model, "the ", { maxTokens: 40, seed: 3 });
  const b = await generate(model, "the ", { maxTokens: 40, seed: 3 });
  const c = await generate(model, "the ", { maxTokens: 40, seed: 4 });
  assertEquals(a.length, 44);
  assert(a.startsWith("the "));
  assertEquals(a, b);
  assert(a !== c);
});

Deno.test("temperature 0 and topK 1 both pick the most likely token (greedy)", async () => {
  const greedy = await generate(model, "a dog ", { maxTokens: 30, temperature: 0 });
  assertEquals(await generate(model, "a dog ", { maxTokens: 30, topK: 1, seed: 9 }), greedy);
  assertEquals(greedy.length, 36);
});

Deno.test("id prompts give ids; contexts longer than blockSize are cropped", async () => {
  const prompt = [...ds.tokenizer.encode("the cat sees the moon and the old king ")]; // 39 > 16
  const out = await generate(model, prompt, { maxTokens: 5, seed: 1 });
  assertEquals(out.length, prompt.length + 5);
  assertEquals(out.slice(0, prompt.length), prompt);
  assert(out.every((id) => id >= 0 && id < ds.tokenizer.size));
});

Deno.test("a prompt with a character outside the vocabulary is a clear error", async () => {
  await assertRejects(() => generate(model, "the Ω", { maxTokens: 1 }), RangeError, "U+03A9");
  await assertRejects(() => generate(model, "", { maxTokens: 1 }), RangeError, "empty");
});

Deno.test("sampleToken() never picks outside the top k, and follows the softmax (±3 %)", () => {
  const rng = createRng(1);
  const logits = [2, 1, 0, -1];
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleToken(logits, { temperature: 1, topK: 2, rng })]++;
  assertEquals(counts[2] + counts[3], 0);
  const p0 = Math.exp(2) / (Math.exp(2) + Math.exp(1));
  assert(Math.abs(counts[0] / 20000 - p0) < 0.03, `${counts}`);
});

Deno.test("generation leaves no tensors behind", async () => {
  const before = tf.memory().numTensors;
  await generate(model, "the", { maxTokens: 10 });
  assertEquals(tf.memory().numTensors, before);
});
