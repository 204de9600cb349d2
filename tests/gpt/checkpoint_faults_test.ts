/** Faults injected into checkpoints: each asserts the error text a user would see. */
import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import {
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  gptConfig,
  initEngine,
} from "@actlab/actlab";
import { decodeSafetensors, encodeSafetensors, loadCheckpoint } from "@actlab/actlab/gpt";
import * as tf from "@tensorflow/tfjs";

await initEngine({ backend: "cpu" });
const tiny = (activation: string) =>
  createGpt(gptConfig({ preset: "tiny", vocabSize: 12, activation }), { seed: 3 });

Deno.test("a checkpoint with a NaN weight is refused at load, naming the tensor", async () => {
  const model = tiny("gelu");
  const bytes = await checkpointBytes(model);
  model.dispose();
  const file = decodeSafetensors(bytes);
  const name = "h.1.mlp.c_fc.weight";
  const t = file.tensors.get(name)!;
  (t.data as Float32Array)[5] = NaN;
  const broken = encodeSafetensors(file.tensors, file.metadata);
  const before = tf.memory().numTensors;
  const err = assertThrows(() => checkpointFromBytes(broken, "run.safetensors"), Error);
  assertStringIncludes(err.message, `run.safetensors: tensor ${name} holds 1 non-finite value(s)`);
  assertStringIncludes(err.message, "index 5");
  assertEquals(tf.memory().numTensors, before, "nothing allocated");
});

Deno.test("an infinite weight is refused the same way", async () => {
  const model = tiny("relu");
  const file = decodeSafetensors(await checkpointBytes(model));
  model.dispose();
  (file.tensors.get("wte.weight")!.data as Float32Array)[0] = -Infinity;
  assertThrows(
    () => checkpointFromBytes(encodeSafetensors(file.tensors, file.metadata)),
    Error,
    "tensor wte.weight holds 1 non-finite value(s) (first: -Infinity",
  );
});

Deno.test("loading a GELU checkpoint as SwiGLU's is refused, naming both activations", async () => {
  const model = tiny("gelu");
  const bytes = await checkpointBytes(model);
  model.dispose();
  assertThrows(
    () => checkpointFromBytes(bytes, "gelu.safetensors", { expect: { activation: "swiglu" } }),
    Error,
    `gelu.safetensors holds another model than the one asked for: activation: stored "gelu", ` +
      `asked for "swiglu"`,
  );
});

Deno.test("a stored config field that differs from the expectation is named with both values", async () => {
  const model = tiny("relu");
  const bytes = await checkpointBytes(model);
  model.dispose();
  const err = assertThrows(
    () => checkpointFromBytes(bytes, "m", { expect: { config: { nLayer: 4, nEmbd: 64 } } }),
    Error,
  );
  assertStringIncludes(err.message, "nLayer: stored 2, asked for 4");
  assertStringIncludes(err.message, "nEmbd: stored 32, asked for 64");
});

Deno.test("an expectation that matches (through an alias) loads the model", async () => {
  const model = tiny("gelu_tanh");
  const bytes = await checkpointBytes(model);
  model.dispose();
  const { model: loaded } = checkpointFromBytes(bytes, "m", {
    expect: { activation: "gelu_new", config: { nLayer: model.config.nLayer } },
  });
  assertEquals(loaded.activation.name, "gelu_tanh");
  loaded.dispose();
});

Deno.test("loadCheckpoint passes the expectation through and names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = tiny("relu");
    await Deno.writeFile(`${dir}/relu.safetensors`, await checkpointBytes(model));
    model.dispose();
    await assertRejects(
      () => loadCheckpoint(`${dir}/relu.safetensors`, { expect: { activation: "gelu" } }),
      Error,
      `${dir}/relu.safetensors holds another model`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
