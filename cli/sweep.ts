/**
 * `deno task sweep`: the activation sweep on the mini-GPT, from the command line.
 *
 *   deno task sweep [--activations relu,gelu,swiglu,relu2] [--seeds 2] [--preset nano]
 *                   [--iters 800] [--eval-every 200] [--eval-iters 10] [--out results/sweep]
 *                   [--shard i/n] [--engine ort|tfjs] [--backend wasm] [--threads 1] [--data DIR]
 *   deno task sweep merge DIR… [--out DIR]
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
import { writeTextAtomic } from "../lib/core/fs.ts";
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
  threads: { ...threadsFlag, default: 1 },
  data: dataFlag,
} as const;

function fmt(x: unknown, digits = 4): string {
  return typeof x === "number" ? (Number.isFinite(x) ? x.toFixed(digits) : "–") : String(x);
}

/** The summary as a markdown table (mean ± 95% CI half-width; best mean in bold). */
function markdown(result: Pick<SweepResult, "summary">): string {
  const rows = result.summary.objects() as Record<string, number | string>[];
  const best = Math.min(...rows.map((r) => r.val_loss_mean as number).filter(Number.isFinite));
  const lines = [
    "| activation | n | final val loss (mean ± 95% CI) | std | p vs " +
    `${rows[0]?.baseline ?? "baseline"} | steps to ${
      fmt(rows[0]?.target_loss, 3)
    } | ms/step | diverged |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const mean = r.val_loss_mean as number;
    const half = (r.ci95_high as number) - mean;
    const cell = `${fmt(mean)} ± ${fmt(half)}`;
    lines.push(
      `| ${r.activation} | ${r.n} | ${mean === best ? `**${cell}**` : cell} | ${
        fmt(r.val_loss_std)
      } | ` +
        `${fmt(r.p_vs_baseline, 3)} | ${fmt(r.steps_to_target, 0)} (${r.reached_target}/${r.n}) | ${
          fmt(r.ms_per_step, 1)
        } | ${r.diverged} |`,
    );
  }
  return lines.join("\n");
}

const merge = command({
  usage: "deno task sweep merge",
  summary: "Joins the result folders of a sweep's shards: prints the convergence table and " +
    "writes summary.merged.csv and report.html.",
  flags: {
    out: {
      kind: "string",
      arg: "DIR",
      description: "where the merged summary and report go",
      defaultText: "the first DIR",
    },
  },
  positionals: { name: "DIR…", description: "the --out folders of the shards", min: 1 },
}, async ({ values, positionals: dirs }) => {
  const merged = await mergeSweeps(dirs);
  console.log(markdown(merged));
  const out = values.out ?? dirs[0];
  await Deno.mkdir(out, { recursive: true });
  await writeTextAtomic(`${out}/summary.merged.csv`, merged.summary.toCSV());
  const page = await writeSweepReport(out, merged.trials, merged.summary, merged.settings);
  console.error(`merged ${merged.trials.length} trials → ${out}/summary.merged.csv, ${page}`);
  return 0;
});

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
    engine: values.engine,
    engineOptions: { threads: values.threads },
  };
  console.error(
    `sweep: ${opts.activations.length} activations × ${opts.seeds} seeds, ${opts.preset}, ` +
      `${opts.iters} iters, ` +
      (opts.engine === "ort"
        ? `compiled ONNX Runtime training (${opts.engineOptions.threads} thread)`
        : `tfjs on ${engine.backend} (${engine.device})`) +
      (shard ? `, shard ${shard.index}/${shard.count}` : "") + ` → ${out}`,
  );
  const t0 = performance.now();
  let current = "";
  const controller = new AbortController();
  Deno.addSignalListener("SIGINT", () => {
    console.error("\nstopping after the running trial (finished trials are saved; re-run resumes)");
    controller.abort();
  });
  const result = await sweep(data, {
    ...opts,
    signal: controller.signal,
    onTrialStart: (t, k, n) => {
      current = `[${k + 1}/${n}] ${t.activation} seed ${t.seed}`;
    },
    onStep: (_, info) => {
      if (info.iter % 10 === 0) {
        const line = `${current}: step ${info.iter}/${opts.iters} loss ${info.loss.toFixed(3)}`;
        Deno.stderr.writeSync(new TextEncoder().encode(`\r${line.padEnd(70)}`));
      }
    },
    onTrial: (r: TrialResult, skipped) => {
      const what = r.status === "completed"
        ? `val ${r.finalValLoss.toFixed(4)}, ${r.msPerStep.toFixed(1)} ms/step`
        : `diverged at step ${r.divergedAt}`;
      console.error(
        `\r${
          `${r.activation} seed ${r.seed}: ${what}${skipped ? " (saved earlier)" : ""}`.padEnd(70)
        }`,
      );
    },
  });
  console.log(markdown(result));
  const page = await writeSweepReport(out, result.trials, result.summary, result.settings);
  const summaryFile = `summary${shard ? `.shard${shard.index}of${shard.count}` : ""}.csv`;
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  console.error(
    `\n${result.trials.length} trials in ${seconds} s; results in ${out}/ ` +
      `(${summaryFile}, trials/, ${page.slice(out.length + 1)})`,
  );
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
  notes: "Sized by default to finish in about 10 minutes on a 2-core CPU. Shards: --shard i/n, " +
    "or SLURM_ARRAY_TASK_ID/COUNT (offset by SLURM_ARRAY_TASK_MIN), or Kubernetes' " +
    "JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT; join them with deno task sweep merge.",
}, run);

if (import.meta.main) await runMain(sweepCli);
