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
      // val loss [CI], then the same loss in bits per byte [CI], then the difference.
      const ci = String.raw`\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]`;
      assertMatch(
        a.stdout,
        new RegExp(String.raw`^relu\s+2/2\s+${ci}\s+${ci}\s+\(baseline\)`, "m"),
      );
      assertMatch(
        a.stdout,
        new RegExp(String.raw`^swiglu\s+2/2\s+${ci}\s+${ci}\s+[+−]\d\.\d{3} \[`, "m"),
      );
      assertStringIncludes(a.stdout, "val bits/byte [95% CI]");
      assertStringIncludes(a.stdout, "p paired: paired t-test");
      assertStringIncludes(a.stdout, "Δ vs relu, nats/char [95% CI]");
      assert((await Deno.readTextFile(`${out}/summary.csv`)).startsWith("activation,n,"));
      const page = await Deno.readTextFile(`${out}/report.html`);
      assertEquals(
        (page.match(/Plotly.newPlot/g) ?? []).length,
        4,
        "four Plotly figures: final losses, and the curves against steps, FLOPs and seconds",
      );
      assertStringIncludes(page, "Equal compute: validation loss of each activation at");
      assertStringIncludes(page, "training FLOPs (forward + backward matrix products)");
      assertStringIncludes(page, '<script src="plotly.min.js"');
      assert(
        (await Deno.stat(`${out}/plotly.min.js`)).size > 1e6,
        "plotly.js beside the page, offline",
      );
      // Another baseline reads the same trials (the baseline is not a setting of the trials).
      const b = await run(
        ...small,
        ...["--activations", "relu,swiglu", "--seeds", "2", "--out", out, "--baseline", "swiglu"],
      );
      assertEquals((b.stderr.match(/saved earlier/g) ?? []).length, 4);
      assertStringIncludes(b.stdout, "Δ vs swiglu, nats/char [95% CI]");
      assertMatch(
        b.stdout,
        new RegExp(String.raw`^swiglu\s+2/2\s+${ci}\s+${ci}\s+\(baseline\)`, "m"),
      );
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
      assertMatch(
        m.stdout,
        /^\| (\*\*)?relu(\*\*)? \| (\*\*)?1\/1(\*\*)? \| (\*\*)?\d\.\d{3}(\*\*)? \|/m,
      );
      assertMatch(m.stdout, /^\| (\*\*)?gelu(\*\*)? \| (\*\*)?1\/1/m);
      const merged = (await Deno.readTextFile(`${dirs[0]}-merged/trials.jsonl`)).trim();
      assertEquals(merged.split("\n").length, 2);
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
      await Deno.remove(`${dirs[0]}-merged`, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "sweep --optimizer muon trains every trial with Muon and keys the folder by it",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const args = [...small, "--activations", "gelu", "--seeds", "1", "--jobs", "1"];
      const muon = await run(...args, "--optimizer", "muon", "--out", `${out}/muon`);
      assertEquals(muon.code, 0, muon.stderr);
      const settings = JSON.parse(await Deno.readTextFile(`${out}/muon/sweep.json`));
      assertEquals(settings.train, { optimizer: "muon" });
      const plain = await run(...args, "--out", `${out}/adamw`);
      assertEquals(plain.code, 0, plain.stderr);
      const other = JSON.parse(await Deno.readTextFile(`${out}/adamw/sweep.json`));
      assert(other.key !== settings.key, "Muon's trials are not AdamW's");
      const bad = await run(...args, "--optimizer", "sgd", "--out", `${out}/bad`);
      assertEquals(bad.code, 2);
      assertStringIncludes(bad.stderr, "muon");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a grid over tokenizers summarises each tokenizer's trials at their best rate on their own",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const g = await run(
        ...small,
        ...["--activations", "gelu,relu", "--seeds", "1", "--jobs", "1", "--out", out],
        ...["--axis", "tokenizer=char,bpe:300"],
      );
      assertEquals(g.code, 0, g.stderr);
      const heads = g.stdout.match(/^At each activation's best learning rate.*$/gm) ?? [];
      assertEquals(heads, [
        "At each activation's best learning rate, tokenizer=char, 8 steps:",
        "At each activation's best learning rate, tokenizer=bpe:300, 8 steps:",
      ]);
      // One seed per activation and tokenizer: each table counts 1 run, never the two pooled.
      const [, char, bpe] = g.stdout.split(/^At each activation's best learning rate.*$/m);
      assertMatch(char, /^gelu\s+1\/1\s+\d\.\d{3}\s/m);
      assertStringIncludes(char, "nats/char");
      assertMatch(bpe, /^relu\s+1\/1\s+\d\.\d{3}\s/m);
      assertStringIncludes(bpe, "nats/token");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "sweep --lrs --budgets runs a grid whose base cell is the sweep already in --out",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const args = [...small, "--activations", "relu,swiglu", "--seeds", "1", "--out", out];
      const plain = await run(...args, "--jobs", "1");
      assertEquals(plain.code, 0, plain.stderr);
      const g = await run(...args, "--lrs", "1e-2", "--budgets", "12", "--jobs", "1");
      assertEquals(g.code, 0, g.stderr);
      // The base cell (tiny's lr 0.003, --iters 8) is the folder the plain sweep wrote.
      assertMatch(g.stderr, /cell 1\/4: lr 0\.003, 8 steps → \S+\n/);
      assertEquals((g.stderr.match(/^\[base\] .* \(saved earlier\)$/gm) ?? []).length, 2);
      assertEquals((g.stderr.match(/saved earlier/g) ?? []).length, 2, "only the base cell");
      const folders = [...Deno.readDirSync(out)].filter((e) => e.isDirectory).map((e) => e.name);
      assertEquals(folders.sort(), ["iters=12", "lr=0.01", "lr=0.01,iters=12", "trials"]);
      assert(!g.stderr.includes("partial"), "a finished grid writes final tables");
      assertMatch(g.stdout, /^relu\s+0\.003\s+8\s+1\/1\s+\d\.\d{3}/m);
      assertMatch(g.stdout, /^swiglu\s+0\.01\s+12\s+1\/1\s+\d\.\d{3}/m);
      assertMatch(g.stdout, /^relu\s+8\s+0\.0(03|1) \(edge\)\s+0\.003, 0\.01\s+1\s+/m);
      assertStringIncludes(g.stdout, "At each activation's best learning rate, 8 steps:");
      assertStringIncludes(g.stdout, "chosen on these same trials");
      const best = (await Deno.readTextFile(`${out}/grid_best.csv`)).trim().split("\n");
      assertEquals(best.length, 1 + 2 * 2, "header, 2 activations × 2 budgets");
      const page = await Deno.readTextFile(`${out}/grid.html`);
      assertEquals((page.match(/Plotly.newPlot/g) ?? []).length, 4, "lr, steps, FLOPs, seconds");
      const bad = await run(...args, "--budgets", "5");
      assertEquals(bad.code, 2);
      assertStringIncludes(bad.stderr, "step budget 5 must be a whole number above the 10 warmup");
      const badLr = await run(...args, "--lrs", "fast");
      assertEquals(badLr.code, 2);
      assertStringIncludes(badLr.stderr, "--lrs takes learning rates in (0, 10]");
    } finally {
      await Deno.remove(out, { recursive: true });
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
  const c = await run(...small, "--activations", "relu,swiglu", "--baseline", "gelu");
  assertEquals(c.code, 2);
  assertStringIncludes(c.stderr, "--baseline gelu is not among --activations (relu, swiglu)");
});
