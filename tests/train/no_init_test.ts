/**
 * No set-up trap: training and sweeps started in a fresh process (a notebook cell) without
 * initEngine() work and say which backend they use, instead of failing on tfjs's "backend
 * 'webgpu' has not yet been initialized".
 */
import { assertEquals, assertMatch } from "@std/assert";

const ROOT = new URL("../..", import.meta.url).pathname;

/** Runs `script` in a fresh Deno process in the project (its import map); stdout and stderr. */
async function fresh(script: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("a model built and trained without initEngine() runs on tfjs's CPU backend, and says so", async () => {
  const r = await fresh(`
    import { createGpt, gptConfig, syntheticDataset, trainGpt } from "@actlab/actlab";
    const ds = syntheticDataset({ length: 2000 });
    const model = createGpt(gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size }));
    const r = await trainGpt(model, ds, { preset: "tiny", iters: 2, evalIters: 1, onNotice: (m) => console.log(m) });
    console.log("final", Number.isFinite(r.final.valLoss));`);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /tfjs runs on its cpu backend because initEngine\(\) was not called/);
  assertMatch(r.stdout, /final true/);
});

Deno.test("a sweep and trainedGpt() without initEngine() start the best backend and say which", async () => {
  const r = await fresh(`
    import { syntheticDataset, sweep } from "@actlab/actlab";
    import { trainedGpt } from "@actlab/actlab/cells";
    const ds = syntheticDataset({ length: 3000 });
    const s = await sweep(ds, { preset: "tiny", iters: 2, evalIters: 1, activations: ["relu"], seeds: 1, jobs: 1, engine: "tfjs", onNotice: (m) => console.log(m) });
    console.log("sweep", s.trials.length, s.settings.device);
    const dir = await Deno.makeTempDir();
    const t = await trainedGpt(ds, { activation: "relu", preset: "tiny", iters: 2 }, { dir, quiet: true, progress: false });
    console.log("trained", Number.isFinite(t.final.valLoss));`);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /tfjs had not been started: started it on \w+/);
  assertMatch(r.stdout, /sweep 1 (wasm|webgpu|tensorflow|cpu)/);
  assertMatch(r.stdout, /trained true/);
});
