/**
 * Faults injected into results folders, each read through every path that reads one — `sweep()`,
 * `readSweep()`, `mergeSweeps()`, `readGrid()`/`sweepGrid()` and `deno task sweep report` — which
 * must agree: the same trials counted, or the same file named in the same error. Kinds: a record
 * whose content contradicts its name; a stray copy; trials the listing no longer names; a trial of
 * other settings; physically impossible values; an edited listing; a stale derived file; a grid's
 * shards merged; an interrupted grid; bad output paths.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import {
  FolderError,
  mergeSweeps,
  readGrid,
  readSweep,
  sweep,
  sweepGrid,
  type SweepOptions,
} from "@actlab/actlab/sweep";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const BASE: SweepOptions = {
  preset: "tiny",
  iters: 8,
  evalEvery: 4,
  evalIters: 2,
  jobs: 1,
  engine: "tfjs",
  activations: ["relu", "gelu"],
  seeds: 2,
};
const options = { sanitizeOps: false, sanitizeResources: false };
const CLI = new URL("../../cli/sweep.ts", import.meta.url).pathname;
const quiet = () => {};

/** One finished sweep, made once and copied for each test. */
let template: string | undefined;
async function freshSweep(): Promise<string> {
  if (!template) {
    template = await Deno.makeTempDir({ prefix: "actlab-faults-template-" });
    await sweep(data, { ...BASE, out: template, onNotice: quiet });
    const dir = template;
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  const dir = await Deno.makeTempDir({ prefix: "actlab-faults-" });
  await new Deno.Command("cp", { args: ["-r", `${template}/.`, dir] }).output();
  return dir;
}

const trialFile = (dir: string, name: string) => `${dir}/trials/${name}.json`;
async function edit(path: string, change: (t: Record<string, unknown>) => void): Promise<void> {
  const t = JSON.parse(await Deno.readTextFile(path));
  change(t);
  await Deno.writeTextFile(path, JSON.stringify(t));
}

/** What one read path made of the folder: the trials it counted, or its error. */
type Outcome = { count: number; notices: string[] } | { error: string };

/** Every read path on `dir`: the library's readers, a re-run of the sweep, and the CLI's report. */
async function readPaths(dir: string): Promise<Record<string, Outcome>> {
  const run = async (fn: (notice: (m: string) => void) => Promise<number>): Promise<Outcome> => {
    const notices: string[] = [];
    try {
      return { count: await fn((m) => notices.push(m)), notices };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const cli = async (): Promise<Outcome> => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "report", dir],
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.code !== 0) return { error: stderr };
    // The summary's runs column: "n/all" for each activation.
    const count = [...stdout.matchAll(/^\S+\s+(\d+)\/\d+/gm)].reduce((a, m) => a + Number(m[1]), 0);
    return { count, notices: stderr.split("\n").filter((l) => l.startsWith("warning")) };
  };
  // The readers first: a re-run of the sweep may write (it lists what it asks for).
  const readSweepPath = await run(async (onNotice) =>
    (await readSweep(dir, { onNotice })).trials.length
  );
  const merge = await run(async (onNotice) =>
    (await mergeSweeps([dir], { onNotice })).trials.length
  );
  const report = await cli();
  const sweepPath = await run(async (onNotice) =>
    (await sweep(data, { ...BASE, out: dir, onNotice })).trials.length
  );
  return { readSweep: readSweepPath, merge, report, sweep: sweepPath };
}

/** Every path counted `count` trials and said something matching `notice`. */
function allCount(outcomes: Record<string, Outcome>, count: number, notice: RegExp): void {
  for (const [path, o] of Object.entries(outcomes)) {
    if ("error" in o) throw new Error(`${path} failed: ${o.error}`);
    assertEquals(o.count, count, `${path} counted ${o.count} trials`);
    assert(o.notices.some((n) => notice.test(n)), `${path} said: ${o.notices.join(" | ")}`);
  }
}

/** Every path failed, naming `file` and saying `what`. */
function allFail(outcomes: Record<string, Outcome>, file: string, what: RegExp): void {
  for (const [path, o] of Object.entries(outcomes)) {
    if (!("error" in o)) throw new Error(`${path} read the folder (${JSON.stringify(o)})`);
    assertStringIncludes(o.error, file, `${path}'s error names the file`);
    assertMatch(o.error, what, `${path}'s error: ${o.error}`);
  }
}

Deno.test({
  name: "a record whose content contradicts its name fails every read path, naming the file",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    // relu seed 1's record copied over relu seed 2's: the folder would count seed 1 twice.
    await Deno.copyFile(trialFile(dir, "relu__seed1"), trialFile(dir, "relu__seed2"));
    allFail(await readPaths(dir), "relu__seed2.json", /holds relu seed 1, but its name says/);
  },
});

Deno.test({
  name: "a stray copy of a record is reported by every path and never counted",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    await Deno.copyFile(trialFile(dir, "gelu__seed1"), `${dir}/trials/gelu__seed1 (copy).json`);
    await Deno.copyFile(trialFile(dir, "gelu__seed2"), `${dir}/trials/gelu__seed2.json.bak`);
    allCount(await readPaths(dir), 4, /not a trial record/);
  },
});

Deno.test({
  name: "trials the listing no longer names are reported by every path and left out of the tables",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    // sweep.json edited to list gelu only: its key no longer matches, which is an error...
    const listing = JSON.parse(await Deno.readTextFile(`${dir}/sweep.json`));
    await Deno.writeTextFile(
      `${dir}/sweep.json`,
      JSON.stringify({ ...listing, activations: ["gelu"] }),
    );
    const outcomes = await readPaths(dir);
    // ...not the key: the listing is not hashed. So relu's records are unlisted, and left out.
    for (const [path, o] of Object.entries(outcomes)) {
      if (path === "sweep") continue; // the sweep asks for relu again, so it lists it again
      if ("error" in o) throw new Error(`${path}: ${o.error}`);
      assertEquals(o.count, 2, path);
      assert(
        o.notices.some((n) => /relu seed \d is not among the trials sweep\.json lists/.test(n)),
      );
    }
    const rerun = outcomes.sweep;
    assert(
      !("error" in rerun) && rerun.count === 4,
      "the sweep lists relu again and reads its records",
    );
  },
});

Deno.test({
  name: "an edited listing (its key no longer matches its settings) fails every read path",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    const listing = JSON.parse(await Deno.readTextFile(`${dir}/sweep.json`));
    await Deno.writeTextFile(`${dir}/sweep.json`, JSON.stringify({ ...listing, iters: 6 }));
    allFail(await readPaths(dir), "sweep.json", /does not match its settings/);
  },
});

Deno.test({
  name: "a trial of other settings copied into a folder is reported and never averaged in",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    const other = await Deno.makeTempDir({ prefix: "actlab-faults-other-" });
    await sweep(data, {
      ...BASE,
      activations: ["relu"],
      seeds: [3],
      iters: 6,
      out: other,
      onNotice: quiet,
    });
    // seed 3 is not listed here either, but the settings key is what is checked first.
    await Deno.copyFile(trialFile(other, "relu__seed3"), trialFile(dir, "relu__seed3"));
    allCount(await readPaths(dir), 4, /trained under other settings/);
  },
});

Deno.test({
  name: "physically impossible values fail every read path with the field and the file",
  ...options,
  fn: async () => {
    const cases: [string, (t: Record<string, unknown>) => void, RegExp][] = [
      ["a negative loss", (t) => {
        t.finalValLoss = -0.5;
        (t.evals as Record<string, number>[]).at(-1)!.valLoss = -0.5;
      }, /never negative/],
      ["a completed trial without a loss", (t) => (t.finalValLoss = null), /finalValLoss/],
      ["a final loss that is not the last evaluation's", (t) => {
        t.finalValLoss = (t.finalValLoss as number) - 0.1;
      }, /contradicts itself/],
      ["a trial that stopped at another step", (t) => {
        (t.evals as Record<string, number>[]).pop();
        const last = (t.evals as Record<string, number>[]).at(-1)!;
        t.finalValLoss = last.valLoss;
        t.finalTrainLoss = last.trainLoss;
      }, /these settings train 8 steps/],
      ["a parameter count no vocabulary explains", (t) => {
        t.params = (t.params as number) + 7;
      }, /parameters do not fit the model/],
      ["evaluations out of order", (t) => {
        (t.evals as Record<string, number>[]).reverse();
      }, /increasing whole steps/],
    ];
    for (const [what, change, message] of cases) {
      const dir = await freshSweep();
      await edit(trialFile(dir, "gelu__seed2"), change);
      const outcomes = await readPaths(dir);
      try {
        allFail(outcomes, "gelu__seed2.json", message);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    }
  },
});

Deno.test({
  name: "a damaged trials.jsonl is reported (derived; records are read) and rebuilt by the sweep",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    const good = await Deno.readTextFile(`${dir}/trials.jsonl`);
    await Deno.writeTextFile(`${dir}/trials.jsonl`, good.slice(0, good.length - 40));
    const notices: string[] = [];
    const read = await readSweep(dir, { onNotice: (m) => notices.push(m) });
    assertEquals(read.trials.length, 4);
    assertMatch(notices.join("\n"), /trials\.jsonl disagrees with trials\/: line 4 is damaged/);
    await sweep(data, { ...BASE, out: dir, onNotice: quiet });
    assertEquals(await Deno.readTextFile(`${dir}/trials.jsonl`), good);
  },
});

Deno.test({
  name: "the shards of a grid merge to the whole grid, every cell, equal to the grid run whole",
  ...options,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "actlab-faults-grid-" });
    const grid = { ...BASE, axes: [{ name: "lr", values: [1e-3, 3e-3] }] };
    const whole = await sweepGrid(data, { ...grid, out: `${root}/whole`, onNotice: quiet });
    for (const index of [0, 1]) {
      await sweepGrid(data, {
        ...grid,
        out: `${root}/s${index}`,
        shard: { index, count: 2 },
        onNotice: quiet,
      });
    }
    const notices: string[] = [];
    const merged = await mergeSweeps([`${root}/s0`, `${root}/s1`], {
      out: `${root}/merged`,
      onNotice: (m) => notices.push(m),
    });
    assertEquals(merged.cells.map((c) => c.folder), ["", "lr=0.001"]);
    assertEquals(notices, []);
    const read = await readGrid(`${root}/merged`, { onNotice: quiet });
    const finals = (cells: typeof read.cells) =>
      cells.flatMap((c) =>
        c.result.trials.map((t) => `${c.folder}:${t.activation}${t.seed}=${t.finalValLoss}`)
      ).sort();
    assertEquals(finals(read.cells), finals(whole.cells), "every cell, the same numbers");
    assert(await Deno.stat(`${root}/merged/grid.csv`).then(() => true, () => false));
    // One shard only: the missing half is said for every cell, and the tables are partial.
    const half: string[] = [];
    await mergeSweeps([`${root}/s0`], { out: `${root}/half`, onNotice: (m) => half.push(m) });
    assertMatch(half.join("\n"), /cell lr=0\.001\): shard 1\/2 of 2 is not among the folders/);
    assert(await Deno.stat(`${root}/half/grid.partial.csv`).then(() => true, () => false));
    assert(!(await Deno.stat(`${root}/half/grid.csv`).then(() => true, () => false)));
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name: "shards that trained one trial to different numbers refuse to merge, naming both",
  ...options,
  fn: async () => {
    const a = await freshSweep(), b = await freshSweep();
    await edit(trialFile(b, "relu__seed1"), (t) => {
      (t.evals as Record<string, number>[]).at(-1)!.valLoss += 0.01;
      t.finalValLoss = (t.finalValLoss as number) + 0.01;
    });
    const err = await assertRejects(() => mergeSweeps([a, b]), Error, "did not reproduce");
    assertStringIncludes(err.message, a);
    assertStringIncludes(err.message, b);
  },
});

Deno.test({
  name: "an interrupted grid writes partial tables and removes a complete-looking one",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "actlab-faults-stop-" });
    const grid = {
      ...BASE,
      activations: ["relu"],
      seeds: 1,
      axes: [{ name: "lr", values: [1e-3, 3e-3] }],
    };
    await sweepGrid(data, { ...grid, out, onNotice: quiet });
    assert(await Deno.stat(`${out}/grid.csv`).then(() => true, () => false));
    // The grid grows by a cell and is stopped in it: grid.csv would describe the smaller grid.
    const stop = new AbortController();
    const r = await sweepGrid(data, {
      ...grid,
      axes: [{ name: "lr", values: [1e-3, 3e-3, 1e-2] }],
      out,
      signal: stop.signal,
      onStep: () => stop.abort(),
      onNotice: quiet,
    });
    assert(r.interrupted);
    const files = [...Deno.readDirSync(out)].map((e) => e.name);
    assert(
      files.includes("grid.partial.csv") && files.includes("grid_best.partial.csv"),
      files.join(),
    );
    assert(!files.includes("grid.csv") && !files.includes("grid_best.csv"), files.join());
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "a sweep with listed trials missing writes summary.partial.csv, never summary.csv",
  ...options,
  fn: async () => {
    const dir = await freshSweep();
    await Deno.remove(trialFile(dir, "gelu__seed2"));
    await Deno.remove(`${dir}/summary.csv`);
    const stop = new AbortController();
    stop.abort();
    await sweep(data, { ...BASE, out: dir, signal: stop.signal, onNotice: quiet });
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(files.includes("summary.partial.csv") && !files.includes("summary.csv"), files.join());
    const read = await readSweep(dir, { onNotice: quiet });
    assertEquals(read.missing, [{ activation: "gelu", seed: 2 }]);
  },
});

Deno.test({
  name: "bad output paths are refused before anything is written, by the library and the CLI",
  ...options,
  fn: async () => {
    const file = await Deno.makeTempFile();
    for (const out of ["", "   ", "/", file, `${file}/below`]) {
      await assertRejects(() => sweep(data, { ...BASE, out }), Error);
      await assertRejects(() => sweepGrid(data, { ...BASE, out, lrs: [3e-3] }), Error);
    }
    const dir = await freshSweep();
    await assertRejects(() => mergeSweeps([dir], { out: file }), Error, "is a file");
    for (const out of ["", "/"]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "--preset", "tiny", "--iters", "4", "--out", out],
        env: { NO_COLOR: "1" },
        stdout: "null",
      }).output();
      assertEquals(r.code, 2, `--out '${out}'`);
      assertMatch(new TextDecoder().decode(r.stderr), /empty|filesystem root/);
    }
    assert(!(await Deno.stat("/report.html").then(() => true, () => false)));
  },
});

Deno.test("FolderError lists every problem of a folder at once", () => {
  const e = new FolderError("runs/a", ["a.json: bad", "b.json: worse"]);
  assertStringIncludes(e.message, "2 problems");
  assertEquals(e.problems.length, 2);
});
