/**
 * The HTML report of a sweep: the convergence table, the final losses with confidence intervals
 * and the validation loss curves, as one offline page (plotly.js copied beside it once).
 *
 * This is wiring for the command line, like a notebook cell: the one file of `lib/experiments`
 * that uses `lib/display`. The sweep itself returns plain data.
 *
 * @module
 */
import { basename } from "node:path";
import type { Displayable } from "../display/display.ts";
import { JUPYTER_DISPLAY } from "../display/display.ts";
import { intervalChart, lossCurves } from "../display/figures.ts";
import { plotlyScriptPath } from "../display/static_image.ts";
import { convergenceTable, table } from "../display/table.ts";
import { notebookToHtml } from "../notebook/html.ts";
import type { Cell, Notebook } from "../notebook/nbformat.ts";
import type { SweepSettings, TrialResult } from "../experiments/sweep.ts";
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
    );
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
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells };
  const lib = plotlyScriptPath();
  const file = basename(lib);
  const target = `${out}/${file}`;
  const size = (await Deno.stat(lib)).size;
  if (await Deno.stat(target).then((s) => s.size !== size, () => true)) {
    await writeTextAtomic(target, await Deno.readTextFile(lib));
  }
  const page = `${out}/report.html`;
  await writeTextAtomic(
    page,
    notebookToHtml(nb, { plotly: { src: file }, title: "Activation sweep" }),
  );
  return page;
}
