/**
 * The parameter table (`gptParamTable`) is the one declaration of the GPT's parameters: the specs,
 * the structured parameters, the model's variables, the checkpoint keys, the initial values and
 * AdamW's decay groups all follow it, for unary and gated activations, with and without biases
 * and tied embeddings.
 */
import { assert, assertEquals } from "@std/assert";
import { getActivation } from "../../lib/activations/mod.ts";
import { sha256Hex } from "../../lib/core/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import {
  assembleParams,
  checkpointBytes,
  createGpt,
  decodeSafetensors,
  gptConfig,
  gptParamSpecs,
  gptParamTable,
  initParamValues,
  type ParamDecl,
  trainConfig,
  Trainer,
} from "../../lib/gpt/mod.ts";
import type { Batch } from "../../lib/core/mod.ts";

await initEngine({ backend: "wasm" });

/** The tiny preset's shape, spelled out so the pinned hashes below do not depend on presets. */
const shape = { vocabSize: 12, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, initStd: 0.02 };

/** Every leaf of a nested structure by dotted path (the test's own walk, not the library's). */
function leaves(node: unknown, path = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (node === undefined) return out;
  if (typeof node !== "object" || node === null || "init" in node) return out.set(path, node);
  for (const [key, child] of Object.entries(node)) {
    leaves(child, path === "" ? key : `${path}.${key}`, out);
  }
  return out;
}

const cases = ["gelu", "swiglu"].flatMap((activation) =>
  [false, true].flatMap((bias) => [true, false].map((tied) => ({ activation, bias, tied })))
);

/**
 * SHA-256 of the initial values of seed 1337 (all tensors in spec order), written by the code
 * before the table existed (commit c718cfa): the table reproduces the weights bit for bit.
 */
const INIT_SHA256: Record<string, string> = {
  "gelu/false/true": "c4248cf0bbc4bd8b84b108d88d3344c74c0380b7ca81e23d79196d473af8fba9",
  "gelu/false/false": "d960444e36db86840d96201f8375c43f28e6bbdbdcd3c644cadd568b5aad0460",
  "gelu/true/true": "8a82ce429a7ba9bd89db1a1d4a5a759feab430f5996e06cc37bc25a6d480f8c1",
  "gelu/true/false": "f0dc8100326f41b644c0017d846b45e7cb310ce789a3598c31fe31dc50288e32",
  "swiglu/false/true": "a8a1e59a5c22b88a78521919a5aabf285746f6771d741029527a7ce575a2d64a",
  "swiglu/false/false": "4fc3970a1e0b516004d01587fe55655fbe2b07b312e88088097fa7f88bd28e34",
  "swiglu/true/true": "0cd2aebbb4271290b44538039727d0fe549e0d36b798ce606d1148ce8f070055",
  "swiglu/true/false": "6d8c609da51c72a19061934912d516b7eafcb137202abbf98d4654eb52f1a1d3",
};

for (const { activation, bias, tied } of cases) {
  const label = `${activation}, bias ${bias}, tied embeddings ${tied}`;
  const config = gptConfig({ ...shape, activation, bias, tiedEmbeddings: tied });
  const kind = getActivation(activation).kind;

  Deno.test(`specs, assembly, variables and checkpoint keys all follow the parameter table (${label})`, async () => {
    const table = leaves(gptParamTable(config, kind)) as Map<string, ParamDecl>;
    const names = [...table.keys()];
    // 2 embeddings, 6 or 12 entries per block, ln_f (1 or 2), the head when untied.
    assertEquals(
      names.length,
      2 + shape.nLayer * (bias ? 12 : 6) + (bias ? 2 : 1) + (tied ? 0 : 1),
    );
    assertEquals(names.some((n) => n.endsWith(".bias")), bias);
    assertEquals(names.includes("lm_head.weight"), !tied);

    const specs = gptParamSpecs(config, kind);
    assertEquals(specs.map((s) => s.name), names);
    for (const s of specs) assertEquals({ ...s }, { name: s.name, ...table.get(s.name)! });

    const assembled = leaves(assembleParams(config, kind, (name) => name));
    assertEquals([...assembled.entries()], names.map((n) => [n, n])); // each name at its path

    const model = createGpt(config, { seed: 1 });
    try {
      assertEquals([...model.variables.keys()], names);
      for (const [name, v] of model.variables) assertEquals(v.shape, [...table.get(name)!.shape]);
      const file = decodeSafetensors(await checkpointBytes(model));
      assertEquals([...file.tensors.keys()], names);
      for (const [name, t] of file.tensors) assertEquals([...t.shape], [...table.get(name)!.shape]);
    } finally {
      model.dispose();
    }
  });

  Deno.test(`initial values follow the table's init column and are pinned bit for bit (${label})`, async () => {
    const specs = gptParamSpecs(config, kind);
    const values = initParamValues(specs, 1337);
    for (const s of specs) {
      const v = values.get(s.name)!;
      if (s.init.kind === "normal") {
        const std = Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
        assert(Math.abs(std / s.init.std - 1) < 0.25, `${s.name}: std ${std}, table ${s.init.std}`);
      } else {
        assert(
          v.every((x) => x === (s.init.kind === "ones" ? 1 : 0)),
          `${s.name} is not ${s.init.kind}`,
        );
      }
    }
    const all = new Float32Array(specs.reduce((n, s) => n + values.get(s.name)!.length, 0));
    let offset = 0;
    for (const s of specs) {
      all.set(values.get(s.name)!, offset);
      offset += values.get(s.name)!.length;
    }
    assertEquals(
      await sha256Hex(new Uint8Array(all.buffer)),
      INIT_SHA256[`${activation}/${bias}/${tied}`],
    );
  });

  Deno.test(`AdamW decays exactly the parameters the table marks (${label})`, async () => {
    // One step from the same weights and batch with and without weight decay: the two differ
    // (by lr·wd·p) in decayed parameters and not at all in the others.
    const ids = Int32Array.from({ length: 2 * 8 }, (_, i) => (i * 5) % shape.vocabSize);
    const batch: Batch = {
      x: ids,
      y: ids.map((id) => (id + 1) % shape.vocabSize),
      batchSize: 2,
      blockSize: 8,
    };
    const stepWith = async (weightDecay: number) => {
      const model = createGpt(config, { seed: 2 });
      const train = trainConfig({ preset: "tiny", learningRate: 0.1, warmupIters: 0, weightDecay });
      const trainer = new Trainer(model, train);
      await trainer.step(batch, 0);
      const out = new Map<string, Float32Array>();
      for (const [name, v] of model.variables) out.set(name, (await v.data()) as Float32Array);
      trainer.dispose();
      model.dispose();
      return out;
    };
    const [plain, decayed] = [await stepWith(0), await stepWith(0.5)];
    for (const s of gptParamSpecs(config, kind)) {
      const a = plain.get(s.name)!, b = decayed.get(s.name)!;
      const differs = a.some((x, i) => x !== b[i]);
      assertEquals(
        differs,
        s.decay,
        `${s.name}: decay ${s.decay} but the weights ${differs ? "differ" : "agree"}`,
      );
    }
  });
}

Deno.test("a trainable activation's parameters join the table per layer, from its spec, drawing no weights", () => {
  const config = gptConfig({ ...shape, activation: "gelu" });
  const H = 4 * shape.nEmbd;
  for (
    const [name, want] of [
      ["prelu", { a: { shape: [H], init: 0.25 } }],
      ["xielu", {
        alpha_p_raw: { shape: [], init: Math.log(Math.expm1(0.8)) },
        alpha_n_raw: { shape: [], init: Math.log(Math.expm1(0.8 - 0.5)) }, // as HF: init − β
      }],
      ["polynorm", {
        w1: { shape: [], init: 1 / 3 },
        w2: { shape: [], init: 1 / 3 },
        w3: { shape: [], init: 1 / 3 },
        b: { shape: [], init: 0 },
      }],
    ] as const
  ) {
    const def = getActivation(name);
    const specs = gptParamSpecs(config, def);
    const act = specs.filter((s) => s.name.includes(".mlp.act."));
    const expected = [0, 1].flatMap((l) =>
      Object.entries(want).map(([p, w]) => ({
        name: `h.${l}.mlp.act.${p}`,
        shape: [...w.shape],
        init: { kind: "constant", value: w.init },
        decay: false,
      }))
    );
    assertEquals(act, expected, name);
    // the other parameters, and the weights a seed draws for them, are the fixed activation's
    const others = specs.filter((s) => !s.name.includes(".mlp.act."));
    assertEquals(others, gptParamSpecs(config, "unary"));
    const a = initParamValues(specs, 1337), b = initParamValues(others, 1337);
    for (const s of others) assertEquals(a.get(s.name), b.get(s.name));
    for (const s of act) {
      assert(a.get(s.name)!.every((v) => v === Math.fround((s.init as { value: number }).value)));
    }
    // the model counts them, and its structure holds them under mlp.act
    const model = createGpt(gptConfig({ ...shape, activation: name }));
    const extra = act.reduce((n, s) => n + s.shape.reduce((x, y) => x * y, 1), 0);
    assertEquals(model.numParams, createGpt(config).numParams + extra);
    assertEquals(Object.keys(model.params.h[1].mlp.act!), Object.keys(want));
    model.dispose();
  }
});
