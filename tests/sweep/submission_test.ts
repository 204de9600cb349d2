/**
 * A submitted study's folder without a scheduler: its shards read through the checked reader
 * (status rows), a collect that merges only when every shard is complete and replaces an earlier
 * merge whole, the status display; and what `submit` refuses or prints before any scheduler is
 * asked (a study with --k8s or sweep flags, too many tasks, the script of --dry-run — a sweep's and
 * a study's rounds' — which bash parses).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import { studyStatusView, watchStudy } from "@actlab/actlab/display";
import {
  collectStudy,
  readFolder,
  readListing,
  shardFolder,
  studyStatus,
  type SubmitRecord,
  sweep,
  type SweepOptions,
  writeSubmitRecord,
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
const ROOT = new URL("../../", import.meta.url).pathname;
const quiet = () => {};

/** `deno task sweep …` from the checkout. */
async function sweepCli(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli/sweep.ts`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** A study folder of 2 shards as a Kubernetes Indexed Job leaves it (no scheduler to ask). */
async function studyOf(shards: number[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-submission-" });
  for (const index of shards) {
    await sweep(data, {
      ...BASE,
      shard: { index, count: 2 },
      out: shardFolder(dir, index),
      onNotice: quiet,
    });
  }
  const key = (await readListing(shardFolder(dir, shards[0])))!.key;
  const record: SubmitRecord = {
    format: 1,
    scheduler: "k8s",
    tasks: 2,
    cpusPerTask: 1,
    jobsPerTask: 1,
    args: [],
    activations: ["relu", "gelu"],
    seeds: [1, 2],
    cells: [{ folder: "", key }],
    script: "k8s/job.yaml",
    scriptHash: "",
    project: ROOT,
    submissions: [],
  };
  await writeSubmitRecord(dir, record);
  return dir;
}

Deno.test({
  name:
    "collect merges a study only when every shard is complete, and a re-collect replaces it whole",
  ...options,
  fn: async () => {
    const dir = await studyOf([0]);
    const half = await studyStatus(dir);
    assertEquals(half.tasks.map((t) => [t.task, t.verdict, t.done, t.left]), [
      ["0", "done", 2, 0],
      ["1", "unknown", 0, 2],
    ]);
    const early = await collectStudy(dir, { onNotice: quiet });
    assertEquals([early.merged, early.incomplete.map((s) => s.index)], [false, [1]]);
    assert(!(await Deno.stat(`${dir}/merged`).then(() => true, () => false)), "nothing merged");

    await sweep(data, {
      ...BASE,
      shard: { index: 1, count: 2 },
      out: shardFolder(dir, 1),
      onNotice: quiet,
    });
    const first = await collectStudy(dir, { onNotice: quiet });
    assert(first.merged);
    const merged = await readFolder(`${dir}/merged`);
    assertEquals(merged.trials.map((t) => `${t.activation}${t.seed}`), [
      "relu1",
      "relu2",
      "gelu1",
      "gelu2",
    ]);
    const before = await Deno.readTextFile(`${dir}/merged/trials.jsonl`);
    await Deno.writeTextFile(`${dir}/merged/stale-file`, "from an earlier merge");
    assert((await collectStudy(dir, { onNotice: quiet })).merged);
    assertEquals(await Deno.readTextFile(`${dir}/merged/trials.jsonl`), before);
    assert(
      !(await Deno.stat(`${dir}/merged/stale-file`).then(() => true, () => false)),
      "replaced whole",
    );
    const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(leftovers, ["k8s", "merged", "shards"], "no temporary folder left behind");

    const status = await watchStudy(() => studyStatus(dir), { intervalS: 1 });
    assertEquals([status.complete, status.merged, status.done, status.total], [true, true, 4, 4]);
    const text = String(studyStatusView(status));
    assertStringIncludes(text, "4/4 trials, 0 running, 0 left · merged");
    assertMatch(text, /^1\s+complete\s+2\/2/m);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "status reads a folder run locally as one row, its lock as running",
  ...options,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "actlab-status-local-" });
    await sweep(data, { ...BASE, seeds: 1, out: dir, onNotice: quiet });
    await Deno.writeTextFile(
      `${dir}/.lock`,
      JSON.stringify({ pid: 1, host: "node7", what: "sweep" }),
    );
    const listing = JSON.parse(await Deno.readTextFile(`${dir}/sweep.json`));
    listing.seeds = [1, 2]; // one more seed asked for: unfinished, and someone is writing it
    const { settingsKey } = await import("@actlab/actlab/sweep");
    listing.key = await settingsKey(listing);
    await Deno.writeTextFile(`${dir}/sweep.json`, JSON.stringify(listing));
    const s = await studyStatus(dir);
    assertEquals(s.kind, "local");
    assertEquals(s.tasks.map((t) => [t.task, t.verdict, t.state, t.done, t.running, t.left]), [
      ["local", "running", "writing (pid 1 on node7)", 2, 1, 1],
    ]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "submit --study: --k8s and sweep flags refused, --dry-run prints the rounds' script and " +
    "the first round's sbatch line, writing nothing",
  ...options,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "actlab-submit-study-" });
    const file = `${tmp}/tiny.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "tiny",
        base: { preset: "tiny", iters: 4, engine: "ort", engineOptions: { threads: 2 } },
        activations: ["relu", "gelu"],
        tune: { values: [1e-3, 1.5e-3, 2.2e-3], seeds: [11, 12] },
        confirm: { seeds: [1, 2] },
      }),
    );
    const out = `${tmp}/study`;
    const study = ["submit", "--study", file, "--out", out];
    const k8s = await sweepCli([...study, "--k8s", "--volume-claim", "c"]);
    assertEquals(k8s.code, 2, k8s.out);
    assertStringIncludes(k8s.out, "submit --k8s --study: a study runs round after round");
    const flags = await sweepCli([...study, "--slurm", "--iters", "8"]);
    assertEquals(flags.code, 2, flags.out);
    assertStringIncludes(
      flags.out,
      "takes its settings from the file and runs every stage; --iters",
    );
    const dry = await sweepCli([
      ...study,
      "--slurm",
      "--dry-run",
      "--tasks",
      "5",
      "--cpus-per-task",
      "4",
    ]);
    assertEquals(dry.code, 0, dry.out);
    for (
      const line of [
        "#SBATCH --array=0-4",
        "#SBATCH --cpus-per-task=4",
        "THREADS=2",
        "ROUND=${1:?$usage}",
        '"$DENO" run -A cli/sweep.ts study-shard "$STUDY" --round "$ROUND" --shard "$task/$SHARDS"',
        'collect "$STUDY" --if-complete',
        `# round 1 (selection, round 1): 12 trial(s) on 5 task(s): sbatch --array=0-4 ` +
        `${out}/slurm/job.sh 1 5`,
      ]
    ) assertStringIncludes(dry.out, line);
    const script = `${tmp}/job.sh`;
    await Deno.writeTextFile(script, dry.out.split("\n# round 1")[0]);
    const bash = await new Deno.Command("bash", { args: ["-n", script] }).output();
    assertEquals(bash.code, 0, new TextDecoder().decode(bash.stderr));
    assert(!(await Deno.stat(out).then(() => true, () => false)), "--dry-run wrote nothing");
    await Deno.remove(tmp, { recursive: true });
  },
});

Deno.test({
  name: "submit refuses more tasks than trials, and --dry-run prints a script bash parses, " +
    "writing nothing",
  ...options,
  fn: async () => {
    const out = `${await Deno.makeTempDir()}/study`;
    const tiny = ["--preset", "tiny", "--iters", "4", "--activations", "relu,gelu", "--seeds", "2"];
    const many = await sweepCli(["submit", "--slurm", ...tiny, "--tasks", "5", "--out", out]);
    assertEquals(many.code, 2, many.out);
    assertStringIncludes(many.out, "at most 4 tasks have work");
    const dry = await sweepCli([
      "submit",
      "--slurm",
      "--dry-run",
      ...tiny,
      "--axis",
      "n_layer=1,2",
      "--tasks",
      "2",
      "--max-running",
      "1",
      "--cpus-per-task",
      "4",
      "--threads",
      "2",
      "--partition",
      "gpu",
      "--time",
      "1:00:00",
      "--sbatch-arg=--account=ml",
      "--out",
      out,
    ]);
    assertEquals(dry.code, 0, dry.out);
    for (
      const line of [
        "#SBATCH --array=0-1%1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1:00:00",
        "#SBATCH --account=ml",
        `#SBATCH --output=${out}/slurm/logs/task-%a.%A.out`,
        "THREADS=2",
        "SHARDS=2",
        '--shard "$task/$SHARDS"',
        "--axis n_layer=1,2",
        'collect "$STUDY" --if-complete',
      ]
    ) assertStringIncludes(dry.out, line);
    const script = `${out}.sh`;
    await Deno.writeTextFile(script, dry.out);
    const bash = await new Deno.Command("bash", { args: ["-n", script] }).output();
    assertEquals(bash.code, 0, new TextDecoder().decode(bash.stderr));
    assert(!(await Deno.stat(out).then(() => true, () => false)), "--dry-run wrote nothing");
  },
});
