/**
 * `deno task sweep`: the activation sweep on the mini-GPT, from the command line.
 *
 *   deno task sweep [--activations relu,gelu,swiglu,relu2] [--seeds 2] [--preset nano]
 *                   [--iters 800] [--eval-every 200] [--eval-iters 10] [--out results/sweep]
 *                   [--shard i/n] [--engine ort|tfjs] [--backend wasm] [--threads 1] [--data DIR]
 *                   [--jobs N|auto] [--markdown] [--axis NAME=V1,V2 …] [--lrs …] [--budgets …]
 *   deno task sweep --study FILE [--out DIR] [--stage select|all] [--jobs N]
 *   deno task sweep merge DIR… [--out NEW_DIR]
 *   deno task sweep report DIR [--markdown]
 *   deno task sweep submit --slurm|--k8s [--tasks N] [--max-running K] … <sweep flags> --out DIR
 *   deno task sweep submit --slurm --study FILE [--tasks N] … [--out DIR]
 *   deno task sweep submit --retry DIR
 *   deno task sweep status DIR [--watch S]
 *   deno task sweep collect DIR
 *   deno task sweep study-shard DIR --round R --shard i/n   (a submitted study's array task)
 *
 * A sweep writes `<out>/trials/*.json` (one per finished trial), `<out>/trials.jsonl`,
 * `<out>/summary.csv` and `<out>/report.html`, and prints the summary table. With `--axis` (or the
 * shorthands `--lrs`, `--budgets`) it runs a grid: every cell a sweep in `<out>/<axis>=<value>,…`,
 * the base cell `<out>` itself; `grid.csv`, `grid_best.csv` and `grid.html` beside them. With
 * `--study`, a study file's cells, tuning stage and family (see lib/sweep/study_file.ts). Every
 * folder is read and written by lib/sweep/folder.ts. `submit`, `status` and `collect`
 * (cli/_submit.ts) run a sweep or grid as a Slurm job array or a Kubernetes Indexed Job, and a
 * study as one Slurm array per round. Run with `--help` for every flag.
 *
 * @module
 */
import { getActivation } from "../lib/activations/mod.ts";
import { initEngine } from "../lib/engine/tfjs.ts";
import { gridTables, sweepTable, textGridTable } from "../lib/display/sweep_table.ts";
import { writeGridReport, writeSweepReport } from "../lib/report/sweep_report.ts";
import { type Axis, parseAxis } from "../lib/sweep/axes.ts";
import { checkFolderPath, readListing } from "../lib/sweep/folder.ts";
import { gridCells, readGrid, sweepGrid, trialsAtBestLrByGroup } from "../lib/sweep/grid.ts";
import { mergeSweeps } from "../lib/sweep/merge.ts";
import type { SweepOptions } from "../lib/sweep/options.ts";
import { parseShard, type Shard } from "../lib/sweep/shard.ts";
import { readStudy, runStudy, type StudyResult } from "../lib/sweep/study.ts";
import { loadStudy, type Study } from "../lib/sweep/study_file.ts";
import { summarizeTrials } from "../lib/sweep/summary.ts";
import { readSweep, sweep, type SweepResult } from "../lib/sweep/sweep.ts";
import { familyGrid, lossUnit, tunedGrid } from "../lib/sweep/format.ts";
import { command, type Parsed, runMain, UsageError } from "./_args.ts";
import { backendFlag, presetFlag, textDataFlag, threadsFlag, tokenizerFlag } from "./_flags.ts";
import { loadCliData } from "./_data.ts";
import { duration, SweepProgress } from "./_sweep_progress.ts";
import { collectCommand, statusCommand, submitCommand } from "./_submit.ts";
import { MERGED_DIR, readSubmitRecord } from "../lib/sweep/submission.ts";
import { roundShardFolder, runStudyShard } from "../lib/sweep/study_submit.ts";

/**
 * Checks `--shard i/n`: shards are numbered from 0, and `n/n` (the 1-based form of jest, vitest
 * or playwright) is refused with a message that says so.
 */
function checkShard(flag: string): string | undefined {
  const m = /^\s*(\d+)\/(\d+)\s*$/.exec(flag);
  if (m && m[1] === m[2] && Number(m[2]) > 0) {
    const n = Number(m[2]);
    return `--shard ${flag.trim()}: shards are numbered from 0 (i/n with 0 ≤ i < n, as ` +
      `SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX count), so the last of ${n} shards is ` +
      `--shard ${n - 1}/${n}; ${n}/${n} is the 1-based form of jest or vitest.`;
  }
  try {
    parseShard(flag, {});
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** Checks one `--lrs` item: a number in (0, 10]. */
function checkLr(item: string): string | undefined {
  const x = Number(item);
  return item.trim() !== "" && Number.isFinite(x) && x > 0 && x <= 10
    ? undefined
    : `--lrs takes learning rates in (0, 10], e.g. 3e-4,3e-3; got '${item}'`;
}

/** Checks one `--budgets` item: a whole number of steps ≥ 1. */
function checkBudget(item: string): string | undefined {
  return /^\s*[1-9]\d*\s*$/.test(item)
    ? undefined
    : `--budgets takes whole numbers of steps, e.g. 500,1000; got '${item}'`;
}

/** Checks one `--axis NAME=V1,V2,…`. */
function checkAxisFlag(item: string): string | undefined {
  try {
    parseAxis(item);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** Parses `--jobs`: a whole number ≥ 1 or `auto`. */
function checkJobs(flag: string): string | undefined {
  return flag === "auto" || /^[1-9]\d*$/.test(flag)
    ? undefined
    : `--jobs takes a whole number ≥ 1 or auto, got '${flag}'`;
}

const FLAGS = {
  activations: {
    kind: "list",
    default: ["relu", "gelu", "swiglu", "relu2"],
    description: "activations to compare (registry names or aliases)",
  },
  seeds: { kind: "int", default: 2, min: 1, description: "seeds per activation (1…N)" },
  preset: presetFlag,
  iters: { kind: "int", default: 800, min: 0, description: "optimizer steps per trial" },
  "eval-every": {
    kind: "int",
    default: 200,
    min: 0,
    description: "evaluate every N steps (0 = only at the end)",
  },
  "eval-iters": {
    kind: "int",
    default: 10,
    min: 1,
    description: "batches per evaluation and split",
  },
  out: {
    kind: "string",
    arg: "DIR",
    description: "results folder",
    defaultText: "results/sweep; with --study, results/<the study's name>",
  },
  shard: {
    kind: "string",
    arg: "i/n",
    description: "run only shard i of n, counted from 0 (0/4 … 3/4)",
    defaultText: "from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX + ACTLAB_SHARD_COUNT, " +
      "else every trial",
    check: checkShard,
  },
  engine: {
    kind: "string",
    default: "ort",
    choices: ["ort", "tfjs"],
    description: "where steps run: ort (compiled ONNX Runtime training) or tfjs (--backend)",
  },
  backend: backendFlag,
  threads: { ...threadsFlag, default: 1, description: "ONNX Runtime threads per trial" },
  jobs: {
    kind: "string",
    default: "auto",
    arg: "N|auto",
    description:
      "trials side by side, each in a worker (auto: one per core, at most one per trial)",
    check: checkJobs,
  },
  markdown: { kind: "bool", description: "print the tables as markdown instead of aligned text" },
  report: {
    kind: "bool",
    default: true,
    description: "write the HTML page (report.html or grid.html, plotly.min.js beside it); the " +
      "array tasks of submit pass --report=false (the merged study gets the page)",
  },
  baseline: {
    kind: "string",
    arg: "NAME",
    description: "the activation every other one is compared with, paired by seed (one of " +
      "--activations)",
    defaultText: "gelu when swept, else the first activation",
  },
  axis: {
    kind: "list",
    split: false,
    arg: "NAME=V,…",
    description: "grid: an axis and its values, e.g. n_layer=2,4,6, depth=2,4,6, lr=1e-3,3e-3, " +
      "weight_decay=0,0.1 (repeat for more axes; cells are their product, each a sweep in " +
      "<out>/NAME=V,…; the cell equal to the base settings is <out> itself)",
    check: checkAxisFlag,
  },
  lrs: {
    kind: "list",
    arg: "LR,…",
    description: "grid shorthand: --axis lr=<the preset's rate>,LR,… (final rate = the preset's " +
      "fraction of the peak)",
    defaultText: "only the preset's",
    check: checkLr,
  },
  budgets: {
    kind: "list",
    arg: "N,…",
    description: "grid shorthand: --axis iters=<--iters>,N,… (the cosine decay fitted to each)",
    defaultText: "only --iters",
    check: checkBudget,
  },
  study: {
    kind: "string",
    arg: "FILE",
    description: "run a study file (JSON or TS): its cells, tuning stage and declared family " +
      "(the sweep flags above come from the file)",
  },
  stage: {
    kind: "string",
    default: "all",
    choices: ["all", "select"],
    description: "with --study: stop after the selection stage, or run every stage",
  },
  data: textDataFlag,
  tokenizer: tokenizerFlag,
  optimizer: {
    kind: "string",
    arg: "NAME",
    choices: ["adamw", "muon"],
    description: "optimizer of every trial: adamw, or muon (hidden matrices; AdamW for the rest) " +
      "(default: the preset's, adamw; an axis: --axis optimizer=adamw,muon)",
  },
} as const;

type Values = Parsed<typeof FLAGS>["values"];

/** The trials table of a sweep result, as text or markdown, with its notes. */
function summaryText(result: Pick<SweepResult, "summary" | "settings">, markdown: boolean): string {
  const evaluation = result.settings.finalEval === "split"
    ? undefined
    : `${result.settings.evalIters ?? "the preset's"} sampled batches`;
  const t = sweepTable(result.summary, { evaluation, unit: lossUnit(result.settings) });
  return markdown ? t.toMarkdown() : t.toText();
}

/**
 * The canonical name of `--baseline`, which must be one of the swept activations (under any of
 * its names); undefined leaves the default to the summary.
 */
function baselineOf(given: string | undefined, activations: readonly string[]): string | undefined {
  if (given === undefined) return undefined;
  let name: string;
  try {
    name = getActivation(given).name;
  } catch (e) {
    throw new UsageError(`--baseline: ${(e as Error).message}`);
  }
  const swept = activations.map((a) => getActivation(a).name);
  if (!swept.includes(name)) {
    throw new UsageError(
      `--baseline ${given} is not among --activations (${activations.join(", ")}): add it there, ` +
        "or pick one of them.",
    );
  }
  return name;
}

/** A check's message as a usage error (bad flag values fail before anything runs). */
function usage<T>(fn: () => T, strip?: RegExp): T {
  try {
    return fn();
  } catch (e) {
    const m = (e as Error).message;
    throw new UsageError(strip ? m.replace(strip, "") : m);
  }
}

/** The sweep's options from the flags, every value checked before the engine starts. */
async function optionsOf(values: Values): Promise<SweepOptions & { out: string }> {
  for (const name of values.activations) usage(() => getActivation(name));
  const shard: Shard | undefined = usage(() => parseShard(values.shard));
  const out = values.out ?? "results/sweep";
  await checkFolderPath(out).catch((e) => {
    throw new UsageError((e as Error).message);
  });
  return {
    activations: values.activations,
    seeds: values.seeds,
    preset: values.preset,
    iters: values.iters,
    evalEvery: values["eval-every"],
    evalIters: values["eval-iters"],
    out,
    shard,
    jobs: values.jobs === "auto" ? "auto" : Number(values.jobs),
    engine: values.engine,
    engineOptions: { threads: values.threads },
    baseline: baselineOf(values.baseline, values.activations),
    ...(values.optimizer ? { train: { optimizer: values.optimizer as "adamw" | "muon" } } : {}),
  };
}

/** Runs `fn` with a signal that Ctrl-C and SIGTERM abort (running trials are discarded). */
async function withStopSignals<T>(
  say: (m: string) => void,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const stop = (name: string) => () => {
    if (controller.signal.aborted) return;
    say(`\n${name}: stopping; running trials are discarded (not saved), finished ones are kept`);
    controller.abort();
  };
  const listeners: [Deno.Signal, () => void][] = [["SIGINT", stop("Ctrl-C")]];
  if (Deno.build.os !== "windows") listeners.push(["SIGTERM", stop("SIGTERM")]);
  for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
  try {
    return await fn(controller.signal);
  } finally {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  }
}

/** Says what was discarded and how to resume; the exit code of an interrupted run. */
function interruptedExit(discarded: readonly { activation: string; seed: number }[]): number {
  const lost = discarded.map((t) => `${t.activation} seed ${t.seed}`).join(", ");
  console.error(
    `interrupted: ${lost ? `discarded ${lost}; ` : ""}re-run the same command to resume.`,
  );
  return 130;
}

/** A plain sweep: run, print, report. */
async function runSweep(values: Values, options: SweepOptions & { out: string }): Promise<number> {
  const perTrial = options.iters ?? 800;
  const trials = values.activations.length * values.seeds;
  const progress = new SweepProgress({ trials, steps: trials * perTrial, stepsPerTrial: perTrial });
  const data = await loadCliData(values, (m) => console.error(m));
  const result = await withStopSignals(
    (m) => progress.say(m),
    (signal) => sweep(data, { ...options, ...progress.observers(signal) }),
  );
  progress.clear();
  console.log(summaryText(result, values.markdown));
  const listing = await readListing(options.out);
  const missing = listing
    ? (await readSweep(options.out, { onNotice: () => {}, checkNumerics: false })).missing.length
    : 0;
  const page = values.report
    ? await writeSweepReport(options.out, result.trials, result.summary, result.settings, {
      missing,
    })
    : undefined;
  console.error(
    `\n${result.trials.length} of ${trials} trials in ${duration(progress.seconds)} ` +
      `(${result.jobs} at a time); results in ${options.out}/ (summary` +
      `${options.shard ? `.shard${options.shard.index}of${options.shard.count}` : ""}` +
      `${missing ? ".partial" : ""}.csv, trials/${
        page ? `, ${page.slice(options.out.length + 1)}` : ""
      })`,
  );
  return result.interrupted ? interruptedExit(result.discarded) : 0;
}

/** The grid's axes from `--axis`, `--lrs` and `--budgets`. */
function gridOf(values: Values): { axes: Axis[]; lrs: number[]; budgets: number[] } {
  return {
    axes: values.axis.map((a) => usage(() => parseAxis(a))),
    lrs: values.lrs.map(Number),
    budgets: values.budgets.map(Number),
  };
}

/**
 * Per value of the axes other than the rate (one table when there are none), the summary of each
 * activation's trials at its best rate: trials of different tokenizers, sizes or optimizers are
 * never summarised together.
 */
function printAtBestLr(
  cells: Parameters<typeof trialsAtBestLrByGroup>[0],
  options: { iters?: number; baseline?: string; markdown: boolean },
): void {
  const iters = options.iters ?? Math.max(...cells.map((c) => c.iters));
  for (const { where, trials, settings } of trialsAtBestLrByGroup(cells, { iters })) {
    if (trials.length === 0) continue;
    const summary = summarizeTrials(trials, {
      activations: [...new Set(trials.map((t) => t.activation))],
      baseline: options.baseline,
    });
    const at = Object.entries(where).map(([n, v]) => `${n}=${v}`).join(", ");
    console.log(
      `\nAt each activation's best learning rate${at ? `, ${at}` : ""}, ${iters} steps:\n`,
    );
    console.log(summaryText({ summary, settings }, options.markdown));
  }
}

/** A grid: every cell a sweep, then the grid's tables and page. */
async function runGrid(values: Values, options: SweepOptions & { out: string }): Promise<number> {
  const axes = gridOf(values);
  const plan = usage(() => gridCells({ ...options, ...axes }), /^sweepGrid: /);
  const perCell = values.activations.length * values.seeds;
  const progress = new SweepProgress({
    trials: perCell * plan.length,
    steps: plan.reduce((a, c) => a + c.iters * perCell, 0),
    stepsPerTrial: plan[0]?.iters ?? 0,
  });
  const data = await loadCliData(values, (m) => console.error(m));
  const grid = await withStopSignals((m) => progress.say(m), (signal) =>
    sweepGrid(data, {
      ...options,
      ...axes,
      ...progress.observers(signal),
      onCell: (cell, k, n) =>
        progress.cell(cell, k, n, cell.folder ? `${options.out}/${cell.folder}` : options.out),
    }));
  progress.clear();
  if (grid.cells.length === 0) {
    console.error("interrupted before the first cell: re-run the same command to start.");
    return 130;
  }
  const tables = gridTables(grid.table.objects(), grid.best.objects());
  const show = (t: { toText(): string; toMarkdown(): string }) =>
    values.markdown ? t.toMarkdown() : t.toText();
  console.log(`${show(tables.full)}\n\n${show(tables.best)}`);
  const iters = options.iters;
  printAtBestLr(grid.cells, { iters, baseline: options.baseline, markdown: values.markdown });
  const complete = !grid.interrupted && grid.cells.length === plan.length;
  const page = values.report
    ? await writeGridReport(options.out, grid.cells, { iters, partial: !complete })
    : undefined;
  const trials = grid.cells.reduce((a, c) => a + c.result.trials.length, 0);
  console.error(
    `\n${trials} trials in ${grid.cells.length} of ${plan.length} cells in ` +
      `${duration(progress.seconds)}; results in ${options.out}/ (grid${
        complete ? "" : ".partial"
      }` +
      `.csv, grid_best${complete ? "" : ".partial"}.csv` +
      `${page ? `, ${page.slice(options.out.length + 1)}` : ""}; ` +
      `each cell's summary and trials/)`,
  );
  return grid.interrupted ? interruptedExit(grid.cells.at(-1)?.result.discarded ?? []) : 0;
}

/** The tables of a study: the selected values and final losses, then the family. */
function studyText(result: StudyResult, markdown: boolean): string {
  const show = (t: { toText(): string; toMarkdown(): string }) =>
    markdown ? t.toMarkdown() : t.toText();
  const unit = lossUnit(result.study.base as { tokenizer?: string });
  return [
    show(textGridTable(tunedGrid(result, { unit }))),
    show(textGridTable(familyGrid(result.family, { unit }))),
  ].join("\n\n");
}

/** A study: its stages, then its tables. */
async function runStudyFlags(values: Values, given: ReadonlySet<string>): Promise<number> {
  const sweepOnly = [...given].filter((f) =>
    !["study", "out", "stage", "jobs", "markdown", "data", "backend"].includes(f)
  );
  if (sweepOnly.length) {
    throw new UsageError(
      `--study takes its settings from the file; --${sweepOnly.join(", --")} cannot be given ` +
        `with it (put them in the study's "base").`,
    );
  }
  let study: Study;
  try {
    study = await loadStudy(values.study!);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = values.out ?? `results/${study.name}`;
  await checkFolderPath(out).catch((e) => {
    throw new UsageError((e as Error).message);
  });
  if ((await readSubmitRecord(out))?.study) {
    throw new UsageError(
      `${out} is a study submitted to Slurm (slurm/submit.json): its array tasks run its rounds. ` +
        `Watch it with deno task sweep status ${out}; go on after a failure with deno task ` +
        `sweep submit --retry ${out}.`,
    );
  }
  const progress = new SweepProgress({ trials: 0, steps: 0, stepsPerTrial: 0 });
  const data = await loadCliData(values, (m) => console.error(m));
  const result = await withStopSignals((m) => progress.say(m), (signal) =>
    runStudy(data, study, {
      out,
      jobs: values.jobs === "auto" ? "auto" : Number(values.jobs),
      stage: values.stage as "all" | "select",
      onStage: (m) => {
        const n = Number(/: (\d+) trial/.exec(m)?.[1] ?? 0);
        progress.grow(n, study.base.iters ?? 0);
        progress.stage(m);
      },
      ...progress.observers(signal),
    }));
  progress.clear();
  console.log(studyText(result, values.markdown));
  console.error(
    `\nstudy ${study.name} in ${duration(progress.seconds)}: ${
      result.complete ? "complete" : result.selected ? "confirmation partial" : "selection partial"
    }; results in ${out}/ (study.json, ${study.tune ? "selection.json, tuned" : "cells"}` +
      `${result.complete ? "" : ".partial"}.csv, family${result.complete ? "" : ".partial"}.csv)`,
  );
  return result.interrupted ? interruptedExit([]) : 0;
}

async function run({ values, given }: Parsed<typeof FLAGS>): Promise<number> {
  if (values.study !== undefined) return await runStudyFlags(values, given);
  const options = await optionsOf(values);
  const isGrid = values.axis.length > 0 || values.lrs.length > 0 || values.budgets.length > 0;
  if (isGrid) usage(() => gridCells({ ...options, ...gridOf(values) }), /^sweepGrid: /);
  const engine = await initEngine({ backend: values.backend });
  const cores = navigator.hardwareConcurrency || 1;
  const perCell = values.activations.length * values.seeds;
  console.error(
    `sweep: ${values.activations.length} activations × ${values.seeds} seeds, ${values.preset}, ` +
      `${values.iters} steps, ` +
      (values.engine === "ort"
        ? `compiled ONNX Runtime training (${values.threads} thread per trial)`
        : `tfjs on ${engine.backend} (${engine.device})`) +
      `, ${values.jobs === "auto" ? Math.min(perCell, cores) : values.jobs} at a time` +
      (options.shard ? `, shard ${options.shard.index}/${options.shard.count}` : "") +
      `${isGrid ? ", grid" : ""} → ${options.out}`,
  );
  return isGrid ? await runGrid(values, options) : await runSweep(values, options);
}

const submit = submitCommand({
  flags: FLAGS,
  settings: async (values) => {
    const options = await optionsOf(values);
    const axes = gridOf(values);
    const isGrid = axes.axes.length > 0 || axes.lrs.length > 0 || axes.budgets.length > 0;
    if (isGrid) usage(() => gridCells({ ...options, ...axes }), /^sweepGrid: /);
    return { options, axes, isGrid };
  },
});

/**
 * `study-shard DIR --round R --shard i/n`: what an array task of a study submitted round by round
 * runs (the job script calls it): its shard of the round's trials, stopped cleanly by scancel.
 */
const studyShard = command({
  usage: "deno task sweep study-shard",
  summary: "What one array task of a study submitted with submit --slurm --study runs: shard i/n " +
    "of round R's trials (as submit or the round before planned them, listed in " +
    "<DIR>/slurm/submit.json) into <DIR>/shards/R/i, resuming what is there. The job script " +
    "calls it, then collect; run it by hand to redo a task on the login node.",
  flags: {
    round: { kind: "int", min: 1, arg: "R", description: "the study's round (1, 2, …)" },
    shard: {
      kind: "string",
      arg: "i/n",
      description: "this task's shard of the round (n: the round's tasks)",
      check: checkShard,
    },
    jobs: { ...FLAGS.jobs, description: "trials side by side (the job script: CPUs / threads)" },
  },
  positionals: { name: "DIR", description: "the study folder (--out of submit)", min: 1, max: 1 },
}, async ({ values, positionals: [given] }) => {
  if (values.round === undefined || values.shard === undefined) {
    throw new UsageError(
      "study-shard needs --round R and --shard i/n (the job script passes them).",
    );
  }
  const dir = given.replace(/\/+$/, "");
  const shard = usage(() => parseShard(values.shard))!;
  const record = await readSubmitRecord(dir);
  if (!record?.study) {
    throw new UsageError(
      `${dir} is not a study submitted with deno task sweep submit --study (no rounds in ` +
        "slurm/submit.json).",
    );
  }
  const data = await loadCliData({ data: record.study.data }, (m) => console.error(m));
  const steps = record.study.rounds.find((x) => x.index === values.round)?.units[0]?.options.iters;
  const progress = new SweepProgress({ trials: 0, steps: 0, stepsPerTrial: 0 });
  const jobs = values.jobs === "auto" ? "auto" : Number(values.jobs);
  const r = await withStopSignals(
    (m) => progress.say(m),
    (signal) =>
      runStudyShard(data, dir, values.round!, shard, {
        jobs,
        onStage: (m) => {
          const n = Number(/: (\d+) trial/.exec(m)?.[1] ?? 0);
          progress.grow(n, steps ?? 0);
          progress.stage(m);
        },
        ...progress.observers(signal),
      }),
  );
  progress.clear();
  if (r.skipped) {
    console.error(`study-shard: ${r.skipped}.`);
    return 0;
  }
  console.error(
    `study-shard: ${r.trials} trial(s) of ${r.round.label} (round ${r.round.index}), task ` +
      `${shard.index} of ${shard.count}, in ${duration(progress.seconds)} → ` +
      `${roundShardFolder(dir, r.round.index, shard.index)}/`,
  );
  return r.interrupted ? interruptedExit([]) : 0;
});

const merge = command({
  usage: "deno task sweep merge",
  summary: "Joins the result folders of a sweep's (or a grid's) shards into a new folder — every " +
    "grid cell — and prints the summary. Warns when a shard, a cell or a trial is missing; " +
    "refuses folders of different settings and a trial whose shards disagree.",
  flags: {
    out: {
      kind: "string",
      arg: "DIR",
      description: "the new folder for the merged sweep (must not exist, or be empty)",
      defaultText: "<first DIR>-merged",
    },
    markdown: { kind: "bool", description: "print the table as markdown" },
  },
  positionals: { name: "DIR…", description: "the --out folders of the shards", min: 1 },
}, async ({ values, positionals: dirs }) => {
  const out = values.out ?? `${dirs[0].replace(/\/+$/, "")}-merged`;
  const merged = await mergeSweeps(dirs, { out, onNotice: (m) => console.error(`warning: ${m}`) });
  console.log(summaryText(merged, values.markdown));
  const base = merged.cells.find((c) => c.folder === "") ?? merged.cells[0];
  await writeSweepReport(
    out.concat(base.folder ? `/${base.folder}` : ""),
    merged.trials,
    merged.summary,
    merged.settings,
    {
      missing: base.missing.length,
    },
  );
  if (merged.grid) {
    const grid = await readGrid(out, { onNotice: () => {} });
    await writeGridReport(out, grid.cells, {});
  }
  const trials = merged.cells.reduce((a, c) => a + c.trials.length, 0);
  console.error(`merged ${trials} trials in ${merged.cells.length} cell(s) → ${out}/`);
  return 0;
});

const report = command({
  usage: "deno task sweep report",
  summary: "Reads a sweep, grid or study folder through the checked reader, without running or " +
    "writing anything, and prints its tables (what is missing or left out is said).",
  flags: { markdown: { kind: "bool", description: "print the tables as markdown" } },
  positionals: {
    name: "DIR",
    description: "the --out folder of a sweep, grid or study (a submitted study: its merged/)",
    min: 1,
    max: 1,
  },
}, async ({ values, positionals: [given] }) => {
  const notice = (m: string) => console.error(`warning: ${m}`);
  const submitted = await readSubmitRecord(given);
  // A study submitted round by round keeps its results where a local run does: in the folder.
  const dir = submitted && !submitted.study ? `${given.replace(/\/+$/, "")}/${MERGED_DIR}` : given;
  if (submitted && !(await Deno.stat(dir).then(() => true, () => false))) {
    throw new Error(
      `${given} is a submitted study not collected yet: see deno task sweep status ${given}.`,
    );
  }
  const exists = (f: string) => Deno.stat(`${dir}/${f}`).then(() => true, () => false);
  if (await exists("study.json")) {
    console.log(studyText(await readStudy(dir, { onNotice: notice }), values.markdown));
  } else if (await exists("grid.json")) {
    const grid = await readGrid(dir, { onNotice: notice });
    const t = gridTables(grid.table.objects(), grid.best.objects());
    console.log(
      values.markdown
        ? `${t.full.toMarkdown()}\n\n${t.best.toMarkdown()}`
        : `${t.full.toText()}\n\n${t.best.toText()}`,
    );
  } else {
    console.log(summaryText(await readSweep(dir, { onNotice: notice }), values.markdown));
  }
  return 0;
});

/**
 * `deno task sweep` and its `merge` and `report` subcommands: flags, help and run.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await sweepCli.run(["--preset", "tiny", "--iters", "8", "--seeds", "1"]));
 * ```
 */
export const sweepCli = command({
  usage: "deno task sweep",
  summary: "The activation sweep on the mini-GPT: trains every activation × seed, prints the " +
    "summary (mean final val loss [95% CI] on the whole validation split; against the " +
    "baseline, paired by seed: the mean difference [95% CI], paired t-test, Holm, MDD80; " +
    "steps to target) and writes <out>/trials/*.json (one per finished trial; a re-run resumes), " +
    "<out>/trials.jsonl, <out>/summary.csv and <out>/report.html (plotly.js beside it). " +
    "Grids (--axis) and studies (--study) build on it.",
  flags: FLAGS,
  commands: {
    merge,
    report,
    submit,
    status: statusCommand,
    collect: collectCommand,
    "study-shard": studyShard,
  },
  notes: "Sized by default to finish in about 4 minutes on a 2-core CPU. Grids: every --axis " +
    "value combination is a sweep of its own in a sub-folder of --out (lr=…, n_layer=…,lr=…); " +
    "the cell equal to the base settings is --out itself, so an existing sweep there is reused. " +
    "Summaries and grid tables are written as *.partial.csv until every trial they cover is " +
    "finished. Shards: --shard i/n, or SLURM_ARRAY_TASK_ID/COUNT (offset by " +
    "SLURM_ARRAY_TASK_MIN), or Kubernetes' JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT; join " +
    "them with deno task sweep merge.",
}, run);

if (import.meta.main) await runMain(sweepCli);
