/**
 * Distributions: one histogram per series, each with its mean and zero fraction marked — of
 * values measured inside a model, or of activations applied to an input.
 *
 * @module
 */
import { Figure, type PlotlyLayout, type PlotlyTrace, seriesColor } from "./figure.ts";
import { mean, summarize } from "./_stats.ts";
import { num, pad } from "./_labels.ts";
import { type ActivationLike, label, resolve, valueAt } from "./_activation_like.ts";

/** Options for {@link distributionFigure} and {@link outputDistributions}. */
export interface DistributionOptions {
  /** Histogram bins per panel (default 60). */
  bins?: number;
  /** Panels per row (default min(3, number of series)). */
  columns?: number;
  /** |y| at or below this counts as zero (default 0: exact zeros only). */
  zeroTolerance?: number;
  /** Figure title. */
  title?: string;
}

/** One series of {@link distributionFigure}, summarised. */
interface SeriesStats {
  /** The series' name (its panel's x-axis title). */
  name: string;
  /** Number of values. */
  n: number;
  /** Mean of the values. */
  mean: number;
  /** Standard deviation of the values. */
  std: number;
  /** Fraction of values with |v| at or below the zero tolerance (NaN for no values). */
  zeroFraction: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/** n, mean, std, range and zero fraction of one series. */
function seriesStats(name: string, values: ArrayLike<number>, zeroTolerance: number): SeriesStats {
  const s = summarize(values);
  let zeros = 0;
  for (let j = 0; j < values.length; j++) if (Math.abs(values[j]) <= zeroTolerance) zeros++;
  return {
    name,
    n: values.length,
    mean: s.mean,
    std: s.std,
    zeroFraction: values.length ? zeros / values.length : NaN,
    min: s.min,
    max: s.max,
  };
}

/**
 * A histogram of the finite values: bin centres and the fraction of values in each bin. A
 * constant series is binned over a range of width 1 around its value; no finite value gives no
 * bins.
 */
function histogram(values: ArrayLike<number>, bins: number): { centers: number[]; p: number[] } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(lo <= hi)) return { centers: [], p: [] };
  if (hi === lo) {
    hi = lo + 0.5;
    lo = lo - 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    total++;
  }
  return {
    centers: counts.map((_, i) => lo + (i + 0.5) * width),
    p: counts.map((c) => c / total),
  };
}

/** Where a panel sits in the grid of {@link distributionFigure}. */
interface GridCell {
  /** Suffix of the panel's axes: "" for the first, then "2", "3", … */
  k: string;
  /** Column, from 0 at the left. */
  col: number;
  /** x domain (fraction of the paper). */
  x: [number, number];
  /** y domain (fraction of the paper). */
  y: [number, number];
}

/** Panel `i` of a grid of `cols` × `rows`, filled row by row from the top left. */
function gridCell(i: number, cols: number, rows: number): GridCell {
  const gap = 0.06, rowGap = 0.12;
  const col = i % cols, row = Math.floor(i / cols);
  const w = (1 - gap * (cols - 1)) / cols, h = (1 - rowGap * (rows - 1)) / rows;
  const x0 = col * (w + gap), y1 = 1 - row * (h + rowGap);
  return { k: i === 0 ? "" : String(i + 1), col, x: [x0, x0 + w], y: [Math.max(0, y1 - h), y1] };
}

/**
 * Panel `i` of {@link distributionFigure}: the histogram's bars, the panel's axes (the series'
 * name below, the y title on the left column only), a dashed line at the mean and a note with
 * the mean and zero fraction.
 */
function histogramPanel(
  i: number,
  values: ArrayLike<number>,
  st: SeriesStats,
  bins: number,
  { k, col, x, y }: GridCell,
) {
  const { centers, p } = histogram(values, bins);
  const bars: PlotlyTrace = {
    type: "bar",
    name: st.name,
    x: centers,
    y: p,
    xaxis: `x${k}`,
    yaxis: `y${k}`,
    marker: { color: seriesColor(i, 0.85) },
    showlegend: false,
  };
  const axes: PlotlyLayout = {
    [`xaxis${k}`]: { domain: x, anchor: `y${k}`, title: { text: st.name } },
    [`yaxis${k}`]: {
      domain: y,
      anchor: `x${k}`,
      ...(col === 0 ? { title: { text: "fraction of values" } } : {}),
    },
  };
  return {
    bars,
    axes,
    meanLine: {
      type: "line",
      xref: `x${k}`,
      yref: `y${k} domain`,
      x0: st.mean,
      x1: st.mean,
      y0: 0,
      y1: 1,
      line: { color: "#222", width: 1.5, dash: "dash" },
    },
    note: {
      xref: `x${k} domain`,
      yref: `y${k} domain`,
      x: 0.98,
      y: 0.98,
      xanchor: "right",
      yanchor: "top",
      showarrow: false,
      align: "right",
      text: `mean ${num(st.mean, 3)}<br>zeros ${(100 * st.zeroFraction).toFixed(1)}%`,
      font: { size: 11 },
      bgcolor: "rgba(255,255,255,0.75)",
    },
  };
}

/** The text summary: n, mean, std, zero fraction, min and max per series. */
function distributionSummary(title: string, bins: number, stats: readonly SeriesStats[]): string {
  const w = Math.max(12, ...stats.map((s) => s.name.length + 2));
  return [
    `Figure: ${title} (${stats.length} histograms, ${bins} bins)`,
    "  " + pad("series", w) +
    ["n", "mean", "std", "zeros", "min", "max"].map((c) => pad(c, 10)).join(""),
    ...stats.map((s) =>
      "  " + pad(s.name, w) +
      [
        String(s.n),
        num(s.mean),
        num(s.std),
        `${(100 * s.zeroFraction).toFixed(1)}%`,
        num(s.min),
        num(s.max),
      ].map((c) => pad(c, 10)).join("")
    ),
  ].map((l) => l.trimEnd()).join("\n");
}

/**
 * Histograms of precomputed values, one panel per series, each with its mean marked (dashed
 * line) and its mean and zero fraction written on it. Use it for activations measured inside a
 * model; {@link outputDistributions} computes them from an input for you.
 *
 * @example
 * ```ts
 * import { distributionFigure } from "./distribution_figure.ts";
 * const fig = distributionFigure({ a: [0, 0, 1, 2, 3], b: [-1, 0.5, 0.5, 2] });
 * console.log(String(fig)); // mean, std, zero fraction per series
 * ```
 */
export function distributionFigure(
  series: Readonly<Record<string, ArrayLike<number>>>,
  options: DistributionOptions = {},
): Figure {
  const names = Object.keys(series);
  if (names.length === 0) throw new Error("distributionFigure: no series given");
  const bins = options.bins ?? 60;
  const cols = Math.max(1, Math.min(options.columns ?? 3, names.length));
  const rows = Math.ceil(names.length / cols);
  const stats = names.map((name) => seriesStats(name, series[name], options.zeroTolerance ?? 0));
  const panels = names.map((name, i) =>
    histogramPanel(i, series[name], stats[i], bins, gridCell(i, cols, rows))
  );
  const title = options.title ?? "Output distributions";
  const layout: PlotlyLayout = {
    ...Object.assign({}, ...panels.map((panel) => panel.axes)),
    title: { text: title },
    height: Math.max(300, 260 * rows + 60),
    bargap: 0.02,
    shapes: panels.map((panel) => panel.meanLine),
    annotations: panels.map((panel) => panel.note),
  };
  const summary = distributionSummary(title, bins, stats);
  return new Figure(panels.map((panel) => panel.bars), layout, { summary });
}

/**
 * Output distributions of activations for a given input: each activation's float64 reference is
 * applied to every input value and the outputs are histogrammed (see {@link distributionFigure}).
 * Gated activations get the input as gate and value 1.
 *
 * @example Standard-normal pre-activations
 * ```ts
 * import { outputDistributions } from "./distribution_figure.ts";
 * const input = Array.from({ length: 2000 }, (_, i) => Math.sqrt(2) * Math.cos(i) * 1.2);
 * const fig = outputDistributions(input, ["relu", "gelu"]);
 * console.log(String(fig)); // relu has ~50% zeros, gelu none
 * ```
 */
export function outputDistributions(
  input: ArrayLike<number>,
  activations: readonly ActivationLike[],
  options: DistributionOptions = {},
): Figure {
  const series: Record<string, Float64Array> = {};
  for (const act of activations) {
    const def = resolve(act);
    const out = new Float64Array(input.length);
    for (let i = 0; i < input.length; i++) out[i] = valueAt(def, input[i]);
    series[label(def)] = out;
  }
  return distributionFigure(series, {
    title: `Output distributions (${input.length} inputs, mean ${mean(input).toFixed(2)})`,
    ...options,
  });
}
