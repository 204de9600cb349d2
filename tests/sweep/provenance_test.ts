/**
 * Provenance: every trial records what produced it, and reading a folder says whether this code's
 * training step still computes what the trials' code did.
 */
import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import { ortVersion } from "@actlab/actlab/engine";
import { Trainer } from "@actlab/actlab/gpt";
import { registerTrainEngine } from "@actlab/actlab/train";
import {
  codeProvenance,
  compareFingerprints,
  readSweep,
  stepFingerprint,
  sweep,
} from "@actlab/actlab/sweep";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const small = { preset: "tiny" as const, iters: 8, evalEvery: 4, evalIters: 2, jobs: 1 };
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "a step's numerics fingerprint is stable, and tells activations and engines apart",
  ...options,
  fn: async () => {
    const ort = { engine: "ort", device: "cpu", threads: 1 };
    const relu = await stepFingerprint({ ...ort, activation: "relu" });
    const gelu = await stepFingerprint({ ...ort, activation: "gelu" });
    assertNotEquals(relu.hash, gelu.hash);
    assertEquals(compareFingerprints(relu, gelu), "different");
    const wasm = await stepFingerprint({
      engine: "tfjs",
      device: "wasm",
      threads: null,
      activation: "relu",
    });
    // The two engines compute the same step to float32 rounding, not bit for bit.
    assert(["rounding", "identical"].includes(compareFingerprints(relu, wasm)));
    assertEquals(relu.values.length, 8);
    // In a fresh process: the same bits.
    const script = `import { stepFingerprint } from "@actlab/actlab/sweep";
      const f = await stepFingerprint({ engine: "ort", device: "cpu", threads: 1, activation: "relu" });
      console.log(f.hash);`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: new URL("../..", import.meta.url).pathname,
    }).output();
    assertEquals(new TextDecoder().decode(out.stdout).trim(), relu.hash);
  },
});

Deno.test({
  name: "each trial records its code, engine, device and step fingerprint",
  ...options,
  fn: async () => {
    const r = await sweep(data, {
      ...small,
      activations: ["relu"],
      seeds: 1,
      engine: "ort",
      onNotice: () => {},
    });
    const p = r.trials[0].provenance!;
    const code = await codeProvenance();
    assertEquals([p.actlab, p.commit, p.deno], [code.actlab, code.commit, code.deno]);
    assertEquals([p.engine, p.engineVersion, p.device], ["ort", ortVersion(), "cpu"]);
    const now = await stepFingerprint({
      engine: "ort",
      device: "cpu",
      threads: 1,
      activation: "relu",
    });
    assertEquals(p.numerics, now);
  },
});

Deno.test({
  name:
    "readSweep() says when trials come from a step that computes differently, or from before provenance",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "actlab-provenance-" });
    try {
      await sweep(data, {
        ...small,
        activations: ["relu", "gelu"],
        seeds: 1,
        engine: "ort",
        out,
        onNotice: () => {},
      });
      const read = async () => {
        const notices: string[] = [];
        await readSweep(out, { onNotice: (m) => notices.push(m) });
        return notices.join("\n");
      };
      assertEquals(await read(), "", "today's code computes what it computed");
      // deno-lint-ignore no-explicit-any
      const edit = async (name: string, change: (t: Record<string, any>) => void) => {
        const path = `${out}/trials/${name}__seed1.json`;
        const t = JSON.parse(await Deno.readTextFile(path));
        change(t);
        await Deno.writeTextFile(path, JSON.stringify(t));
      };
      await edit("relu", (t) => {
        t.provenance.numerics.values[0] *= 1 + 3e-7;
        t.provenance.numerics.hash = "000000000000";
      });
      assertMatch(
        await read(),
        /relu's trials were trained by a step that agrees with this code's only to float32 rounding/,
      );
      await edit("relu", (t) => {
        t.provenance.numerics.values[0] += 0.01;
      });
      assertMatch(await read(), /relu's trials were trained by code whose training step differs/);
      await edit("gelu", (t) => delete t.provenance);
      assertMatch(
        await read(),
        /1 of 2 trials were written before trials recorded their provenance/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a registered engine is accepted by sweeps (one trial at a time); an unknown one is refused",
  ...options,
  fn: async () => {
    registerTrainEngine(
      "tfjs-eager",
      (model, config) => Promise.resolve(new Trainer(model, config)),
      {
        device: () => "wasm-eager",
        version: "1.0",
      },
    );
    const notices: string[] = [];
    const r = await sweep(data, {
      ...small,
      activations: ["relu"],
      seeds: [1, 2],
      engine: "tfjs-eager",
      jobs: 2,
      onNotice: (m) => notices.push(m),
    });
    assertEquals(r.jobs, 1);
    assertMatch(notices.join("\n"), /engine "tfjs-eager" is registered in this process/);
    assertEquals(r.settings.device, "wasm-eager");
    assertEquals(r.trials[0].provenance?.engineVersion, "1.0");
    const plain = await sweep(data, {
      ...small,
      activations: ["relu"],
      seeds: [1, 2],
      engine: "tfjs",
    });
    assertEquals(r.trials.map((t) => t.finalValLoss), plain.trials.map((t) => t.finalValLoss));
    await assertRejects(
      () => sweep(data, { ...small, engine: "jax" }),
      Error,
      `unknown engine "jax"; known are tfjs, ort, tfjs-eager`,
    );
  },
});
