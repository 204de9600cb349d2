/**
 * Loss curves over seeds: the mean as a line and the spread as a band, with side panels that
 * zoom into the final steps and show the differences to a baseline curve.
 *
 * Read top to bottom: the options, the pieces the figure is built from (the losses grouped, the
 * window of final steps, each panel's traces, the layout, the text summary), then
 * {@link lossCurves}, which calls them in order.
 *
 * @module
 */
import { Figure, type PlotlyLayout, type PlotlyTrace, seriesColor, seriesLine } from "./figure.ts";
import { type SampleSummary, summarize } from "./_stats.ts";
import { type DataRows, toRecords } from "./_rows.ts";
import { curveRange } from "./_ranges.ts";
import {
  axisTitle,
  cornerNote,
  num,
  offScale,
  pad,
  panelTitle,
  stepTitle,
  withUnit,
} from "./_labels.ts";

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
  /**
   * Logarithmic x axis for learning rates and other scales (default false): give the rates
   * themselves as x (not their log₁₀); the ticks sit at the data's x values and read as rates
   * (`3e-4`, `1e-3`, `3e-3`). No zoom into final steps on such an axis.
   */
  logX?: boolean;
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
   * another share, `false` for none. Default: on when there are more than 5 curves, or when the
   * curves' final means lie within {@link OVERLAP_SHARE} of the loss axis (a difference of 0.1
   * nats on an axis from 4.2 to 1.5 is a few pixels).
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

/**
 * Curves overlap at full scale when their final means lie within this share of the range every
 * mean spans: then {@link lossCurves} zooms into the final steps by default.
 */
export const OVERLAP_SHARE = 0.15;

/**
 * Whether two or more curves end so close together, against the range of the whole run, that
 * their differences hardly show at full scale (see {@link OVERLAP_SHARE}).
 */
function overlapAtFullScale(curves: readonly LossCurve[]): boolean {
  if (curves.length < 2) return false;
  const finals = curves.map((c) => c.mean[c.mean.length - 1]);
  const all = curves.flatMap((c) => c.mean);
  const span = Math.max(...all) - Math.min(...all);
  return span > 0 && Math.max(...finals) - Math.min(...finals) < OVERLAP_SHARE * span;
}

/** The window of final steps over all curves, and whether the zoom panel is drawn. */
function lossWindow(
  curves: readonly LossCurve[],
  zoom: LossCurveOptions["zoom"],
  fraction: number,
  logX: boolean,
): LossWindow {
  const ends = curves.flatMap((c) => [c.xs[0], c.xs[c.xs.length - 1]]);
  const [x0, x1] = [Math.min(...ends), Math.max(...ends)];
  const zoomFrom = x1 - fraction * (x1 - x0);
  const final = zoom !== false && x1 > x0 && !logX;
  const auto = curves.length > 5 || overlapAtFullScale(curves);
  const zoomed = final && (zoom ?? auto) !== false;
  return { zoomFrom, final, zoomed, from: final ? zoomFrom : x0, to: x1 };
}

/**
 * A rate as a tick label: `3e-4`, `1e-3`, `1.5e-3` below 0.1, else the number (`0.3`, `1`).
 *
 * @example
 * ```ts
 * import { rateLabel } from "./loss_curves.ts";
 * console.assert([3e-4, 0.001, 0.0015, 0.01, 0.3].map(rateLabel).join() === "3e-4,1e-3,1.5e-3,1e-2,0.3");
 * ```
 */
export function rateLabel(x: number): string {
  const v = Number(x.toPrecision(6));
  return v !== 0 && Math.abs(v) < 0.1 ? v.toExponential() : String(v);
}

/**
 * The x axis entries of a logarithmic axis over `xs`: ticks at the distinct values labelled as
 * rates (up to 12 of them; beyond, Plotly's own ticks in `1e-3` form), and `range` in log₁₀
 * units when given in data units.
 */
function logAxis(xs: readonly number[], range?: [number, number]): Record<string, unknown> {
  const positive = [...new Set(xs.filter((x) => x > 0))].sort((a, b) => a - b);
  const ticks = positive.length <= 12
    ? { tickmode: "array", tickvals: positive, ticktext: positive.map(rateLabel) }
    : { exponentformat: "e" };
  return {
    type: "log",
    ...ticks,
    ...(range ? { range: range.map((v) => Math.log10(v)) } : {}),
  };
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
  /** With a logarithmic x axis: every x value, for the ticks (else undefined). */
  logXs?: readonly number[];
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
      ...(view.logXs
        ? logAxis(view.logXs, [window.from, window.to])
        : { range: [window.from, window.to] }),
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
  view: SideView,
  bandText: string,
  sides: readonly DrawnPanel[],
): PlotlyLayout {
  const { titles, logY } = view;
  const alone = sides.length === 0;
  const { main } = lossGrid(sides.length);
  const layout: PlotlyLayout = {
    title: { text: title },
    height: sides.length === 2 ? 640 : 420,
    xaxis: {
      ...axisTitle(titles.x),
      ...(view.logXs ? logAxis(view.logXs) : {}),
      ...(alone ? {} : { domain: main.x }),
    },
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
 * as records or an arquero table. With more than 5 curves, or curves that end too close together
 * to tell apart at full scale, a second panel zooms into the last 30 % of steps, where they
 * separate ({@link LossCurveOptions.zoom}); `baseline` adds a panel of differences to one curve.
 * Every curve has its own colour and dash. With `logX` the x axis is logarithmic and labelled in
 * rates: the final loss against the learning rate.
 *
 * @example Final loss against the learning rate
 * ```ts
 * import { lossCurves } from "./loss_curves.ts";
 * const rows = [3e-4, 1e-3, 3e-3, 1e-2].flatMap((lr) =>
 *   ["relu", "gelu"].map((activation) => ({ activation, lr, loss: 1.5 + (Math.log10(lr) + 2.5) ** 2 }))
 * );
 * const fig = lossCurves(rows, { x: "lr", logX: true, xTitle: "peak learning rate" });
 * const xaxis = fig.toJSON().layout.xaxis as { type: string; ticktext: string[] };
 * console.assert(xaxis.type === "log" && xaxis.ticktext.join() === "3e-4,1e-3,3e-3,1e-2");
 * ```
 *
 * @example
 * ```ts
 * import { lossCurves } from "./loss_curves.ts";
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
  const logX = Boolean(options.logX);
  const xs = curves.flatMap((c) => c.xs);
  if (logX && xs.some((x) => !(x > 0))) {
    throw new RangeError(
      `lossCurves: logX needs positive x values, got ${
        xs.find((x) => !(x > 0))
      } in '${fields.x}'; give the rates themselves, not their log₁₀`,
    );
  }
  const window = lossWindow(curves, options.zoom, fraction, logX);
  const titles = {
    x: options.xTitle ?? stepTitle(fields.x),
    y: withUnit(options.yTitle ?? fields.y, options.unit),
  };
  const logY = Boolean(options.logY);
  const view: SideView = {
    names: curves.map((c) => c.name),
    window,
    titles,
    logY,
    ...(logX ? { logXs: xs } : {}),
  };
  // Panels: the whole run, then the zoomed window and the differences to the baseline.
  const sides = sidePanels(curves, window, fraction, baseline).map((s) => drawSidePanel(s, view));
  const data = [
    ...curves.flatMap((curve, i) => wholeRunTraces(curve, i, band)),
    ...sides.flatMap((side) => side.traces),
  ];
  const title = options.title ?? "Loss";
  const layout = lossLayout(title, view, BAND_TEXT[band], sides);
  const summary = lossSummary(title, curves, { band, fields, window, baseline });
  return new Figure(data, layout, { summary });
}
