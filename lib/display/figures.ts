/**
 * Ready-made figures for activation research: curves with derivatives, the exact-vs-tanh GELU
 * difference, output distributions, loss curves over seeds, and charts of means with confidence
 * intervals. They take activation names (resolved through the registry) or plain data: arrays,
 * records, or an arquero table.
 *
 * Each figure has its section, read top to bottom: its options, the pieces it is built from
 * (the data grouped, each panel's traces, the layout, the text summary), then the figure itself,
 * which calls them in order. The words on the figures (axis titles, notes) are in `_labels.ts`.
 *
 * @module
 */
import { getActivation } from "../activations/mod.ts";
import type { ActivationDef } from "../activations/types.ts";
import { Figure, type PlotlyLayout, type PlotlyTrace, seriesColor, seriesLine } from "./figure.ts";
import { mean, type SampleSummary, summarize } from "./_stats.ts";
import { type DataRows, toRecords } from "./_rows.ts";
import { curveRange } from "./_ranges.ts";
import {
  axisTitle,
  cornerNote,
  num,
  offScale,
  pad,
  panelNote,
  panelTitle,
  stepTitle,
  withUnit,
} from "./_labels.ts";

export type { DataRows } from "./_rows.ts";

/**
 * An activation given by registry name (`"gelu"`, `"leaky_relu(slope=0.2)"`) or definition
 * (`ActivationDef` from the activation registry).
 */
export type ActivationLike = string | ActivationDef;

/** The registry's definition of an activation given by name, or the definition itself. */
function resolve(act: ActivationLike): ActivationDef {
  return typeof act === "string" ? getActivation(act) : act;
}

/** f(x) of an activation; gated ones are evaluated with the value input fixed at 1. */
function valueAt(def: ActivationDef, x: number): number {
  return def.kind === "unary" ? def.reference(x) : def.reference(x, 1);
}

/** f'(x) (∂f/∂gate with value 1 for gated ones). */
function slopeAt(def: ActivationDef, x: number): number {
  return def.kind === "unary" ? def.derivative(x) : def.derivative(x, 1)[0];
}

/** An activation's name in legends and summaries: gated ones as `name(x, 1)`. */
function label(def: ActivationDef): string {
  return def.kind === "unary" ? def.name : `${def.name}(x, 1)`;
}

/** `n` evenly spaced points from `lo` to `hi`, both included. */
function linspace(lo: number, hi: number, n: number): number[] {
  if (!(n >= 2)) throw new RangeError(`need at least 2 points, got ${n}`);
  if (!(hi > lo)) throw new RangeError(`range must be increasing, got [${lo}, ${hi}]`);
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));
}

// ---- Activation curves: f(x) and f′(x) side by side ----

/** Options for {@link activationCurves}. */
export interface CurveOptions {
  /** Input range (default [-4, 4]). */
  range?: [number, number];
  /** Sample points across the range (default 201). */
  points?: number;
  /** Also plot f'(x) in a second panel (default true). */
  derivatives?: boolean;
  /** Figure title (default "Activation functions"). */
  title?: string;
  /** Figure height in pixels (default 420). */
  height?: number;
  /**
   * The f(x) axis range: `"fit"` (default) keeps most curves whole and lets one that runs far
   * beyond the others (relu² next to GELU) off the top, naming it in the panel, so small
   * features such as GELU's dip of −0.17 stay visible; `"all"` shows every curve whole; or a
   * `[low, high]` range. The f′(x) panel is fitted the same way unless a range is given.
   */
  yRange?: "fit" | "all" | [number, number];
}

/** The activations sampled on a grid: what {@link activationCurves} draws. */
interface SampledCurves {
  /** Legend names, gated activations as `name(x, 1)`. */
  names: string[];
  /** The x samples, shared by every curve. */
  xs: number[];
  /** f(x) per activation. */
  values: number[][];
  /** f′(x) per activation; undefined when the derivative panel is off. */
  slopes?: number[][];
}

/**
 * The lines: per activation, f(x) in the first panel and, in the second, f′(x) with the same
 * colour, dash and legend entry.
 */
function curveTraces({ names, xs, values, slopes }: SampledCurves): PlotlyTrace[] {
  const data: PlotlyTrace[] = [];
  names.forEach((name, i) => {
    data.push({
      type: "scatter",
      mode: "lines",
      name,
      legendgroup: name,
      x: xs,
      y: values[i],
      line: seriesLine(i),
    });
    if (slopes) {
      data.push({
        type: "scatter",
        mode: "lines",
        name,
        legendgroup: name,
        showlegend: false,
        x: xs,
        y: slopes[i],
        xaxis: "x2",
        yaxis: "y2",
        line: seriesLine(i),
      });
    }
  });
  return data;
}

/**
 * The range entries of a y axis that shows `curves` as {@link CurveOptions.yRange} asks, and the
 * note naming the curves a fitted range cuts off ("" when none).
 */
function fitCurveAxis(
  curves: number[][],
  names: readonly string[],
  how: CurveOptions["yRange"],
): { axis: Record<string, unknown>; note: string } {
  if (Array.isArray(how)) return { axis: { range: [...how] }, note: "" };
  if (how === "all") return { axis: {}, note: "" };
  const r = curveRange(curves);
  return { axis: { range: r.range }, note: offScale(names, r.above, r.below) };
}

/**
 * The layout: the f(x) panel, and the f′(x) panel beside it when there are derivatives, each y
 * axis fitted, with a note in a panel whose range cuts curves off. Also returns those notes for
 * the summary.
 */
function curvesLayout(
  { names, values, slopes }: SampledCurves,
  title: string,
  height: number,
  yRange: CurveOptions["yRange"],
): { layout: PlotlyLayout; notes: string[] } {
  const fx = fitCurveAxis(values, names, yRange);
  const layout: PlotlyLayout = {
    title: { text: title },
    height,
    xaxis: { ...axisTitle("x"), domain: slopes ? [0, 0.46] : [0, 1] },
    yaxis: { ...axisTitle("f(x)"), ...fx.axis },
  };
  const annotations: unknown[] = fx.note ? [panelNote("", fx.note)] : [];
  const notes = fx.note ? [`f(x) ${fx.note}`] : [];
  if (slopes) {
    // A range given for f(x) says nothing about f′(x), which is fitted instead.
    const dfx = fitCurveAxis(slopes, names, Array.isArray(yRange) ? "fit" : yRange);
    layout.xaxis2 = { ...axisTitle("x"), domain: [0.54, 1], anchor: "y2" };
    layout.yaxis2 = { ...axisTitle("f′(x)"), anchor: "x2", ...dfx.axis };
    if (dfx.note) {
      annotations.push(panelNote("2", dfx.note));
      notes.push(`f′(x) ${dfx.note}`);
    }
  }
  if (annotations.length) layout.annotations = annotations;
  if (slopes && names.length > 6) layout.legend = { orientation: "h" };
  return { layout, notes };
}

/** The text summary: a row of f(−1), f(0), f(1), f′(0) per activation, then the notes. */
function curvesSummary(
  title: string,
  [lo, hi]: [number, number],
  defs: readonly ActivationDef[],
  withSlopes: boolean,
  notes: readonly string[],
): string {
  const w = Math.max(12, ...defs.map((d) => label(d).length + 2));
  return [
    `Figure: ${title} on [${lo}, ${hi}] (${defs.length} activations${
      withSlopes ? ", with derivatives" : ""
    })`,
    "  " + pad("activation", w) + ["f(-1)", "f(0)", "f(1)", "f'(0)"].map((h) => pad(h, 10))
      .join(""),
    ...defs.map((d) =>
      "  " + pad(label(d), w) +
      [valueAt(d, -1), valueAt(d, 0), valueAt(d, 1), slopeAt(d, 0)].map((v) => pad(num(v), 10))
        .join("")
    ),
    ...notes.map((n) => `  ${n}`),
  ].map((l) => l.trimEnd()).join("\n");
}

/**
 * Activation curves f(x) and, beside them, their derivatives f'(x), from the float64 reference
 * implementations in the registry. Gated activations are drawn as f(x, 1). Each activation gets
 * its own colour and dash (up to 100), and the y axes are fitted to where most curves live (see
 * {@link CurveOptions.yRange}).
 *
 * @example
 * ```ts
 * import { activationCurves } from "./figures.ts";
 * const fig = activationCurves(["relu", "gelu", "silu"], { range: [-3, 3] });
 * console.log(String(fig)); // a small table of f(-1), f(0), f(1), f'(0) per activation
 * ```
 */
export function activationCurves(
  activations: readonly ActivationLike[],
  options: CurveOptions = {},
): Figure {
  const defs = activations.map(resolve);
  const [lo, hi] = options.range ?? [-4, 4];
  const xs = linspace(lo, hi, options.points ?? 201);
  const withSlopes = options.derivatives ?? true;
  const curves: SampledCurves = {
    names: defs.map(label),
    xs,
    values: defs.map((def) => xs.map((x) => valueAt(def, x))),
    slopes: withSlopes ? defs.map((def) => xs.map((x) => slopeAt(def, x))) : undefined,
  };
  const title = options.title ?? "Activation functions";
  const yRange = options.yRange ?? "fit";
  const { layout, notes } = curvesLayout(curves, title, options.height ?? 420, yRange);
  const summary = curvesSummary(title, [lo, hi], defs, withSlopes, notes);
  return new Figure(curveTraces(curves), layout, { summary });
}

// ---- Differences between two activations ----

/** Options for {@link activationDifference}. */
export interface DifferenceOptions {
  /** Input range (default [-6, 6]). */
  range?: [number, number];
  /** Sample points (default 601). */
  points?: number;
  /** Figure title. */
  title?: string;
}

/**
 * The difference a(x) − b(x) of two activations and of their derivatives, with the largest
 * absolute gap marked: how far an approximation strays from the exact form.
 *
 * @example
 * ```ts
 * import { activationDifference } from "./figures.ts";
 * const fig = activationDifference("gelu", "quick_gelu");
 * console.log(String(fig)); // "max |Δf| = … at x = …"
 * ```
 */
export function activationDifference(
  a: ActivationLike,
  b: ActivationLike,
  options: DifferenceOptions = {},
): Figure {
  const [da, db] = [resolve(a), resolve(b)];
  const [lo, hi] = options.range ?? [-6, 6];
  const xs = linspace(lo, hi, options.points ?? 601);
  const dv = xs.map((x) => valueAt(da, x) - valueAt(db, x));
  const dd = xs.map((x) => slopeAt(da, x) - slopeAt(db, x));
  const argmax = (ys: number[]) =>
    ys.reduce((best, y, i) => (Math.abs(y) > Math.abs(ys[best]) ? i : best), 0);
  const iv = argmax(dv), id = argmax(dd);
  const title = options.title ?? `${label(da)} − ${label(db)}`;
  const data: PlotlyTrace[] = [
    {
      type: "scatter",
      mode: "lines",
      name: "Δf(x)",
      x: xs,
      y: dv,
      line: { color: seriesColor(0), width: 2 },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "Δf′(x)",
      x: xs,
      y: dd,
      line: { color: seriesColor(1), width: 2, dash: "dot" },
    },
    {
      type: "scatter",
      mode: "markers",
      name: "largest gap",
      x: [xs[iv], xs[id]],
      y: [dv[iv], dd[id]],
      marker: { color: "#333", size: 8, symbol: "x" },
    },
  ];
  const layout: PlotlyLayout = {
    title: { text: title },
    height: 380,
    xaxis: axisTitle("x"),
    yaxis: { ...axisTitle(`${label(da)} − ${label(db)}`), exponentformat: "e" },
  };
  const summary = `Figure: ${title} on [${lo}, ${hi}]\n` +
    `  max |Δf|  = ${num(Math.abs(dv[iv]))} at x = ${num(xs[iv], 3)}\n` +
    `  max |Δf'| = ${num(Math.abs(dd[id]))} at x = ${num(xs[id], 3)}`;
  return new Figure(data, layout, { summary });
}

/**
 * Exact GELU minus its tanh approximation (GPT-2's `gelu_new`), value and derivative: the gap
 * behind cross-framework GELU mismatches.
 *
 * @example
 * ```ts
 * import { geluTanhDifference } from "./figures.ts";
 * console.log(String(geluTanhDifference())); // max |Δf| ≈ 4.7e-4
 * ```
 */
export function geluTanhDifference(options: DifferenceOptions = {}): Figure {
  return activationDifference("gelu", "gelu_tanh", {
    title: "Exact GELU − tanh approximation",
    ...options,
  });
}

// ---- Distributions: one histogram per series ----

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
 * import { distributionFigure } from "./figures.ts";
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
 * import { outputDistributions } from "./figures.ts";
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

// ---- Loss curves over seeds, with zoom and baseline panels ----

/** How {@link lossCurves} draws the spread over seeds. */
export type LossBand = "minmax" | "ci95" | "std" | "none";

/** Options for {@link lossCurves}. */
export interface LossCurveOptions {
  /** Field of the step (default "step"). */
  x?: string;
  /** Field of the loss (default "loss"). */
  y?: string;
  /** Field naming the curve, e.g. the activation (default "activation"). */
  group?: string;
  /** Spread shown around the mean over seeds (default "minmax"). */
  band?: LossBand;
  /** Figure title (default "Loss"). */
  title?: string;
  /** Logarithmic loss axis (default false). */
  logY?: boolean;
  /** y-axis title (default: the `y` field), followed by the unit. */
  yTitle?: string;
  /**
   * Unit of the loss, appended to the y-axis title in parentheses (default "nats/char" when the
   * title names a loss: the mini-GPT's cross-entropy per character; `""` for none). A title that
   * already has a parenthesis is kept as it is.
   */
  unit?: string;
  /** x-axis title (default "training step" for a `step` field, else the field). */
  xTitle?: string;
  /**
   * A second panel with the final part of training zoomed in (means only), where curves that
   * overlap at full scale separate: `true` for the last 30 % of steps, a fraction in (0, 1] for
   * another share, `false` for none. Default: on when there are more than 5 curves.
   */
  zoom?: boolean | number;
  /**
   * A curve to compare against (e.g. `"gelu"`): adds a panel with each curve's mean minus the
   * baseline's mean at the same step, with the baseline drawn as the zero line. It shows the
   * final steps (the zoom's share, 30 % by default) unless `zoom` is `false`.
   */
  baseline?: string;
}

/** The fields of a loss row, as {@link LossCurveOptions} names them. */
interface LossFields {
  /** The step. */
  x: string;
  /** The loss. */
  y: string;
  /** The curve the row belongs to (e.g. the activation). */
  group: string;
}

/**
 * The losses grouped by curve, then by step (one loss per seed), in the order curves first
 * appear. Rows without a finite step and loss are skipped; none left is an error that lists the
 * fields seen.
 */
function groupLosses(
  records: readonly Record<string, unknown>[],
  fields: LossFields,
): Map<string, Map<number, number[]>> {
  const byCurve = new Map<string, Map<number, number[]>>();
  for (const r of records) {
    const g = String(r[fields.group]);
    const x = Number(r[fields.x]), y = Number(r[fields.y]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (!byCurve.has(g)) byCurve.set(g, new Map());
    const byX = byCurve.get(g)!;
    if (!byX.has(x)) byX.set(x, []);
    byX.get(x)!.push(y);
  }
  if (byCurve.size === 0) {
    throw new Error(
      `lossCurves: no rows with numeric '${fields.x}' and '${fields.y}' (fields seen: ${
        Object.keys(records[0] ?? {}).join(", ") || "none"
      }); pass { x, y, group } to name your fields`,
    );
  }
  return byCurve;
}

/** The share of final steps the zoom shows (default 0.3); a share outside (0, 1] is an error. */
function zoomShare(zoom: LossCurveOptions["zoom"]): number {
  const fraction = typeof zoom === "number" ? zoom : 0.3;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new RangeError(`lossCurves: zoom must be a fraction in (0, 1], got ${zoom}`);
  }
  return fraction;
}

/** One curve of {@link lossCurves}: its steps and the losses over seeds summarised at each. */
interface LossCurve {
  /** The curve's name (the group field's value). */
  name: string;
  /** Its steps, ascending. */
  xs: number[];
  /** Summary over seeds at each step. */
  stats: SampleSummary[];
  /** Mean over seeds at each step. */
  mean: number[];
  /** The most seeds at any step. */
  seeds: number;
}

/** A curve from its losses by step. */
function lossCurve(name: string, byX: ReadonlyMap<number, number[]>): LossCurve {
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const stats = xs.map((x) => summarize(byX.get(x)!));
  const seeds = Math.max(...stats.map((s) => s.n));
  return { name, xs, stats, mean: stats.map((s) => s.mean), seeds };
}

/** The lower and upper edges of the band at each step: min–max, ±1 std or the 95% CI. */
function bandEdges(
  stats: readonly SampleSummary[],
  band: LossBand,
): { lo: number[]; hi: number[] } {
  if (band === "minmax") return { lo: stats.map((s) => s.min), hi: stats.map((s) => s.max) };
  const half = (s: SampleSummary) => band === "std" ? s.std : s.ci || 0;
  return { lo: stats.map((s) => s.mean - half(s)), hi: stats.map((s) => s.mean + half(s)) };
}

/** What the band shows, as the figure's note and summary say it. */
const BAND_TEXT: Record<LossBand, string> = {
  minmax: "band: min–max over seeds",
  ci95: "band: 95% CI of the mean",
  std: "band: ±1 std",
  none: "",
};

/**
 * Curve `i` in the whole-run panel: the spread over seeds as a shaded band (an invisible lower
 * edge, then the upper edge filled down to it; none for one seed or `band: "none"`), then the
 * mean as a line with the curve's colour and dash.
 */
function wholeRunTraces(curve: LossCurve, i: number, band: LossBand): PlotlyTrace[] {
  const { name: g, xs } = curve;
  const style = seriesLine(i);
  const data: PlotlyTrace[] = [];
  if (band !== "none" && curve.seeds > 1) {
    const { lo, hi } = bandEdges(curve.stats, band);
    data.push({
      type: "scatter",
      mode: "lines",
      x: xs,
      y: lo,
      line: { width: 0, color: style.color },
      legendgroup: g,
      showlegend: false,
      hoverinfo: "skip",
      name: `${g} low`,
    });
    data.push({
      type: "scatter",
      mode: "lines",
      x: xs,
      y: hi,
      fill: "tonexty",
      fillcolor: seriesColor(i, 0.18),
      line: { width: 0, color: style.color },
      legendgroup: g,
      showlegend: false,
      hoverinfo: "skip",
      name: `${g} high`,
    });
  }
  data.push({
    type: "scatter",
    mode: "lines",
    name: g,
    legendgroup: g,
    x: xs,
    y: curve.mean,
    line: style,
  });
  return data;
}

/** The steps the zoom and difference panels show. */
interface LossWindow {
  /** Where the final share of steps begins. */
  zoomFrom: number;
  /** Whether side panels show only the final steps: not with `zoom: false` or a single step. */
  final: boolean;
  /** Whether the zoom panel is drawn. */
  zoomed: boolean;
  /** First step the side panels show: `zoomFrom` when `final`, else the first step of all. */
  from: number;
  /** Last step of all. */
  to: number;
}

/** The window of final steps over all curves, and whether the zoom panel is drawn. */
function lossWindow(
  curves: readonly LossCurve[],
  zoom: LossCurveOptions["zoom"],
  fraction: number,
): LossWindow {
  const ends = curves.flatMap((c) => [c.xs[0], c.xs[c.xs.length - 1]]);
  const [x0, x1] = [Math.min(...ends), Math.max(...ends)];
  const zoomFrom = x1 - fraction * (x1 - x0);
  const final = zoom !== false && x1 > x0;
  const zoomed = final && (zoom ?? curves.length > 5) !== false;
  return { zoomFrom, final, zoomed, from: final ? zoomFrom : x0, to: x1 };
}

/** A line of a side panel: a curve's means, or their differences to the baseline's. */
interface PanelLine {
  /** Steps. */
  xs: number[];
  /** Values at those steps. */
  ys: number[];
}

/** A curve's means minus the baseline's, at the steps both have. */
function differenceTo(curve: LossCurve, base: LossCurve): PanelLine {
  const ref = new Map(base.xs.map((x, q) => [x, base.mean[q]]));
  const xs = curve.xs.filter((x) => ref.has(x));
  return { xs, ys: xs.map((x) => curve.mean[curve.xs.indexOf(x)] - ref.get(x)!) };
}

/** Points of a curve inside [from, ∞), plus the one before so the line enters at the edge. */
function windowed(xs: readonly number[], ys: readonly number[], from: number) {
  let k = xs.findIndex((x) => x >= from);
  if (k < 0) k = xs.length;
  const start = Math.max(0, k - 1);
  return { x: xs.slice(start), y: ys.slice(start), inside: ys.slice(k) };
}

/**
 * Where the panels go: the whole run (`main`) and the side panels. One side panel sits beside
 * the whole run; two sit side by side below it.
 */
function lossGrid(sides: number) {
  return sides === 2
    ? {
      main: { x: [0, 1], y: [0.58, 1] },
      sides: [{ x: [0, 0.43], y: [0, 0.4] }, { x: [0.57, 1], y: [0, 0.4] }],
    }
    : { main: { x: [0, 0.43], y: [0, 1] }, sides: [{ x: [0.57, 1], y: [0, 1] }] };
}

/** A side panel of {@link lossCurves}: the zoom into the final steps, or the differences. */
interface SidePanel {
  /** The zoom into the final steps, or the differences to the baseline. */
  kind: "zoom" | "diff";
  /** Its axes' suffix: "2" or "3". */
  k: string;
  /** Its place, in fractions of the paper. */
  slot: { x: number[]; y: number[] };
  /** Per curve, the points it draws. */
  lines: PanelLine[];
  /** Its title: what it shows. */
  caption: string;
}

/** What every side panel shares. */
interface SideView {
  /** Curve names, for the traces and the off-scale note. */
  names: string[];
  /** The steps shown. */
  window: LossWindow;
  /** Axis titles of the whole-run panel. */
  titles: { x: string; y: string };
  /** Logarithmic loss axis. */
  logY: boolean;
}

/**
 * The range entries of a side panel's value axis: the zoom's fitted range (in log10 units on a
 * log axis), or the differences' with a zero line where the baseline lies.
 */
function sideRange(kind: SidePanel["kind"], range: [number, number], logY: boolean) {
  if (kind === "diff") return { range, zeroline: true, zerolinecolor: "#555", zerolinewidth: 1 };
  if (!logY) return { range };
  return { range: range.map((v) => Math.log10(Math.max(v, 1e-12))), type: "log" };
}

/** A side panel drawn: its traces, its two axes and its title annotation. */
interface DrawnPanel {
  /** One line per curve. */
  traces: PlotlyTrace[];
  /** `xaxis${k}` and `yaxis${k}`. */
  axes: PlotlyLayout;
  /** The title annotation above the panel. */
  title: unknown;
}

/**
 * A side panel's lines (means only, cut to the window), its axes, with the value axis fitted to
 * most curves, and its title, which names the curves that run off it, where the note hides no
 * data.
 */
function drawSidePanel(
  { kind, k, slot, lines, caption }: SidePanel,
  view: SideView,
): DrawnPanel {
  const { names, window, titles } = view;
  const traces: PlotlyTrace[] = [];
  const inside: number[][] = [];
  lines.forEach((line, j) => {
    const w = windowed(line.xs, line.ys, window.from);
    inside.push(w.inside);
    traces.push({
      type: "scatter",
      mode: "lines",
      name: names[j],
      legendgroup: names[j],
      showlegend: false,
      x: w.x,
      y: w.y,
      xaxis: `x${k}`,
      yaxis: `y${k}`,
      line: seriesLine(j),
    });
  });
  const fitted = curveRange(inside, { minCurves: 5 });
  const note = offScale(names, fitted.above, fitted.below);
  const axes: PlotlyLayout = {
    [`xaxis${k}`]: {
      ...axisTitle(titles.x),
      domain: slot.x,
      anchor: `y${k}`,
      range: [window.from, window.to],
    },
    [`yaxis${k}`]: {
      ...axisTitle(kind === "zoom" ? titles.y : `Δ ${titles.y}`),
      domain: slot.y,
      anchor: `x${k}`,
      ...sideRange(kind, fitted.range, view.logY),
    },
  };
  return { traces, axes, title: panelTitle(k, note ? `${caption} · ${note}` : caption) };
}

/** The baseline of {@link LossCurveOptions.baseline} and every curve's differences to it. */
interface Baseline {
  /** The baseline's own curve. */
  curve: LossCurve;
  /** Per curve (the baseline's own included), its means minus the baseline's. */
  diffs: PanelLine[];
}

/**
 * The side panels, in order: the zoom into the final steps when zoomed, then the differences to
 * the baseline when there is one.
 */
function sidePanels(
  curves: readonly LossCurve[],
  window: LossWindow,
  fraction: number,
  baseline?: Baseline,
): SidePanel[] {
  const pct = Math.round(fraction * 100);
  const specs: Omit<SidePanel, "k" | "slot">[] = [];
  if (window.zoomed) {
    const lines = curves.map((c) => ({ xs: c.xs, ys: c.mean }));
    specs.push({ kind: "zoom", lines, caption: `final ${pct}% of steps (means)` });
  }
  if (baseline) {
    const final = window.final ? `, final ${pct}%` : "";
    const caption = `Δ to ${baseline.curve.name} (means${final})`;
    specs.push({ kind: "diff", lines: baseline.diffs, caption });
  }
  const { sides } = lossGrid(specs.length);
  return specs.map((spec, p) => ({ ...spec, k: String(p + 2), slot: sides[p] }));
}

/**
 * The layout. Alone, the whole-run panel has the band's note in its corner; with side panels it
 * is titled like them ("all steps", and the band), they get their axes and titles, and the
 * legend goes below.
 */
function lossLayout(
  title: string,
  titles: { x: string; y: string },
  logY: boolean,
  bandText: string,
  sides: readonly DrawnPanel[],
): PlotlyLayout {
  const alone = sides.length === 0;
  const { main } = lossGrid(sides.length);
  const layout: PlotlyLayout = {
    title: { text: title },
    height: sides.length === 2 ? 640 : 420,
    xaxis: { ...axisTitle(titles.x), ...(alone ? {} : { domain: main.x }) },
    yaxis: {
      ...axisTitle(titles.y),
      ...(logY ? { type: "log", dtick: "D2" } : {}),
      ...(alone ? {} : { domain: main.y }),
    },
  };
  if (alone) {
    if (bandText) layout.annotations = [cornerNote(bandText)];
    return layout;
  }
  layout.legend = { orientation: "h" };
  layout.margin = { l: 60, r: 20, t: 72, b: 50 };
  Object.assign(layout, ...sides.map((side) => side.axes));
  layout.annotations = [
    panelTitle("", bandText ? `all steps · ${bandText}` : "all steps"),
    ...sides.map((side) => side.title),
  ];
  return layout;
}

/** The spread at the final step, as the summary writes it: " [min, max]", " ± std", … */
function finalSpread(last: SampleSummary, band: LossBand): string {
  return band === "minmax"
    ? ` [${num(last.min)}, ${num(last.max)}]`
    : band === "std"
    ? ` ± ${num(last.std)} (std)`
    : band === "ci95" && Number.isFinite(last.ci)
    ? ` ± ${num(last.ci)} (95% CI)`
    : "";
}

/** "; Δ gelu +0.0123": curve `j`'s difference to the baseline at its last shared step. */
function finalDelta(curve: LossCurve, j: number, baseline?: Baseline): string {
  if (!baseline || curve === baseline.curve) return "";
  const { xs, ys } = baseline.diffs[j];
  if (xs.length === 0) return "";
  const dy = ys[ys.length - 1];
  return `; Δ ${baseline.curve.name} ${dy >= 0 ? "+" : ""}${num(dy)}`;
}

/**
 * The text summary: what the figure shows, then per curve its seeds, points, final loss with its
 * spread and, with a baseline, its final difference to it.
 */
function lossSummary(
  title: string,
  curves: readonly LossCurve[],
  { band, fields, window, baseline }: {
    band: LossBand;
    fields: LossFields;
    window: LossWindow;
    baseline?: Baseline;
  },
): string {
  const base = baseline?.curve;
  const lines = curves.map((gr, j) => {
    const last = gr.stats[gr.stats.length - 1];
    return `  ${pad(gr.name, 14)} ${gr.seeds} seed${gr.seeds === 1 ? "" : "s"}, ` +
      `${gr.xs.length} points, final ${fields.y} ${num(last.mean)}${finalSpread(last, band)} ` +
      `at ${fields.x} ${gr.xs[gr.xs.length - 1]}${finalDelta(gr, j, baseline)}`;
  });
  const extras = [
    BAND_TEXT[band],
    window.zoomed || (base && window.final) ? `zoom: ${fields.x} ≥ ${num(window.zoomFrom)}` : "",
    base ? `differences to ${base.name}` : "",
  ].filter(Boolean);
  const shows = extras.length ? `; ${extras.join("; ")}` : "";
  return [`Figure: ${title} (${curves.length} curves${shows})`, ...lines].join("\n");
}

/**
 * Loss curves, one per activation: the mean over seeds as a line and the spread over seeds as a
 * shaded band, the loss axis in nats per character. Input: one row per (activation, seed, step),
 * as records or an arquero table. With more than 5 curves a second panel zooms into the last
 * 30 % of steps, where the curves separate ({@link LossCurveOptions.zoom}); `baseline` adds a
 * panel of differences to one curve. Every curve has its own colour and dash.
 *
 * @example
 * ```ts
 * import { lossCurves } from "./figures.ts";
 * const rows = [];
 * for (const activation of ["relu", "gelu"]) {
 *   for (const seed of [0, 1, 2]) {
 *     for (let step = 0; step <= 100; step += 10) {
 *       rows.push({ activation, seed, step, loss: 3 * Math.exp(-step / 50) + 0.01 * seed });
 *     }
 *   }
 * }
 * console.log(String(lossCurves(rows, { band: "ci95", baseline: "gelu" })));
 * ```
 */
export function lossCurves(rows: DataRows, options: LossCurveOptions = {}): Figure {
  const fields: LossFields = {
    x: options.x ?? "step",
    y: options.y ?? "loss",
    group: options.group ?? "activation",
  };
  const band = options.band ?? "minmax";
  const byCurve = groupLosses(toRecords(rows), fields);
  if (options.baseline !== undefined && !byCurve.has(options.baseline)) {
    throw new Error(
      `lossCurves: baseline '${options.baseline}' is not among the curves (${
        [...byCurve.keys()].join(", ")
      })`,
    );
  }
  const fraction = zoomShare(options.zoom);
  const curves = [...byCurve].map(([name, byX]) => lossCurve(name, byX));
  const base = options.baseline !== undefined
    ? curves.find((c) => c.name === options.baseline)!
    : undefined;
  const baseline = base && { curve: base, diffs: curves.map((c) => differenceTo(c, base)) };
  const window = lossWindow(curves, options.zoom, fraction);
  const titles = {
    x: options.xTitle ?? stepTitle(fields.x),
    y: withUnit(options.yTitle ?? fields.y, options.unit),
  };
  const logY = Boolean(options.logY);
  const view: SideView = { names: curves.map((c) => c.name), window, titles, logY };
  // Panels: the whole run, then the zoomed window and the differences to the baseline.
  const sides = sidePanels(curves, window, fraction, baseline).map((s) => drawSidePanel(s, view));
  const data = [
    ...curves.flatMap((curve, i) => wholeRunTraces(curve, i, band)),
    ...sides.flatMap((side) => side.traces),
  ];
  const title = options.title ?? "Loss";
  const layout = lossLayout(title, titles, logY, BAND_TEXT[band], sides);
  const summary = lossSummary(title, curves, { band, fields, window, baseline });
  return new Figure(data, layout, { summary });
}

// ---- Means with confidence intervals ----

/** Options for {@link intervalChart}. */
export interface IntervalOptions {
  /** Field naming each bar (default "activation"). */
  group?: string;
  /** Field of the per-run value to aggregate (default "value"); ignored for aggregated rows. */
  value?: string;
  /** Confidence level of the interval (default 0.95). */
  level?: number;
  /** "bar" or "point" (default "point"). */
  style?: "bar" | "point";
  /** Mark the lowest (default) or highest mean as best. */
  best?: "min" | "max";
  /** Figure title. */
  title?: string;
  /** Value-axis title (default: the value field), followed by the unit. */
  yTitle?: string;
  /**
   * Unit appended to the value-axis title in parentheses (default "nats/char" when the title
   * names a loss; `""` for none). A title that already has a parenthesis is kept as it is.
   */
  unit?: string;
}

/** One aggregated row of {@link intervalChart}. */
export interface IntervalRow {
  /** The group's name (x axis). */
  label: string;
  /** The mean. */
  mean: number;
  /** Lower end of the interval. */
  low: number;
  /** Upper end of the interval. */
  high: number;
  /** Number of runs behind the mean, when known. */
  n?: number;
}

/** Whether the rows are aggregated already: the first has `mean`, `low` and `high`. */
function isAggregated(records: readonly Record<string, unknown>[]): boolean {
  return records.length > 0 && "mean" in records[0] && "low" in records[0] &&
    "high" in records[0];
}

/** Aggregated rows as they are, named by their `label` or else their group field. */
function readIntervals(records: readonly Record<string, unknown>[], group: string): IntervalRow[] {
  return records.map((r) => ({
    label: String(r.label ?? r[group]),
    mean: Number(r.mean),
    low: Number(r.low),
    high: Number(r.high),
    n: typeof r.n === "number" ? r.n : undefined,
  }));
}

/**
 * Per-run rows aggregated per group, in the order groups first appear: the mean with a Student-t
 * interval at `level` (of zero width for a single run). Rows without a finite value are skipped;
 * none left is an error that lists the fields seen.
 */
function aggregateRuns(
  records: readonly Record<string, unknown>[],
  group: string,
  value: string,
  level: number,
): IntervalRow[] {
  const by = new Map<string, number[]>();
  for (const r of records) {
    const y = Number(r[value]);
    if (!Number.isFinite(y)) continue;
    const k = String(r[group]);
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(y);
  }
  if (by.size === 0) {
    throw new Error(
      `intervalChart: no rows with a numeric '${value}' field (fields seen: ${
        Object.keys(records[0] ?? {}).join(", ") || "none"
      }); pass { group, value } or aggregated rows { label, mean, low, high }`,
    );
  }
  return [...by].map(([label, values]) => {
    const s = summarize(values, level);
    const ci = Number.isFinite(s.ci) ? s.ci : 0;
    return { label, mean: s.mean, low: s.mean - ci, high: s.mean + ci, n: s.n };
  });
}

/**
 * The chart's single trace: per group a point (the best a larger star) or a bar (the best
 * outlined), in the group's colour, with its interval as an error bar.
 */
function intervalTrace(
  items: readonly IntervalRow[],
  style: "bar" | "point",
  isBest: readonly boolean[],
): PlotlyTrace {
  const colors = items.map((_, i) => seriesColor(i));
  const marker = style === "point"
    ? {
      mode: "markers",
      marker: {
        size: isBest.map((b) => (b ? 17 : 11)),
        symbol: isBest.map((b) => (b ? "star" : "circle")),
        color: colors,
        line: { color: "#333", width: isBest.map((b) => (b ? 1 : 0)) },
      },
    }
    : {
      marker: {
        color: colors,
        line: { color: "#333", width: isBest.map((b) => (b ? 2.5 : 0)) },
      },
    };
  return {
    type: style === "bar" ? "bar" : "scatter",
    ...marker,
    x: items.map((r) => r.label),
    y: items.map((r) => r.mean),
    error_y: {
      type: "data",
      symmetric: false,
      array: items.map((r) => r.high - r.mean),
      arrayminus: items.map((r) => r.mean - r.low),
      color: "#444",
      thickness: 1.5,
      width: 6,
    },
    name: "mean",
    showlegend: false,
  };
}

/** The text summary: per group its mean, interval and number of runs, the best starred. */
function intervalSummary(title: string, items: readonly IntervalRow[], bestMean: number): string {
  const w = Math.max(12, ...items.map((r) => r.label.length + 2));
  return [
    `Figure: ${title} (${items.length} groups; ★ best)`,
    ...items.map((r) =>
      `  ${pad(r.label, w)}${num(r.mean)} [${num(r.low)}, ${num(r.high)}]` +
      (r.n !== undefined ? `  n=${r.n}` : "") + (r.mean === bestMean ? "  ★" : "")
    ),
  ].join("\n");
}

/**
 * Means with confidence intervals as a point or bar chart. Give one row per run
 * (`{ activation, value }`), which is aggregated with a Student-t interval, or rows already
 * aggregated (`{ label, mean, low, high }`). The best mean is marked.
 *
 * @example
 * ```ts
 * import { intervalChart } from "./figures.ts";
 * const runs = [
 *   { activation: "relu", value: 1.71 }, { activation: "relu", value: 1.74 },
 *   { activation: "gelu", value: 1.66 }, { activation: "gelu", value: 1.69 },
 * ];
 * console.log(String(intervalChart(runs, { title: "val loss" })));
 * ```
 */
export function intervalChart(rows: DataRows, options: IntervalOptions = {}): Figure {
  const records = toRecords(rows);
  const level = options.level ?? 0.95;
  const group = options.group ?? "activation";
  const items = isAggregated(records)
    ? readIntervals(records, group)
    : aggregateRuns(records, group, options.value ?? "value", level);
  const pick = options.best === "max" ? Math.max : Math.min;
  const bestMean = pick(...items.map((r) => r.mean));
  const isBest = items.map((r) => r.mean === bestMean);
  const trace = intervalTrace(items, options.style ?? "point", isBest);
  const pct = Math.round(level * 100);
  const title = options.title ?? `Mean with ${pct}% confidence interval`;
  return new Figure([trace], {
    title: { text: title },
    height: 400,
    annotations: [cornerNote(`★ best mean · bars: ${pct}% CI`)],
    xaxis: axisTitle(group),
    yaxis: axisTitle(withUnit(options.yTitle ?? options.value ?? "value", options.unit)),
  }, { summary: intervalSummary(title, items, bestMean) });
}
