/**
 * `deno task sweep submit | status | collect`: a sweep or grid run past one machine, as a Slurm
 * job array (or a Kubernetes Indexed Job), watched and collected. The study folder's layout is
 * lib/sweep/submission.ts's; the script is lib/sweep/slurm.ts's, the manifest lib/sweep/k8s.ts's.
 *
 *   deno task sweep submit --slurm [--tasks N] [--max-running K] [--partition P] [--time T]
 *                          [--cpus-per-task C] [--mem M] [--sbatch-arg OPT …] [--dry-run]
 *                          <the sweep or grid flags> --out DIR
 *   deno task sweep submit --slurm --study FILE [--tasks N] [--max-running K] … [--out DIR]
 *   deno task sweep submit --retry DIR
 *   deno task sweep submit --k8s --volume-claim CLAIM [--image IMG] [--mount /actlab] … --out DIR
 *   deno task sweep status DIR [--watch S]
 *   deno task sweep collect DIR [--if-complete]
 *
 * A study (`--study`) runs round after round, one job array per round (lib/sweep/study_submit.ts):
 * the last task of a round records it in the study's folders and submits the next.
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { sha256Hex } from "../lib/core/hash.ts";
import { initEngine } from "../lib/engine/tfjs.ts";
import { textGridTable } from "../lib/display/sweep_table.ts";
import { writeGridReport, writeSweepReport } from "../lib/report/sweep_report.ts";
import type { Axis } from "../lib/sweep/axes.ts";
import { gridCells, readGrid } from "../lib/sweep/grid.ts";
import { indexedJobManifest, k8sJobName, manifestYaml } from "../lib/sweep/k8s.ts";
import { seedList, type SweepOptions } from "../lib/sweep/options.ts";
import { sweepSettings } from "../lib/sweep/settings.ts";
import { sbatch, slurmScript, slurmTasks, stateKind } from "../lib/sweep/slurm.ts";
import { statusGrid, type StudyStatus, studyStatus } from "../lib/sweep/status.ts";
import { checkFolderPath } from "../lib/sweep/folder.ts";
import { claimStudyFolder, nextStudyRound } from "../lib/sweep/study.ts";
import { loadStudy, type Study, studyHash } from "../lib/sweep/study_file.ts";
import {
  advanceStudy,
  clearRoundLocks,
  currentRound,
  planRoundRecord,
  type StudyRoundRecord,
  submitRound,
} from "../lib/sweep/study_submit.ts";
import { loadCliData } from "./_data.ts";
import {
  clearShardLocks,
  collectStudy,
  readSubmitRecord,
  type SubmitCell,
  type SubmitRecord,
  writeSubmitRecord,
} from "../lib/sweep/submission.ts";
import { canonicalActivations, readSweep } from "../lib/sweep/sweep.ts";
import { datasetId } from "../lib/sweep/data.ts";
import { command, type FlagSpecs, type Parsed, UsageError } from "./_args.ts";

/** The checkout this program runs from (array tasks `cd` there). */
const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The flags `submit` adds to the sweep's.
 *
 * @example
 * ```ts
 * import { SUBMIT_FLAGS } from "./_submit.ts";
 * console.assert(SUBMIT_FLAGS["cpus-per-task"].default === 1);
 * ```
 */
export const SUBMIT_FLAGS = {
  slurm: { kind: "bool", description: "submit to Slurm as a job array (sbatch)" },
  k8s: {
    kind: "bool",
    description: "write a Kubernetes Indexed Job manifest (<out>/k8s/job.yaml) for kubectl apply",
  },
  retry: {
    kind: "bool",
    description: "resubmit only the tasks that failed or were pre-empted (the study folder's " +
      "slurm/submit.json has every other setting)",
  },
  "dry-run": {
    kind: "bool",
    description: "print the script (or manifest) without writing or submitting anything",
  },
  tasks: {
    kind: "int",
    min: 1,
    arg: "N",
    description: "array tasks, one per shard (--study: per round, fewer when a round has fewer " +
      "trials)",
    defaultText: "activations × seeds: one trial per task and cell; --study: the first round's " +
      "trials",
  },
  "max-running": {
    kind: "int",
    min: 1,
    arg: "K",
    description: "at most K tasks at once (Slurm's %K, Kubernetes' parallelism)",
    defaultText: "no limit",
  },
  partition: { kind: "string", arg: "NAME", description: "Slurm partition" },
  time: { kind: "string", arg: "T", description: "Slurm time limit per task, e.g. 2:00:00" },
  "cpus-per-task": {
    kind: "int",
    min: 1,
    default: 1,
    arg: "C",
    description: "CPUs per task; a task runs C / --threads trials side by side",
  },
  mem: { kind: "string", arg: "SIZE", description: "memory per task (Slurm 8G, Kubernetes 8Gi)" },
  "sbatch-arg": {
    kind: "list",
    split: false,
    arg: "OPT",
    description: "another sbatch option, written as an #SBATCH line: --sbatch-arg=--account=ml " +
      "(with =, since its value is itself an option; repeat for more)",
    check: (o: string) =>
      /^--?\w/.test(o)
        ? undefined
        : `--sbatch-arg takes an sbatch option, e.g. --qos=long; got '${o}'`,
  },
  image: {
    kind: "string",
    default: "denoland/deno:2.9.6",
    arg: "IMAGE",
    description: "--k8s: the container image (Deno on its PATH)",
  },
  "volume-claim": {
    kind: "string",
    arg: "CLAIM",
    description: "--k8s: the PersistentVolumeClaim holding the checkout (with node_modules), " +
      "the Deno cache, the data and the study folder",
  },
  mount: {
    kind: "string",
    default: "/actlab",
    arg: "PATH",
    description: "--k8s: where the volume is mounted; the checkout is its root",
  },
} as const;

/** Why `--k8s --study` is refused, and what to do instead. */
const K8S_STUDY_REFUSED = "submit --k8s --study: a study runs round after round (each selection " +
  "round planned from the finished trials of the one before, then the confirmation at the " +
  "chosen rates), and each round would be an Indexed Job of its own that the last pod creates " +
  "with kubectl, which this manifest's pods cannot do. Submit the study to Slurm (--slurm " +
  "--study), or run it as one pod with many CPUs (deno task sweep --study FILE --jobs N), or " +
  "submit each stage as its own Indexed Job: the selection grid (--lrs …), then the " +
  "confirmation sweep at the chosen rates.";

/** The sweep flags `submit --study` takes besides its own (the rest come from the study file). */
const STUDY_FLAGS = new Set(["study", "out", "data"]);

/** Submit flags that belong to Kubernetes. */
const K8S_ONLY = ["image", "volume-claim", "mount"];

/** What the sweep's CLI hands `submit`: its flags and how it turns values into options. */
export interface SweepFlagsHooks<F extends FlagSpecs> {
  /** The sweep's flags. */
  readonly flags: F;
  /** The sweep's options and grid axes from parsed values (every value checked). */
  readonly settings: (values: Parsed<F>["values"]) => Promise<{
    options: SweepOptions & { out: string };
    axes: { axes: Axis[]; lrs: number[]; budgets: number[] };
    isGrid: boolean;
  }>;
}

/** Flags that are the submission's, not the tasks' (each task gets its own --out, --shard, --jobs). */
const NOT_PASSED = new Set(["out", "shard", "jobs", "markdown", "study", "stage", "report"]);

/** The sweep flags every task passes: all with a value, defaults included, in declaration order. */
function taskArgs(flags: FlagSpecs, values: Record<string, unknown>, k8s: boolean): string[] {
  const args: string[] = [];
  for (const [name, spec] of Object.entries(flags)) {
    const v = values[name];
    if (NOT_PASSED.has(name) || v === undefined || v === false) continue;
    if (name === "data") {
      if (!k8s) args.push("--data", resolve(String(v)));
    } else if (spec.kind === "bool") args.push(`--${name}`);
    else if (spec.kind === "list") {
      const items = v as string[];
      if (spec.split === false) { for (const item of items) args.push(`--${name}`, item); }
      else if (items.length) args.push(`--${name}`, items.join(","));
    } else args.push(`--${name}`, String(v));
  }
  return [...args, "--report=false"]; // one page, the merged study's, not one per shard
}

/** Everything a submission needs, every flag checked and every cell's settings key computed. */
interface SubmitPlan {
  readonly out: string;
  readonly record: SubmitRecord;
  readonly dataDir?: string;
}

/** The folder holding `tinyshakespeare/input.txt`, from the file the loader found. */
function dataFolder(path: string): string {
  const abs = resolve(path);
  return abs.endsWith("/tinyshakespeare/input.txt") ? dirname(dirname(abs)) : dirname(abs);
}

/** Checks the flags, loads the data, computes each cell's settings key: the record to write. */
async function planSubmission<F extends FlagSpecs>(
  hooks: SweepFlagsHooks<F>,
  parsed: Parsed<F & typeof SUBMIT_FLAGS>,
): Promise<SubmitPlan> {
  const values = parsed.values as Record<string, unknown> & Parsed<typeof SUBMIT_FLAGS>["values"];
  const { options, axes, isGrid } = await hooks.settings(parsed.values as Parsed<F>["values"]);
  const activations = canonicalActivations(values.activations as string[]);
  const seeds = seedList(values.seeds as number);
  const perCell = activations.length * seeds.length;
  const tasks = values.tasks ?? perCell;
  if (tasks > perCell) {
    throw new UsageError(
      `--tasks ${tasks}: a cell has ${perCell} trials (${activations.length} activations × ` +
        `${seeds.length} seeds), so at most ${perCell} tasks have work; give --tasks ≤ ${perCell}.`,
    );
  }
  const cells = isGrid
    ? gridCells({ ...options, ...axes }).map((c) => ({ folder: c.folder, options: c.options }))
    : [{ folder: "", options }];
  await initEngine({ backend: values.backend as never });
  const data = await loadTinyShakespeare(values.data ? { dir: values.data as string } : {});
  const keyed: SubmitCell[] = [];
  for (const c of cells) {
    const s = await sweepSettings(datasetId(data), c.options, activations);
    keyed.push({ folder: c.folder, key: s.key });
  }
  const threads = Number(values.threads ?? 1);
  const k8s = values.k8s === true;
  const record: SubmitRecord = {
    format: 1,
    scheduler: k8s ? "k8s" : "slurm",
    tasks,
    ...(values["max-running"] ? { maxRunning: values["max-running"] } : {}),
    cpusPerTask: values["cpus-per-task"],
    jobsPerTask: Math.max(1, Math.floor(values["cpus-per-task"] / threads)),
    args: taskArgs(hooks.flags, values, k8s),
    activations,
    seeds,
    cells: keyed,
    script: k8s ? "k8s/job.yaml" : "slurm/job.sh",
    scriptHash: "",
    project: PROJECT,
    submissions: [],
  };
  return { out: options.out, record, dataDir: dataFolder(data.path) };
}

/** The script's text for a plan (a study's: its first round's array size, its threads). */
function slurmText(
  plan: SubmitPlan,
  values: Parsed<typeof SUBMIT_FLAGS>["values"],
  staged?: { tasks: number; threads: number },
): string {
  const r = plan.record;
  const study = resolve(plan.out);
  return slurmScript({
    name: k8sJobName(study.split("/").at(-1) ?? "study"),
    project: r.project,
    study,
    tasks: staged?.tasks ?? r.tasks,
    maxRunning: r.maxRunning,
    cpusPerTask: r.cpusPerTask,
    threads: staged?.threads ?? Math.max(1, Math.floor(r.cpusPerTask / r.jobsPerTask)),
    staged: staged !== undefined,
    partition: values.partition,
    time: values.time,
    mem: values.mem,
    sbatchArgs: values["sbatch-arg"],
    sweepArgs: r.args,
    deno: Deno.execPath(),
    denoDir: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "~"}/.cache/deno`,
    dataDir: plan.dataDir,
    written: new Date().toISOString().slice(0, 19) + "Z",
  });
}

/** The manifest's text for a plan (paths as the pod sees them, under the mount). */
function k8sText(plan: SubmitPlan, values: Parsed<typeof SUBMIT_FLAGS>["values"]): string {
  const r = plan.record;
  const study = relative(r.project, resolve(plan.out));
  if (study.startsWith("..")) {
    throw new UsageError(
      `--k8s: --out ${plan.out} is outside the checkout ${r.project}; put the study in it ` +
        "(e.g. --out results/NAME) so that it is on the volume with the checkout.",
    );
  }
  if (!values["volume-claim"]) {
    throw new UsageError(
      "--k8s needs --volume-claim CLAIM: the PersistentVolumeClaim that holds " +
        "the checkout, the Deno cache, the data and the study folder.",
    );
  }
  const mount = values.mount.replace(/\/+$/, "");
  const data = plan.dataDir ? relative(r.project, plan.dataDir) : "datasets";
  const name = k8sJobName(resolve(plan.out).split("/").at(-1) ?? "study");
  const manifest = indexedJobManifest({
    name,
    image: values.image,
    claim: values["volume-claim"],
    mount,
    project: mount,
    study: `${mount}/${study}`,
    tasks: r.tasks,
    maxRunning: r.maxRunning,
    cpusPerTask: r.cpusPerTask,
    threads: Math.max(1, Math.floor(r.cpusPerTask / r.jobsPerTask)),
    mem: values.mem,
    sweepArgs: r.args,
    denoDir: `${mount}/.deno`,
    dataDir: `${mount}/${data.startsWith("..") ? "datasets" : data}`,
  });
  return manifestYaml(
    manifest,
    `actlab: a sweep as a Kubernetes Indexed Job, one completion index per shard (${r.tasks}).\n` +
      `Written by 'deno task sweep submit --k8s'. The claim ${
        values["volume-claim"]
      }, mounted at ` +
      `${mount}, holds the\ncheckout (with node_modules: deno install), Deno's cache (.deno), the ` +
      "data and the study folder.\n" +
      `Run: kubectl apply -f ${plan.out}/k8s/job.yaml; watch: kubectl get pods -l ` +
      `app.kubernetes.io/instance=${name}\nand deno task sweep status ${plan.out}. Index i ` +
      "writes shards/i; the last pod to finish merges into merged/.",
  );
}

/** `submit` on a folder that was submitted before with the same settings: nothing, or say why. */
async function alreadySubmitted(out: string, record: SubmitRecord): Promise<number | undefined> {
  if (record.submissions.length === 0) return undefined;
  const status = await studyStatus(out);
  const jobs = [...new Set(record.submissions.map((s) => s.jobId))].join(", ");
  if (status.complete) {
    if (!status.merged) await collectAndReport(out);
    console.error(
      `submit: ${out} is finished (job ${jobs}); nothing submitted. ` +
        `Its tables: deno task sweep report ${out}`,
    );
    return 0;
  }
  const failed = status.tasks.filter((t) => t.verdict === "failed").map((t) => t.task);
  if (failed.length) {
    console.error(statusText(status, false));
    console.error(
      `\nsubmit: task(s) ${failed.join(", ")} of ${out} ended unfinished; ` +
        `resubmit them with: deno task sweep submit --retry ${out}`,
    );
    return 1;
  }
  console.error(
    `submit: ${out} is already submitted (job ${jobs}) and its tasks are pending ` +
      `or running; nothing submitted. Watch: deno task sweep status ${out}`,
  );
  return 0;
}

/** The same settings as the record there (or none there); refuses a folder of another study. */
async function checkFolder(out: string, fresh: SubmitRecord): Promise<SubmitRecord | undefined> {
  const existing = await readSubmitRecord(out);
  if (existing) {
    const same = (r: SubmitRecord) =>
      JSON.stringify([r.scheduler, r.tasks, r.args, r.cells, r.activations, r.seeds]);
    if (same(existing) !== same(fresh)) {
      throw new UsageError(
        `${out} holds a study submitted with other settings (${existing.args.join(" ")}; ` +
          `${existing.tasks} tasks): give another --out, or delete ${out} to start over.`,
      );
    }
    return existing;
  }
  const entries = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
  if (entries.some((e) => ["sweep.json", "grid.json", "study.json"].includes(e.name))) {
    throw new UsageError(`${out} holds results run without a scheduler; give a new --out.`);
  }
  return undefined;
}

/** Submits a new study (or says why not): writes the script and the record, then sbatch. */
async function submitNew<F extends FlagSpecs>(
  hooks: SweepFlagsHooks<F>,
  parsed: Parsed<F & typeof SUBMIT_FLAGS>,
): Promise<number> {
  const values = parsed.values as Parsed<typeof SUBMIT_FLAGS>["values"];
  const plan = await planSubmission(hooks, parsed);
  const text = values.k8s ? k8sText(plan, values) : slurmText(plan, values);
  if (values["dry-run"]) {
    console.log(text);
    return 0;
  }
  const existing = await checkFolder(plan.out, plan.record);
  if (existing) {
    const done = await alreadySubmitted(plan.out, existing);
    if (done !== undefined) return done;
  }
  const scriptHash = (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
  const path = `${plan.out}/${plan.record.script}`;
  await Deno.mkdir(`${plan.out}/${plan.record.scheduler}/logs`, { recursive: true });
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  let record: SubmitRecord = { ...plan.record, scriptHash };
  await writeSubmitRecord(plan.out, record);
  if (values.k8s) {
    console.error(
      `wrote ${path}: kubectl apply -f ${path}; watch with kubectl get pods and ` +
        `deno task sweep status ${plan.out}`,
    );
    return 0;
  }
  const jobId = await sbatch(path);
  const indexes = Array.from({ length: record.tasks }, (_, i) => i);
  const at = new Date().toISOString();
  record = { ...record, submissions: [{ jobId, indexes, at, scriptHash }] };
  await writeSubmitRecord(plan.out, record);
  console.log(
    `submitted job ${jobId}: ${record.tasks} tasks` +
      `${record.maxRunning ? ` (at most ${record.maxRunning} running)` : ""}, ` +
      `${record.cells.length} cell(s) × ${record.activations.length * record.seeds.length} ` +
      `trials → ${plan.out}/shards/<task>; script ${path}; logs ${plan.out}/slurm/logs/\n` +
      `watch: deno task sweep status ${plan.out}`,
  );
  return 0;
}

/** The folder holding a dataset's text (for the script's ACTLAB_DATA_DIR), when it has a file. */
function dataFolderOf(data: unknown): string | undefined {
  const path = (data as { path?: unknown }).path;
  return typeof path === "string" ? dataFolder(path) : undefined;
}

/** ONNX Runtime threads per trial of a study (its base's), which divide a task's CPUs. */
function studyThreads(study: Study): number {
  return (study.base.engine ?? "tfjs") === "ort" ? study.base.engineOptions?.threads ?? 1 : 1;
}

/** The seeds a study runs: selection then confirmation, or the cells' seeds. */
function studySeeds(study: Study): number[] {
  return study.tune
    ? [...study.tune.seeds, ...(study.confirmSeeds ?? [])]
    : [...(study.seeds ?? [])];
}

/** How a round is said: `round 2 (selection, round 2): 4 trials on 2 tasks`. */
function roundText(r: StudyRoundRecord): string {
  return `round ${r.index} (${r.label}): ${r.trials} trial(s) on ${r.tasks} task(s)`;
}

/**
 * `submit --study` on a folder that has a record already: nothing when it is the same study
 * (finished, or still going: said), a refusal when it is another one.
 */
async function studyResubmitted(out: string, record: SubmitRecord, hash: string): Promise<number> {
  if (!record.study || record.study.hash !== hash) {
    throw new UsageError(
      `${out} holds ${
        record.study ? `another declaration of study ${record.study.name}` : "a submitted sweep"
      }: give another --out, or delete ${out} to start over.`,
    );
  }
  const status = await studyStatus(out);
  if (status.complete) {
    console.error(
      `submit: study ${record.study.name} in ${out} is finished (${record.study.rounds.length} ` +
        `rounds); nothing submitted. Its tables: deno task sweep report ${out}`,
    );
    return 0;
  }
  if (status.ended) {
    console.error(statusText(status, false));
    console.error(
      `\nsubmit: ${out} stopped in ${roundText(currentRound(record))}; go on with: ` +
        `deno task sweep submit --retry ${out}`,
    );
    return 1;
  }
  console.error(
    `submit: ${out} is already submitted and at ${roundText(currentRound(record))}; nothing ` +
      `submitted. Watch: deno task sweep status ${out}`,
  );
  return 0;
}

/** Refuses flags a study submission cannot take: --k8s, sweep settings and Kubernetes options. */
function checkStudySubmitFlags(
  values: Parsed<typeof SUBMIT_FLAGS>["values"] & Record<string, unknown>,
  given: ReadonlySet<string>,
): void {
  if (values.k8s) throw new UsageError(K8S_STUDY_REFUSED);
  const sweepOnly = [...given].filter((f) => !STUDY_FLAGS.has(f) && !(f in SUBMIT_FLAGS));
  const k8sOnly = [...given].filter((f) => K8S_ONLY.includes(f));
  if (sweepOnly.length || k8sOnly.length) {
    const bad = [...sweepOnly, ...k8sOnly];
    throw new UsageError(
      `submit --study takes its settings from the file and runs every stage; --${
        bad.join(", --")
      } cannot be given with it (put settings in the study's "base"; ` +
        "each task's --jobs is its CPUs / the study's threads).",
    );
  }
}

/** A study submission's record before its script and rounds: tasks, CPUs, the study's seeds. */
function studySubmitRecord(
  study: Study,
  values: Parsed<typeof SUBMIT_FLAGS>["values"] & Record<string, unknown>,
  tasks: number,
  threads: number,
): SubmitRecord {
  return {
    format: 1,
    scheduler: "slurm",
    tasks,
    ...(values["max-running"] ? { maxRunning: values["max-running"] } : {}),
    cpusPerTask: values["cpus-per-task"],
    jobsPerTask: Math.max(1, Math.floor(values["cpus-per-task"] / threads)),
    args: [],
    activations: [...new Set(study.cells.flatMap((c) => c.activations))],
    seeds: studySeeds(study),
    cells: [],
    script: "slurm/job.sh",
    scriptHash: "",
    project: PROJECT,
    submissions: [],
  };
}

/**
 * `submit --slurm --study FILE`: claims the folder, plans the first round from it, writes the
 * script and the record, and submits the round's array; the rounds after it submit themselves.
 */
async function submitStudy(
  values: Parsed<typeof SUBMIT_FLAGS>["values"] & Record<string, unknown>,
  given: ReadonlySet<string>,
): Promise<number> {
  checkStudySubmitFlags(values, given);
  let study: Study;
  try {
    study = await loadStudy(values.study as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = String(values.out ?? `results/${study.name}`).replace(/\/+$/, "");
  await checkFolderPath(out).catch((e) => {
    throw new UsageError((e as Error).message);
  });
  const hash = await studyHash(study);
  const data = values.data === undefined ? undefined : resolve(String(values.data));
  const loaded = await loadCliData({ data }, (m) => console.error(m), true);
  const existing = await readSubmitRecord(out);
  if (existing && !values["dry-run"]) return await studyResubmitted(out, existing, hash);
  if (!existing && await Deno.stat(`${out}/study.json`).then(() => true, () => false)) {
    throw new UsageError(
      `${out} holds a study run without a scheduler: finish it there (deno task sweep --study ` +
        `${values.study} --out ${out}), or give a new --out.`,
    );
  }
  const first = await nextStudyRound(study, out, { write: false });
  if (!first) throw new UsageError(`study ${study.name} has no trials to run.`);
  const tasks = values.tasks ?? first.todo.flat().length;
  const threads = studyThreads(study);
  const record = studySubmitRecord(study, values, tasks, threads);
  const round = planRoundRecord(out, first, 1, tasks);
  const text = slurmText({ out, record, dataDir: dataFolderOf(loaded) }, values, {
    tasks: round.tasks,
    threads,
  });
  if (values["dry-run"]) {
    console.log(text);
    console.error(
      `# ${roundText(round)}: sbatch --array=0-${round.tasks - 1}` +
        `${record.maxRunning ? `%${record.maxRunning}` : ""} ${out}/slurm/job.sh 1 ${round.tasks}`,
    );
    return 0;
  }
  await claimStudyFolder(study, out);
  const planned = (await nextStudyRound(study, out))!; // writes select/grids.json, as a run does
  const rounds = [planRoundRecord(out, planned, 1, tasks)];
  const path = `${out}/${record.script}`;
  await Deno.mkdir(`${out}/slurm/logs`, { recursive: true });
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  const scriptHash = (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
  const studyRecord = { name: study.name, hash, ...(data ? { data } : {}), rounds };
  let written: SubmitRecord = { ...record, scriptHash, study: studyRecord };
  await writeSubmitRecord(out, written);
  const submission = await submitRound(out, written, rounds[0]);
  written = { ...written, submissions: [submission] };
  await writeSubmitRecord(out, written);
  console.log(
    `submitted study ${study.name}, ${roundText(rounds[0])}, as job ${submission.jobId}` +
      `${record.maxRunning ? ` (at most ${record.maxRunning} running)` : ""}; each round's last ` +
      `task records it in ${out} and submits the next (at most ${tasks} tasks each). Script ` +
      `${path}; logs ${out}/slurm/logs/\nwatch: deno task sweep status ${out}`,
  );
  return 0;
}

/** Removes the study's lock when its holder was an array task that Slurm says has ended. */
async function clearStaleStudyLock(dir: string): Promise<void> {
  let owner: { what?: string };
  try {
    owner = JSON.parse(await Deno.readTextFile(`${dir}/.lock`));
  } catch {
    return;
  }
  const m = /Slurm job (\d+)_(\d+)/.exec(String(owner.what ?? ""));
  if (!m) return;
  const { tasks, answered } = await slurmTasks([m[1]]);
  const task = tasks.find((t) => t.index === Number(m[2]));
  if (!answered || (task && stateKind(task.state) !== "ended")) return;
  await Deno.remove(`${dir}/.lock`).catch(() => {});
  console.error(`removed ${dir}/.lock: its holder, Slurm task ${m[1]}_${m[2]}, has ended`);
}

/**
 * `submit --retry` of a study: resubmits the failed (or never submitted) tasks of its current
 * round; a round whose tasks all finished but that nothing recorded is recorded here, and the
 * next round submitted.
 */
async function retryStudy(dir: string, record: SubmitRecord): Promise<number> {
  const round = currentRound(record);
  if (record.study!.complete) {
    console.error(
      `submit --retry: study ${record.study!.name} in ${dir} is finished; nothing to retry.`,
    );
    return 0;
  }
  await clearStaleStudyLock(dir);
  const status = await studyStatus(dir);
  if (!status.schedulerAnswered) {
    throw new Error(
      `submit --retry: Slurm does not answer, so it cannot tell which tasks ended: ` +
        status.notices[0],
    );
  }
  const failed = status.tasks.filter((t) =>
    t.verdict === "failed" || (t.verdict === "unknown" && t.jobId === undefined)
  ).map((t) => Number(t.task));
  if (failed.length) {
    for (const i of failed) {
      for (const lock of await clearRoundLocks(dir, round, i)) {
        console.error(`removed ${lock}: its task ended (the scheduler says so), its lock stayed`);
      }
    }
    const submission = await submitRound(dir, record, round, failed);
    await writeSubmitRecord(dir, { ...record, submissions: [...record.submissions, submission] });
    console.log(
      `resubmitted task(s) ${failed.join(", ")} of ${roundText(round)} as job ` +
        `${submission.jobId}; watch: deno task sweep status ${dir}`,
    );
    return 0;
  }
  if (!status.ended) {
    console.error(
      `submit --retry: no task of ${roundText(round)} in ${dir} has failed (the others are ` +
        "pending or running, or one is recording the round).",
    );
    return 0;
  }
  return await advanceAndSay(dir, false);
}

/** Records a study's finished round and submits the next (or writes its tables); says which. */
async function advanceAndSay(dir: string, quiet: boolean): Promise<number> {
  const notice = (m: string) => console.error(`warning: ${m}`);
  const r = await advanceStudy(dir, { onNotice: notice, quietIfBusy: quiet });
  const said = r.recorded ? `recorded ${roundText(r.round)} in ${dir}` : "";
  switch (r.action) {
    case "waiting":
      if (quiet) {
        console.error(
          `collect: ${roundText(r.round)}: ${r.round.tasks - r.waiting!.length} of ` +
            `${r.round.tasks} shards complete (waiting for ${r.waiting!.join(", ")}); the last ` +
            "task to finish records the round and submits the next.",
        );
        return 0;
      }
      console.error(statusText(await studyStatus(dir), false));
      console.error(
        `\ncollect: shard(s) ${r.waiting!.join(", ")} of round ${r.round.index} ` +
          "unfinished: nothing recorded.",
      );
      return 1;
    case "busy":
      console.error(`collect: another process is recording round ${r.round.index}: ${r.busy}`);
      return 0;
    case "submitted":
      console.error(
        `collect: ${said || `round ${r.round.index} was recorded`}; submitted ` +
          `${roundText(r.next!)} as job ${r.jobId}; watch: deno task sweep status ${dir}`,
      );
      return 0;
    case "complete":
      console.error(
        `collect: ${said || `round ${r.round.index} was recorded`}; the study is complete: ` +
          `its tables are in ${dir} (deno task sweep report ${dir})`,
      );
      return 0;
    case "finished":
      console.error(`collect: the study in ${dir} is complete; nothing to do.`);
      return 0;
    case "unchanged":
      console.error(`collect: another task moved ${dir} on to round ${r.round.index}.`);
      return 0;
  }
}

/** `submit --retry`: resubmits the tasks that ended unfinished, with the script as it is now. */
async function retry(dir: string): Promise<number> {
  const record = await readSubmitRecord(dir);
  if (!record) {
    throw new UsageError(`submit --retry: ${dir} was never submitted (no slurm/submit.json).`);
  }
  if (record.study) return await retryStudy(dir, record);
  if (record.scheduler === "k8s") {
    throw new UsageError(
      "submit --retry: a Kubernetes Indexed Job retries a failed index itself " +
        "(backoffLimitPerIndex); to run it again, kubectl delete job NAME and kubectl apply -f " +
        `${dir}/k8s/job.yaml (finished trials are kept).`,
    );
  }
  await clearStaleStudyLock(dir);
  const status = await studyStatus(dir);
  if (!status.schedulerAnswered) {
    throw new Error(
      `submit --retry: Slurm does not answer, so it cannot tell which tasks ended: ` +
        status.notices[0],
    );
  }
  const failed = status.tasks.filter((t) => t.verdict === "failed").map((t) => Number(t.task));
  if (failed.length === 0) {
    if (status.complete && !status.merged) await collectAndReport(dir);
    console.error(
      status.complete
        ? `submit --retry: every task of ${dir} finished; nothing to retry.`
        : `submit --retry: no task of ${dir} has failed (the others are pending or running).`,
    );
    return 0;
  }
  for (const i of failed) {
    for (const lock of await clearShardLocks(dir, record, i)) {
      console.error(`removed ${lock}: its task ended (the scheduler says so), its lock stayed`);
    }
  }
  const path = `${dir}/${record.script}`;
  const text = await Deno.readTextFile(path);
  const scriptHash = (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
  if (scriptHash !== record.submissions.at(-1)?.scriptHash) {
    console.error(`${path} was edited since the last submission: submitting it as it is now.`);
  }
  const array = `--array=${failed.join(",")}${record.maxRunning ? `%${record.maxRunning}` : ""}`;
  const jobId = await sbatch(path, [array]);
  const submission = { jobId, indexes: failed, at: new Date().toISOString(), scriptHash };
  await writeSubmitRecord(dir, { ...record, submissions: [...record.submissions, submission] });
  console.log(
    `resubmitted task(s) ${failed.join(", ")} as job ${jobId}; watch: ` +
      `deno task sweep status ${dir}`,
  );
  return 0;
}

/**
 * The `submit` command over the sweep's flags.
 *
 * @example
 * ```ts ignore
 * const submit = submitCommand({ flags: FLAGS, settings: async (values) => … });
 * await submit.run(["--slurm", "--dry-run", "--preset", "tiny", "--out", "results/s"]);
 * ```
 */
export function submitCommand<F extends FlagSpecs>(hooks: SweepFlagsHooks<F>) {
  return command({
    usage: "deno task sweep submit",
    summary: "Runs a sweep, grid or study past one machine: --slurm writes a job-array script " +
      "into the study folder (<out>/slurm/job.sh: one task per shard, each the ordinary sweep " +
      "command with --jobs = its CPUs / --threads) and submits it with sbatch; --k8s writes a " +
      "Kubernetes Indexed Job (<out>/k8s/job.yaml). Each task writes <out>/shards/<task>; the " +
      "last to finish merges every shard into <out>/merged. A study (--slurm --study FILE) runs " +
      "round after round, one array per round (the selection rounds, then the confirmation): " +
      "the last task of a round records it in <out> and submits the next, and the last round " +
      "writes the study's tables, so <out> ends up as a local --study run leaves it. --retry " +
      "resubmits the tasks that failed (a study's: of its current round); a finished study " +
      "submitted again does nothing.",
    flags: { ...hooks.flags, ...SUBMIT_FLAGS },
    positionals: { name: "DIR", description: "with --retry: the study folder (or --out)", max: 1 },
    notes: "Watch with deno task sweep status DIR; collect by hand with deno task sweep collect " +
      "DIR. With --study, only --out and --data of the sweep flags apply (the file has the " +
      "rest); " +
      "--tasks is each round's most (default: the first round's trials), --dry-run prints the " +
      "script and the first round's sbatch line; --k8s --study is refused (each round would be " +
      "a Job created from a pod). docs/cluster.md walks through a cluster from git clone to the " +
      "merged report, and a study's rounds.",
  }, async (parsed) => {
    const values = parsed.values as Parsed<typeof SUBMIT_FLAGS>["values"] & { out?: string };
    if (values.retry) {
      const dir = parsed.positionals[0] ?? values.out;
      if (!dir) throw new UsageError("submit --retry takes the study folder: submit --retry DIR");
      return await retry(dir.replace(/\/+$/, ""));
    }
    for (const flag of ["shard", "jobs"]) {
      if (parsed.given.has(flag)) {
        throw new UsageError(`--${flag} is set per task by submit (--tasks, --cpus-per-task).`);
      }
    }
    if (values.slurm === values.k8s) {
      throw new UsageError("submit takes --slurm or --k8s (one of them), or --retry DIR.");
    }
    if (parsed.positionals.length) {
      throw new UsageError(`submit: '${parsed.positionals[0]}': give the folder as --out DIR.`);
    }
    if ((parsed.values as { study?: string }).study !== undefined) {
      return await submitStudy(parsed.values as never, parsed.given);
    }
    return await submitNew(hooks, parsed);
  });
}

/** The status table as text or markdown. */
function statusText(status: StudyStatus, markdown: boolean): string {
  const t = textGridTable(statusGrid(status));
  return markdown ? t.toMarkdown() : t.toText();
}

/**
 * `status DIR [--watch S]`: the table, again every S seconds until no task is pending or running.
 *
 * @example
 * ```ts ignore
 * import { statusCommand } from "./_submit.ts";
 * await statusCommand.run(["results/lr-grid"]); // prints the table; 0
 * ```
 */
export const statusCommand = command({
  usage: "deno task sweep status",
  summary: "Where a study stands: per array task its scheduler state (squeue, scontrol, sacct) " +
    "and its trials done / running / left, read from the study folder; failed or pre-empted " +
    "tasks are named with their log; for a study submitted with --study, the tasks of its " +
    "current round, and the rounds before. Also reads a folder run locally (one row).",
  flags: {
    watch: {
      kind: "int",
      min: 1,
      arg: "S",
      description: "redraw every S seconds until no task is pending or running",
    },
    markdown: { kind: "bool", description: "print the table as markdown" },
  },
  positionals: {
    name: "DIR",
    description: "the study folder (--out of submit or sweep)",
    min: 1,
    max: 1,
  },
}, async ({ values, positionals: [dir] }) => {
  const tty = Deno.stdout.isTerminal();
  while (true) {
    const status = await studyStatus(dir.replace(/\/+$/, ""));
    if (values.watch && tty) console.log("\x1b[H\x1b[2J");
    console.log(statusText(status, values.markdown));
    if (!values.watch || status.ended) return 0;
    await new Promise((r) => setTimeout(r, values.watch! * 1000));
  }
});

/** Merges a complete study and writes its report page; prints its table. */
async function collectAndReport(dir: string, quiet = false): Promise<boolean> {
  const notice = (m: string) => console.error(`warning: ${m}`);
  const r = await collectStudy(dir, { onNotice: notice, quietIfBusy: quiet });
  if (!r.merged) return false;
  const base = r.result!.cells.find((c) => c.folder === "") ?? r.result!.cells[0];
  if (r.result!.grid) {
    const grid = await readGrid(r.folder, { onNotice: () => {} });
    await writeGridReport(r.folder, grid.cells, {});
  } else {
    const read = await readSweep(r.folder, { onNotice: () => {}, checkNumerics: false });
    await writeSweepReport(r.folder, read.trials, read.summary, read.settings, { missing: 0 });
  }
  const trials = r.result!.cells.reduce((a, c) => a + c.trials.length, 0);
  console.error(
    `collect: merged ${trials} trials in ${r.result!.cells.length} cell(s) ` +
      `(${base.listing.activations.length} activations × ${base.listing.seeds.length} seeds) → ` +
      `${r.folder}/; tables: deno task sweep report ${dir}`,
  );
  return true;
}

/**
 * `collect DIR`: merges every shard into DIR/merged once all are complete.
 *
 * @example
 * ```ts ignore
 * import { collectCommand } from "./_submit.ts";
 * await collectCommand.run(["results/lr-grid", "--if-complete"]); // 0, merged or not
 * ```
 */
export const collectCommand = command({
  usage: "deno task sweep collect",
  summary: "Merges a submitted study's shards into <DIR>/merged (every grid cell), only when " +
    "every shard is complete; replaces an earlier merge whole. Array tasks run it with " +
    "--if-complete when they finish, so the last one collects. A study submitted with --study: " +
    "records its finished round in DIR and submits the next round, or writes the study's tables.",
  flags: {
    "if-complete": {
      kind: "bool",
      description: "exit 0 without merging when a shard is unfinished or another task is merging",
    },
  },
  positionals: { name: "DIR", description: "the study folder", min: 1, max: 1 },
}, async ({ values, positionals: [given] }) => {
  const dir = given.replace(/\/+$/, "");
  const quiet = values["if-complete"];
  if ((await readSubmitRecord(dir))?.study) return await advanceAndSay(dir, quiet);
  if (await collectAndReport(dir, quiet)) return 0;
  const record = await readSubmitRecord(dir);
  const status = await studyStatus(dir);
  const waiting = status.tasks.filter((t) => t.verdict !== "done").map((t) => t.task);
  if (quiet) {
    console.error(
      `collect: ${record!.tasks - waiting.length} of ${record!.tasks} shards ` +
        `complete (waiting for ${waiting.join(", ") || "the merge in progress"}); the last task ` +
        "to finish merges.",
    );
    return 0;
  }
  console.error(statusText(status, false));
  console.error(`\ncollect: shard(s) ${waiting.join(", ")} unfinished: nothing merged.`);
  return 1;
});
