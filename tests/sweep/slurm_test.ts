/**
 * A real Slurm (tools/slurm_local.sh starts munged, slurmctld and slurmd; .ci/run does so): a
 * small grid submitted as an array of 3 tasks with at most 2 running; one task killed mid-run with
 * scancel; `status` names it with its log; `submit --retry` reruns only it; the last task merges,
 * and the merged study equals the same grid run locally, trial for trial; a finished study
 * submitted again does nothing. And a partial or inconsistent array environment refused under
 * sbatch. Skipped, with a message, where no Slurm controller answers.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import {
  readFolder,
  readSubmitRecord,
  slurmAnswers,
  slurmTasks,
  studyStatus,
} from "@actlab/actlab/sweep";

const slurm = await slurmAnswers();
if (!slurm.up) {
  console.warn(
    `slurm_test.ts: skipped: no Slurm controller answers (${slurm.problem}). Start a one-node ` +
      "Slurm with tools/slurm_local.sh start and export the SLURM_CONF it prints (CI does).",
  );
}

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = `${ROOT}cli/sweep.ts`;
const GRID = [
  "--preset",
  "tiny",
  "--iters",
  "20",
  "--eval-every",
  "5",
  "--eval-iters",
  "4",
  "--activations",
  "relu,gelu",
  "--seeds",
  "4",
  "--lrs",
  "1e-2",
];
const options = { sanitizeOps: false, sanitizeResources: false, ignore: !slurm.up };

/** Runs a command; its exit code and output. */
async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** `deno task sweep …`. */
const sweepCli = (args: string[]) => run(Deno.execPath(), ["run", "-A", CLI, ...args]);

/**
 * Waits until `check` returns a value, polling every `everyMs`; fails naming `what` after
 * `seconds`. `check` gets the poll's number (to ask the scheduler only now and then).
 */
async function waitFor<T>(
  what: string,
  seconds: number,
  check: (poll: number) => Promise<T | undefined>,
  everyMs = 500,
) {
  const end = Date.now() + seconds * 1000;
  for (let poll = 0; Date.now() < end; poll++) {
    const v = await check(poll);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

/** The trials of every cell of a grid folder, without the timings (which differ run to run). */
async function gridTrials(dir: string): Promise<Record<string, unknown[]>> {
  const grid = JSON.parse(await Deno.readTextFile(`${dir}/grid.json`));
  const out: Record<string, unknown[]> = {};
  for (const c of grid.cells as { folder: string }[]) {
    const view = await readFolder(c.folder ? `${dir}/${c.folder}` : dir);
    out[c.folder] = view.trials.map(({ wallS: _w, msPerStep: _m, evals, ...t }) => ({
      ...t,
      evals: evals.map(({ elapsedS: _e, ...e }) => e),
    }));
  }
  return out;
}

Deno.test({
  name: "a grid submitted to Slurm survives a task killed mid-run, retried, and merges to the " +
    "local run trial for trial",
  ...options,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "actlab-slurm-" });
    const study = `${tmp}/study`;
    const t0 = performance.now();
    const sub = await sweepCli([
      "submit",
      "--slurm",
      ...GRID,
      "--tasks",
      "3",
      "--max-running",
      "2",
      "--out",
      study,
    ]);
    assertEquals(sub.code, 0, sub.out);
    const job = /submitted job (\d+)/.exec(sub.out)?.[1] ?? "";
    assert(job, sub.out);
    assertStringIncludes(await Deno.readTextFile(`${study}/slurm/job.sh`), "#SBATCH --array=0-2%2");

    // Kill task 1 once its first trial is written; never more than 2 tasks run at once.
    let most = 0;
    await waitFor("task 1's first trial", 240, async (poll) => {
      if (poll % 10 === 0) {
        const { tasks } = await slurmTasks([job]);
        most = Math.max(most, tasks.filter((t) => t.state === "RUNNING").length);
      }
      const files = await Array.fromAsync(Deno.readDir(`${study}/shards/1/trials`)).catch(() => []);
      return files.some((f) => f.name.endsWith(".json")) ? true : undefined;
    }, 50);
    assertEquals((await run("scancel", [`${job}_1`])).code, 0);
    const first = await waitFor("the array to end", 240, async () => {
      const { tasks } = await slurmTasks([job]);
      most = Math.max(most, tasks.filter((t) => t.state === "RUNNING").length);
      const s = await studyStatus(study);
      return s.ended ? s : undefined;
    });
    assert(most <= 2, `${most} tasks ran at once`);
    assertEquals(first.tasks.map((t) => t.verdict), ["done", "failed", "done"]);
    assert(first.tasks[1].done < first.tasks[1].total, "task 1 was killed before it finished");
    assertEquals(first.merged, false, "no merge while a shard is unfinished");

    const status = await sweepCli(["status", study]);
    assertMatch(status.out, /^1\s+CANCELLED/m);
    assertStringIncludes(status.out, `log: ${study}/slurm/logs/task-1.${job}.out`);
    assertStringIncludes(status.out, `deno task sweep submit --retry ${study}`);
    const early = await sweepCli(["collect", study]);
    assertEquals(early.code, 1, early.out);
    assertStringIncludes(early.out, "shard(s) 1 unfinished: nothing merged");

    const again = await sweepCli(["submit", "--retry", study]);
    assertEquals(again.code, 0, again.out);
    assertMatch(again.out, /resubmitted task\(s\) 1 as job \d+/);
    const done = await waitFor("the retried task and the merge", 240, async () => {
      const s = await studyStatus(study);
      return s.ended && s.merged ? s : undefined;
    });
    assertEquals(done.tasks.map((t) => t.verdict), ["done", "done", "done"]);
    const record = (await readSubmitRecord(study))!;
    assertEquals(record.submissions.map((s) => s.indexes), [[0, 1, 2], [1]]);
    console.log(
      `slurm_test: submit → kill → retry → merged in ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s`,
    );

    const resubmit = await sweepCli([
      "submit",
      "--slurm",
      ...GRID,
      "--tasks",
      "3",
      "--max-running",
      "2",
      "--out",
      study,
    ]);
    assertEquals(resubmit.code, 0, resubmit.out);
    assertStringIncludes(resubmit.out, "nothing submitted");
    assertEquals((await readSubmitRecord(study))!.submissions.length, 2, "nothing resubmitted");

    const local = `${tmp}/local`;
    const ran = await sweepCli([...GRID, "--jobs", "1", "--out", local]);
    assertEquals(ran.code, 0, ran.out);
    const merged = await gridTrials(`${study}/merged`);
    assertEquals(Object.keys(merged), ["", "lr=0.01"]);
    assertEquals(Object.values(merged).map((t) => t.length), [8, 8]);
    assertEquals(merged, await gridTrials(local));
    await Deno.remove(tmp, { recursive: true });
  },
});

Deno.test({
  name: "under sbatch, a partial array environment and an index outside the array are refused",
  ...options,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "actlab-slurm-env-" });
    const sweep = `"${Deno.execPath()}" run -A ${CLI} --preset tiny --iters 0 --eval-iters 1 ` +
      `--activations relu --seeds 1 --out ${tmp}/out-$SLURM_ARRAY_TASK_ID`;
    const submit = async (array: string, prefix: string) => {
      const r = await run("sbatch", [
        "--parsable",
        `--array=${array}`,
        `--output=${tmp}/log-${array.replace(/\W/g, "")}-%a.out`,
        `--wrap=${prefix}${sweep}`,
      ]);
      assertEquals(r.code, 0, r.out);
      return r.out.trim().split(";")[0];
    };
    const partial = await submit("0", "env -u SLURM_ARRAY_TASK_COUNT ");
    const outside = await submit("0,4", "");
    const ended = await waitFor("both arrays to end", 240, async () => {
      const { tasks } = await slurmTasks([partial, outside]);
      return tasks.length === 3 &&
          tasks.every((t) => t.state !== "PENDING" && t.state !== "RUNNING")
        ? tasks
        : undefined;
    });
    const log = (name: string) => Deno.readTextFile(`${tmp}/${name}`);
    assertStringIncludes(await log("log-0-0.out"), "but SLURM_ARRAY_TASK_COUNT is not");
    assertStringIncludes(
      await log("log-04-4.out"),
      "Shard index 4 from SLURM_ARRAY_TASK_* is outside the 2 shards",
    );
    assertStringIncludes(await log("log-04-0.out"), "shard 0/2");
    const state = (job: string, index: number) =>
      ended.find((t) => t.jobId === job && t.index === index)?.state;
    assertEquals([state(partial, 0), state(outside, 4), state(outside, 0)], [
      "FAILED",
      "FAILED",
      "COMPLETED",
    ]);
    await Deno.remove(tmp, { recursive: true });
  },
});
