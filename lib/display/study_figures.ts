/**
 * Figures of a study: the selection stage (each activation's final loss against the tuned
 * learning rate, the confirmed rate starred), the confirmed differences from a baseline with their
 * intervals, and loss against training compute across model sizes with each activation's fitted
 * power law.
 *
 * @module
 */
import type { MultiplierRow, ScalingFitRow, ScalingPoint } from "../experiments/scaling.ts";
import type { FamilyRow } from "../sweep/family.ts";
import { Figure, type PlotlyTrace, seriesColor, seriesLine } from "./figure.ts";
import { rateLabel } from "./loss_curves.ts";

/** A row of the selection stage (`selectionRows`). */
export interface SelectionPoint {
  /** The activation. */
  readonly activation: string;
  /** The tuned value (a peak learning rate). */
  readonly value: number;
  /** Mean final loss over the selection seeds (+∞ when a seed diverged). */
  readonly loss: number;
  /** Whether it is the confirmed value. */
  readonly chosen: boolean;
}

/** Log-axis entries whose ticks are the given values, written as rates. */
function rateAxis(values: readonly number[], title: string): Record<string, unknown> {
  const ticks = [...new Set(values)].sort((a, b) => a - b);
  return {
    type: "log",
    title: { text: title },
    ...(ticks.length <= 14
      ? { tickmode: "array", tickvals: ticks, ticktext: ticks.map(rateLabel) }
      : { exponentformat: "e" }),
  };
}

/**
 * Each activation's mean final loss over the selection seeds against the tuned value (a log axis
 * labelled in rates), the confirmed value of each marked with a star; diverged values left out.
 *
 * @example
 * ```ts
 * import { selectionFigure } from "./study_figures.ts";
 * const rows = [1.6e-3, 2.5e-3, 4e-3].map((value, i) => ({
 *   activation: "gelu", value, loss: [1.80, 1.77, 1.79][i], chosen: i === 1,
 * }));
 * console.log(String(selectionFigure(rows)));
 * ```
 */
export function selectionFigure(
  rows: readonly SelectionPoint[],
  options: { title?: string; unit?: string; axis?: string } = {},
): Figure {
  const unit = options.unit ?? "nats/char";
  const activations = [...new Set(rows.map((r) => r.activation))];
  const finite = rows.filter((r) => Number.isFinite(r.loss));
  const traces: PlotlyTrace[] = activations.flatMap((a, i) => {
    const mine = finite.filter((r) => r.activation === a).sort((x, y) => x.value - y.value);
    const chosen = mine.filter((r) => r.chosen);
    return [
      {
        type: "scatter",
        mode: "lines+markers",
        name: a,
        legendgroup: a,
        x: mine.map((r) => r.value),
        y: mine.map((r) => r.loss),
        line: seriesLine(i),
        marker: { color: seriesColor(i), size: 6 },
      },
      {
        type: "scatter",
        mode: "markers",
        name: `${a} (confirmed)`,
        legendgroup: a,
        showlegend: false,
        x: chosen.map((r) => r.value),
        y: chosen.map((r) => r.loss),
        marker: {
          color: seriesColor(i),
          size: 15,
          symbol: "star",
          line: { color: "#222", width: 1 },
        },
      },
    ];
  });
  const axis = options.axis ?? "peak learning rate";
  const summary = [
    `Figure: ${options.title ?? "selection"} (★ the value confirmed)`,
    ...activations.map((a) => {
      const mine = finite.filter((r) => r.activation === a).sort((x, y) => x.value - y.value);
      return `  ${a}: ` + mine.map((r) =>
        `${rateLabel(r.value)} → ${r.loss.toFixed(3)}` +
        (r.chosen ? " ★" : "")
      ).join(", ");
    }),
  ].join("\n");
  return new Figure(traces, {
    title: { text: options.title ?? "Selection: final loss against the learning rate" },
    xaxis: rateAxis(finite.map((r) => r.value), axis),
    yaxis: { title: { text: `final validation loss (${unit}), mean of the selection seeds` } },
  }, { summary });
}

/**
 * A study's paired differences (`FamilyRow`s) as a forest plot: each comparison's mean difference
 * with its 95% interval, a zero line, and the family-corrected p in the hover and the summary.
 *
 * @example
 * ```ts
 * import { differenceChart } from "./study_figures.ts";
 * const row = { cell: "depth=4", a: "relu", b: "gelu", role: "declared" as const, pairs: 8,
 *   aMean: 1.78, bMean: 1.77, diffMean: 0.01, diffCi95Low: -0.005, diffCi95High: 0.025,
 *   pPaired: 0.2, pFamily: 0.6, familySize: 20, mdd80: 0.02, note: "",
 *   diffBpb: NaN, diffBpbCi95Low: NaN, diffBpbCi95High: NaN };
 * console.log(String(differenceChart([row])));
 * ```
 */
export function differenceChart(
  rows: readonly FamilyRow[],
  options: { title?: string; unit?: string } = {},
): Figure {
  const unit = options.unit ?? "nats/char";
  const shown = rows.filter((r) => Number.isFinite(r.diffMean));
  const label = (r: FamilyRow) => `${r.a} − ${r.b}`;
  const trace: PlotlyTrace = {
    type: "scatter",
    mode: "markers",
    orientation: "h",
    y: shown.map(label),
    x: shown.map((r) => r.diffMean),
    error_x: {
      type: "data",
      symmetric: false,
      array: shown.map((r) => r.diffCi95High - r.diffMean),
      arrayminus: shown.map((r) => r.diffMean - r.diffCi95Low),
      color: "#444",
      thickness: 1.5,
      width: 5,
    },
    marker: {
      size: 10,
      color: shown.map((r) => (r.role === "declared" && r.pFamily < 0.05 ? "#e15759" : "#4e79a7")),
    },
    text: shown.map((r) =>
      r.role === "declared" ? `p family ${r.pFamily.toPrecision(2)}` : "exploratory"
    ),
    hovertemplate: "%{y}: %{x:.3f} (%{text})<extra></extra>",
    showlegend: false,
  };
  const summary = [
    `Figure: ${options.title ?? "differences"} (mean [95% CI]; red: p family < 0.05)`,
    ...shown.map((r) =>
      `  ${label(r)}: ${r.diffMean.toFixed(3)} [${r.diffCi95Low.toFixed(3)}, ${
        r.diffCi95High.toFixed(3)
      }]` + (r.role === "declared" ? `, p family ${r.pFamily.toPrecision(2)}` : ", exploratory")
    ),
  ].join("\n");
  return new Figure([trace], {
    title: { text: options.title ?? "Paired differences (mean and 95% CI over seeds)" },
    xaxis: {
      title: { text: `difference in final validation loss (${unit}); negative: a is lower` },
      zeroline: true,
      zerolinecolor: "#555",
      zerolinewidth: 1.5,
    },
    yaxis: { automargin: true, autorange: "reversed" },
    height: Math.max(260, 60 + 28 * shown.length),
  }, { summary });
}

/**
 * Loss against training compute across model sizes: each activation's size means (with the range
 * over seeds) on log-log axes, and its fitted power law as a line over the sizes measured.
 *
 * @example
 * ```ts ignore
 * import { scalingFigure } from "./study_figures.ts";
 * const { fits } = scalingFit(points);
 * scalingFigure(points, fits);
 * ```
 */
export function scalingFigure(
  points: readonly ScalingPoint[],
  fits: readonly ScalingFitRow[],
  options: { title?: string; unit?: string } = {},
): Figure {
  const unit = options.unit ?? "nats/char";
  const activations = [...new Set(points.map((p) => p.activation))];
  const traces: PlotlyTrace[] = activations.flatMap((a, i) => {
    const mine = points.filter((p) => p.activation === a);
    const sizes = [...new Set(mine.map((p) => p.size))];
    const stats = sizes.map((s) => {
      const xs = mine.filter((p) => p.size === s);
      const losses = xs.map((p) => p.loss);
      return {
        c: xs.reduce((t, p) => t + p.compute, 0) / xs.length,
        m: losses.reduce((t, x) => t + x, 0) / losses.length,
        lo: Math.min(...losses),
        hi: Math.max(...losses),
      };
    }).sort((x, y) => x.c - y.c);
    const f = fits.find((r) => r.activation === a);
    const line = f
      ? [{
        type: "scatter",
        mode: "lines",
        name: `${a} fit (β = ${f.beta.toFixed(3)})`,
        legendgroup: a,
        x: stats.map((s) => s.c),
        y: stats.map((s) => Math.exp(f.alpha + f.beta * Math.log(s.c))),
        line: { ...seriesLine(i), width: 1.5 },
      }]
      : [];
    return [{
      type: "scatter",
      mode: "markers",
      name: a,
      legendgroup: a,
      x: stats.map((s) => s.c),
      y: stats.map((s) => s.m),
      error_y: {
        type: "data",
        symmetric: false,
        array: stats.map((s) => s.hi - s.m),
        arrayminus: stats.map((s) => s.m - s.lo),
        color: seriesColor(i),
        width: 4,
      },
      marker: { color: seriesColor(i), size: 9 },
    }, ...line];
  });
  return new Figure(traces, {
    title: { text: options.title ?? "Final validation loss against training compute" },
    xaxis: {
      type: "log",
      title: { text: "training compute per trial (FLOPs)" },
      exponentformat: "e",
    },
    yaxis: { type: "log", title: { text: `final validation loss (${unit})` } },
  }, {
    summary: [
      `Figure: ${options.title ?? "loss against compute"} (mean over seeds, range; fitted lines)`,
      ...fits.map((f) =>
        `  ${f.activation}: β = ${f.beta.toFixed(3)} [${f.betaLow.toFixed(3)}, ${
          f.betaHigh.toFixed(3)
        }] over ${f.sizes.join(", ")}`
      ),
    ].join("\n"),
  });
}

/**
 * Compute multipliers against the baseline as a chart: per activation and size, the multiplier
 * with its bootstrap interval on a log axis, 1 (the baseline) as the reference line.
 *
 * @example
 * ```ts ignore
 * import { multiplierChart } from "./study_figures.ts";
 * multiplierChart(scalingFit(points).multipliers);
 * ```
 */
export function multiplierChart(
  rows: readonly MultiplierRow[],
  options: { title?: string } = {},
): Figure {
  const activations = [...new Set(rows.map((r) => r.activation))];
  const traces: PlotlyTrace[] = activations.map((a, i) => {
    const mine = rows.filter((r) => r.activation === a);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: a,
      x: mine.map((r) => r.compute),
      y: mine.map((r) => r.multiplier),
      error_y: {
        type: "data",
        symmetric: false,
        array: mine.map((r) => r.high - r.multiplier),
        arrayminus: mine.map((r) => r.multiplier - r.low),
        color: seriesColor(i),
        width: 4,
      },
      line: seriesLine(i),
      marker: { color: seriesColor(i), size: 8 },
    };
  });
  const baseline = rows[0]?.baseline ?? "baseline";
  return new Figure(traces, {
    title: {
      text: options.title ?? `Compute multiplier against ${baseline} (95% bootstrap interval)`,
    },
    xaxis: {
      type: "log",
      title: { text: "training compute per trial (FLOPs)" },
      exponentformat: "e",
    },
    yaxis: {
      type: "log",
      title: { text: `${baseline}'s compute for the same loss ÷ this compute` },
    },
    shapes: [{
      type: "line",
      xref: "paper",
      x0: 0,
      x1: 1,
      y0: 1,
      y1: 1,
      line: { color: "#555", width: 1, dash: "dot" },
    }],
  }, {
    summary: [
      `Figure: compute multipliers against ${baseline}`,
      ...rows.map((r) =>
        `  ${r.activation} at ${r.size}: ${r.multiplier.toFixed(2)} [${r.low.toFixed(2)}, ${
          r.high.toFixed(2)
        }]`
      ),
    ].join("\n"),
  });
}
