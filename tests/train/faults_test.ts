/** Faults injected into training: each asserts the error text or the flag a user would see. */
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { charDataset, createGpt, gptConfig, initEngine, trainGpt } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import * as tf from "@tensorflow/tfjs";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const tiny = (activation = "relu") =>
  createGpt(gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size, activation }), { seed: 1 });

Deno.test("a loss that climbs far above its start without a NaN warns and flags the run", async () => {
  const model = tiny();
  const notices: string[] = [];
  const r = await trainGpt(model, data, {
    preset: "tiny",
    iters: 20,
    evalEvery: 10,
    evalIters: 2,
    learningRate: 3, // far too high: the loss jumps to ~100 and stays finite
    gradClip: 0,
    warmupIters: 0,
    onNotice: (m) => notices.push(m),
  });
  model.dispose();
  assertEquals(r.stopped, "completed");
  const flagged = r.unstable;
  if (!flagged) throw new Error("the run was not flagged unstable");
  assertEquals(flagged.iter, 10);
  assert(flagged.loss > 1.2 * flagged.start);
  assertEquals(notices.length, 1, "warned once");
  assertMatch(notices[0], /at step 10 the training loss is .* above 1\.2× its start .* "relu"/);
});

Deno.test("a healthy run is not flagged", async () => {
  const model = tiny();
  const notices: string[] = [];
  const r = await trainGpt(model, data, {
    preset: "tiny",
    iters: 10,
    evalEvery: 5,
    evalIters: 2,
    onNotice: (m) => notices.push(m),
  });
  model.dispose();
  assertEquals(r.unstable, undefined);
  assertEquals(notices, []);
});

Deno.test("a context longer than the validation split is refused before the engine starts", async () => {
  const short = charDataset(syntheticText({ length: 300, seed: 1 }), { name: "short" });
  const model = createGpt(
    gptConfig({ preset: "tiny", vocabSize: short.tokenizer.size, blockSize: 64 }),
    { seed: 1 },
  );
  const before = tf.memory().numTensors;
  await assertRejects(
    () => trainGpt(model, short, { preset: "tiny", iters: 2, engine: "ort" }),
    RangeError,
    "The validation split has 30 tokens, fewer than the context length + 1 (64 + 1)",
  );
  assertEquals(tf.memory().numTensors, before, "nothing allocated");
  model.dispose();
});
