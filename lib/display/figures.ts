/**
 * Ready-made figures for activation research: curves with derivatives, the exact-vs-tanh GELU
 * difference, output distributions, loss curves over seeds, and charts of means with confidence
 * intervals. They take activation names (resolved through the registry) or plain data: arrays,
 * records, or an arquero table.
 *
 * @module
 */
import { getActivation } from "../activations/mod.ts";
import type { ActivationDef } from "../activations/types.ts";
import { Figure, type PlotlyLayout, type PlotlyTrace, seriesColor, seriesLine } from "./figure.ts";
import { mean, summarize } from "./_stats.ts";
import { type DataRows, toRecords } from "./_rows.ts";
import { curveRange } from "./_ranges.ts";

export type { DataRows } from "./_rows.ts";

/**
 * An activation given by registry name (`"gelu"`, `"leaky_relu(slope=0.2)"`) or definition
 * (`ActivationDef` from the activation registry).
 */
export type ActivationLike = string | ActivationDef;

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

function label(def: ActivationDef): string {
  return def.kind === "unary" ? def.name : `${def.name}(x, 1)`;
}

function linspace(lo: number, hi: number, n: number): number[] {
  if (!(n >= 2)) throw new RangeError(`need at least 2 points, got ${n}`);
  if (!(hi > lo)) throw new RangeError(`range must be increasing, got [${lo}, ${hi}]`);
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(Math.max(0, digits - 2));
  return String(Number(x.toPrecision(digits)));
}

function axisTitle(text: string): { title: { text: string } } {
  return { title: { text } };
}

/**
 * The unit of a loss axis: the mini-GPT is a character-level model, so its loss is the
 * cross-entropy in nats per character.
 */
const LOSS_UNIT = "nats/char";

/**
 * An axis title with its unit in parentheses. With `unit` undefined, a title that names a loss
 * gets {@link LOSS_UNIT}; a title that already has a parenthesis, or `unit: ""`, is left as it is.
 */
function withUnit(title: string, unit?: string): string {
  const u = unit ?? (/loss/i.test(title) ? LOSS_UNIT : "");
  return u && !title.includes("(") ? `${title} (${u})` : title;
}

/** The x-axis title of a step field: "training step" for `step`/`iter`, else the field. */
function stepTitle(field: string): string {
  return /^(step|iter|iteration)s?$/i.test(field) ? "training step" : field;
}

/** A small grey note in a panel's top-left corner (which curves run off the scale). */
function panelNote(axis: string, text: string) {
  return {
    xref: `x${axis} domain`,
    yref: `y${axis} domain`,
    x: 0.02,
    y: 0.98,
    xanchor: "left",
    yanchor: "top",
    showarrow: false,
    align: "left",
    text,
    font: { size: 11, color: "#666" },
    bgcolor: "rgba(255,255,255,0.8)",
  };
}

/** A panel's title, centred above it. */
function panelTitle(axis: string, text: string) {
  return {
    xref: `x${axis} domain`,
    yref: `y${axis} domain`,
    x: 0.5,
    y: 1.01,
    xanchor: "center",
    yanchor: "bottom",
    showarrow: false,
    text,
    font: { size: 12, color: "#444" },
  };
}

/** "off scale: relu2 ↑, elu ↓": the curves a {@link curveRange} cut off (two named at most). */
function offScale(names: readonly string[], above: number[], below: number[]): string {
  const parts = [
    ...above.map((i) => `${names[i]} ↑`),
    ...below.map((i) => `${names[i]} ↓`),
  ];
  if (parts.length === 0) return "";
  const more = parts.length > 2 ? ` +${parts.length - 2} more` : "";
  return `off scale: ${parts.slice(0, 2).join(", ")}${more}`;
}

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
  const names = defs.map(label);
  const values = defs.map((def) => xs.map((x) => valueAt(def, x)));
  const slopes = withSlopes ? defs.map((def) => xs.map((x) => slopeAt(def, x))) : [];
  const data: PlotlyTrace[] = [];
  defs.forEach((_, i) => {
    const name = names[i];
    data.push({
      type: "scatter",
      mode: "lines",
      name,
      legendgroup: name,
      x: xs,
      y: values[i],
      line: seriesLine(i),
    });
    if (withSlopes) {
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
  const title = options.title ?? "Activation functions";
  const mode = options.yRange ?? "fit";
  const annotations: unknown[] = [];
  const notes: string[] = [];
  const fitAxis = (
    curves: number[][],
    axis: string,
    how: CurveOptions["yRange"],
  ): Record<string, unknown> => {
    if (Array.isArray(how)) return { range: [...how] };
    if (how === "all") return {};
    const r = curveRange(curves);
    const note = offScale(names, r.above, r.below);
    if (note) {
      annotations.push(panelNote(axis, note));
      notes.push(`${axis === "" ? "f(x)" : "f′(x)"} ${note}`);
    }
    return { range: r.range };
  };
  const layout: PlotlyLayout = {
    title: { text: title },
    height: options.height ?? 420,
    xaxis: { ...axisTitle("x"), domain: withSlopes ? [0, 0.46] : [0, 1] },
    yaxis: { ...axisTitle("f(x)"), ...fitAxis(values, "", mode) },
  };
  if (withSlopes) {
    layout.xaxis2 = { ...axisTitle("x"), domain: [0.54, 1], anchor: "y2" };
    layout.yaxis2 = {
      ...axisTitle("f′(x)"),
      anchor: "x2",
      ...fitAxis(slopes, "2", Array.isArray(mode) ? "fit" : mode),
    };
  }
  if (annotations.length) layout.annotations = annotations;
  if (withSlopes && defs.length > 6) layout.legend = { orientation: "h" };
  const w = Math.max(12, ...names.map((n) => n.length + 2));
  const summary = [
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
  return new Figure(data, layout, { summary });
}

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

interface SeriesStats {
  name: string;
  n: number;
  mean: number;
  std: number;
  zeroFraction: number;
  min: number;
  max: number;
}

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
  const tol = options.zeroTolerance ?? 0;
  const gap = 0.06;
  const data: PlotlyTrace[] = [];
  const shapes: unknown[] = [];
  const annotations: unknown[] = [];
  const layout: PlotlyLayout = {};
  const stats: SeriesStats[] = [];
  names.forEach((name, i) => {
    const values = series[name];
    const s = summarize(values);
    let zeros = 0;
    for (let j = 0; j < values.length; j++) if (Math.abs(values[j]) <= tol) zeros++;
    const st: SeriesStats = {
      name,
      n: values.length,
      mean: s.mean,
      std: s.std,
      zeroFraction: values.length ? zeros / values.length : NaN,
      min: s.min,
      max: s.max,
    };
    stats.push(st);
    const { centers, p } = histogram(values, bins);
    const k = i === 0 ? "" : String(i + 1);
    const col = i % cols, row = Math.floor(i / cols);
    const w = (1 - gap * (cols - 1)) / cols, h = (1 - 0.12 * (rows - 1)) / rows;
    const x0 = col * (w + gap), y1 = 1 - row * (h + 0.12);
    layout[`xaxis${k}`] = { domain: [x0, x0 + w], anchor: `y${k}`, title: { text: name } };
    layout[`yaxis${k}`] = {
      domain: [Math.max(0, y1 - h), y1],
      anchor: `x${k}`,
      ...(col === 0 ? { title: { text: "fraction of values" } } : {}),
    };
    data.push({
      type: "bar",
      name,
      x: centers,
      y: p,
      xaxis: `x${k}`,
      yaxis: `y${k}`,
      marker: { color: seriesColor(i, 0.85) },
      showlegend: false,
    });
    shapes.push({
      type: "line",
      xref: `x${k}`,
      yref: `y${k} domain`,
      x0: st.mean,
      x1: st.mean,
      y0: 0,
      y1: 1,
      line: { color: "#222", width: 1.5, dash: "dash" },
    });
    annotations.push({
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
    });
  });
  const title = options.title ?? "Output distributions";
  Object.assign(layout, {
    title: { text: title },
    height: Math.max(300, 260 * rows + 60),
    bargap: 0.02,
    shapes,
    annotations,
  });
  const w = Math.max(12, ...names.map((n) => n.length + 2));
  const summary = [
    `Figure: ${title} (${names.length} histograms, ${bins} bins)`,
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
  return new Figure(data, layout, { summary });
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

/** A small grey note in a figure's top-right corner (what a band or a marker means). */
function cornerNote(text: string) {
  return {
    xref: "paper",
    yref: "paper",
    x: 1,
    y: 1.06,
    xanchor: "right",
    showarrow: false,
    text,
    font: { size: 11, color: "#666" },
  };
}

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

interface LossGroup {
  name: string;
  xs: number[];
  mean: number[];
  seeds: number;
  last: ReturnType<typeof summarize>;
}

/** Points of a curve inside [from, ∞), plus the one before so the line enters at the edge. */
function windowed(xs: readonly number[], ys: readonly number[], from: number) {
  let k = xs.findIndex((x) => x >= from);
  if (k < 0) k = xs.length;
  const start = Math.max(0, k - 1);
  return { x: xs.slice(start), y: ys.slice(start), inside: ys.slice(k) };
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
  const xKey = options.x ?? "step",
    yKey = options.y ?? "loss",
    gKey = options.group ??
      "activation";
  const band = options.band ?? "minmax";
  const records = toRecords(rows);
  const byGroup = new Map<string, Map<number, number[]>>();
  for (const r of records) {
    const g = String(r[gKey]);
    const x = Number(r[xKey]), y = Number(r[yKey]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (!byGroup.has(g)) byGroup.set(g, new Map());
    const byX = byGroup.get(g)!;
    if (!byX.has(x)) byX.set(x, []);
    byX.get(x)!.push(y);
  }
  if (byGroup.size === 0) {
    throw new Error(
      `lossCurves: no rows with numeric '${xKey}' and '${yKey}' (fields seen: ${
        Object.keys(records[0] ?? {}).join(", ") || "none"
      }); pass { x, y, group } to name your fields`,
    );
  }
  if (options.baseline !== undefined && !byGroup.has(options.baseline)) {
    throw new Error(
      `lossCurves: baseline '${options.baseline}' is not among the curves (${
        [...byGroup.keys()].join(", ")
      })`,
    );
  }
  const zoomFraction = typeof options.zoom === "number" ? options.zoom : 0.3;
  if (!(zoomFraction > 0 && zoomFraction <= 1)) {
    throw new RangeError(`lossCurves: zoom must be a fraction in (0, 1], got ${options.zoom}`);
  }
  const yTitle = withUnit(options.yTitle ?? yKey, options.unit);
  const xTitle = options.xTitle ?? stepTitle(xKey);
  const data: PlotlyTrace[] = [];
  const groups: LossGroup[] = [];
  let i = 0;
  for (const [g, byX] of byGroup) {
    const xs = [...byX.keys()].sort((a, b) => a - b);
    const stats = xs.map((x) => summarize(byX.get(x)!));
    const m = stats.map((s) => s.mean);
    const seeds = Math.max(...stats.map((s) => s.n));
    const style = seriesLine(i);
    if (band !== "none" && seeds > 1) {
      const lo = stats.map((s) =>
        band === "minmax" ? s.min : band === "std" ? s.mean - s.std : s.mean - (s.ci || 0)
      );
      const hi = stats.map((s) =>
        band === "minmax" ? s.max : band === "std" ? s.mean + s.std : s.mean + (s.ci || 0)
      );
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
      y: m,
      line: style,
    });
    groups.push({ name: g, xs, mean: m, seeds, last: stats[stats.length - 1] });
    i++;
  }
  const title = options.title ?? "Loss";
  const bandText = {
    minmax: "band: min–max over seeds",
    ci95: "band: 95% CI of the mean",
    std: "band: ±1 std",
    none: "",
  }[band];
  const logAxis = options.logY ? { type: "log", dtick: "D2" } : {};
  const allX = groups.flatMap((gr) => [gr.xs[0], gr.xs[gr.xs.length - 1]]);
  const [x0, x1] = [Math.min(...allX), Math.max(...allX)];
  const zoomFrom = x1 - zoomFraction * (x1 - x0);
  // The window the zoom and difference panels show: the final steps unless `zoom: false`.
  const inWindow = options.zoom !== false && x1 > x0;
  const zoomed = inWindow && (options.zoom ?? groups.length > 5) !== false;
  const base = options.baseline !== undefined
    ? groups.find((gr) => gr.name === options.baseline)!
    : undefined;
  // Panels: the whole run, then the zoomed window and the differences to the baseline.
  const panels: ("zoom" | "diff")[] = [];
  if (zoomed) panels.push("zoom");
  if (base) panels.push("diff");
  const names = groups.map((gr) => gr.name);
  const annotations: unknown[] = bandText && panels.length === 0 ? [cornerNote(bandText)] : [];
  const layout: PlotlyLayout = {
    title: { text: title },
    height: panels.length === 2 ? 640 : 420,
    xaxis: { ...axisTitle(xTitle) },
    yaxis: { ...axisTitle(yTitle), ...logAxis },
  };
  const diffAt = new Map<string, number>();
  if (panels.length > 0) {
    layout.legend = { orientation: "h" };
    layout.margin = { l: 60, r: 20, t: 72, b: 50 };
    annotations.push(panelTitle("", bandText ? `all steps · ${bandText}` : "all steps"));
    // One panel beside: two columns. Two panels: the whole run on top, the others below.
    const top = panels.length === 2 ? [0.58, 1] : [0, 1];
    Object.assign(layout.xaxis as object, { domain: panels.length === 2 ? [0, 1] : [0, 0.43] });
    Object.assign(layout.yaxis as object, { domain: top });
    const slots = panels.length === 2
      ? [{ x: [0, 0.43], y: [0, 0.4] }, { x: [0.57, 1], y: [0, 0.4] }]
      : [{ x: [0.57, 1], y: [0, 1] }];
    const from = inWindow ? zoomFrom : x0;
    panels.forEach((panel, p) => {
      const k = String(p + 2);
      const curves: number[][] = [];
      groups.forEach((gr, j) => {
        let ys = gr.mean, xs = gr.xs;
        if (panel === "diff") {
          const ref = new Map(base!.xs.map((x, q) => [x, base!.mean[q]]));
          xs = gr.xs.filter((x) => ref.has(x));
          ys = xs.map((x) => gr.mean[gr.xs.indexOf(x)] - ref.get(x)!);
          if (xs.length) diffAt.set(gr.name, ys[ys.length - 1]);
        }
        const w = windowed(xs, ys, from);
        curves.push(w.inside);
        data.push({
          type: "scatter",
          mode: "lines",
          name: gr.name,
          legendgroup: gr.name,
          showlegend: false,
          x: w.x,
          y: w.y,
          xaxis: `x${k}`,
          yaxis: `y${k}`,
          line: seriesLine(j),
        });
      });
      const fitted = curveRange(curves, { minCurves: 5 });
      // Which curves run off the panel goes in its title, where it hides no data.
      const note = offScale(names, fitted.above, fitted.below);
      const pct = Math.round(zoomFraction * 100);
      const what = panel === "zoom"
        ? `final ${pct}% of steps (means)`
        : `Δ to ${base!.name} (means${inWindow ? `, final ${pct}%` : ""})`;
      annotations.push(panelTitle(k, note ? `${what} · ${note}` : what));
      layout[`xaxis${k}`] = {
        ...axisTitle(xTitle),
        domain: slots[p].x,
        anchor: `y${k}`,
        range: [from, x1],
      };
      layout[`yaxis${k}`] = {
        ...axisTitle(panel === "zoom" ? yTitle : `Δ ${yTitle}`),
        domain: slots[p].y,
        anchor: `x${k}`,
        ...(panel === "zoom" ? { range: fitted.range } : {
          range: fitted.range,
          zeroline: true,
          zerolinecolor: "#555",
          zerolinewidth: 1,
        }),
        ...(panel === "zoom" && options.logY ? { type: "log" } : {}),
      };
      if (panel === "zoom" && options.logY) {
        (layout[`yaxis${k}`] as Record<string, unknown>).range = fitted.range.map((v) =>
          Math.log10(Math.max(v, 1e-12))
        );
      }
    });
  }
  if (annotations.length) layout.annotations = annotations;
  const summaryLines = groups.map((gr) => {
    const last = gr.last;
    const spread = band === "minmax"
      ? ` [${num(last.min)}, ${num(last.max)}]`
      : band === "std"
      ? ` ± ${num(last.std)} (std)`
      : band === "ci95" && Number.isFinite(last.ci)
      ? ` ± ${num(last.ci)} (95% CI)`
      : "";
    const delta = base && gr !== base && diffAt.has(gr.name)
      ? `; Δ ${base.name} ${diffAt.get(gr.name)! >= 0 ? "+" : ""}${num(diffAt.get(gr.name)!)}`
      : "";
    return `  ${pad(gr.name, 14)} ${gr.seeds} seed${gr.seeds === 1 ? "" : "s"}, ` +
      `${gr.xs.length} points, final ${yKey} ${num(last.mean)}${spread} at ${xKey} ` +
      `${gr.xs[gr.xs.length - 1]}${delta}`;
  });
  const extras = [
    bandText,
    zoomed || (base && inWindow) ? `zoom: ${xKey} ≥ ${num(zoomFrom)}` : "",
    base ? `differences to ${base.name}` : "",
  ].filter(Boolean);
  return new Figure(data, layout, {
    summary: [
      `Figure: ${title} (${groups.length} curves${extras.length ? `; ${extras.join("; ")}` : ""})`,
      ...summaryLines,
    ].join("\n"),
  });
}

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
  let items: IntervalRow[];
  if (records.length > 0 && "mean" in records[0] && "low" in records[0] && "high" in records[0]) {
    items = records.map((r) => ({
      label: String(r.label ?? r[options.group ?? "activation"]),
      mean: Number(r.mean),
      low: Number(r.low),
      high: Number(r.high),
      n: typeof r.n === "number" ? r.n : undefined,
    }));
  } else {
    const g = options.group ?? "activation", v = options.value ?? "value";
    const by = new Map<string, number[]>();
    for (const r of records) {
      const y = Number(r[v]);
      if (!Number.isFinite(y)) continue;
      const k = String(r[g]);
      if (!by.has(k)) by.set(k, []);
      by.get(k)!.push(y);
    }
    if (by.size === 0) {
      throw new Error(
        `intervalChart: no rows with a numeric '${v}' field (fields seen: ${
          Object.keys(records[0] ?? {}).join(", ") || "none"
        }); pass { group, value } or aggregated rows { label, mean, low, high }`,
      );
    }
    items = [...by].map(([label, values]) => {
      const s = summarize(values, level);
      const ci = Number.isFinite(s.ci) ? s.ci : 0;
      return { label, mean: s.mean, low: s.mean - ci, high: s.mean + ci, n: s.n };
    });
  }
  const pick = options.best === "max" ? Math.max : Math.min;
  const bestMean = pick(...items.map((r) => r.mean));
  const style = options.style ?? "point";
  const isBest = items.map((r) => r.mean === bestMean);
  const colors = items.map((_, i) => seriesColor(i));
  const trace: PlotlyTrace = {
    type: style === "bar" ? "bar" : "scatter",
    ...(style === "point"
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
      }),
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
  const title = options.title ?? `Mean with ${Math.round(level * 100)}% confidence interval`;
  const w = Math.max(12, ...items.map((r) => r.label.length + 2));
  const summary = [
    `Figure: ${title} (${items.length} groups; ★ best)`,
    ...items.map((r) =>
      `  ${pad(r.label, w)}${num(r.mean)} [${num(r.low)}, ${num(r.high)}]` +
      (r.n !== undefined ? `  n=${r.n}` : "") + (r.mean === bestMean ? "  ★" : "")
    ),
  ].join("\n");
  return new Figure([trace], {
    title: { text: title },
    height: 400,
    annotations: [cornerNote(`★ best mean · bars: ${Math.round(level * 100)}% CI`)],
    xaxis: axisTitle(options.group ?? "activation"),
    yaxis: axisTitle(withUnit(options.yTitle ?? options.value ?? "value", options.unit)),
  }, { summary });
}
