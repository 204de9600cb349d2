/**
 * A study run round by round as a scheduler runs it (lib/sweep/study_submit.ts), without one: each
 * round's shards run one task at a time, `advanceStudy` waits for the last, records the round and
 * "submits" the next through a stand-in for sbatch; the folder then equals `runStudy`'s trial for
 * trial, and its status names the round. Also: a round of few trials spread over every task, and
 * recording a round again changes nothing.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import {
  advanceStudy,
  claimStudyFolder,
  currentRound,
  nextStudyRound,
  parseStudy,
  planRoundRecord,
  readFolder,
  readSubmitRecord,
  recordRound,
  runStudy,
  runStudyShard,
  studyHash,
  type StudyRoundRecord,
  studyStatus,
  type SubmitRecord,
  unitShard,
  writeSubmitRecord,
} from "@actlab/actlab/sweep";

const options = { sanitizeOps: false, sanitizeResources: false };
const quiet = () => {};

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
const study = parseStudy({
  name: "rounds",
  base: { preset: "tiny", iters: 8, evalEvery: 4, evalIters: 2, engine: "tfjs" },
  activations: ["relu", "gelu"],
  tune: { values: [1e-3, 1.5e-3, 2.25e-3], seeds: [11, 12], widen: 1 },
  confirm: { seeds: [1, 2] },
  comparisons: [{ a: "relu", b: "gelu" }],
}, "rounds.json");

/** What `submit --slurm --study` writes before its first sbatch. */
async function submitted(dir: string, tasks: number): Promise<SubmitRecord> {
  await claimStudyFolder(study, dir);
  const round = planRoundRecord(dir, (await nextStudyRound(study, dir))!, 1, tasks);
  const record: SubmitRecord = {
    format: 1,
    scheduler: "slurm",
    tasks,
    cpusPerTask: 1,
    jobsPerTask: 1,
    args: [],
    activations: ["relu", "gelu"],
    seeds: [11, 12, 1, 2],
    cells: [],
    script: "slurm/job.sh",
    scriptHash: "",
    project: ".",
    submissions: [{ jobId: "1", indexes: [0, 1, 2], at: "", scriptHash: "", round: 1 }],
    study: { name: study.name, hash: await studyHash(study), rounds: [round] },
  };
  await writeSubmitRecord(dir, record);
  return record;
}

/** A trial's record without its timings. */
function untimed(t: object): object {
  const { wallS: _w, msPerStep: _m, evals, ...rest } = t as Record<string, unknown>;
  const untimedEval = ({ elapsedS: _e, ...e }: Record<string, unknown>) => e;
  return { ...rest, evals: (evals as Record<string, unknown>[]).map(untimedEval) };
}

Deno.test("a round's trials go round-robin over its tasks, a folder on from the last", () => {
  const round = { tasks: 3 };
  const unit = (offset: number) => ({
    folder: "f",
    options: {},
    activations: ["relu"],
    seeds: [1, 2],
    offset,
  });
  const owners = (offset: number) => [0, 1, 2].filter((t) => unitShard(round, unit(offset), t));
  assertEquals(owners(0), [0, 1]);
  assertEquals(owners(2), [0, 2], "trials 2 and 3 of the round: tasks 2, then 0");
  assertEquals(unitShard(round, unit(2), 0), { index: 1, count: 3 });
});

Deno.test({
  name: "a study run round by round, the last task of each round moving it on, equals runStudy",
  ...options,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "actlab-rounds-" });
    try {
      const dir = `${root}/submitted`;
      let record = await submitted(dir, 3);
      const jobs: StudyRoundRecord[] = [];
      const submit = (_r: SubmitRecord, round: StudyRoundRecord) => {
        jobs.push(round);
        const jobId = String(jobs.length + 1);
        const indexes = Array.from({ length: round.tasks }, (_, i) => i);
        return Promise.resolve({ jobId, indexes, at: "", scriptHash: "", round: round.index });
      };
      const running = { tasks: [], answered: true }; // the stand-in scheduler: nothing queued
      for (let n = 0; n < 5 && !record.study!.complete; n++) {
        const round = currentRound(record);
        for (let task = 0; task < round.tasks; task++) {
          const shard = { index: task, count: round.tasks };
          await runStudyShard(data, dir, round.index, shard, { jobs: 1, onNotice: quiet });
          const r = await advanceStudy(dir, { submit, onNotice: quiet });
          if (task < round.tasks - 1) {
            assertEquals(r.action, "waiting", "only the last task moves the study on");
            const status = await studyStatus(dir, { scheduler: () => Promise.resolve(running) });
            assertEquals(status.study?.round.label, round.label);
          } else assert(["submitted", "complete"].includes(r.action), r.action);
        }
        record = (await readSubmitRecord(dir))!;
      }
      assertEquals(record.study!.rounds.map((r) => [r.label, r.trials, r.tasks]), [
        ["selection, round 1", 12, 3],
        ["selection, round 2", 4, 3],
        ["confirmation", 4, 3],
      ]);
      assert(record.study!.complete, "complete after the confirmation");
      assertEquals(record.submissions.map((s) => s.round), [1, 2, 3]);
      const again = await advanceStudy(dir, { submit, onNotice: quiet });
      assertEquals(again.action, "finished");
      assertEquals(await recordRound(dir, record.study!.rounds[2], quiet), 0, "nothing twice");
      await assertRejects(
        () => runStudyShard(data, dir, 4, { index: 0, count: 3 }),
        Error,
        "has no round 4",
      );

      const local = `${root}/local`;
      await runStudy(data, study, { out: local, jobs: 1, onNotice: quiet });
      for (const file of ["study.json", "select/grids.json", "selection.json", "tuned.csv"]) {
        assertEquals(
          await Deno.readTextFile(`${dir}/${file}`),
          await Deno.readTextFile(`${local}/${file}`),
          file,
        );
      }
      const folders = ["select/lr=0.001", "select/lr=0.0034", "confirm/lr=0.0034"];
      for (const f of folders) {
        const [a, b] = await Promise.all([dir, local].map((d) => readFolder(`${d}/${f}`)));
        assertEquals(a.listing, b.listing, f);
        assertEquals(a.trials.map(untimed), b.trials.map(untimed), f);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
