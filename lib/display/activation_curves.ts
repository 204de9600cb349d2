/**
 * Activation curves: f(x) and f′(x) side by side from the registry's float64 references, and the
 * difference between two activations (the exact-vs-tanh GELU gap). The words on the figures are
 * in `_labels.ts`.
 *
 * Read top to bottom: the options, the pieces a figure is built from (the data sampled, the
 * traces, the layout, the text summary), then the figure, which calls them in order.
 *
 * @module
 */
import type { ActivationDef } from "../activations/types.ts";
import { Figure, type PlotlyLayout, type PlotlyTrace, seriesColor, seriesLine } from "./figure.ts";
import { curveRange } from "./_ranges.ts";
import { axisTitle, num, offScale, pad, panelNote } from "./_labels.ts";
import {
  type ActivationLike,
  label,
  linspace,
  resolve,
  slopeAt,
  valueAt,
} from "./_activation_like.ts";

export type { ActivationLike } from "./_activation_like.ts";

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
   * beyond the others, or above 1.25 × the input range's top (relu² next to GELU), off the top,
   * naming it in the panel, so small features such as GELU's dip of −0.17 stay visible; `"all"` shows every curve whole; or a
   * `[low, high]` range. The f′(x) panel is fitted the same way (reaching up to 2) unless a
   * range is given.
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
 * How high a fitted panel reaches before a curve is let off its top, whatever the other curves
 * do: f(x) up to 1.25 × the top of the input range (an activation that grows faster than the
 * identity, like relu² = x², would otherwise set a scale of 16 on [−4, 4] and flatten GELU's
 * dip of −0.17 into a pixel); f′(x) up to 2 (twice the identity's slope).
 */
const VALUE_REACH = 1.25;
const SLOPE_REACH = 2;

/** The largest finite value of a curve (−∞ for none). */
function top(curve: readonly number[]): number {
  let hi = -Infinity;
  for (const y of curve) if (Number.isFinite(y) && y > hi) hi = y;
  return hi;
}

/**
 * The range entries of a y axis that shows `curves` as {@link CurveOptions.yRange} asks, and the
 * note naming the curves a fitted range cuts off ("" when none). A fitted range first lets off
 * the curves that rise above `reach` (when some stay below it), then fits the rest.
 */
function fitCurveAxis(
  curves: number[][],
  names: readonly string[],
  how: CurveOptions["yRange"],
  reach = Infinity,
): { axis: Record<string, unknown>; note: string } {
  if (Array.isArray(how)) return { axis: { range: [...how] }, note: "" };
  if (how === "all") return { axis: {}, note: "" };
  const kept = curves.map((_, i) => i).filter((i) => top(curves[i]) <= reach);
  const index = kept.length > 0 && kept.length < curves.length ? kept : curves.map((_, i) => i);
  const r = curveRange(index.map((i) => curves[i]));
  const above = [
    ...curves.map((_, i) => i).filter((i) => !index.includes(i)),
    ...r.above.map((j) => index[j]),
  ].sort((a, b) => a - b);
  const below = r.below.map((j) => index[j]);
  return { axis: { range: r.range }, note: offScale(names, above, below) };
}

/**
 * The layout: the f(x) panel, and the f′(x) panel beside it when there are derivatives, each y
 * axis fitted, with a note in a panel whose range cuts curves off. Also returns those notes for
 * the summary.
 */
function curvesLayout(
  { names, xs, values, slopes }: SampledCurves,
  title: string,
  height: number,
  yRange: CurveOptions["yRange"],
): { layout: PlotlyLayout; notes: string[] } {
  const xHi = xs[xs.length - 1];
  const fx = fitCurveAxis(values, names, yRange, Math.max(1, VALUE_REACH * xHi));
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
    const dfx = fitCurveAxis(slopes, names, Array.isArray(yRange) ? "fit" : yRange, SLOPE_REACH);
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
 * import { activationCurves } from "./activation_curves.ts";
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
 * import { activationDifference } from "./activation_curves.ts";
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
 * import { geluTanhDifference } from "./activation_curves.ts";
 * console.log(String(geluTanhDifference())); // max |Δf| ≈ 4.7e-4
 * ```
 */
export function geluTanhDifference(options: DifferenceOptions = {}): Figure {
  return activationDifference("gelu", "gelu_tanh", {
    title: "Exact GELU − tanh approximation",
    ...options,
  });
}
