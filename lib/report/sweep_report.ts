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
        convergenceTable(finals, { caption: "Final validation loss (mean ± 95% CI over seeds)" }),
      ),
      outputCell(
        "final validation loss with 95% CIs",
        intervalChart(finals, { value: "loss", title: "Final validation loss (95% CI)" }),
      ),
      outputCell(
        "validation loss curves",
        lossCurves(curves, { band: "ci95", title: "Validation loss (mean and 95% CI over seeds)" }),
      ),
    );
  }
  cells.push(outputCell("summary", table(summary)));
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
