/**
 * A tuned study on a real Slurm (tools/slurm_local.sh starts munged, slurmctld and slurmd; .ci/run
 * does so), submitted with `submit --slurm --study` as arrays of 3 tasks (at most 2 running): a
 * pending task of the first round cancelled, `status` naming it, `submit --retry` resubmitting
 * only it; then every round on its own (the selection round widened at the edge, then the
 * confirmation), each submitted by the last task of the round before. The study folder then holds
 * what the same study run locally writes, trial for trial; submitting it again does nothing.
 * Skipped, with a message, where no Slurm controller answers.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { readFolder, readSubmitRecord, slurmAnswers, studyStatus } from "@actlab/actlab/sweep";

const slurm = await slurmAnswers();
if (!slurm.up) {
  console.warn(
    `slurm_study_test.ts: skipped: no Slurm controller answers (${slurm.problem}). Start a ` +
      "one-node Slurm with tools/slurm_local.sh start and export the SLURM_CONF it prints " +
      "(CI does).",
  );
}

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = `${ROOT}cli/sweep.ts`;
const options = { sanitizeOps: false, sanitizeResources: false, ignore: !slurm.up };

/**
 * Two activations, a 3-value grid (the fewest a study takes) on 2 selection seeds, widened once
 * at its upper edge (6 steps at these rates: the highest is best), then 2 confirmation seeds:
 * 12 + 4 + 4 trials of a few seconds each, in 3 rounds.
 */
const STUDY = {
  name: "slurm_tiny",
  base: { preset: "tiny", iters: 6, evalEvery: 3, evalIters: 2, engine: "ort" },
  activations: ["relu", "gelu"],
  tune: { values: [1e-4, 1.5e-4, 2.2e-4], seeds: [11, 12], widen: 1 },
  confirm: { seeds: [1, 2] },
  comparisons: [{ a: "relu", b: "gelu" }],
};

/** Runs a command; its exit code and output. */
async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** `deno task sweep …`. */
const sweepCli = (args: string[]) => run(Deno.execPath(), ["run", "-A", CLI, ...args]);

/** Waits until `check` returns a value; fails naming `what` after `seconds`. */
async function waitFor<T>(what: string, seconds: number, check: () => Promise<T | undefined>) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

/** Every file of a study folder but the scheduler's (`slurm/`, `shards/`), relative to it. */
async function studyFiles(dir: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${under}`)) {
    const path = under ? `${under}/${e.name}` : e.name;
    if (!under && (e.name === "slurm" || e.name === "shards")) continue;
    if (e.isDirectory) out.push(...await studyFiles(dir, path));
    else out.push(path);
  }
  return out.sort();
}

/** A trial without what differs from run to run: its timings. */
function untimed(t: Record<string, unknown>): Record<string, unknown> {
  const { wallS: _w, msPerStep: _m, evals, ...rest } = t;
  return {
    ...rest,
    evals: (evals as Record<string, unknown>[]).map(({ elapsedS: _e, ...e }) => e),
  };
}

/** A summary CSV without its timing column (ms_per_step). */
function untimedCsv(text: string): string {
  const rows = text.trim().split("\n").map((l) => l.split(","));
  const drop = rows[0].indexOf("ms_per_step");
  return rows.map((r) => r.filter((_, i) => i !== drop).join(",")).join("\n");
}

/** Says how the Slurm study and the local one differ, file by file; empty when they agree. */
async function differences(slurmDir: string, localDir: string): Promise<string[]> {
  const files = await studyFiles(slurmDir);
  const local = await studyFiles(localDir);
  if (JSON.stringify(files) !== JSON.stringify(local)) {
    return [`files differ:\n${files.join(" ")}\n${local.join(" ")}`];
  }
  const out: string[] = [];
  for (const f of files) {
    const [a, b] = await Promise.all(
      [slurmDir, localDir].map((d) => Deno.readTextFile(`${d}/${f}`)),
    );
    const same = f.endsWith("summary.csv")
      ? untimedCsv(a) === untimedCsv(b)
      : f.includes("/trials/") || f.endsWith(".jsonl")
      ? JSON.stringify(a.trim().split("\n").map((l) => untimed(JSON.parse(l)))) ===
        JSON.stringify(b.trim().split("\n").map((l) => untimed(JSON.parse(l))))
      : a === b; // study.json, grids.json, selection.json, sweep.json, tuned.csv, family.csv
    if (!same) out.push(f);
  }
  return out;
}

Deno.test({
  name: "a tuned study submitted to Slurm runs every round by itself, a cancelled task retried, " +
    "and equals the local run trial for trial",
  ...options,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "actlab-slurm-study-" });
    const file = `${tmp}/tiny.json`;
    await Deno.writeTextFile(file, JSON.stringify(STUDY, null, 2));
    const study = `${tmp}/study`;
    const submitArgs = [
      "submit",
      "--slurm",
      "--study",
      file,
      "--tasks",
      "3",
      "--max-running",
      "2",
      "--out",
      study,
    ];
    const t0 = performance.now();
    const sub = await sweepCli(submitArgs);
    assertEquals(sub.code, 0, sub.out);
    const job = /as job (\d+)/.exec(sub.out)?.[1] ?? "";
    assert(job, sub.out);
    assertStringIncludes(sub.out, "round 1 (selection, round 1): 12 trial(s) on 3 task(s)");
    // Task 2 waits (at most 2 run): cancel it before it starts, so round 1 cannot finish.
    assertEquals((await run("scancel", [`${job}_2`])).code, 0);
    const stuck = await waitFor("round 1 to end without task 2", 300, async () => {
      const s = await studyStatus(study);
      return s.ended ? s : undefined;
    });
    assertEquals(stuck.study?.round.index, 1, "no round planned while a shard is unfinished");
    assertEquals(stuck.tasks.map((t) => t.verdict), ["done", "done", "failed"]);
    assertEquals(stuck.tasks[2].done, 0);
    const status = await sweepCli(["status", study]);
    assertStringIncludes(status.out, "study slurm_tiny · round 1: selection, round 1 (Slurm job");
    // A task cancelled while pending leaves no trace in squeue or scontrol: "—", and no log.
    assertMatch(status.out, /^2\s+(CANCELLED|—)\s+0\/4/m);
    assertStringIncludes(status.out, "task 2 ");
    assertStringIncludes(status.out, `deno task sweep submit --retry ${study}`);
    const again = await sweepCli(submitArgs);
    assertEquals(again.code, 1, again.out);
    assertStringIncludes(again.out, `go on with: deno task sweep submit --retry ${study}`);

    const retried = await sweepCli(["submit", "--retry", study]);
    assertEquals(retried.code, 0, retried.out);
    assertMatch(retried.out, /resubmitted task\(s\) 2 of round 1 .* as job \d+/);
    const done = await waitFor("every round of the study", 600, async () => {
      const s = await studyStatus(study);
      return s.complete ? s : undefined;
    });
    assertEquals(done.study?.rounds.map((r) => [r.label, r.trials, r.tasks]), [
      ["selection, round 1", 12, 3],
      ["selection, round 2", 4, 3],
      ["confirmation", 4, 3],
    ]);
    const record = (await readSubmitRecord(study))!;
    assertEquals(record.submissions.map((s) => [s.round, s.indexes]), [
      [1, [0, 1, 2]],
      [1, [2]],
      [2, [0, 1, 2]],
      [3, [0, 1, 2]],
    ]);
    const final = await sweepCli(["status", study]);
    assertStringIncludes(final.out, "round 3: confirmation");
    assertStringIncludes(final.out, "study slurm_tiny complete");
    console.log(
      `slurm_study_test: submit → cancel → retry → 3 rounds in ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s`,
    );

    const resubmit = await sweepCli(submitArgs);
    assertEquals(resubmit.code, 0, resubmit.out);
    assertStringIncludes(resubmit.out, "is finished (3 rounds); nothing submitted");
    assertEquals((await readSubmitRecord(study))!.submissions.length, 4, "nothing resubmitted");
    const report = await sweepCli(["report", study]);
    assertEquals(report.code, 0, report.out);
    assertStringIncludes(report.out, "relu − gelu");

    const local = `${tmp}/local`;
    const ran = await sweepCli(["--study", file, "--jobs", "1", "--out", local]);
    assertEquals(ran.code, 0, ran.out);
    assertEquals(await differences(study, local), []);
    const confirmed = await readFolder(`${study}/confirm/lr=0.00032`);
    assertEquals(confirmed.trials.length, 4, "the confirmation at the widened edge");
    await Deno.remove(tmp, { recursive: true });
  },
});
