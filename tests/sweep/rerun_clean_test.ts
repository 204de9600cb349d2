/**
 * Reading results never writes them, and re-running a finished sweep, grid or study rewrites no
 * file: a published notebook re-run over its committed results leaves the clone clean.
 */
import { assertEquals } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import {
  parseStudy,
  readGrid,
  readStudy,
  readSweep,
  runStudy,
  sweep,
  sweepGrid,
} from "@actlab/actlab/sweep";

const options = { sanitizeOps: false, sanitizeResources: false };
const quiet = () => {};
const ROOT = new URL("../..", import.meta.url).pathname;

/** Every file under `dir` with its bytes and modification time. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const [text, info] = await Promise.all([Deno.readTextFile(p), Deno.stat(p)]);
        out.set(p.slice(dir.length), `${info.mtime?.getTime()}:${text.length}:${text}`);
      }
    }
  };
  await walk(dir);
  return out;
}

Deno.test({
  name: "reading the committed results writes nothing",
  ...options,
  fn: async () => {
    const results = `${ROOT}/notebooks/results`;
    const before = await snapshot(results);
    for (
      const dir of [
        "03_activation_sweep",
        "03_activation_sweep/lr=0.003",
        "10_trainable_activations",
      ]
    ) {
      await readSweep(`${results}/${dir}`, { onNotice: quiet, checkNumerics: false });
    }
    assertEquals(await snapshot(results), before);
  },
});

Deno.test({
  name: "re-running a finished sweep, grid and study changes no file",
  ...options,
  fn: async () => {
    await initEngine({ backend: "wasm" });
    const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
    const base = { preset: "tiny" as const, iters: 8, evalEvery: 4, evalIters: 2, engine: "tfjs" };
    const root = await Deno.makeTempDir({ prefix: "actlab-rerun-" });
    try {
      const grid = {
        ...base,
        jobs: 1,
        activations: ["relu", "gelu"],
        seeds: 2,
        out: `${root}/grid`,
        lrs: [1e-3],
        onNotice: quiet,
      };
      await sweepGrid(data, grid);
      const study = parseStudy({
        name: "rerun",
        base,
        activations: ["relu", "gelu"],
        tune: { values: [2e-3, 3e-3, 4.5e-3], seeds: [11], widen: 0 },
        confirm: { seeds: [1, 2] },
        comparisons: [{ baseline: "gelu" }],
      }, "rerun.json");
      await runStudy(data, study, { out: `${root}/study`, jobs: 1, onNotice: quiet });
      const before = await snapshot(root);
      await new Promise((r) => setTimeout(r, 20)); // a rewrite would change the mtime
      const { lrs: _lrs, ...plain } = grid;
      await sweep(data, plain);
      await sweepGrid(data, grid);
      await runStudy(data, study, { out: `${root}/study`, jobs: 1, onNotice: quiet });
      await readGrid(`${root}/grid`, { onNotice: quiet });
      await readStudy(`${root}/study`);
      assertEquals(await snapshot(root), before);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
