import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { initEngine } from "../../lib/engine/mod.ts";
import {
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  decodeSafetensors,
  encodeSafetensors,
  generate,
  gptConfig,
  loadCheckpoint,
  saveCheckpoint,
} from "../../lib/gpt/mod.ts";
import { trainGpt } from "../../lib/train/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 5000 });
const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], "int32");

async function logitsOf(m: ReturnType<typeof createGpt>): Promise<number[]> {
  const l = tf.tidy(() => m.logits(ids));
  const out = [...await l.data()];
  l.dispose();
  return out;
}

Deno.test("a saved and loaded model reproduces the logits exactly, with config and vocabulary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createGpt(
      gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, activation: "swiglu", bias: true }),
      { seed: 3, tokenizer: ds.tokenizer },
    );
    await trainGpt(model, ds, { preset: "tiny", iters: 5, evalEvery: 0 }); // not just the init
    const path = join(dir, "sub", "model.safetensors");
    await saveCheckpoint(model, path, { metadata: { step: "5" } });
    assertEquals([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["model.safetensors"]);
    const loaded = await loadCheckpoint(path);
    assertEquals(loaded.config, model.config);
    assertEquals(loaded.model.activation.name, "swiglu");
    assertEquals(loaded.tokenizer!.describe(), ds.tokenizer.describe());
    assertEquals(loaded.metadata.step, "5");
    assertEquals(await logitsOf(loaded.model), await logitsOf(model)); // bit-exact
    assertEquals(
      await generate(loaded.model, "the", { maxTokens: 20, seed: 1 }),
      await generate(model, "the", { maxTokens: 20, seed: 1 }),
    );
    loaded.model.dispose();
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint written before the parameter table loads with the same logits (1e-6) and tensor layout", async () => {
  // Written by actlab c718cfa: 2 blocks, SwiGLU, biases, untied head, every tensor perturbed from
  // its init; the metadata holds the ids and the logits the writing model gave for them.
  const path = new URL("./testdata/checkpoint_v1.safetensors", import.meta.url);
  const bytes = await Deno.readFile(path);
  const { model, metadata } = checkpointFromBytes(bytes, "checkpoint_v1.safetensors");
  try {
    const ids: number[][] = JSON.parse(metadata["test.ids"]);
    const expected: number[] = JSON.parse(metadata["test.logits"]);
    const l = tf.tidy(() => model.logits(tf.tensor2d(ids, [1, ids[0].length], "int32")));
    const got = await l.data();
    l.dispose();
    assertEquals(got.length, expected.length);
    const worst = Math.max(...expected.map((e, i) => Math.abs(e - got[i])));
    assert(worst <= 1e-6, `logits differ by up to ${worst}`);
    // Saved again: the same tensor names, order, dtypes, shapes, offsets and bytes.
    const before = decodeSafetensors(bytes),
      after = decodeSafetensors(await checkpointBytes(model));
    assertEquals([...after.tensors.keys()], [...before.tensors.keys()]);
    for (const [name, t] of before.tensors) {
      const u = after.tensors.get(name)!;
      assertEquals([u.dtype, [...u.shape]], [t.dtype, [...t.shape]]);
      assertEquals(new Uint8Array(u.data.buffer), new Uint8Array(t.data.buffer), name);
    }
  } finally {
    model.dispose();
  }
});

Deno.test("a truncated checkpoint is an error that says it is truncated", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 20 }), { seed: 1 });
  const bytes = await checkpointBytes(model);
  model.dispose();
  assertThrows(
    () => checkpointFromBytes(bytes.subarray(0, bytes.length - 100), "m.st"),
    Error,
    "truncated",
  );
  assertThrows(() => checkpointFromBytes(bytes.subarray(0, 20), "m.st"), Error, "truncated");
  assertThrows(() => checkpointFromBytes(bytes.subarray(0, 5), "m.st"), Error, "truncated");
});

Deno.test("a checkpoint whose tensors do not fit its config names the tensor and both shapes", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 20 }), { seed: 1 });
  const file = decodeSafetensors(await checkpointBytes(model));
  model.dispose();
  const cfg = JSON.parse(file.metadata["actlab.config"]);
  const wider = encodeSafetensors(file.tensors, {
    ...file.metadata,
    "actlab.config": JSON.stringify({ ...cfg, nEmbd: 48 }),
  });
  assertThrows(() => checkpointFromBytes(wider, "w.st"), Error, "wte.weight has shape [20,32]");
  const missing = new Map(file.tensors);
  missing.delete("h.1.mlp.c_proj.weight");
  assertThrows(
    () => checkpointFromBytes(encodeSafetensors(missing, file.metadata), "m.st"),
    Error,
    "missing parameter h.1.mlp.c_proj.weight",
  );
  const extra = new Map(file.tensors).set("h.9.x", file.tensors.get("ln_f.weight")!);
  assertThrows(
    () => checkpointFromBytes(encodeSafetensors(extra, file.metadata), "m.st"),
    Error,
    "h.9.x",
  );
  assertThrows(
    () => checkpointFromBytes(encodeSafetensors(file.tensors, { format: "other" }), "o.st"),
    Error,
    "not an actlab GPT checkpoint",
  );
});

Deno.test("loading a missing file says where it looked", async () => {
  await assertRejects(
    () => loadCheckpoint("/nonexistent/x.safetensors"),
    Error,
    "/nonexistent/x.safetensors",
  );
});

Deno.test("safetensors headers are 8-byte aligned and carry dtype, shape and offsets", () => {
  const bytes = encodeSafetensors(
    new Map([
      ["a", { dtype: "F32" as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
      ["b", { dtype: "I32" as const, shape: [3], data: new Int32Array([7, 8, 9]) }],
    ]),
    { k: "v" },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header.a, { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] });
  assertEquals(header.b.data_offsets, [16, 28]);
  assertEquals(header.__metadata__, { k: "v" });
  assert(decodeSafetensors(bytes).tensors.get("b")!.data instanceof Int32Array);
});

for (const activation of ["prelu", "xielu", "polynorm"]) {
  Deno.test(`${activation}: training moves its own parameters, and a checkpoint keeps them exactly`, async () => {
    const model = createGpt(
      gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, activation }),
      { seed: 3, tokenizer: ds.tokenizer },
    );
    const names = model.specs.map((s) => s.name).filter((n) => n.includes(".mlp.act."));
    assert(names.length > 0 && names.includes("h.0.mlp.act." + names[0].split(".").at(-1)));
    const values = async (m: typeof model) =>
      Object.fromEntries(
        await Promise.all(names.map(async (n) => [n, [...await m.variables.get(n)!.data()]])),
      );
    const before = await values(model);
    await trainGpt(model, ds, { preset: "tiny", iters: 5, evalEvery: 0 });
    const after = await values(model);
    for (const n of names) {
      const moved = after[n].some((v: number, i: number) => Math.abs(v - before[n][i]) > 1e-5);
      assert(moved, `${n} did not move: ${before[n]} → ${after[n]}`);
    }
    const loaded = checkpointFromBytes(await checkpointBytes(model));
    assertEquals(await values(loaded.model), after); // bit-exact
    assertEquals(await logitsOf(loaded.model), await logitsOf(model));
    loaded.model.dispose();
    model.dispose();
  });
}

Deno.test("a checkpoint without a trainable activation's parameters fails saying so", async () => {
  const model = createGpt(
    gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, activation: "xielu" }),
  );
  const file = decodeSafetensors(await checkpointBytes(model));
  model.dispose();
  for (const name of [...file.tensors.keys()]) {
    if (name.includes(".mlp.act.")) file.tensors.delete(name);
  }
  const err = assertThrows(
    () => checkpointFromBytes(encodeSafetensors(file.tensors, file.metadata), "old.safetensors"),
    Error,
  );
  assert(err.message.includes("old.safetensors"), err.message);
  assert(err.message.includes("h.0.mlp.act.alpha_p_raw"), err.message);
  assert(err.message.includes("trainable"), err.message);
});
