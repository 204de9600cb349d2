/**
 * `deno task sweep`: the activation sweep on the mini-GPT, from the command line.
 *
 *   deno task sweep [--activations relu,gelu,swiglu,relu2] [--seeds 2] [--preset nano]
 *                   [--iters 800] [--eval-every 200] [--eval-iters 10] [--out results/sweep]
 *                   [--shard i/n] [--engine ort|tfjs] [--backend wasm] [--threads 1] [--data DIR]
 *   deno task sweep merge DIR… [--out DIR]
 *
 * Writes `<out>/trials/*.json` (one per finished trial) and `<out>/trials.jsonl`, `<out>/summary.csv`, `<out>/report.html`
 * (convergence table, CIs, loss curves; plotly.js beside it) and prints the convergence table. Shards come from `--shard`, SLURM_ARRAY_TASK_ID/COUNT or Kubernetes'
 * JOB_COMPLETION_INDEX (+ ACTLAB_SHARD_COUNT).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { type BackendChoice, initEngine } from "../lib/engine/tfjs.ts";
import type { PresetName } from "../lib/gpt/config.ts";
import { writeSweepReport } from "../lib/report/sweep_report.ts";
import {
  mergeSweeps,
  parseShard,
  sweep,
  type SweepResult,
  type TrialResult,
} from "../lib/experiments/sweep.ts";
import { writeTextAtomic } from "../lib/core/fs.ts";

/** Defaults of `deno task sweep`: sized to finish in about 10 minutes on a 2-core CPU. */
export const SWEEP_DEFAULTS = {
  activations: ["relu", "gelu", "swiglu", "relu2"],
  seeds: 2,
  preset: "nano" as PresetName,
  iters: 800,
  evalEvery: 200,
  evalIters: 10,
  engine: "ort" as "ort" | "tfjs",
  out: "results/sweep",
};

const USAGE = `usage: deno task sweep [--activations a,b,…] [--seeds N] [--preset nano|tiny]
                       [--iters N] [--eval-every N] [--eval-iters N] [--out DIR]
                       [--shard i/n] [--engine ort|tfjs] [--backend auto|wasm|cpu|webgpu|tensorflow]
                       [--threads N] [--data DIR]
       deno task sweep merge DIR… [--out DIR]`;

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

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      activations: { type: "string" },
      seeds: { type: "string" },
      preset: { type: "string" },
      iters: { type: "string" },
      "eval-every": { type: "string" },
      "eval-iters": { type: "string" },
      out: { type: "string" },
      shard: { type: "string" },
      backend: { type: "string", default: "auto" },
      engine: { type: "string" },
      threads: { type: "string" },
      data: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals[0] === "merge") {
    const dirs = positionals.slice(1);
    const merged = await mergeSweeps(dirs);
    console.log(markdown(merged));
    const out = values.out ?? dirs[0];
    await Deno.mkdir(out, { recursive: true });
    await writeTextAtomic(`${out}/summary.merged.csv`, merged.summary.toCSV());
    const page = await writeSweepReport(out, merged.trials, merged.summary, merged.settings);
    console.error(`merged ${merged.trials.length} trials → ${out}/summary.merged.csv, ${page}`);
    return 0;
  }
  if (positionals.length > 0) {
    console.error(`unknown argument '${positionals[0]}'\n${USAGE}`);
    return 2;
  }
  const int = (name: string, v: string | undefined, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`--${name} must be a whole number, got '${v}'.`);
    }
    return n;
  };
  const preset = (values.preset ?? SWEEP_DEFAULTS.preset) as PresetName;
  if (preset !== "nano" && preset !== "tiny") {
    throw new Error(`--preset must be nano or tiny, got '${preset}'.`);
  }
  const engine = await initEngine({ backend: values.backend as BackendChoice });
  const data = await loadTinyShakespeare(values.data ? { dir: values.data } : {});
  const out = values.out ?? SWEEP_DEFAULTS.out;
  const shard = parseShard(values.shard);
  const opts = {
    activations: values.activations?.split(",").map((s) => s.trim()).filter(Boolean) ??
      SWEEP_DEFAULTS.activations,
    seeds: int("seeds", values.seeds, SWEEP_DEFAULTS.seeds),
    preset,
    iters: int("iters", values.iters, SWEEP_DEFAULTS.iters),
    evalEvery: int("eval-every", values["eval-every"], SWEEP_DEFAULTS.evalEvery),
    evalIters: int("eval-iters", values["eval-iters"], SWEEP_DEFAULTS.evalIters),
    out,
    shard,
    engine: (values.engine ?? SWEEP_DEFAULTS.engine) as "ort" | "tfjs",
    engineOptions: values.threads ? { threads: int("threads", values.threads, 1) } : { threads: 1 },
  };
  if (opts.engine !== "ort" && opts.engine !== "tfjs") {
    throw new Error(`--engine must be ort or tfjs, got '${opts.engine}'.`);
  }
  console.error(
    `sweep: ${opts.activations.length} activations × ${opts.seeds} seeds, ${preset}, ` +
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

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`sweep: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
