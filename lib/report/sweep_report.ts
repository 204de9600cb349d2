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
import { gridTables, sweepTable } from "../display/sweep_table.ts";
import { table } from "../display/table.ts";
import { notebookToHtml } from "../notebook/html.ts";
import type { Cell, Notebook } from "../notebook/nbformat.ts";
import type { SweepSettings, TrialResult } from "../sweep/record.ts";
import { summarizeTrials, type SummaryRow } from "../sweep/summary.ts";
import { flopsText, loss3, lossUnit } from "../sweep/format.ts";
import { type CurvePoint, equalComputeTable, trialCurves } from "../experiments/compute.ts";
import { trialFlopsPerStep } from "../sweep/cost.ts";
import {
  bestLearningRates,
  type GridCellTrials,
  gridTable,
  trialsAtBestLrByGroup,
} from "../sweep/grid.ts";
import { writeTextAtomic } from "../core/fs.ts";
import type * as aq from "arquero";

function markdownCell(text: string): Cell {
  return { cell_type: "markdown", metadata: {}, source: text };
}

/** A cell that holds only an output (no code: the page shows the output alone). */
function outputCell(shown: Displayable): Cell {
  return {
    cell_type: "code",
    metadata: {},
    source: "",
    execution_count: null,
    outputs: [{ output_type: "display_data", data: shown[JUPYTER_DISPLAY](), metadata: {} }],
  };
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
function costCells(rows: readonly CurvePoint[], unit: string): Cell[] {
  const cells: Cell[] = [];
  if (rows.length > 0 && rows.every((r) => Number.isFinite(r.flops))) {
    cells.push(
      markdownCell("## Against training compute"),
      outputCell(
        lossCurves(rows, {
          x: "flops",
          band: "ci95",
          title: "Validation loss against training compute (mean and 95% CI over seeds)",
          xTitle: "training FLOPs (forward + backward matrix products)",
          yTitle: `validation loss (${unit})`,
        }),
      ),
    );
  }
  if (rows.length > 0) {
    cells.push(
      markdownCell("## Against wall-clock"),
      outputCell(
        lossCurves(withMeanSeconds(rows), {
          x: "seconds_mean",
          band: "ci95",
          title: "Validation loss against wall-clock (mean over seeds)",
          xTitle: "seconds since training started (s, evaluations included; mean over seeds)",
          yTitle: `validation loss (${unit})`,
        }),
      ),
    );
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

/** Options of {@link writeSweepReport}. */
export interface SweepReportOptions {
  /** Listed trials not finished yet: the page says it is partial. */
  readonly missing?: number;
}

/**
 * Writes `<out>/report.html` for a sweep's trials and summary, with plotly.js beside it: the
 * summary table (the same cells as the terminal's), the final losses with their intervals, the
 * validation curves against steps, FLOPs and wall-clock, and the equal-compute view. A sweep with
 * listed trials still missing is marked partial at the top. Returns the page's path.
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
  summary: readonly SummaryRow[],
  settings: SweepSettings,
  options: SweepReportOptions = {},
): Promise<string> {
  const unit = lossUnit(settings);
  const done = trials.filter((t) => t.status === "completed");
  const finals = done.map((t) => ({ activation: t.activation, loss: t.finalValLoss }));
  const curves = done.flatMap((t) =>
    t.evals.map((e) => ({ activation: t.activation, seed: t.seed, step: e.iter, loss: e.valLoss }))
  );
  const seeds = new Set(trials.map((t) => t.seed)).size;
  const flopsPerStep = (t: TrialResult) => trialFlopsPerStep(t, settings);
  const costRows = trialCurves(done, { flopsPerStep });
  const partial = options.missing
    ? `\n\n**Partial:** ${options.missing} listed trial(s) have not finished; every table and ` +
      `figure below covers the finished ones only. Re-run the sweep to complete it.`
    : "";
  const cells: Cell[] = [
    markdownCell(
      `# Activation sweep\n\n${new Set(trials.map((t) => t.activation)).size} activations × ` +
        `${seeds} seeds on the mini-GPT, preset \`${settings.preset}\`, ` +
        `${settings.iters ?? "the preset's"} steps, dataset ${settings.dataset}, ` +
        `${settings.engine} on ${settings.device} (settings key ${settings.key}). ` +
        `${trials.length - done.length} diverged trials.${partial}`,
    ),
    markdownCell("## Summary"),
    outputCell(sweepTable(summary, { unit })),
  ];
  if (done.length > 0) {
    cells.push(
      markdownCell("## Final validation loss"),
      outputCell(intervalChart(finals, {
        value: "loss",
        title: "Final validation loss (mean and 95% CI over seeds)",
        yTitle: `final validation loss (${unit})`,
      })),
      markdownCell("## Validation loss during training"),
      outputCell(lossCurves(curves, {
        band: "ci95",
        title: "Validation loss (mean and 95% CI over seeds)",
        yTitle: `validation loss (${unit})`,
      })),
      ...costCells(costRows, unit),
    );
    if (done.every((t) => Number.isFinite(flopsPerStep(t)))) {
      const equal = equalComputeTable(done, { flopsPerStep });
      cells.push(
        markdownCell("## Equal compute"),
        outputCell(table(equalComputeRows(equal), { caption: equalComputeCaption(equal) })),
      );
    }
  }
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

/** The grid page's heading: what the grid varies, and the caveat about choosing on the same trials. */
function gridHeading(cells: readonly GridCellTrials[], activations: readonly string[]): Cell {
  const axes = [...new Set(cells.flatMap((c) => Object.keys(c.point ?? {})))];
  const values = (name: string) =>
    [
      ...new Set(
        cells.map((c) => name === "lr" ? c.lr : name === "iters" ? c.iters : c.point?.[name]),
      ),
    ]
      .sort((a, b) => Number(a) - Number(b)).join(", ");
  const varied = (axes.length ? axes : ["lr", "iters"]).map((n) => `${n} ${values(n)}`).join("; ");
  return markdownCell(
    `# Grid: ${varied}\n\n${activations.length} activations (${activations.join(", ")}). ` +
      `Each cell is an ordinary sweep in a sub-folder of this one (named after what it changes); ` +
      `the base cell is this folder. The best learning rates are chosen on the same trials they ` +
      `are reported with, so their means are optimistic (biased low) and the paired tests at the ` +
      `best rates do not account for the choice: confirm a difference on fresh seeds (a study's ` +
      `confirmation stage).`,
  );
}

/** The final loss against the learning rate at one budget, one curve per activation. */
function lrFigure(cells: readonly GridCellTrials[], iters: number, unit: string): Cell[] {
  const rows = cells.filter((c) => c.iters === iters).flatMap((c) =>
    c.result.trials.filter((t) => t.status === "completed").map((t) => ({
      activation: t.activation,
      seed: t.seed,
      x: c.lr,
      loss: t.finalValLoss,
    }))
  );
  if (new Set(rows.map((r) => r.x)).size < 2) return [];
  return [
    markdownCell("## Final loss against the learning rate"),
    outputCell(lossCurves(rows, {
      x: "x",
      logX: true,
      band: "ci95",
      zoom: false,
      title: `Final validation loss against the peak learning rate, ${iters} steps`,
      xTitle: "peak learning rate",
      yTitle: `final validation loss (${unit})`,
    })),
  ];
}

/** With several budgets: the final loss at each budget's best rate against steps, FLOPs, seconds. */
function budgetFigures(
  cells: readonly GridCellTrials[],
  best: readonly Record<string, unknown>[],
  flopsPerStep: (t: TrialResult) => number,
  unit: string,
): Cell[] {
  if (new Set(cells.map((c) => c.iters)).size < 2) return [];
  const bestCell = new Map(best.map((r) => [`${r.activation}\u0000${r.iters}`, r.best_lr]));
  const rows = cells.flatMap((c) =>
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
  return axes.filter(([x]) => points.every((p) => Number.isFinite(p[x as "step"]))).flatMap((
    [x, xTitle, what],
  ) => [
    markdownCell(`## Final loss at the best rate against ${what}`),
    outputCell(lossCurves(points, {
      x,
      band: "ci95",
      zoom: false,
      title: `Final validation loss at each budget's best rate against ${what}`,
      xTitle,
      yTitle: `final validation loss (${unit})`,
    })),
  ]);
}

/** At the best rates for one budget: the equal-compute view and the paired comparisons. */
function atBestCells(
  cells: readonly GridCellTrials[],
  iters: number,
  activations: readonly string[],
  flopsPerStep: (t: TrialResult) => number,
): Cell[] {
  const out: Cell[] = [];
  for (const group of trialsAtBestLrByGroup(cells, { iters })) {
    const chosen = group.trials.filter((t) => t.status === "completed");
    if (chosen.length === 0) continue;
    const at = Object.entries(group.where).map(([n, v]) => `${n} = ${v}, `).join("");
    if (chosen.every((t) => Number.isFinite(flopsPerStep(t)))) {
      const equal = equalComputeTable(chosen, { flopsPerStep });
      out.push(
        markdownCell(`## Equal compute at the best rates (${at}${iters} steps)`),
        outputCell(table(equalComputeRows(equal), { caption: equalComputeCaption(equal) })),
      );
    }
    const summary = summarizeTrials(group.trials, { activations });
    out.push(
      markdownCell(
        `## Paired comparisons at the best rates (${at}${iters} steps)\n\nThe rates were ` +
          `chosen on these same trials, which these tests do not account for.`,
      ),
      outputCell(sweepTable(summary, { unit: lossUnit(group.settings) })),
    );
  }
  return out;
}

/**
 * Writes `<out>/grid.html` for a grid of sweeps (`sweepGrid`'s cells): each activation's best
 * learning rate for every combination of the other axes, the full grid, the final loss against the
 * learning rate, and with several budgets the loss at the best rate against steps, training FLOPs
 * and wall-clock; then, at the best rates for budget `iters` (default the largest), the
 * equal-compute view and the paired comparisons — whose rates were chosen on the same trials, as
 * the page says. A grid with cells or trials still missing is marked partial.
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
  options: { iters?: number; partial?: boolean } = {},
): Promise<string> {
  const budgets = [...new Set(cells.map((c) => c.iters))].sort((a, b) => a - b);
  const iters = options.iters ?? budgets[budgets.length - 1];
  const flopsPerStep = gridFlops(cells);
  const best = bestLearningRates(cells).objects() as Record<string, unknown>[];
  const full = gridTable(cells).objects() as Record<string, unknown>[];
  const activations = [...new Set(full.map((r) => String(r.activation)))];
  const unit = lossUnit(cells[0]?.result.settings ?? {});
  const tables = gridTables(full, best, { unit });
  const page: Cell[] = [
    gridHeading(cells, activations),
    ...(options.partial
      ? [markdownCell("**Partial:** some cells or trials have not finished; re-run the grid.")]
      : []),
    markdownCell("## Best learning rate per activation"),
    outputCell(tables.best),
    markdownCell("## Every cell"),
    outputCell(tables.full),
    ...lrFigure(cells, iters, unit),
    ...budgetFigures(cells, best, flopsPerStep, unit),
    ...atBestCells(cells, iters, activations, flopsPerStep),
  ];
  return await writePage(`${out}/grid.html`, page, "Grid of sweeps");
}
