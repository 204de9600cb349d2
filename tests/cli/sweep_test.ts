/**
 * `deno task sweep` end to end on Tiny Shakespeare (tiny preset, a few steps): table, files,
 * resume, shards and merge. Needs the dataset: ACTLAB_DATA_DIR (CI points it at ../shared/datasets).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { DATA_DIR, haveTinyShakespeare } from "../_data.ts";

const cli = new URL("../../cli/sweep.ts", import.meta.url).pathname;
if (!haveTinyShakespeare) {
  console.warn(`skipping the sweep CLI test: no Tiny Shakespeare under ${DATA_DIR}`);
}

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    env: { ACTLAB_DATA_DIR: DATA_DIR, NO_COLOR: "1" },
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

const small = [
  "--preset",
  "tiny",
  "--iters",
  "8",
  "--eval-every",
  "4",
  "--eval-iters",
  "2",
  "--backend",
  "wasm",
];

Deno.test({
  name: "deno task sweep prints the convergence table, saves trials and resumes",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const a = await run(...small, "--activations", "relu,swiglu", "--seeds", "2", "--out", out);
      assertEquals(a.code, 0, a.stderr);
      assertMatch(a.stdout, /^relu\s+2\s+\d\.\d{4} ± \d\.\d{4}\s+\(baseline\)/m);
      assertMatch(a.stdout, /^swiglu\s+2\s+\d\.\d{4} ± \d\.\d{4}\s+[+-]\d\.\d{4} \[/m);
      assertStringIncludes(a.stdout, "p paired: paired t-test");
      assertStringIncludes(a.stdout, "Δ vs relu [95% CI]");
      assert((await Deno.readTextFile(`${out}/summary.csv`)).startsWith("activation,n,"));
      const page = await Deno.readTextFile(`${out}/report.html`);
      assertEquals((page.match(/Plotly.newPlot/g) ?? []).length, 2, "two Plotly figures");
      assertStringIncludes(page, '<script src="plotly.min.js"');
      assert(
        (await Deno.stat(`${out}/plotly.min.js`)).size > 1e6,
        "plotly.js beside the page, offline",
      );
      const b = await run(...small, "--activations", "relu,swiglu", "--seeds", "2", "--out", out);
      assertEquals((b.stderr.match(/saved earlier/g) ?? []).length, 4);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "sweep shards run separately and `sweep merge` joins them",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      for (const [i, dir] of dirs.entries()) {
        const r = await run(
          ...small,
          "--activations",
          "relu,gelu",
          "--seeds",
          "1",
          "--out",
          dir,
          "--shard",
          `${i}/2`,
        );
        assertEquals(r.code, 0, r.stderr);
      }
      const m = await run("merge", ...dirs, "--markdown");
      assertEquals(m.code, 0, m.stderr);
      assertMatch(m.stdout, /^\| relu \| 1 \| \*{0,2}\d\.\d{4} ± –/m);
      assertMatch(m.stdout, /^\| gelu \| 1 \| /m);
      const merged = (await Deno.readTextFile(`${dirs[0]}-merged/trials.jsonl`)).trim();
      assertEquals(merged.split("\n").length, 2);
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
      await Deno.remove(`${dirs[0]}-merged`, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("a bad flag value or an unknown activation exits with code 2 and the reason", async () => {
  const a = await run(...small, "--iters", "many");
  assertEquals(a.code, 2);
  assertStringIncludes(a.stderr, "sweep: --iters takes an integer ≥ 0, got 'many'");
  const b = await run(...small, "--activations", "gleu");
  assertEquals(b.code, 2);
  assertStringIncludes(b.stderr, "Did you mean 'gelu'?");
});
