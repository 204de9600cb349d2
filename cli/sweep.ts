/**
 * `deno task sweep`: the activation sweep on the mini-GPT, from the command line.
 *
 *   deno task sweep [--activations relu,gelu,swiglu,relu2] [--seeds 2] [--preset nano]
 *                   [--iters 800] [--eval-every 200] [--eval-iters 10] [--out results/sweep]
 *                   [--shard i/n] [--engine ort|tfjs] [--backend wasm] [--threads 1] [--data DIR]
 *                   [--jobs N|auto] [--markdown] [--lrs 3e-4,3e-3] [--budgets 500,1000]
 *   deno task sweep merge DIR… [--out NEW_DIR]
 *
 * Writes `<out>/trials/*.json` (one per finished trial), `<out>/trials.jsonl`,
 * `<out>/summary.csv` and `<out>/report.html` (convergence table, CIs, loss curves; plotly.js
 * beside it) and prints the convergence table. Shards come from `--shard` (0-based),
 * SLURM_ARRAY_TASK_ID/COUNT or Kubernetes' JOB_COMPLETION_INDEX (+ ACTLAB_SHARD_COUNT). Run with
 * `--help` for every flag and its default.
 *
 * With `--lrs` or `--budgets`, a grid of sweeps (`sweepGrid`): each learning rate × step budget is
 * an ordinary sweep in `<out>/lr=…`, `<out>/iters=…` or `<out>/lr=…,iters=…`; the base cell (the
 * preset's lr, `--iters`) is `<out>` itself, so a finished sweep there is reused. Prints the full
 * grid, each activation's best learning rate per budget, and the convergence table at the best
 * rates; writes `<out>/grid.csv`, `<out>/grid_best.csv` and `<out>/grid.html` beside each cell's
 * own files (`summary.csv`, `trials/`; the grid's page stands for each cell's `report.html`).
 *
 * @module
 */
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { getActivation } from "../lib/activations/mod.ts";
import { initEngine } from "../lib/engine/tfjs.ts";
import { writeGridReport, writeSweepReport } from "../lib/report/sweep_report.ts";
import { type GridCell, gridCells, sweepGrid, trialsAtBestLr } from "../lib/experiments/grid.ts";
import {
  mergeSweeps,
  parseShard,
  type Shard,
  summarizeTrials,
  sweep,
  type SweepOptions,
  type SweepResult,
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
  baseline: {
    kind: "string",
    arg: "NAME",
    description: "the activation every other one is compared with, paired by seed (one of " +
      "--activations)",
    defaultText: "gelu when swept, else the first activation",
  },
  lrs: {
    kind: "list",
    arg: "LR,…",
    description: "grid: peak learning rates, each a sweep in <out>/lr=LR (the preset's rate is " +
      "the base cell, <out> itself); final rate = the preset's fraction of the peak",
    defaultText: "only the preset's",
    check: checkLr,
  },
  budgets: {
    kind: "list",
    arg: "N,…",
    description: "grid: step budgets, each a sweep in <out>/iters=N with the cosine decay " +
      "fitted to it (--iters is the base cell, <out> itself)",
    defaultText: "only --iters",
    check: checkBudget,
  },
  data: dataFlag,
} as const;

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

/** Parses `--jobs`: a whole number ≥ 1 or `auto`. */
function checkJobs(flag: string): string | undefined {
  return flag === "auto" || /^[1-9]\d*$/.test(flag)
    ? undefined
    : `--jobs takes a whole number ≥ 1 or auto, got '${flag}'`;
}

/** Rows as an aligned text table (first column left, the rest right) or a markdown table. */
function render(head: string[], rows: string[][], asMarkdown: boolean): string {
  if (asMarkdown) {
    return [
      `| ${head.join(" | ")} |`,
      `|---|${head.slice(1).map(() => "---:").join("|")}|`,
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n");
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A mean ± the half-width of its 95% CI, "–" where unknown. */
function meanCi(r: Record<string, unknown>): string {
  const m = r.val_loss_mean as number, hi = r.ci95_high as number;
  return `${fmt(m)} ± ${fmt(hi - m)}`;
}

/** FLOPs in engineering form with the unit, e.g. "7.93 TFLOP". */
function flopsText(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const units: [number, string][] = [[1e15, "PFLOP"], [1e12, "TFLOP"], [1e9, "GFLOP"]];
  const [scale, unit] = units.find(([u]) => x >= u) ?? [1e6, "MFLOP"];
  return `${(x / scale).toPrecision(3)} ${unit}`;
}

/** The grid's two tables (every cell; the best rates) and what they mean. */
function gridText(
  grid: Awaited<ReturnType<typeof sweepGrid>>,
  evalText: string,
  asMarkdown: boolean,
): string {
  const full = (grid.table.objects() as Record<string, unknown>[]).map((r) => [
    String(r.activation),
    String(r.lr),
    String(r.iters),
    `${r.n}${Number(r.diverged) > 0 ? ` (+${r.diverged} diverged)` : ""}`,
    `${meanCi(r)}${r.best ? " ★" : "  "}`,
    flopsText(r.train_flops as number),
    fmt(r.wall_s, 0),
  ]);
  const best = (grid.best.objects() as Record<string, unknown>[]).map((r) => [
    String(r.activation),
    String(r.iters),
    `${r.best_lr}${r.at_edge ? " (edge)" : ""}`,
    String(r.lrs).replaceAll(";", ", "),
    String(r.n),
    meanCi(r),
    flopsText(r.train_flops as number),
  ]);
  return [
    render(
      ["activation", "lr", "steps", "n", "val loss ± 95% CI", "train FLOPs", "wall s"],
      full,
      asMarkdown,
    ),
    "",
    render(
      ["activation", "steps", "best lr", "lrs tried", "n", "val loss ± 95% CI", "train FLOPs"],
      best,
      asMarkdown,
    ),
    "",
    `val loss: final validation cross-entropy in nats/char on ${evalText}, mean over seeds ± ` +
    "half-width of the 95% Student-t interval. ★ / best lr: the activation's rate with the " +
    "lowest mean at that budget (a rate where any seed diverged never wins); (edge): it is the " +
    "lowest or highest rate tried, so the optimum may lie outside the grid.",
    "train FLOPs: forward and backward matrix-product FLOPs of one trial (per step × steps). " +
    "wall s: mean seconds per trial, evaluations included.",
    "The best rates are chosen on these same trials: their means are optimistic (biased low), " +
    "and the paired tests at the best rates below do not account for the choice. Confirm a " +
    "difference at the chosen rates with fresh seeds.",
  ].join("\n");
}

/** A grid cell as people read it: what it sets, and where it lives. */
function cellLabel(cell: GridCell, out: string): string {
  return `lr ${cell.lr}, ${cell.iters} iters → ${cell.folder ? `${out}/${cell.folder}` : out}`;
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
    baseline: baselineOf(values.baseline, values.activations),
  };
  const isGrid = values.lrs.length > 0 || values.budgets.length > 0;
  const lrs = values.lrs.map(Number), budgets = values.budgets.map(Number);
  let plan: GridCell[];
  try {
    plan = isGrid ? gridCells({ ...opts, lrs, budgets }) : [];
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^sweepGrid: /, ""));
  }
  const engine = await initEngine({ backend: values.backend });
  const data = await loadTinyShakespeare(values.data ? { dir: values.data } : {});
  const perCell = opts.activations.length * opts.seeds;
  const total = perCell * Math.max(1, plan.length);
  const cores = navigator.hardwareConcurrency || 1;
  console.error(
    `sweep: ${opts.activations.length} activations × ${opts.seeds} seeds, ${opts.preset}, ` +
      (isGrid
        ? `${plan.length} cells (lr ${[...new Set(plan.map((c) => c.lr))].join(", ")}; ` +
          `${[...new Set(plan.map((c) => c.iters))].join(", ")} iters)`
        : `${opts.iters} iters`) +
      ", " +
      (opts.engine === "ort"
        ? `compiled ONNX Runtime training (${opts.engineOptions.threads} thread per trial)`
        : `tfjs on ${engine.backend} (${engine.device})`) +
      `, ${jobs === "auto" ? Math.min(perCell, cores) : jobs} at a time` +
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
  let perTrial = opts.iters, cellPrefix = "";
  const stepsTotal = isGrid ? plan.reduce((a, c) => a + c.iters * perCell, 0) : total * perTrial;
  let finished = 0, stepsFinished = 0, stepsNow = 0, stepsDone = 0, lastDraw = 0;
  const isTty = Deno.stderr.isTerminal();
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - lastDraw < (isTty ? 250 : 30_000)) return;
    lastDraw = now;
    const elapsed = (now - t0) / 1000;
    const left = stepsTotal - stepsFinished - stepsNow;
    const eta = stepsDone > 0 ? (left * elapsed) / stepsDone : NaN;
    const trials = [...running.values()].map((r) =>
      `${r.name} ${r.step}/${perTrial} ${Number.isFinite(r.loss) ? r.loss.toFixed(3) : ""}`
    ).join(" | ");
    const line = `[${finished}/${total}] ${cellPrefix}${trials} · ${duration(elapsed)} ` +
      `elapsed, ETA ${duration(eta)}`;
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
  const observers: Pick<
    SweepOptions,
    "signal" | "onNotice" | "onTrialStart" | "onStep" | "onTrial"
  > = {
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
    onTrial: (r, skipped) => {
      finished++;
      stepsFinished += perTrial;
      const slot = slotOf.get(`${r.activation}/${r.seed}`);
      if (slot !== undefined) running.delete(slot);
      stepsNow = [...running.values()].reduce((a, x) => a + x.step, 0);
      const what = r.status === "completed"
        ? `val ${r.finalValLoss.toFixed(4)} nats/char, ${r.msPerStep.toFixed(1)} ms/step` +
          (r.unstable ? ", unstable" : "")
        : `diverged at step ${r.divergedAt}`;
      say(
        `${cellPrefix}${r.activation} seed ${r.seed}: ${what}${skipped ? " (saved earlier)" : ""}`,
      );
    },
  };
  let result: SweepResult;
  let grid: Awaited<ReturnType<typeof sweepGrid>> | undefined;
  try {
    if (isGrid) {
      grid = await sweepGrid(data, {
        ...opts,
        lrs,
        budgets,
        ...observers,
        onCell: (cell, k, n) => {
          perTrial = cell.iters;
          cellPrefix = `[${cell.folder || "base"}] `;
          say(`cell ${k + 1}/${n}: ${cellLabel(cell, out)}`);
        },
      });
      const base = grid.cells.find((c) => c.folder === "") ?? grid.cells[0];
      if (!base) {
        console.error("interrupted before the first cell: re-run the same command to start.");
        return 130;
      }
      result = base.result;
    } else result = await sweep(data, { ...opts, ...observers });
  } finally {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (grid) {
    const evalText = result.settings.finalEval === "split"
      ? "the whole validation split"
      : `${result.settings.evalIters ?? "the preset's"} sampled batches`;
    console.log(gridText(grid, evalText, values.markdown));
    const atBest = trialsAtBestLr(grid.cells, { iters: opts.iters });
    if (atBest.length > 0) {
      const summary = summarizeTrials(atBest, {
        activations: [...new Set(atBest.map((t) => t.activation))],
        baseline: opts.baseline,
      });
      const shown = { summary, settings: result.settings };
      console.log(`\nAt each activation's best learning rate, ${opts.iters} steps:\n`);
      console.log(values.markdown ? markdown(shown) : textTable(shown));
    }
    const page = await writeGridReport(out, grid.cells, { iters: opts.iters });
    const trials = grid.cells.reduce((a, c) => a + c.result.trials.length, 0);
    console.error(
      `\n${trials} of ${total} trials in ${grid.cells.length} of ${plan.length} cells in ` +
        `${duration(seconds)}; results in ${out}/ (grid.csv, grid_best.csv, ` +
        `${page.slice(out.length + 1)}; each cell's summary.csv and trials/)`,
    );
    if (grid.interrupted) {
      const lost = grid.cells.at(-1)?.result.discarded.map((t) => `${t.activation} seed ${t.seed}`)
        .join(", ");
      console.error(
        `interrupted: ${lost ? `discarded ${lost}; ` : ""}re-run the same command to resume.`,
      );
      return 130;
    }
    return 0;
  }
  console.log(values.markdown ? markdown(result) : textTable(result));
  const page = await writeSweepReport(out, result.trials, result.summary, result.settings);
  const summaryFile = `summary${shard ? `.shard${shard.index}of${shard.count}` : ""}.csv`;
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
    "convergence table (mean final val loss ± 95% CI on the whole validation split; against the " +
    "baseline, paired by seed: the mean difference with its 95% CI, paired t-test, Holm, MDD80; " +
    "steps to target) " +
    "and writes <out>/trials/*.json (one per finished trial; a re-run resumes), " +
    "<out>/trials.jsonl, <out>/summary.csv and <out>/report.html (plotly.js beside it).",
  flags: FLAGS,
  commands: { merge },
  notes: "Sized by default to finish in about 4 minutes on a 2-core CPU. Grids: --lrs and " +
    "--budgets make every learning rate × step budget a sweep of its own in a sub-folder of " +
    "--out (lr=…, iters=…); the base cell (the preset's lr, --iters) is --out itself, so an " +
    "existing sweep there is reused. Shards: --shard i/n, " +
    "or SLURM_ARRAY_TASK_ID/COUNT (offset by SLURM_ARRAY_TASK_MIN), or Kubernetes' " +
    "JOB_COMPLETION_INDEX with ACTLAB_SHARD_COUNT; join them with deno task sweep merge.",
}, run);

if (import.meta.main) await runMain(sweepCli);
