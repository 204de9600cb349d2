import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  charDataset,
  initEngine,
  registerActivation,
  sweep,
  unregisterActivation,
} from "@actlab/actlab";
import { mergeSweeps, parseShard, readSweep, sweepTrials } from "@actlab/actlab/sweep";
import { syntheticText } from "@actlab/actlab/datasets";
import * as tf from "@tensorflow/tfjs";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const small = { preset: "tiny" as const, iters: 12, evalEvery: 6, evalIters: 2 };
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test("parseShard() reads --shard, SLURM arrays and Kubernetes indexed jobs", () => {
  assertEquals(parseShard("1/3", {}), { index: 1, count: 3 });
  assertEquals(parseShard(undefined, {}), undefined);
  assertEquals(
    parseShard(undefined, {
      SLURM_ARRAY_TASK_ID: "5",
      SLURM_ARRAY_TASK_MIN: "4",
      SLURM_ARRAY_TASK_COUNT: "2",
    }),
    { index: 1, count: 2 },
  );
  assertEquals(parseShard(undefined, { JOB_COMPLETION_INDEX: "0", ACTLAB_SHARD_COUNT: "4" }), {
    index: 0,
    count: 4,
  });
  assertThrows(
    () => parseShard(undefined, { JOB_COMPLETION_INDEX: "0" }),
    Error,
    "ACTLAB_SHARD_COUNT",
  );
  assertThrows(() => parseShard("3/3", {}), Error, "outside the 3 shards");
  assertThrows(() => parseShard("a/b", {}), Error, "i/n");
});

Deno.test("shards split the trials deterministically and cover them exactly once", () => {
  const all = sweepTrials(["relu", "gelu", "swiglu"], [1, 2, 3]);
  const parts = [0, 1, 2, 3].map((index) =>
    sweepTrials(["relu", "gelu", "swiglu"], [1, 2, 3], { index, count: 4 })
  );
  assertEquals(parts.flat().length, all.length);
  assertEquals(new Set(parts.flat().map((t) => `${t.activation}${t.seed}`)).size, all.length);
});

Deno.test({
  name: "sweep() writes each trial, skips finished ones on re-run, and shards merge to the whole",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const first = await sweep(data, { ...small, activations: ["relu", "gelu"], seeds: 2, out });
      assertEquals(first.trials.length, 4);
      assert(first.trials.every((t) => t.status === "completed" && t.evals.length === 3));
      const files = [...Deno.readDirSync(`${out}/trials`)].map((e) => e.name).sort();
      assertEquals(files, [
        "gelu__seed1.json",
        "gelu__seed2.json",
        "relu__seed1.json",
        "relu__seed2.json",
      ]);
      const jsonl = (await Deno.readTextFile(`${out}/trials.jsonl`)).trim().split("\n");
      assertEquals(jsonl.map((l) => JSON.parse(l).activation), ["relu", "relu", "gelu", "gelu"]);
      const summary = first.summary;
      assertEquals(summary.map((r) => r.activation), ["relu", "gelu"]);
      assertEquals(summary[0].baseline, "gelu");
      assert(Number.isFinite(summary[0].pWelch));
      assert(summary[1].ci95Low <= summary[1].valLossMean);

      const skipped: boolean[] = [];
      const again = await sweep(data, {
        ...small,
        activations: ["relu", "gelu"],
        seeds: 2,
        out,
        onTrial: (_, s) => {
          skipped.push(s);
        },
      });
      assertEquals(skipped, [true, true, true, true]);
      assertEquals(
        again.trials.map((t) => t.finalValLoss),
        first.trials.map((t) => t.finalValLoss),
      );

      const shardDirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
      for (const [index, dir] of shardDirs.entries()) {
        await sweep(data, {
          ...small,
          activations: ["relu", "gelu"],
          seeds: 2,
          out: dir,
          shard: { index, count: 2 },
        });
      }
      const merged = await mergeSweeps(shardDirs);
      assertEquals(merged.trials.length, 4);
      const byKey = (ts: typeof merged.trials) =>
        Object.fromEntries(ts.map((t) => [`${t.activation}${t.seed}`, t.finalValLoss]));
      assertEquals(
        byKey(merged.trials),
        byKey(first.trials),
        "same seed, same numbers, wherever a trial ran",
      );
      for (const d of shardDirs) await Deno.remove(d, { recursive: true });

      await assertRejects(
        () => sweep(data, { ...small, iters: 13, activations: ["relu"], seeds: 1, out }),
        Error,
        "other settings",
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a diverging trial is recorded as diverged with its step, and the sweep goes on",
  ...options,
  fn: async () => {
    registerActivation({
      name: "blowup_test",
      reference: () => NaN,
      apply: (x) => tf.div(x, tf.sub(x, x)), // x/0: ±∞ or NaN
    }, { probe: false }); // wrong on purpose: the registration probe would refuse it
    let r;
    try {
      r = await sweep(data, { ...small, activations: ["blowup_test", "relu"], seeds: 1 });
    } finally {
      unregisterActivation("blowup_test");
    }
    assertEquals(r.trials[0].status, "diverged");
    assert(Number.isInteger(r.trials[0].divergedAt));
    assertEquals(r.summary[0].diverged, 1);
    assertEquals(r.trials[1].status, "completed");
  },
});

Deno.test({
  name: "a redefined activation never reuses the trials of its old definition in a folder",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const define = (k: number) =>
      registerActivation({
        name: "xsig_test",
        reference: (x) => x / (1 + Math.exp(-k * x)),
        apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(k, x))),
      }, { override: true });
    try {
      define(2);
      const first = await sweep(data, {
        ...small,
        iters: 2,
        activations: ["xsig_test"],
        seeds: 1,
        out,
      });
      assertEquals(first.trials.length, 1);
      assert(first.settings.custom?.xsig_test, "the sweep key records the definition");
      // Same definition: the trial is found on disk, not retrained.
      const again = await sweep(data, {
        ...small,
        iters: 2,
        activations: ["xsig_test"],
        seeds: 1,
        out,
      });
      assertEquals(again.trials[0].wallS, first.trials[0].wallS);
      define(3); // same name, other values
      await assertRejects(
        () => sweep(data, { ...small, iters: 2, activations: ["xsig_test"], seeds: 1, out }),
        Error,
        "another definition of xsig_test",
      );
    } finally {
      unregisterActivation("xsig_test");
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("a sweep of built-in activations has no definition fingerprints in its key", async () => {
  const r = await sweep(data, { ...small, iters: 1, activations: ["relu"], seeds: 1 });
  assertEquals(r.settings.custom, undefined);
});

Deno.test({
  name: "readSweep() reads a sweep folder's settings and trials in its order, writing nothing",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const r = await sweep(data, {
        ...small,
        iters: 2,
        activations: ["relu", "gelu"],
        seeds: 2,
        out,
      });
      const before = await Deno.readTextFile(`${out}/trials.jsonl`);
      const read = await readSweep(out);
      assertEquals(read.settings.key, r.settings.key);
      assertEquals(read.trials, r.trials);
      assertEquals(read.summary, r.summary);
      assertEquals(await Deno.readTextFile(`${out}/trials.jsonl`), before);
      await Deno.remove(`${out}/trials/gelu__seed2.json`);
      const notices: string[] = [];
      const partial = await readSweep(out, { onNotice: (m) => notices.push(m) });
      assertEquals(partial.trials.length, 3);
      assert(notices.some((m) => m.includes("gelu seed 2")), notices.join("\n"));
      await assertRejects(() => readSweep(`${out}/trials`), Error, "not a sweep folder");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("an unknown activation fails before any training, naming the known ones", async () => {
  await assertRejects(
    () => sweep(data, { ...small, activations: ["relu", "gleu"] }),
    Error,
    "Did you mean 'gelu'?",
  );
});

Deno.test({
  name: "the ort and tfjs engines give the same sweep numbers (1e-3)",
  ...options,
  fn: async () => {
    const args = { ...small, activations: ["gelu", "swiglu"], seeds: [5] };
    const onTfjs = await sweep(data, { ...args, engine: "tfjs" });
    const onOrt = await sweep(data, {
      ...args,
      engine: "ort",
      engineOptions: { provider: "cpu", threads: 1 },
    });
    for (const [i, t] of onOrt.trials.entries()) {
      const d = Math.abs(t.finalValLoss - onTfjs.trials[i].finalValLoss);
      assert(
        d < 1e-3,
        `${t.activation}: ort ${t.finalValLoss} vs tfjs ${onTfjs.trials[i].finalValLoss}`,
      );
    }
    assert(onOrt.settings.key !== onTfjs.settings.key, "engine is part of the settings key");
    assertEquals([onOrt.settings.device, onOrt.settings.threads], ["cpu", 1]);
    assertEquals([onTfjs.settings.device, onTfjs.settings.threads], ["wasm", null]);
  },
});
