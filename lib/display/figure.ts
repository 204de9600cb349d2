/**
 * Plotly figures as display objects.
 *
 * One figure displays as `application/vnd.plotly.v1+json` (VS Code and JupyterLab render it), a
 * `text/html` that draws it wherever plotly.js is already on the page (no CDN: the runner's HTML
 * page includes plotly.js once), and a `text/plain` summary. Static images (`image/png`) are
 * added by the headless runner, which renders each figure in Chromium.
 *
 * @module
 */
import { DisplayObject, type MimeBundle } from "./display.ts";
import { escapeHtml, scriptJson, shortHash } from "./_util.ts";

/** A Plotly trace (`{ type: "scatter", x, y, name, … }`), as plotly.js takes it. */
export type PlotlyTrace = Record<string, unknown>;
/** A Plotly layout object. */
export type PlotlyLayout = Record<string, unknown>;

/** The JSON form of a figure: what `application/vnd.plotly.v1+json` carries. */
export interface FigureJson {
  /** The traces. */
  data: PlotlyTrace[];
  /** The layout. */
  layout: PlotlyLayout;
  /** plotly.js config. */
  config?: Record<string, unknown>;
}

/** Options for {@link figure}. */
export interface FigureOptions {
  /** The `text/plain` summary (default: one line per trace, generated). */
  summary?: string;
  /** plotly.js config (default: responsive, no logo). */
  config?: Record<string, unknown>;
  /** Significant digits kept for non-integer numbers in the output (default 6). */
  digits?: number;
}

/**
 * The colours figures give series, in order: Tableau 10, then ten darker or more saturated hues
 * chosen so that every pair of the twenty differs by at least 14 in CIEDE2000 colour difference
 * (Tableau 10 alone has pairs at 18). Series 10–19 are also dashed (see {@link seriesDash}), so a
 * figure of up to 100 series never repeats a colour-and-dash pair.
 */
export const PALETTE: readonly string[] = [
  "#4e79a7", // steel blue
  "#f28e2b", // orange
  "#e15759", // red
  "#76b7b2", // teal
  "#59a14f", // green
  "#edc948", // yellow
  "#b07aa1", // mauve
  "#ff9da7", // pink
  "#9c755f", // brown
  "#bab0ac", // warm grey
  "#3b3b3b", // charcoal
  "#b5521b", // rust
  "#8a7a00", // olive
  "#1f3f8f", // navy
  "#8b1e3f", // wine
  "#1b7a3a", // forest green
  "#6a3d9a", // violet
  "#00838f", // dark cyan
  "#e7298a", // magenta
  "#00b4d8", // sky blue
];

/** The dash patterns of series 0–9, 10–19, 20–29, …, cycling (see {@link seriesDash}). */
export const DASHES: readonly string[] = ["solid", "dash", "dot", "dashdot", "longdash"];

/**
 * The colour of the `i`-th series, cycling through {@link PALETTE}; with `alpha` < 1 it is an
 * `rgba()` for bands and fills.
 *
 * @example
 * ```ts
 * import { seriesColor } from "./figure.ts";
 * console.assert(seriesColor(0) === "#4e79a7");
 * console.assert(seriesColor(0, 0.2) === "rgba(78,121,167,0.2)");
 * ```
 */
export function seriesColor(i: number, alpha = 1): string {
  const hex = PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
  if (alpha >= 1) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/**
 * The dash pattern of the `i`-th series: solid for series 0–9, dashed for 10–19, dotted for
 * 20–29, … ({@link DASHES}). Together with {@link seriesColor} no two of the first 100 series
 * look alike; series 10–19 differ from 0–9 both in hue and in dash.
 *
 * @example
 * ```ts
 * import { seriesDash } from "./figure.ts";
 * console.assert(seriesDash(3) === "solid" && seriesDash(12) === "dash");
 * ```
 */
export function seriesDash(i: number): string {
  const k = Math.floor(Math.max(0, i) / 10);
  return DASHES[k % DASHES.length];
}

/** A Plotly `line` style: colour, dash pattern and width. */
export interface LineStyle {
  /** CSS colour. */
  color: string;
  /** Plotly dash pattern (`"solid"`, `"dash"`, …). */
  dash: string;
  /** Width in pixels. */
  width: number;
}

/**
 * The line style of the `i`-th series ({@link seriesColor} and {@link seriesDash}): pass it as a
 * trace's `line` so that traces in one figure never share a style.
 *
 * @example
 * ```ts
 * import { seriesLine } from "./figure.ts";
 * const trace = { type: "scatter", mode: "lines", x: [0, 1], y: [1, 0], line: seriesLine(10) };
 * console.assert(trace.line.color === "#3b3b3b" && trace.line.dash === "dash");
 * ```
 */
export function seriesLine(i: number, width = 2): LineStyle {
  return { color: seriesColor(i), dash: seriesDash(i), width };
}

const BASE_MARGIN = { l: 60, r: 20, t: 50, b: 50 };

const BASE_LAYOUT: PlotlyLayout = {
  font: { family: "Inter, Helvetica, Arial, sans-serif", size: 13 },
  margin: BASE_MARGIN,
  plot_bgcolor: "#ffffff",
  paper_bgcolor: "#ffffff",
  hovermode: "closest",
  legend: { bgcolor: "rgba(255,255,255,0.6)" },
};

const AXIS_STYLE = {
  gridcolor: "#e5e5e5",
  zerolinecolor: "#b0b0b0",
  linecolor: "#888",
  ticks: "outside",
  automargin: true,
};

function styleAxes(layout: PlotlyLayout): PlotlyLayout {
  const out: PlotlyLayout = { ...layout };
  for (const key of Object.keys(out)) {
    if (/^[xy]axis\d*$/.test(key)) {
      out[key] = { ...AXIS_STYLE, ...(out[key] as object) };
    }
  }
  if (!("xaxis" in out)) out.xaxis = { ...AXIS_STYLE };
  if (!("yaxis" in out)) out.yaxis = { ...AXIS_STYLE };
  return out;
}

/** The width static images are drawn at (see `renderFigureImages`); legends are fitted to it. */
export const STATIC_WIDTH = 760;

/** Legend geometry in pixels, for the 13 px font of {@link BASE_LAYOUT}. */
const LEGEND = {
  /** Height of one legend row. */
  row: 21,
  /** Width of one character of a label (generous: Chromium's fallback fonts are wide). */
  char: 7.6,
  /** The line sample and gaps of one entry. */
  sample: 46,
  /** Room for tick labels and an axis title between the plot and a legend below it. */
  axis: 62,
};

/** The names of the traces that show in the legend. */
function legendEntries(data: readonly PlotlyTrace[], layout: PlotlyLayout): string[] {
  const shown = data.filter((t) => t.showlegend !== false && t.visible !== false);
  if (layout.showlegend === false) return [];
  if (shown.length < 2 && layout.showlegend !== true) return [];
  return shown.map((t, i) => String(t.name ?? `trace ${i}`));
}

/**
 * Places the legend where every entry is seen in a static image: kept on the right when it fits
 * beside the plot (and no right-hand y axis is there), else laid out in rows below the plot, with
 * the figure made taller by those rows. A legend the caller placed (`x` or `y` given) is kept;
 * `legend.orientation: "h"` asks for the rows below.
 */
function fitLegend(layout: PlotlyLayout, data: readonly PlotlyTrace[]): PlotlyLayout {
  const legend = (layout.legend ?? {}) as Record<string, unknown>;
  if ("x" in legend || "y" in legend) return layout;
  const names = legendEntries(data, layout);
  if (names.length === 0) return layout;
  const margin = { ...BASE_MARGIN, ...(layout.margin as object) } as typeof BASE_MARGIN;
  const height = typeof layout.height === "number" ? layout.height : 450;
  const plotHeight = height - margin.t - margin.b;
  const rightAxis = Object.keys(layout).some((k) =>
    /^yaxis\d*$/.test(k) && (layout[k] as { side?: string } | undefined)?.side === "right"
  );
  const labelWidth = Math.ceil(Math.max(...names.map((n) => n.length)) * LEGEND.char);
  const fitsRight = legend.orientation !== "h" && !rightAxis &&
    names.length * LEGEND.row + 10 <= plotHeight && labelWidth <= 160;
  if (fitsRight) return layout;
  const available = STATIC_WIDTH - margin.l - margin.r;
  const perRow = Math.max(1, Math.floor(available / (labelWidth + LEGEND.sample)));
  const rows = Math.ceil(names.length / perRow);
  const legendHeight = rows * LEGEND.row + 6;
  const gap = Math.max(margin.b, LEGEND.axis);
  return {
    ...layout,
    height: height + gap + legendHeight - margin.b,
    margin: { ...margin, b: gap + legendHeight },
    legend: {
      ...legend,
      orientation: "h",
      x: 0,
      xanchor: "left",
      y: -gap / plotHeight,
      yanchor: "top",
      entrywidth: labelWidth + 6,
      entrywidthmode: "pixels",
    },
  };
}

/** Rounds non-integer numbers to `digits` significant digits and turns typed arrays into arrays. */
function compact(value: unknown, digits: number): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return null;
      return Number.isInteger(v) ? v : Number(v.toPrecision(digits));
    }
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      return Array.from(v as unknown as ArrayLike<number>);
    }
    return v;
  }));
}

function range(values: readonly unknown[]): [number, number] | undefined {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : undefined;
}

function fmt(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

function describeTrace(trace: PlotlyTrace, i: number): string {
  const name = String(trace.name ?? `trace ${i}`);
  const type = String(trace.type ?? "scatter");
  const xs = (trace.x ?? []) as unknown[];
  const ys = (trace.y ?? []) as unknown[];
  const n = Math.max(xs.length ?? 0, ys.length ?? 0);
  const xr = range(Array.from(xs));
  const yr = range(Array.from(ys));
  const parts = [`${name} (${type}, ${n} points`];
  if (xr) parts.push(`x ${fmt(xr[0])}…${fmt(xr[1])}`);
  else if (xs.length) parts.push(`x ${xs.slice(0, 4).join(", ")}${xs.length > 4 ? ", …" : ""}`);
  if (yr) parts.push(`y ${fmt(yr[0])}…${fmt(yr[1])}`);
  return parts.join(", ") + ")";
}

function titleOf(layout: PlotlyLayout): string | undefined {
  const t = layout.title;
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") {
    return (t as { text: string }).text;
  }
  return undefined;
}

let figureCounter = 0;

/**
 * A Plotly figure that displays itself in the notebook (see the module doc for its outputs).
 * Build one with {@link figure} or a ready-made helper such as `activationCurves()`.
 *
 * @example
 * ```ts
 * import { Figure } from "./figure.ts";
 * const fig = new Figure([{ type: "scatter", x: [0, 1, 2], y: [0, 1, 4], name: "x²" }], {
 *   title: { text: "Squares" },
 * });
 * console.assert(String(fig).startsWith("Figure: Squares"));
 * ```
 */
export class Figure extends DisplayObject {
  /** The traces. */
  data: PlotlyTrace[];
  /** The layout (title, axes, annotations, …). */
  layout: PlotlyLayout;
  /** plotly.js config. */
  config: Record<string, unknown>;
  #summary?: string;
  #digits: number;

  /**
   * Makes a figure.
   *
   * @param data Plotly traces
   * @param layout Plotly layout, merged over actlab's clean default style
   * @param options summary, config and number precision
   */
  constructor(data: PlotlyTrace[], layout: PlotlyLayout = {}, options: FigureOptions = {}) {
    super();
    this.data = data;
    this.layout = fitLegend(styleAxes({ ...BASE_LAYOUT, ...layout }), data);
    this.config = { responsive: true, displaylogo: false, ...options.config };
    this.#summary = options.summary;
    this.#digits = options.digits ?? 6;
  }

  /** The figure as Plotly JSON, with numbers compacted (this is what the notebook stores). */
  toJSON(): FigureJson {
    return compact(
      { data: this.data, layout: this.layout, config: this.config },
      this.#digits,
    ) as FigureJson;
  }

  /** The `text/plain` summary: title and one line per trace. */
  summary(): string {
    if (this.#summary !== undefined) return this.#summary;
    const title = titleOf(this.layout);
    const lines = this.data.slice(0, 12).map((t, i) => "  " + describeTrace(t, i));
    if (this.data.length > 12) lines.push(`  … and ${this.data.length - 12} more traces`);
    return [
      `Figure${title ? `: ${title}` : ""} (${this.data.length} trace${
        this.data.length === 1 ? "" : "s"
      })`,
      ...lines,
    ].join("\n");
  }

  /**
   * An HTML fragment that draws the figure with the page's `window.Plotly`, and shows the text
   * summary where plotly.js is absent.
   */
  toHtml(json: FigureJson = this.toJSON()): string {
    const id = `actlab-fig-${shortHash(JSON.stringify(json))}-${++figureCounter}`;
    const height = typeof this.layout.height === "number" ? this.layout.height : 450;
    return `<div id="${id}" class="actlab-figure" style="width:100%;min-height:${height}px">` +
      `<div class="actlab-fallback"><pre style="white-space:pre-wrap;color:#555">` +
      `${escapeHtml(this.summary())}</pre></div></div>\n` +
      `<script type="text/javascript">(function () {\n` +
      `  var el = document.getElementById(${JSON.stringify(id)});\n` +
      `  var fig = ${scriptJson(json)};\n` +
      `  function draw() { el.innerHTML = ""; window.Plotly.newPlot(el, fig.data, fig.layout, ` +
      `fig.config); }\n` +
      `  if (window.Plotly) draw();\n` +
      `  else window.addEventListener("load", function () { if (window.Plotly) draw(); });\n` +
      `})();</script>`;
  }

  /** The figure's MIME bundle: Plotly JSON, HTML and a text summary. */
  override bundle(): MimeBundle {
    const json = this.toJSON();
    return {
      "text/plain": this.summary(),
      "text/html": this.toHtml(json),
      "application/vnd.plotly.v1+json": json,
    };
  }
}

/**
 * Makes a {@link Figure} from Plotly traces and a layout.
 *
 * @example A line chart
 * ```ts
 * import { figure } from "./figure.ts";
 * const xs = [-2, -1, 0, 1, 2];
 * const fig = figure(
 *   [{ type: "scatter", mode: "lines", x: xs, y: xs.map((x) => Math.max(0, x)), name: "relu" }],
 *   { title: { text: "ReLU" }, xaxis: { title: { text: "x" } } },
 * );
 * console.log(String(fig));
 * ```
 */
export function figure(
  data: PlotlyTrace[],
  layout: PlotlyLayout = {},
  options: FigureOptions = {},
): Figure {
  return new Figure(data, layout, options);
}
