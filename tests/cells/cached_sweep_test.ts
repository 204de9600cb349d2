import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import {
  initEngine,
  registerActivation,
  sweep,
  syntheticDataset,
  type TrialResult,
  unregisterActivation,
} from "@actlab/actlab";
import { cachedSweep } from "@actlab/actlab/cells";

await initEngine({ backend: "wasm" });
const data = syntheticDataset({ length: 4000 });
const SWEEP = {
  name: "test-sweep",
  activations: ["relu", "gelu"],
  seeds: [1, 2],
  preset: "tiny",
  iters: 6,
  evalEvery: 3,
  evalIters: 2,
} as const;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** A trial without its timings (wall time and ms/step differ from run to run). */
function numbers(t: TrialResult) {
  const { wallS: _w, msPerStep: _m, ...rest } = t;
  return { ...rest, evals: t.evals.map(({ elapsedS: _e, ...e }) => e) };
}

/** Runs `fn` with console.log and stderr writes captured. */
async function captured<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; lines: string[]; stderr: string }> {
  const lines: string[] = [];
  const chunks: string[] = [];
  const log = console.log, write = Deno.stderr.writeSync;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  Deno.stderr.writeSync = (p: Uint8Array) => {
    chunks.push(new TextDecoder().decode(p));
    return p.length;
  };
  try {
    return { value: await fn(), lines, stderr: chunks.join("") };
  } finally {
    console.log = log;
    Deno.stderr.writeSync = write;
  }
}

Deno.test({
  name: "cachedSweep() returns the trials sweep() returns, then reads them without training",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      let steps = 0;
      const onStep = () => void steps++;
      const first = await captured(() => cachedSweep(data, SWEEP, { dir, onStep }));
      assertEquals(steps, 2 * 2 * 6);
      assertStringIncludes(first.lines[0], "[cached] test-sweep: computed in");

      const { name: _, ...options } = SWEEP;
      const direct = await sweep(data, options);
      assertEquals(first.value.map(numbers), direct.trials.map(numbers));
      assertEquals(first.value.map((t) => `${t.activation}/${t.seed}`), [
        "relu/1",
        "relu/2",
        "gelu/1",
        "gelu/2",
      ]);

      const second = await captured(() => cachedSweep(data, SWEEP, { dir, onStep }));
      assertEquals(steps, 24, "a cache hit trains no step");
      assertStringIncludes(second.lines[0], "[cached] test-sweep: reused the result");
      assertEquals(second.value, first.value);
      assertEquals(second.stderr, "", "no progress bar when nothing trains");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cachedSweep() shows one bar over every trial's steps with the running trial and loss",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { stderr } = await captured(() =>
        cachedSweep(data, { ...SWEEP, seeds: [1] }, { dir, label: "my sweep" })
      );
      // Off a terminal the bar prints now and then and always at the end; trials may run side by
      // side, so the last step may be either trial's.
      const last = stderr.trim().split("\n").at(-1)!;
      assert(/^my sweep 100% .* 12\/12 .* run=(relu|gelu)\/1 loss=\d.* done$/.test(last), stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cachedSweep() keeps a separate entry for other settings, another dataset or cacheKey",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const small = { ...SWEEP, activations: ["relu"], seeds: [1], iters: 3 };
      const run = async (settings: Parameters<typeof cachedSweep>[1], ds = data) => {
        let steps = 0;
        await cachedSweep(ds, settings, {
          dir,
          quiet: true,
          progress: false,
          onStep: () => void steps++,
        });
        return steps;
      };
      assertEquals(await run(small), 3);
      assertEquals(await run({ ...small, seeds: [2] }), 3);
      assertEquals(await run({ ...small, cacheKey: { definition: "v2" } }), 3);
      assertEquals(
        await run(small, syntheticDataset({ length: 5000 })),
        3,
        "same name, other size",
      );
      assertEquals(await run({ ...small, name: "other-name" }), 3);
      assertEquals(await run(small), 0, "the first settings are still stored");
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((f) =>
        f.endsWith(".json")
      );
      assertEquals(files.length, 5);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cachedSweep() trains again when a registered activation is redefined under its name",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const define = (k: number) =>
      registerActivation({
        name: "xsig_cell_test",
        reference: (x) => x / (1 + Math.exp(-k * x)),
        apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(k, x))),
      }, { override: true });
    try {
      const settings = { ...SWEEP, activations: ["xsig_cell_test"], seeds: [1], iters: 3 };
      const run = async () => {
        let steps = 0;
        await cachedSweep(data, settings, {
          dir,
          quiet: true,
          progress: false,
          onStep: () => void steps++,
        });
        return steps;
      };
      define(2);
      assertEquals(await run(), 3);
      assertEquals(await run(), 0, "same definition: read from the cache");
      define(3);
      assertEquals(await run(), 3, "new values under the old name: trained again");
    } finally {
      unregisterActivation("xsig_cell_test");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
