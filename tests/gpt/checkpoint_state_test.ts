/**
 * Checkpoints that keep the training config and state: round trips, the optimizer choice kept,
 * weights-only checkpoints unchanged, and broken states refused with messages that say why.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { createRng } from "../../lib/core/mod.ts";
import {
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  gptConfig,
  optimizerBuffers,
  trainConfig,
  type TrainState,
} from "../../lib/gpt/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/gpt/safetensors.ts";

await initEngine({ backend: "wasm" });
const config = gptConfig({ preset: "tiny", vocabSize: 12 });

function stateOf(optimizer: "adamw" | "muon"): TrainState {
  const train = trainConfig({ preset: "tiny", optimizer, muonMomentum: 0.9 });
  const model = createGpt(config);
  const buffers = new Map(
    optimizerBuffers(model.specs, train).map((b, i) => [
      b.name,
      Float32Array.from({ length: b.shape.reduce((x, y) => x * y, 1) }, (_, j) => i + j / 1e3),
    ]),
  );
  model.dispose();
  const rng = createRng(3);
  rng.int(5);
  return {
    config: train,
    iter: 42,
    optimizer: { optimizer: train.optimizer ?? "adamw", step: 42, buffers },
    batchRng: rng.state(),
    evalRng: createRng(3).fork(1).state(),
    dataTokens: [1000, 100],
  };
}

Deno.test("a checkpoint keeps the training state: buffers, steps, generators, config", async () => {
  for (const optimizer of ["adamw", "muon"] as const) {
    const model = createGpt(config, { seed: 1 });
    const state = stateOf(optimizer);
    const loaded = checkpointFromBytes(await checkpointBytes(model, { state }));
    assertEquals(loaded.train, state.config);
    assertEquals(loaded.train?.optimizer, optimizer === "muon" ? "muon" : undefined);
    assertEquals(loaded.state?.iter, 42);
    assertEquals(loaded.state?.optimizer.step, 42);
    assertEquals(loaded.state?.batchRng, state.batchRng);
    assertEquals(loaded.state?.evalRng, state.evalRng);
    assertEquals(loaded.state?.dataTokens, [1000, 100]);
    assertEquals([...loaded.state!.optimizer.buffers], [...state.optimizer.buffers]);
    for (const s of model.specs) {
      assertEquals(
        await loaded.model.variables.get(s.name)!.data(),
        await model.variables.get(s.name)!.data(),
      );
    }
    loaded.model.dispose();
    model.dispose();
  }
});

Deno.test("a weights-only checkpoint is as before; `train` alone keeps the optimizer choice", async () => {
  const model = createGpt(config, { seed: 1 });
  const plain = await checkpointBytes(model);
  const file = decodeSafetensors(plain);
  assertEquals([...file.tensors.keys()], model.specs.map((s) => s.name));
  assertEquals(file.metadata["actlab.train"], undefined);
  const loaded = checkpointFromBytes(plain);
  assertEquals([loaded.train, loaded.state], [undefined, undefined]);
  loaded.model.dispose();
  const train = trainConfig({ preset: "tiny", optimizer: "muon" });
  const withTrain = checkpointFromBytes(await checkpointBytes(model, { train }));
  assertEquals(withTrain.train, train);
  assertEquals(withTrain.state, undefined);
  withTrain.model.dispose();
  model.dispose();
});

Deno.test("a broken training state is refused, naming what is wrong", async () => {
  const model = createGpt(config, { seed: 1 });
  const bytes = await checkpointBytes(model, { state: stateOf("muon") });
  model.dispose();
  const file = decodeSafetensors(bytes);
  const rewrite = (edit: (t: typeof file.tensors, m: Record<string, string>) => void) => {
    const tensors = new Map(file.tensors), metadata = { ...file.metadata };
    edit(tensors, metadata);
    return encodeSafetensors(tensors, metadata);
  };
  const cases: [Uint8Array, string][] = [
    [
      rewrite((t) => t.delete("optimizer/muon_m/h.0.mlp.c_fc.weight")),
      "muon_m/h.0.mlp.c_fc.weight is missing",
    ],
    [
      rewrite((_, m) => {
        m["actlab.train"] = JSON.stringify(trainConfig({ preset: "tiny" }));
      }),
      "the state is muon's but the optimizer is adamw",
    ],
    [
      rewrite((_, m) => {
        delete m["actlab.train"];
      }),
      "it has a training state but no training config",
    ],
    [
      rewrite((_, m) => {
        m["actlab.train"] = JSON.stringify({ ...stateOf("muon").config, momentum: 0.9 });
      }),
      'the stored training config is unusable: trainConfig: unknown option "momentum"',
    ],
  ];
  for (const [broken, message] of cases) {
    assertThrows(() => checkpointFromBytes(broken, "ck.safetensors"), Error, message);
  }
});
