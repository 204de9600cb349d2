/**
 * The HTML report of a sweep: the convergence table, the final losses with confidence intervals,
 * the validation loss curves against steps, training FLOPs and wall-clock, and the equal-compute
 * view, as one offline page (plotly.js copied beside it once); and the page of a grid of sweeps
 * over learning rates and step budgets.
 *
 * This is wiring for the command line, like a notebook cell: the one file of `lib/experiments`
 * that uses `lib/display`. The sweep itself returns plain data.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type { Displayable } from "../display/display.ts";
import { JUPYTER_DISPLAY } from "../display/display.ts";
import { intervalChart, lossCurves } from "../display/figures.ts";
import { plotlyScriptPath } from "../display/static_image.ts";
import { convergenceTable, table } from "../display/table.ts";
import { notebookToHtml } from "../notebook/html.ts";
import type { Cell, Notebook } from "../notebook/nbformat.ts";
import type { SweepSettings, TrialResult } from "../experiments/sweep.ts";
import { summarizeTrials } from "../experiments/sweep.ts";
import {
  type CurvePoint,
  equalComputeTable,
  trialCurves,
  trialFlopsPerStep,
} from "../experiments/compute.ts";
import {
  bestLearningRates,
  type GridCellTrials,
  gridTable,
  trialsAtBestLr,
} from "../experiments/grid.ts";
import { writeTextAtomic } from "../core/fs.ts";
import type * as aq from "arquero";

function markdownCell(text: string): Cell {
  return { cell_type: "markdown", metadata: {}, source: text };
}

/** `digits` significant digits as text; exponent form below 10⁻³; "—" when not finite. */
function sig(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return "—";
  return Math.abs(x) >= 1e-3 || x === 0
    ? String(Number(x.toPrecision(digits)))
    : x.toExponential(1);
}

/** A loss with three decimals (a thousandth of a nat is what sweeps resolve); "—" when unknown. */
function loss3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : "—";
}

function signed(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(3)}` : "—";
}

/**
 * The sweep's summary as the report shows it: eight columns with short headers and units that
 * fit a page, instead of the fifteen raw fields (which stay in the summary CSV).
 */
function summaryRows(summary: aq.ColumnTable): Record<string, unknown>[] {
  const rows = summary.objects() as Record<string, unknown>[];
  const first = rows[0] ?? {};
  const baseline = String(first.baseline ?? "baseline");
  const target = Number(first.target_loss);
  const stepsHeader = Number.isFinite(target)
    ? `steps to ≤ ${loss3(target)} (runs)`
    : "steps to target (runs)";
  return rows.map((r) => {
    const n = Number(r.n), diverged = Number(r.diverged), unstable = Number(r.unstable);
    const runs = [`${n}/${n + diverged}`];
    if (unstable > 0) runs.push(`${unstable} unstable`);
    const reached = Number(r.reached_target);
    const steps = Number(r.steps_to_target);
    return {
      activation: r.activation,
      "runs (done/all)": runs.join(", "),
      "val loss, nats/char (95% CI)": `${loss3(Number(r.val_loss_mean))} ` +
        `[${loss3(Number(r.ci95_low))}, ${loss3(Number(r.ci95_high))}]`,
      [`Δ vs ${baseline}, nats/char (95% CI)`]: r.activation === baseline
        ? "baseline"
        : `${signed(Number(r.diff_mean))} [${signed(Number(r.diff_ci95_low))}, ${
          signed(Number(r.diff_ci95_high))
        }]`,
      "p (paired / Holm)": r.activation === baseline
        ? "—"
        : `${sig(Number(r.p_paired), 2)} / ${sig(Number(r.p_holm), 2)}`,
      [stepsHeader]: `${Number.isFinite(steps) ? Math.round(steps) : "—"} (${reached}/${n})`,
      "ms/step": sig(Number(r.ms_per_step), 3),
      params: Number.isFinite(Number(r.params)) ? Number(r.params).toLocaleString("en-US") : "—",
    };
  });
}

function outputCell(title: string, shown: Displayable): Cell {
  return {
    cell_type: "code",
    metadata: {},
    source: `// ${title}`,
    execution_count: null,
    outputs: [{ output_type: "display_data", data: shown[JUPYTER_DISPLAY](), metadata: {} }],
  };
}

/** FLOPs in engineering form with the unit, e.g. "7.93 TFLOP"; "—" when unknown. */
function flopsText(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const units: [number, string][] = [[1e15, "PFLOP"], [1e12, "TFLOP"], [1e9, "GFLOP"]];
  const [scale, unit] = units.find(([u]) => x >= u) ?? [1e6, "MFLOP"];
  return `${(x / scale).toPrecision(3)} ${unit}`;
}

/**
 * Curve rows with the wall-clock axis averaged over seeds at each evaluation (`seconds_mean`), so
 * the seeds of an activation share their x values as the curves' mean and band need.
 */
function withMeanSeconds(rows: readonly CurvePoint[]): (CurvePoint & { seconds_mean: number })[] {
  const sums = new Map<string, { s: number; n: number }>();
  const key = (r: CurvePoint) => `${r.activation}\u0000${r.step}`;
  for (const r of rows) {
    const a = sums.get(key(r)) ?? { s: 0, n: 0 };
    sums.set(key(r), { s: a.s + r.seconds, n: a.n + 1 });
  }
  return rows.map((r) => {
    const a = sums.get(key(r))!;
    return { ...r, seconds_mean: a.s / a.n };
  });
}

/** The figures of validation loss against training FLOPs and against wall-clock seconds. */
function costCells(rows: readonly CurvePoint[]): Cell[] {
  const cells: Cell[] = [];
  if (rows.length > 0 && rows.every((r) => Number.isFinite(r.flops))) {
    cells.push(outputCell(
      "validation loss against training FLOPs",
      lossCurves(rows, {
        x: "flops",
        band: "ci95",
        title: "Validation loss against training compute (mean and 95% CI over seeds)",
        xTitle: "training FLOPs (forward + backward matrix products)",
        yTitle: "validation loss",
      }),
    ));
  }
  if (rows.length > 0) {
    cells.push(outputCell(
      "validation loss against wall-clock",
      lossCurves(withMeanSeconds(rows), {
        x: "seconds_mean",
        band: "ci95",
        title: "Validation loss against wall-clock (mean over seeds)",
        xTitle: "seconds since training started (s, evaluations included; mean over seeds)",
        yTitle: "validation loss",
      }),
    ));
  }
  return cells;
}

/** The equal-compute view as a table that fits the page: loss at one FLOP budget, and at the end. */
function equalComputeRows(t: aq.ColumnTable): Record<string, unknown>[] {
  return (t.objects() as Record<string, number | string>[]).map((r) => ({
    activation: r.activation,
    "FLOPs/step": flopsText(Number(r.flops_per_step)),
    "steps at budget": Number.isFinite(Number(r.steps_at_budget))
      ? Math.round(Number(r.steps_at_budget)).toLocaleString("en-US")
      : "—",
    "val loss at budget, nats/char (95% CI)": `${loss3(Number(r.loss_at_budget_mean))} ` +
      `[${loss3(Number(r.loss_at_budget_ci95_low))}, ${loss3(Number(r.loss_at_budget_ci95_high))}]`,
    "final step": r.final_steps,
    "final val loss, nats/char (95% CI)": `${loss3(Number(r.final_loss_mean))} ` +
      `[${loss3(Number(r.final_loss_ci95_low))}, ${loss3(Number(r.final_loss_ci95_high))}]`,
  }));
}

/** The caption of the equal-compute table. */
function equalComputeCaption(t: aq.ColumnTable): string {
  const budget = Number((t.objects()[0] as { budget_flops?: number } | undefined)?.budget_flops);
  return `Equal compute: validation loss of each activation at ${flopsText(budget)} of training ` +
    `(the smallest total of any trial), each seed's curve interpolated linearly between its ` +
    `evaluations at the step where it has spent that much, next to the final loss at equal ` +
    `steps. FLOPs count the forward and backward matrix products (attention included); ` +
    `elementwise work (the activation itself, LayerNorm, softmax) and the optimizer are not ` +
    `counted. Intermediate evaluations are sampled batches; the final one may be the whole ` +
    `validation split, so an interpolated value mixes the two.`;
}

/**
 * Writes `<out>/report.html` for a sweep's trials and summary, with plotly.js beside it.
 * Returns the page's path.
 *
 * @example
 * ```ts ignore
 * import { sweep } from "@actlab/actlab";
 * import { writeSweepReport } from "@actlab/actlab/report";
 * const r = await sweep(data, { out: "results/sweep" });
 * await writeSweepReport("results/sweep", r.trials, r.summary, r.settings);
 * ```
 */
export async function writeSweepReport(
  out: string,
  trials: readonly TrialResult[],
  summary: aq.ColumnTable,
  settings: SweepSettings,
): Promise<string> {
  const done = trials.filter((t) => t.status === "completed");
  const finals = done.map((t) => ({ activation: t.activation, loss: t.finalValLoss }));
  const curves = done.flatMap((t) =>
    t.evals.map((e) => ({ activation: t.activation, seed: t.seed, step: e.iter, loss: e.valLoss }))
  );
  const seeds = new Set(trials.map((t) => t.seed)).size;
  const flopsPerStep = (t: TrialResult) => trialFlopsPerStep(t, settings);
  const costRows = trialCurves(done, { flopsPerStep });
  const cells: Cell[] = [
    markdownCell(
      `# Activation sweep\n\n${new Set(trials.map((t) => t.activation)).size} activations × ` +
        `${seeds} seeds on the mini-GPT, preset \`${settings.preset}\`, ` +
        `${settings.iters ?? "preset"} iterations, dataset ${settings.dataset} ` +
        `(settings key ${settings.key}). ${trials.length - done.length} diverged trials.`,
    ),
  ];
  if (done.length > 0) {
    cells.push(
      outputCell(
        "final validation loss, mean ± 95% CI",
        convergenceTable(finals, {
          caption: "Final validation loss in nats/char (mean ± 95% CI over seeds)",
        }),
      ),
      outputCell(
        "final validation loss with 95% CIs",
        intervalChart(finals, {
          value: "loss",
          title: "Final validation loss (95% CI)",
          yTitle: "final validation loss",
        }),
      ),
      outputCell(
        "validation loss curves",
        lossCurves(curves, {
          band: "ci95",
          title: "Validation loss (mean and 95% CI over seeds)",
          yTitle: "validation loss",
        }),
      ),
      ...costCells(costRows),
    );
    if (done.every((t) => Number.isFinite(flopsPerStep(t)))) {
      const equal = equalComputeTable(done, { flopsPerStep });
      cells.push(outputCell(
        "equal compute",
        table(equalComputeRows(equal), { caption: equalComputeCaption(equal) }),
      ));
    }
  }
  const baseline = String((summary.objects()[0] as { baseline?: unknown } | undefined)?.baseline);
  cells.push(outputCell(
    "summary",
    table(summaryRows(summary), {
      caption: `Summary per activation. Δ: mean per-seed difference of the final validation ` +
        `loss from ${baseline} (negative = lower), paired by seed; p: paired t-test, and Holm-` +
        `adjusted across the activations; steps to the target loss (the worst mean final loss), ` +
        `averaged over the runs that reached it. Every field (Welch's unpaired p, the minimum ` +
        `detectable difference, eval tokens) is in the summary CSV beside this page.`,
    }),
  ));
  return await writePage(`${out}/report.html`, cells, "Activation sweep");
}

/** Writes the cells as an offline page, with plotly.js copied beside it once. */
async function writePage(page: string, cells: Cell[], title: string): Promise<string> {
  const out = dirname(page);
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells };
  const lib = plotlyScriptPath();
  const file = basename(lib);
  const target = `${out}/${file}`;
  const size = (await Deno.stat(lib)).size;
  if (await Deno.stat(target).then((s) => s.size !== size, () => true)) {
    await writeTextAtomic(target, await Deno.readTextFile(lib));
  }
  await writeTextAtomic(page, notebookToHtml(nb, { plotly: { src: file }, title }));
  return page;
}

/** The cells' trials with each trial's FLOPs per step read through its own cell's settings. */
function gridFlops(cells: readonly GridCellTrials[]): (t: TrialResult) => number {
  const of = new Map<TrialResult, SweepSettings>();
  for (const c of cells) for (const t of c.result.trials) of.set(t, c.result.settings);
  return (t) => {
    const s = of.get(t);
    return s ? trialFlopsPerStep(t, s) : t.flopsPerStep ?? NaN;
  };
}

/**
 * Writes `<out>/grid.html` for a grid of sweeps (`sweepGrid`'s cells): each activation's best
 * learning rate per budget, the full grid, the final loss against the learning rate, and with
 * several budgets the loss at the best rate against steps, training FLOPs and wall-clock; then,
 * at the best rates for budget `iters` (default the largest), the equal-compute view and the
 * paired comparisons — whose rates were chosen on the same trials, as the page says.
 *
 * @example
 * ```ts ignore
 * import { sweepGrid } from "@actlab/actlab";
 * import { writeGridReport } from "@actlab/actlab/report";
 * const grid = await sweepGrid(data, { lrs: [3e-4, 3e-3], iters: 2000, out: "results/grid" });
 * await writeGridReport("results/grid", grid.cells, { iters: 2000 });
 * ```
 */
export async function writeGridReport(
  out: string,
  cells: readonly GridCellTrials[],
  options: { iters?: number } = {},
): Promise<string> {
  const budgets = [...new Set(cells.map((c) => c.iters))].sort((a, b) => a - b);
  const lrs = [...new Set(cells.map((c) => c.lr))].sort((a, b) => a - b);
  const iters = options.iters ?? budgets[budgets.length - 1];
  const flopsPerStep = gridFlops(cells);
  const best = bestLearningRates(cells).objects() as Record<string, number | string | boolean>[];
  const full = gridTable(cells).objects() as Record<string, number | string | boolean>[];
  const activations = [...new Set(full.map((r) => String(r.activation)))];
  const ci = (r: Record<string, unknown>) =>
    `${loss3(Number(r.val_loss_mean))} [${loss3(Number(r.ci95_low))}, ${
      loss3(Number(r.ci95_high))
    }]`;
  const page: Cell[] = [
    markdownCell(
      `# Learning rates × step budgets\n\n${activations.length} activations; learning rates ` +
        `${lrs.join(", ")}; budgets ${budgets.join(", ")} steps. Each cell is an ordinary sweep ` +
        `in a sub-folder of this one (\`lr=…\`, \`iters=…\`); the base cell is this folder. ` +
        `The best rates are chosen on the same trials they are reported with, so their means are ` +
        `optimistic (biased low) and the paired tests at the best rates do not account for the ` +
        `choice: confirm a difference with fresh seeds.`,
    ),
    outputCell(
      "best learning rate per activation and budget",
      table(
        best.map((r) => ({
          activation: r.activation,
          steps: r.iters,
          "best lr": `${r.best_lr}${r.at_edge ? " (edge)" : ""}`,
          "lrs tried": String(r.lrs).replaceAll(";", ", "),
          n: r.n,
          "val loss, nats/char (95% CI)": ci(r),
          "training FLOPs": flopsText(Number(r.train_flops)),
          "wall-clock, s": sig(Number(r.wall_s), 3),
        })),
        {
          caption: "Each activation at its best learning rate: the lowest mean final validation " +
            "loss over seeds at that budget (a rate where any seed diverged never wins). (edge): " +
            "the best is the lowest or highest rate tried, so the optimum may lie outside the " +
            "grid. Training FLOPs per trial: forward and backward matrix products; wall-clock: " +
            "mean seconds per trial, evaluations included.",
        },
      ),
    ),
    outputCell(
      "the full grid",
      table(
        full.map((r) => ({
          activation: r.activation,
          lr: r.lr,
          steps: r.iters,
          "runs (done/all)": `${r.n}/${Number(r.n) + Number(r.diverged)}`,
          "val loss, nats/char (95% CI)": `${ci(r)}${r.best ? " ★" : ""}`,
          "training FLOPs": flopsText(Number(r.train_flops)),
          "wall-clock, s": sig(Number(r.wall_s), 3),
        })),
        { caption: "Every cell: final validation loss, mean over seeds (95% CI); ★ best rate." },
      ),
    ),
  ];
  const finals = (keep: (c: GridCellTrials) => boolean, x: (c: GridCellTrials) => number) =>
    cells.filter(keep).flatMap((c) =>
      c.result.trials.filter((t) => t.status === "completed").map((t) => ({
        activation: t.activation,
        seed: t.seed,
        x: x(c),
        loss: t.finalValLoss,
      }))
    );
  if (lrs.length > 1) {
    page.push(outputCell(
      "final loss against the learning rate",
      lossCurves(finals((c) => c.iters === iters, (c) => Math.log10(c.lr)), {
        x: "x",
        band: "ci95",
        zoom: false,
        title: `Final validation loss against the learning rate, ${iters} steps`,
        xTitle: "log₁₀ peak learning rate",
        yTitle: "final validation loss",
      }),
    ));
  }
  if (budgets.length > 1) {
    const bestCell = new Map(best.map((r) => [`${r.activation}\u0000${r.iters}`, r.best_lr]));
    const atBest = (c: GridCellTrials) =>
      [...bestCell].some(([k, lr]) => lr === c.lr && k.endsWith(`\u0000${c.iters}`));
    const rows = cells.filter(atBest).flatMap((c) =>
      c.result.trials.filter((t) =>
        t.status === "completed" && bestCell.get(`${t.activation}\u0000${c.iters}`) === c.lr
      ).map((t) => ({ cell: c, t }))
    );
    const wall = new Map<string, number[]>();
    for (const { cell, t } of rows) {
      const k = `${t.activation}\u0000${cell.iters}`;
      wall.set(k, [...(wall.get(k) ?? []), t.wallS]);
    }
    const points = rows.map(({ cell, t }) => {
      const w = wall.get(`${t.activation}\u0000${cell.iters}`)!;
      return {
        activation: t.activation,
        seed: t.seed,
        step: cell.iters,
        flops: cell.iters * flopsPerStep(t),
        seconds: w.reduce((a, b) => a + b, 0) / w.length,
        loss: t.finalValLoss,
      };
    });
    const axes: [string, string, string][] = [
      ["step", "training steps (the budget; cosine decay fitted to it)", "steps"],
      ["flops", "training FLOPs (forward + backward matrix products)", "training FLOPs"],
      ["seconds", "wall-clock per trial (s, evaluations included; mean over seeds)", "wall-clock"],
    ];
    for (const [x, xTitle, what] of axes) {
      if (!points.every((p) => Number.isFinite(p[x as "step"]))) continue;
      page.push(outputCell(
        `final loss at the best rate against ${what}`,
        lossCurves(points, {
          x,
          band: "ci95",
          zoom: false,
          title: `Final validation loss at each budget's best rate against ${what}`,
          xTitle,
          yTitle: "final validation loss",
        }),
      ));
    }
  }
  const chosen = trialsAtBestLr(cells, { iters }).filter((t) => t.status === "completed");
  if (chosen.length > 0) {
    if (chosen.every((t) => Number.isFinite(flopsPerStep(t)))) {
      const equal = equalComputeTable(chosen, { flopsPerStep });
      page.push(outputCell(
        "equal compute at the best rates",
        table(equalComputeRows(equal), {
          caption: `At each activation's best rate for ${iters} steps. ${
            equalComputeCaption(equal)
          }`,
        }),
      ));
    }
    const summary = summarizeTrials(trialsAtBestLr(cells, { iters }), { activations });
    const baseline = String((summary.objects()[0] as { baseline?: unknown } | undefined)?.baseline);
    page.push(outputCell(
      "paired comparisons at the best rates",
      table(summaryRows(summary), {
        caption:
          `At each activation's best learning rate for ${iters} steps: Δ, the mean per-seed ` +
          `difference of the final validation loss from ${baseline} (negative = lower), paired ` +
          `by seed; p: paired t-test, and Holm-adjusted across the activations. The rates were ` +
          `chosen on these same trials, which these tests do not account for.`,
      }),
    ));
  }
  return await writePage(`${out}/grid.html`, page, "Learning rates × step budgets");
}
