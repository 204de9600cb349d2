/**
 * `deno task sweep`: the activation sweep on the mini-GPT, from the command line.
 *
 *   deno task sweep [--activations relu,gelu,swiglu,relu2] [--seeds 2] [--preset nano]
 *                   [--iters 800] [--eval-every 200] [--eval-iters 10] [--out results/sweep]
 *                   [--shard i/n] [--engine ort|tfjs] [--backend wasm] [--threads 1] [--data DIR]
 *                   [--jobs N|auto] [--markdown]
 *   deno task sweep merge DIR… [--out NEW_DIR]
 *
 * Writes `<out>/trials/*.json` (one per finished trial), `<out>/trials.jsonl`,
 * `<out>/summary.csv` and `<out>/report.html` (convergence table, CIs, loss curves; plotly.js
 * beside it) and prints the convergence table. Shards come from `--shard` (0-based),
 * SLURM_ARRAY_TASK_ID/COUNT or Kubernetes' JOB_COMPLETION_INDEX (+ ACTLAB_SHARD_COUNT). Run with
 * `--help` for every flag and its default.
 *
 * @module
 */
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { getActivation } from "../lib/activations/mod.ts";
import { initEngine } from "../lib/engine/tfjs.ts";
import { writeSweepReport } from "../lib/report/sweep_report.ts";
import {
  mergeSweeps,
  parseShard,
  type Shard,
  sweep,
  type SweepResult,
  type TrialResult,
} from "../lib/experiments/sweep.ts";
import { command, type Parsed, runMain, UsageError } from "./_args.ts";
import { backendFlag, dataFlag, presetFlag, threadsFlag } from "./_flags.ts";

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
  out: { kind: "string", default: "results/sweep", arg: "DIR", description: "results folder" },
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
  markdown: { kind: "bool", description: "print the table as markdown instead of aligned text" },
  data: dataFlag,
} as const;

function fmt(x: unknown, digits = 4): string {
  return typeof x === "number" ? (Number.isFinite(x) ? x.toFixed(digits) : "–") : String(x);
}

/** The convergence table's rows as cells: header and one row per activation. */
function cells(result: Pick<SweepResult, "summary">): { head: string[]; rows: string[][] } {
  const rows = result.summary.objects() as Record<string, number | string>[];
  const base = rows[0]?.baseline ?? "baseline";
  const head = [
    "activation",
    "n",
    "val loss ± 95% CI",
    `Δ vs ${base} [95% CI]`,
    "p paired",
    "p Holm",
    "MDD80",
    `steps to ${fmt(rows[0]?.target_loss, 3)}`,
    "ms/step",
    "diverged",
    "unstable",
  ];
  const signed = (x: unknown) =>
    typeof x === "number" && Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(4)}` : "–";
  return {
    head,
    rows: rows.map((r) => [
      String(r.activation),
      String(r.n),
      `${fmt(r.val_loss_mean)} ± ${fmt((r.ci95_high as number) - (r.val_loss_mean as number))}`,
      r.activation === base
        ? "(baseline)"
        : `${signed(r.diff_mean)} [${signed(r.diff_ci95_low)}, ${signed(r.diff_ci95_high)}]`,
      fmt(r.p_paired, 3),
      fmt(r.p_holm, 3),
      fmt(r.mdd80, 4),
      `${fmt(r.steps_to_target, 0)} (${r.reached_target}/${r.n})`,
      fmt(r.ms_per_step, 1),
      String(r.diverged),
      String(r.unstable ?? 0),
    ]),
  };
}

/** What each column means, said once under the table. */
function legend(result: Pick<SweepResult, "summary" | "settings">): string {
  const first = result.summary.objects()[0] as Record<string, number | string> | undefined;
  const evalText = result.settings.finalEval === "split"
    ? `the whole validation split (${fmt(first?.eval_tokens, 0)} tokens)`
    : `${result.settings.evalIters ?? "the preset's"} sampled batches`;
  return [
    `n: completed trials (seeds). val loss: final validation cross-entropy in nats/char on ` +
    `${evalText}, mean over seeds ± half-width of the 95% Student-t interval.`,
    `Δ vs ${first?.baseline ?? "baseline"}: mean of the per-seed differences (negative = lower ` +
    "loss), with its 95% CI; p paired: paired t-test over the seeds both ran; p Holm: adjusted " +
    "for the number of comparisons; MDD80: the smallest difference these seeds detect with 80% " +
    "power (α = 0.05). summary.csv adds Welch's unpaired p and the stds.",
    `steps to ${fmt(first?.target_loss, 3)}: first evaluation at or below that val loss, mean ` +
    "over the trials that reached it (reached/n). ms/step: each trial's median step time, " +
    "averaged over seeds.",
    "diverged: trials stopped by a NaN/∞ loss. unstable: finished, but the loss rose above " +
    "1.2× its start on the way.",
  ].join("\n");
}

/** The summary as an aligned text table, numbers right-aligned. */
function textTable(result: Pick<SweepResult, "summary" | "settings">): string {
  const { head, rows } = cells(result);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    line(head),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...rows.map(line),
    "",
    legend(result),
  ]
    .join("\n");
}

/** The summary as a markdown table (best mean in bold). */
function markdown(result: Pick<SweepResult, "summary" | "settings">): string {
  const { head, rows } = cells(result);
  const means = rows.map((r) => Number(r[2].split(" ")[0]));
  const best = Math.min(...means.filter(Number.isFinite));
  return [
    `| ${head.join(" | ")} |`,
    `|---|${head.slice(1).map(() => "---:").join("|")}|`,
    ...rows.map((r, k) =>
      `| ${r.map((c, i) => (i === 2 && means[k] === best ? `**${c}**` : c)).join(" | ")} |`
    ),
    "",
    legend(result),
  ].join("\n");
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`
    : s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}

const merge = command({
  usage: "deno task sweep merge",
  summary: "Joins the result folders of a sweep's shards into a new sweep folder (trials/, " +
    "trials.jsonl, summary.csv, report.html) and prints the convergence table. Warns when a " +
    "shard or a trial is missing; refuses folders of different settings.",
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
  const merged = await mergeSweeps(dirs, {
    out,
    onNotice: (m) => console.error(`warning: ${m}`),
  });
  console.log(values.markdown ? markdown(merged) : textTable(merged));
  const page = await writeSweepReport(out, merged.trials, merged.summary, merged.settings);
  console.error(`merged ${merged.trials.length} trials → ${out}/ (summary.csv, trials/, ${page})`);
  return 0;
});

/** Parses `--jobs`: a whole number ≥ 1 or `auto`. */
function checkJobs(flag: string): string | undefined {
  return flag === "auto" || /^[1-9]\d*$/.test(flag)
    ? undefined
    : `--jobs takes a whole number ≥ 1 or auto, got '${flag}'`;
}

async function run({ values }: Parsed<typeof FLAGS>): Promise<number> {
  // Every flag is checked before the engine starts or data loads.
  for (const name of values.activations) {
    try {
      getActivation(name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  let shard: Shard | undefined;
  try {
    shard = parseShard(values.shard);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const jobs = values.jobs === "auto" ? "auto" as const : Number(values.jobs);
  const engine = await initEngine({ backend: values.backend });
  const data = await loadTinyShakespeare(values.data ? { dir: values.data } : {});
  const out = values.out;
  const opts = {
    activations: values.activations,
    seeds: values.seeds,
    preset: values.preset,
    iters: values.iters,
    evalEvery: values["eval-every"],
    evalIters: values["eval-iters"],
    out,
    shard,
    jobs,
    engine: values.engine,
    engineOptions: { threads: values.threads },
  };
  const total = opts.activations.length * opts.seeds;
  const cores = navigator.hardwareConcurrency || 1;
  console.error(
    `sweep: ${opts.activations.length} activations × ${opts.seeds} seeds, ${opts.preset}, ` +
      `${opts.iters} iters, ` +
      (opts.engine === "ort"
        ? `compiled ONNX Runtime training (${opts.engineOptions.threads} thread per trial)`
        : `tfjs on ${engine.backend} (${engine.device})`) +
      `, ${jobs === "auto" ? Math.min(total, cores) : jobs} at a time` +
      (shard ? `, shard ${shard.index}/${shard.count}` : "") + ` → ${out}`,
  );
  const t0 = performance.now();
  const controller = new AbortController();
  const stop = (signal: string) => () => {
    if (controller.signal.aborted) return;
    console.error(
      `\n${signal}: stopping; running trials are discarded (not saved), finished ones are kept`,
    );
    controller.abort();
  };
  const listeners: [Deno.Signal, () => void][] = [["SIGINT", stop("Ctrl-C")]];
  if (Deno.build.os !== "windows") listeners.push(["SIGTERM", stop("SIGTERM")]);
  for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
  // Progress: every running trial (by worker slot), elapsed time and an ETA from this run's pace.
  const running = new Map<number, { name: string; step: number; loss: number }>();
  const slotOf = new Map<string, number>();
  const perTrial = opts.iters;
  let finished = 0, stepsNow = 0, stepsDone = 0, lastDraw = 0;
  const isTty = Deno.stderr.isTerminal();
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - lastDraw < (isTty ? 250 : 30_000)) return;
    lastDraw = now;
    const elapsed = (now - t0) / 1000;
    const left = (total - finished) * perTrial - stepsNow;
    const eta = stepsDone > 0 ? (left * elapsed) / stepsDone : NaN;
    const trials = [...running.values()].map((r) =>
      `${r.name} ${r.step}/${perTrial} ${Number.isFinite(r.loss) ? r.loss.toFixed(3) : ""}`
    ).join(" | ");
    const line = `[${finished}/${total}] ${trials} · ${duration(elapsed)} elapsed, ETA ${
      duration(eta)
    }`;
    if (isTty) {
      const width = Deno.consoleSize?.().columns ?? 120;
      Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[K${line.slice(0, width - 1)}`));
    } else console.error(line);
  };
  const say = (text: string) => {
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    console.error(text);
    draw(true);
  };
  let result: SweepResult;
  try {
    result = await sweep(data, {
      ...opts,
      signal: controller.signal,
      onNotice: (m) => say(`warning: ${m}`),
      onTrialStart: (t, _k, _n, slot) => {
        slotOf.set(`${t.activation}/${t.seed}`, slot);
        running.set(slot, { name: `${t.activation}/${t.seed}`, step: 0, loss: NaN });
      },
      onStep: (t, info) => {
        const r = running.get(slotOf.get(`${t.activation}/${t.seed}`) ?? 0);
        if (r) {
          r.step = info.iter + 1;
          r.loss = info.loss;
        }
        stepsNow = [...running.values()].reduce((a, x) => a + x.step, 0);
        stepsDone++;
        draw();
      },
      onTrial: (r: TrialResult, skipped) => {
        finished++;
        const slot = slotOf.get(`${r.activation}/${r.seed}`);
        if (slot !== undefined) running.delete(slot);
        stepsNow = [...running.values()].reduce((a, x) => a + x.step, 0);
        const what = r.status === "completed"
          ? `val ${r.finalValLoss.toFixed(4)} nats/char, ${r.msPerStep.toFixed(1)} ms/step` +
            (r.unstable ? ", unstable" : "")
          : `diverged at step ${r.divergedAt}`;
        say(`${r.activation} seed ${r.seed}: ${what}${skipped ? " (saved earlier)" : ""}`);
      },
    });
  } finally {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  }
  console.log(values.markdown ? markdown(result) : textTable(result));
  const page = await writeSweepReport(out, result.trials, result.summary, result.settings);
  const summaryFile = `summary${shard ? `.shard${shard.index}of${shard.count}` : ""}.csv`;
  const seconds = (performance.now() - t0) / 1000;
  console.error(
    `\n${result.trials.length} of ${total} trials in ${duration(seconds)} ` +
      `(${result.jobs} at a time); results in ${out}/ ` +
      `(${summaryFile}, trials/, ${page.slice(out.length + 1)})`,
  );
  if (result.interrupted) {
    const lost = result.discarded.map((t) => `${t.activation} seed ${t.seed}`).join(", ");
    console.error(
      `interrupted: ${lost ? `discarded ${lost}; ` : ""}re-run the same command to resume.`,
    );
    return 130;
  }
  return 0;
}

/**
 * `deno task sweep` and its `merge` subcommand: flags, help and run.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await sweepCli.run(["--preset", "tiny", "--iters", "8", "--seeds", "1"]));
 * ```
 */
export const sweepCli = command({
  usage: "deno task sweep",
  summary: "The activation sweep on the mini-GPT: trains every activation × seed, prints the " +
    "convergence table (mean final val loss ± 95% CI, Welch p vs the baseline, steps to target) " +
    "and writes <out>/trials/*.json (one per finished trial; a re-run resumes), " +
    "<out>/trials.jsonl, <out>/summary.csv and <out>/report.html (plotly.js beside it).",
  flags: FLAGS,
  commands: { merge },
  notes: "Sized by default to finish in about 4 minutes on a 2-core CPU. Shards: --shard i/n, " +
    "or SLURM_ARRAY_TASK_ID/COUNT (offset by SLURM_ARRAY_TASK_MIN), or Kubernetes' " +
    "JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT; join them with deno task sweep merge.",
}, run);

if (import.meta.main) await runMain(sweepCli);
