/**
 * Faults injected into sweeps: each test breaks something a user or the machine can break and
 * asserts the error text or the state left on disk.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { charDataset, initEngine, sweep } from "@actlab/actlab";
import { mergeSweeps } from "@actlab/actlab/sweep";
import { syntheticText } from "@actlab/actlab/datasets";
import { lockFolder } from "@actlab/actlab/core";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const small = { preset: "tiny" as const, iters: 8, evalEvery: 4, evalIters: 2, jobs: 1 };
const options = { sanitizeOps: false, sanitizeResources: false };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-sweep-fault-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const files = (dir: string) => [...Deno.readDirSync(`${dir}/trials`)].map((e) => e.name).sort();

Deno.test({
  name: "an interrupted trial is never recorded, and a re-run redoes exactly it",
  ...options,
  fn: () =>
    withDir(async (out) => {
      const stop = new AbortController();
      const r = await sweep(data, {
        ...small,
        activations: ["relu", "gelu"],
        seeds: 1,
        out,
        onStep: (t, s) => {
          if (t.activation === "gelu" && s.iter === 3) stop.abort();
        },
        signal: stop.signal,
      });
      assert(r.interrupted);
      assertEquals(r.discarded, [{ activation: "gelu", seed: 1 }]);
      assertEquals(r.trials.map((t) => t.activation), ["relu"]);
      assertEquals(files(out), ["relu__seed1.json"]);
      const jsonl = (await Deno.readTextFile(`${out}/trials.jsonl`)).trim().split("\n");
      assertEquals(jsonl.length, 1);
      const ran: string[] = [];
      const again = await sweep(data, {
        ...small,
        activations: ["relu", "gelu"],
        seeds: 1,
        out,
        onTrialStart: (t) => ran.push(t.activation),
      });
      assertEquals(ran, ["gelu"]);
      assert(!again.interrupted);
      assertEquals(files(out), ["gelu__seed1.json", "relu__seed1.json"]);
    }),
});

Deno.test("an activation named twice (alias and canonical name) is refused before training", async () => {
  await assertRejects(
    () => sweep(data, { ...small, activations: ["silu", "relu", "swish"] }),
    Error,
    `"silu" and "swish" are the same activation (silu); list it once`,
  );
  await assertRejects(
    () => sweep(data, { ...small, activations: ["relu", "relu"] }),
    Error,
    `"relu" is listed twice`,
  );
});

Deno.test("an empty activation list, no seeds, repeated seeds and bad jobs are errors", async () => {
  await assertRejects(() => sweep(data, { ...small, activations: [] }), Error, "no activations");
  await assertRejects(() => sweep(data, { ...small, seeds: [] }), Error, "no seeds");
  await assertRejects(() => sweep(data, { ...small, seeds: [1, 1] }), Error, "repeat a seed");
  await assertRejects(() => sweep(data, { ...small, jobs: 0 }), Error, "jobs must be");
});

Deno.test({
  name: "sweeps on different engines or threads never share a folder",
  ...options,
  fn: () =>
    withDir(async (out) => {
      await sweep(data, { ...small, activations: ["relu"], seeds: 1, out, engine: "tfjs" });
      const err = await assertRejects(
        () =>
          sweep(data, {
            ...small,
            activations: ["relu"],
            seeds: 1,
            out,
            engine: "ort",
            engineOptions: { provider: "cpu" },
          }),
        Error,
        "holds a sweep with other settings",
      );
      assertStringIncludes(err.message, `"engine":"tfjs"`);
      assertStringIncludes(err.message, `"engine":"ort"`);
      assertEquals(files(out), ["relu__seed1.json"], "the first sweep's trial is untouched");
    }),
});

Deno.test({
  name: "shards of different settings refuse to merge, naming both settings",
  ...options,
  fn: () =>
    withDir(async (root) => {
      const a = `${root}/a`, b = `${root}/b`;
      await sweep(data, { ...small, activations: ["relu"], seeds: 1, out: a });
      await sweep(data, { ...small, activations: ["relu"], seeds: 1, out: b, iters: 6 });
      await assertRejects(() => mergeSweeps([a, b]), Error, "they are different sweeps");
    }),
});

Deno.test({
  name: "a second process on the same folder is refused while the first holds the lock",
  ...options,
  fn: () =>
    withDir(async (out) => {
      // Another live process holds the lock: this test's parent (pid alive, same host).
      const parent = Deno.ppid ?? Deno.pid;
      await Deno.writeTextFile(
        `${out}/.lock`,
        JSON.stringify({
          pid: parent,
          host: (await import("node:os")).hostname(),
          since: "t",
          what: "sweep",
        }),
      );
      const err = await assertRejects(
        () => sweep(data, { ...small, activations: ["relu"], seeds: 1, out }),
        Error,
        "is in use by another sweep",
      );
      assertStringIncludes(err.message, `pid ${parent}`);
      assertStringIncludes(err.message, "delete");
      assertEquals([...Deno.readDirSync(out)].map((e) => e.name), [".lock"], "nothing written");
    }),
});

Deno.test({
  name: "a lock left by a dead process is taken over, said so, and released at the end",
  ...options,
  fn: () =>
    withDir(async (out) => {
      const dead = new Deno.Command("true").spawn();
      const { success } = await dead.status;
      assert(success);
      await Deno.writeTextFile(
        `${out}/.lock`,
        JSON.stringify({
          pid: dead.pid,
          host: (await import("node:os")).hostname(),
          since: "t",
          what: "sweep",
        }),
      );
      const notices: string[] = [];
      await sweep(data, {
        ...small,
        activations: ["relu"],
        seeds: 1,
        out,
        onNotice: (m) => notices.push(m),
      });
      assertMatch(notices.join("\n"), /took over the lock of a sweep that is no longer running/);
      assert(![...Deno.readDirSync(out)].some((e) => e.name === ".lock"), "lock released");
    }),
});

Deno.test("lockFolder() refuses a second holder in the same process", async () => {
  await withDir(async (dir) => {
    const lock = await lockFolder(dir, "sweep");
    await assertRejects(() => lockFolder(dir, "sweep"), Error, `pid ${Deno.pid}`);
    await lock.release();
    const again = await lockFolder(dir, "sweep");
    await again.release();
  });
});

Deno.test({
  name: "a truncated trials.jsonl line is reported and rebuilt from the per-trial files",
  ...options,
  fn: () =>
    withDir(async (out) => {
      const args = { ...small, activations: ["relu", "gelu"], seeds: 1, out };
      await sweep(data, args);
      const path = `${out}/trials.jsonl`;
      const good = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, good.slice(0, good.length - 40)); // a crash mid-write
      const notices: string[] = [];
      await sweep(data, { ...args, onNotice: (m) => notices.push(m) });
      assertMatch(
        notices.join("\n"),
        /trials\.jsonl disagrees with trials\/: line 2 is damaged.*rebuilds it/,
      );
      assertEquals(await Deno.readTextFile(path), good);
    }),
});

Deno.test({
  name: "a trial file with a missing field is reported by name, not silently rerun or trusted",
  ...options,
  fn: () =>
    withDir(async (out) => {
      const args = { ...small, activations: ["relu"], seeds: 1, out };
      await sweep(data, args);
      const path = `${out}/trials/relu__seed1.json`;
      const t = JSON.parse(await Deno.readTextFile(path));
      delete t.evals;
      await Deno.writeTextFile(path, JSON.stringify(t));
      const err = await assertRejects(() => sweep(data, args), Error, `missing "evals"`);
      assertStringIncludes(err.message, "relu__seed1.json");
      assertStringIncludes(err.message, "Delete it to rerun that trial");
    }),
});

Deno.test({
  name:
    "merge writes a new folder, refuses an input folder as output, and warns of a missing shard",
  ...options,
  fn: () =>
    withDir(async (root) => {
      const args = { ...small, activations: ["relu", "gelu"], seeds: 2 };
      const dirs = [0, 1, 2].map((i) => `${root}/s${i}`);
      for (const [index, out] of dirs.entries()) {
        if (index === 1) continue; // shard 1 never ran
        await sweep(data, { ...args, out, shard: { index, count: 3 } });
      }
      const given = [dirs[0], dirs[2]];
      await assertRejects(
        () => mergeSweeps(given, { out: dirs[0] }),
        Error,
        "is one of the folders being merged",
      );
      const notices: string[] = [];
      const merged = await mergeSweeps(given, {
        out: `${root}/all`,
        onNotice: (m) => notices.push(m),
      });
      assertMatch(notices.join("\n"), /shard 1\/3 of 3 is not among the folders given/);
      assertEquals(merged.trials.length, 3);
      assertEquals(files(`${root}/all`).length, 3);
      const jsonl = (await Deno.readTextFile(`${root}/all/trials.jsonl`)).trim().split("\n");
      assertEquals(jsonl.length, 3);
      await assertRejects(() => mergeSweeps(given, { out: `${root}/all` }), Error, "not empty");
    }),
});

Deno.test({
  name: "sweep trials run in 2 workers give bit-identical numbers to 1 job, on both engines",
  ...options,
  fn: async () => {
    for (const engine of ["ort", "tfjs"] as const) {
      const args = {
        ...small,
        activations: ["relu", "gelu", "swiglu"],
        seeds: [1, 2],
        engine,
        engineOptions: engine === "ort" ? { provider: "cpu" } : undefined,
      };
      const one = await sweep(data, { ...args, jobs: 1 });
      const started: number[] = [];
      const two = await sweep(data, {
        ...args,
        jobs: 2,
        onTrialStart: (_t, _k, _n, slot) => started.push(slot),
      });
      assertEquals(two.jobs, 2);
      assertEquals(new Set(started), new Set([0, 1]), "both workers ran trials");
      assertEquals(two.settings.key, one.settings.key);
      const pick = (r: typeof one) =>
        r.trials.map((t) => [t.activation, t.seed, t.finalValLoss, t.evals.map((e) => e.valLoss)]);
      assertEquals(pick(two), pick(one), `${engine}: same numbers with 1 and 2 jobs`);
    }
  },
});
