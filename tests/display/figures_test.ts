import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import * as aq from "arquero";
import {
  activationCurves,
  distributionFigure,
  geluTanhDifference,
  intervalChart,
  lossCurves,
  outputDistributions,
} from "../../lib/display/figures.ts";
import { getActivation, listActivations } from "../../lib/activations/mod.ts";
import { liveLossChart } from "../../lib/display/live_chart.ts";
import { summarize, tQuantile } from "../../lib/display/_stats.ts";

type Trace = { name?: string; x: number[]; y: number[]; xaxis?: string; fill?: string };
const traces = (fig: { toJSON(): { data: unknown[] } }) => fig.toJSON().data as Trace[];

Deno.test("activationCurves() plots the registry's reference values and derivatives", () => {
  const fig = activationCurves(["gelu", "swiglu"], { range: [-2, 2], points: 5 });
  const [gelu, dgelu, swiglu, dswiglu] = traces(fig);
  const def = getActivation("gelu");
  if (def.kind !== "unary") throw new Error("gelu is unary");
  assertEquals(gelu.x, [-2, -1, 0, 1, 2]);
  gelu.x.forEach((x, i) => assertAlmostEquals(gelu.y[i], def.reference(x), 1e-5));
  gelu.x.forEach((x, i) => assertAlmostEquals(dgelu.y[i], def.derivative(x), 1e-5));
  assertEquals(dgelu.xaxis, "x2");
  // SwiGLU along the gate with value 1 is SiLU.
  assertEquals(swiglu.name, "swiglu(x, 1)");
  assertAlmostEquals(swiglu.y[3], 1 / (1 + Math.exp(-1)), 1e-5);
  assertAlmostEquals(dswiglu.y[2], 0.5, 1e-6);
  assertStringIncludes(String(fig), "gelu          -0.1587   0         0.8413    0.5");
});

Deno.test("activationCurves() names an unknown activation in its error", () => {
  assertThrows(() => activationCurves(["gelu", "no_such_act"]), Error, "no_such_act");
});

Deno.test("geluTanhDifference() finds the known gap of about 4.7e-4", () => {
  const fig = geluTanhDifference();
  const [dv] = traces(fig);
  const max = Math.max(...dv.y.map(Math.abs));
  assert(max > 4e-4 && max < 5e-4, `max |gelu − gelu_tanh| = ${max}`);
  assertStringIncludes(String(fig), "max |Δf|  = 4.7");
});

Deno.test("outputDistributions() marks the mean and the zero fraction of each output", () => {
  const input = Array.from({ length: 1000 }, (_, i) => (i - 499.5) / 100); // symmetric
  const fig = outputDistributions(input, ["relu", "gelu"], { bins: 20 });
  const json = fig.toJSON();
  const [relu, gelu] = json.data as { y: number[] }[];
  assertAlmostEquals(relu.y.reduce((a, b) => a + b, 0), 1, 1e-9);
  assertEquals(relu.y.length, 20);
  const shapes = json.layout.shapes as { x0: number }[];
  const reluMean = input.reduce((s, x) => s + Math.max(0, x), 0) / input.length;
  assertAlmostEquals(shapes[0].x0, reluMean, 1e-4);
  const notes = (json.layout.annotations as { text: string }[]).map((a) => a.text);
  assertStringIncludes(notes[0], "zeros 50.0%");
  assertStringIncludes(notes[1], "zeros 0.0%");
  assert(gelu.y.length === 20);
  assertStringIncludes(String(fig), "relu");
});

Deno.test("distributionFigure() takes precomputed series and refuses none", () => {
  const fig = distributionFigure({ a: new Float32Array([0, 0, 1, 3]) });
  assertStringIncludes(String(fig), "50.0%");
  assertThrows(() => distributionFigure({}), Error, "no series");
});

Deno.test("lossCurves() draws the mean over seeds with a min–max band", () => {
  const rows = [];
  for (const seed of [0, 1, 2]) {
    for (const step of [0, 10, 20]) {
      rows.push({ activation: "relu", seed, step, loss: step + seed });
    }
  }
  const fig = lossCurves(aq.from(rows));
  const [low, high, mean] = traces(fig);
  assertEquals(mean.name, "relu");
  assertEquals(mean.y, [1, 11, 21]);
  assertEquals(low.y, [0, 10, 20]);
  assertEquals(high.y, [2, 12, 22]);
  assertEquals(high.fill, "tonexty");
  assertStringIncludes(String(fig), "3 seeds, 3 points, final loss 21 [20, 22] at step 20");
});

Deno.test("lossCurves() with ci95 uses the Student-t interval over seeds", () => {
  const rows = [0, 1, 2, 3].map((seed) => ({ activation: "gelu", seed, step: 1, loss: seed }));
  const [low, high, mean] = traces(lossCurves(rows, { band: "ci95" }));
  const half = tQuantile(0.975, 3) * Math.sqrt(5 / 3) / 2;
  assertAlmostEquals(mean.y[0], 1.5, 1e-9);
  assertAlmostEquals(high.y[0] - mean.y[0], half, 1e-4);
  assertAlmostEquals(mean.y[0] - low.y[0], half, 1e-4);
});

Deno.test("lossCurves() names the fields it looked for when rows do not match", () => {
  assertThrows(
    () => lossCurves([{ iteration: 1, value: 2 }]),
    Error,
    "fields seen: iteration, value",
  );
});

Deno.test("intervalChart() aggregates runs into means with 95% intervals and marks the best", () => {
  const runs = [
    { activation: "relu", value: 1.7 },
    { activation: "relu", value: 1.8 },
    { activation: "relu", value: 1.9 },
    { activation: "gelu", value: 1.6 },
    { activation: "gelu", value: 1.62 },
  ];
  const fig = intervalChart(runs);
  const [trace] = fig.toJSON().data as {
    x: string[];
    y: number[];
    error_y: { array: number[] };
  }[];
  assertEquals(trace.x, ["relu", "gelu"]);
  assertAlmostEquals(trace.y[0], 1.8, 1e-9);
  assertAlmostEquals(trace.error_y.array[0], summarize([1.7, 1.8, 1.9]).ci, 1e-5);
  assertAlmostEquals(trace.error_y.array[0], 4.302653 * 0.1 / Math.sqrt(3), 1e-5);
  assertStringIncludes(String(fig).split("\n")[2], "★");
});

Deno.test("intervalChart() accepts rows that are already aggregated", () => {
  const fig = intervalChart([{ label: "a", mean: 1, low: 0.5, high: 2 }], { style: "bar" });
  const [trace] = fig.toJSON().data as { type: string; error_y: { arrayminus: number[] } }[];
  assertEquals(trace.type, "bar");
  assertEquals(trace.error_y.arrayminus, [0.5]);
});

Deno.test("tQuantile() matches published Student-t critical values", () => {
  for (const [df, t] of [[1, 12.7062], [2, 4.3027], [5, 2.5706], [30, 2.0423]]) {
    assertAlmostEquals(tQuantile(0.975, df), t, 1e-4);
  }
});

type Styled = Trace & { line?: { color: string; dash: string }; showlegend?: boolean };
type Axis = { title?: { text: string }; range?: number[]; domain?: number[] };
const layoutOf = (fig: { toJSON(): { layout: Record<string, unknown> } }) =>
  fig.toJSON().layout as Record<string, Axis> & { annotations?: { text: string }[] };

/** The `color dash` of every trace shown in the legend. */
const legendStyles = (fig: { toJSON(): { data: unknown[] } }) =>
  (traces(fig) as Styled[]).filter((t) => t.showlegend !== false).map((t) =>
    `${t.line!.color} ${t.line!.dash}`
  );

const ELEVEN = [
  "relu",
  "gelu",
  "gelu_tanh",
  "silu",
  "mish",
  "elu",
  "relu2",
  "reglu",
  "geglu",
  "swiglu",
  "quick_gelu",
];

/** Rows of a sweep: activation k ends at 1.5 + 0.01·k, all start near 4.2. */
function sweepRows(acts: readonly string[], steps = 2000) {
  const rows = [];
  for (const [k, activation] of acts.entries()) {
    for (const seed of [0, 1, 2]) {
      for (let step = 0; step <= steps; step += 100) {
        const loss = 1.5 + 0.01 * k * (1 - Math.exp(-step / 800)) +
          2.7 * Math.exp(-step / 300) + 0.002 * seed;
        rows.push({ activation, seed, step, loss });
      }
    }
  }
  return rows;
}

Deno.test("activationCurves() gives 21 activations pairwise different colour-and-dash styles", () => {
  const names = listActivations({ kind: "unary" }).map((d) => d.name);
  assert(names.length >= 21, `${names.length} unary activations`);
  const fig = activationCurves(names.slice(0, 21));
  const styles = legendStyles(fig);
  assertEquals(styles.length, 21);
  assertEquals(new Set(styles).size, 21, styles.join("; "));
  // Each derivative is drawn in its function's style.
  const all = traces(fig) as Styled[];
  for (let i = 0; i < all.length; i += 2) assertEquals(all[i + 1].line, all[i].line);
});

Deno.test("lossCurves() gives 11 activations pairwise different colour-and-dash styles", () => {
  const styles = legendStyles(lossCurves(sweepRows(ELEVEN)));
  assertEquals(styles.length, 11);
  assertEquals(new Set(styles).size, 11, styles.join("; "));
});

Deno.test("loss axes are titled in nats per character and step axes as training steps", () => {
  const rows = sweepRows(["relu", "gelu"]);
  const plain = layoutOf(lossCurves(rows));
  assertEquals(plain.yaxis.title!.text, "loss (nats/char)");
  assertEquals(plain.xaxis.title!.text, "training step");
  const named = layoutOf(lossCurves(rows, { yTitle: "val loss" }));
  assertEquals(named.yaxis.title!.text, "val loss (nats/char)");
  const own = layoutOf(lossCurves(rows, { yTitle: "val loss (bits/char)" }));
  assertEquals(own.yaxis.title!.text, "val loss (bits/char)");
  const mse = layoutOf(lossCurves(rows, { yTitle: "training loss", unit: "" }));
  assertEquals(mse.yaxis.title!.text, "training loss");
  const zoomed = layoutOf(lossCurves(sweepRows(ELEVEN), { yTitle: "val loss" }));
  assertEquals(zoomed.yaxis2.title!.text, "val loss (nats/char)");
  assertEquals(zoomed.xaxis2.title!.text, "training step");
  const finals = [{ activation: "relu", val_loss: 1.7 }, { activation: "gelu", val_loss: 1.6 }];
  const interval = layoutOf(intervalChart(finals, { value: "val_loss" }));
  assertEquals(interval.yaxis.title!.text, "val_loss (nats/char)");
  assertEquals(interval.xaxis.title!.text, "activation");
  const mseChart = layoutOf(intervalChart(finals, { value: "val_loss", yTitle: "validation MSE" }));
  assertEquals(mseChart.yaxis.title!.text, "validation MSE");
  const curves = layoutOf(activationCurves(["relu", "gelu"]));
  assertEquals(
    [curves.xaxis, curves.yaxis, curves.xaxis2, curves.yaxis2].map((a) => a.title!.text),
    ["x", "f(x)", "x", "f′(x)"],
  );
  const chart = liveLossChart({ show: false });
  chart.push("relu", 0, 3);
  const live = layoutOf(chart.figure());
  assertEquals([live.xaxis.title!.text, live.yaxis.title!.text], [
    "training step",
    "loss (nats/char)",
  ]);
});

Deno.test("lossCurves() with more than 5 curves adds a panel zoomed on the last 30 % of steps", () => {
  const fig = lossCurves(sweepRows(ELEVEN));
  const layout = layoutOf(fig);
  assertEquals(layout.xaxis2.range, [1400, 2000]);
  const zoom = (traces(fig) as Styled[]).filter((t) => t.xaxis === "x2");
  assertEquals(zoom.length, 11);
  // The panel starts one point before the window, so each line enters at the left edge.
  assertEquals(zoom[0].x[0], 1300);
  // Its y range holds every mean inside the window and none of the early losses near 4.2.
  const inside = zoom.flatMap((t) => t.y.filter((_, i) => t.x[i] >= 1400));
  const [lo, hi] = layout.yaxis2.range!;
  assert(lo <= Math.min(...inside) && hi >= Math.max(...inside), `[${lo}, ${hi}]`);
  assert(hi < 1.8, `zoom top ${hi}`);
  assert(hi - lo < 0.25, `zoom span ${hi - lo} against 2.7 for the whole run`);
  assertStringIncludes(String(fig), "zoom: step ≥ 1400");
  // Five curves or fewer zoom too when they end this close together (see figure_scales_test.ts
  // for curves that end apart); zoom: false means one panel; a fraction sets the window.
  assertEquals(layoutOf(lossCurves(sweepRows(ELEVEN.slice(0, 5)))).xaxis2.range, [1400, 2000]);
  assertEquals(layoutOf(lossCurves(sweepRows(ELEVEN), { zoom: false })).xaxis2, undefined);
  const half = layoutOf(lossCurves(sweepRows(ELEVEN.slice(0, 2)), { zoom: 0.5 }));
  assertEquals(half.xaxis2.range, [1000, 2000]);
  assertThrows(() => lossCurves(sweepRows(["relu"]), { zoom: 1.5 }), RangeError, "fraction");
});

Deno.test("lossCurves() lets a far-off curve leave the zoom panel and names it there", () => {
  const rows = sweepRows(ELEVEN).map((r) =>
    r.activation === "relu2" ? { ...r, loss: r.loss + r.step / 2000 } : r
  );
  const fig = lossCurves(rows, { yTitle: "val loss (bits/char)" });
  const layout = layoutOf(fig);
  const [, hi] = layout.yaxis2.range!;
  assert(hi < 1.8, `zoom top ${hi}: relu2 near 2.5 is off the scale`);
  assertEquals(layout.annotations!.map((a) => a.text).filter((t) => t.includes("off scale")), [
    "final 30% of steps (means) · off scale: relu2 ↑",
  ]);
  assertEquals(layout.yaxis2.title!.text, "val loss (bits/char)");
  const diff = layoutOf(lossCurves(rows, { yTitle: "val loss (bits/char)", baseline: "gelu" }));
  assertEquals(diff.yaxis3.title!.text, "Δ val loss (bits/char)");
});

Deno.test("lossCurves() with a baseline draws each mean minus the baseline's, with a zero line", () => {
  const rows = sweepRows(["relu", "gelu", "silu"]);
  const fig = lossCurves(rows, { baseline: "gelu" });
  const layout = layoutOf(fig);
  // The curves end close together, so the zoom comes first (x2) and the differences after (x3).
  const diff = (traces(fig) as Styled[]).filter((t) => t.xaxis === "x3");
  assertEquals(diff.map((t) => t.name), ["relu", "gelu", "silu"]);
  assertEquals(layout.xaxis3.range, [1400, 2000]);
  assert(diff[1].y.every((v) => v === 0), "the baseline is the zero line");
  // silu − gelu = 0.01·(1 − e^(−step/800)) at every step (the seed offsets cancel).
  diff[2].x.forEach((step, i) =>
    assertAlmostEquals(diff[2].y[i], 0.01 * (1 - Math.exp(-step / 800)), 1e-5)
  );
  assertEquals(layout.yaxis3.title!.text, "Δ loss (nats/char)");
  assertStringIncludes(
    String(fig),
    "silu           3 seeds, 21 points, final loss 1.524 [1.522, 1.526] at step 2000; Δ gelu +0.009179",
  );
  assertThrows(() => lossCurves(rows, { baseline: "tanh" }), Error, "relu, gelu, silu");
});

Deno.test("activationCurves() keeps GELU's dip in view next to relu², whose tail runs off scale", () => {
  const fig = activationCurves(["relu", "gelu", "silu", "mish", "elu", "relu2"]);
  const layout = layoutOf(fig);
  const [lo, hi] = layout.yaxis.range!;
  const gelu = getActivation("gelu");
  if (gelu.kind !== "unary") throw new Error("gelu is unary");
  const dip = gelu.reference(-0.7518); // the minimum, ≈ −0.1700
  assertAlmostEquals(dip, -0.17, 1e-3);
  assert(lo < dip && lo >= -1.3, `bottom ${lo} shows the dip and elu's −1 without waste`);
  assert(hi >= 4 && hi < 5, `top ${hi}: relu reaches 4 at x = 4, relu² 16 is cut off`);
  // The dip spans at least 3 % of the axis (it was 1 % with relu² in full).
  assert(0.17 / (hi - lo) > 0.03);
  const notes = (layout.annotations ?? []).map((a) => a.text);
  assertEquals(notes, ["off scale: relu2 ↑", "off scale: relu2 ↑"]);
  // The derivative panel shows GELU's negative slope below x ≈ −0.75 (min ≈ −0.129).
  const [dlo, dhi] = layout.yaxis2.range!;
  assert(dlo < -0.129 && dhi < 1.5, `f′ range [${dlo}, ${dhi}]`);
  // "all" shows every curve whole; a range is taken as given.
  assertEquals(
    layoutOf(activationCurves(["gelu", "relu2"], { yRange: "all" })).yaxis.range,
    undefined,
  );
  const set = layoutOf(activationCurves(["gelu"], { yRange: [-0.5, 2], derivatives: false }));
  assertEquals(set.yaxis.range, [-0.5, 2]);
});

Deno.test("lossCurves() with zoom and a baseline puts both panels side by side below the whole run", () => {
  const fig = lossCurves(sweepRows(ELEVEN), { baseline: "gelu" });
  const layout = layoutOf(fig);
  assertEquals(layout.yaxis.domain, [0.58, 1]);
  assertEquals([layout.xaxis2.domain, layout.yaxis2.domain], [[0, 0.43], [0, 0.4]]);
  assertEquals([layout.xaxis3.domain, layout.yaxis3.domain], [[0.57, 1], [0, 0.4]]);
  assertEquals(layout.annotations!.map((a) => a.text), [
    "all steps · band: min–max over seeds",
    "final 30% of steps (means)",
    "Δ to gelu (means, final 30%)",
  ]);
  const byAxis = (axis: string) => (traces(fig) as Styled[]).filter((t) => t.xaxis === axis);
  assertEquals([byAxis("x2").length, byAxis("x3").length], [11, 11]);
  assertStringIncludes(String(fig), "zoom: step ≥ 1400; differences to gelu");
});

Deno.test("lossCurves() with logY gives the zoom panel a log axis whose range is in decades", () => {
  const rows = sweepRows(ELEVEN);
  const linear = layoutOf(lossCurves(rows)).yaxis2.range!;
  const log = layoutOf(lossCurves(rows, { logY: true })) as Record<
    string,
    Axis & { type?: string }
  >;
  assertEquals([log.yaxis.type, log.yaxis2.type], ["log", "log"]);
  log.yaxis2.range!.forEach((v, i) => assertAlmostEquals(v, Math.log10(linear[i]), 1e-5));
});

Deno.test("distributionFigure() fills its grid row by row and titles the left column's y axes", () => {
  const fig = distributionFigure({ a: [1, 2], b: [2, 3], c: [3, 4] }, { columns: 2 });
  const layout = layoutOf(fig);
  // Two columns with a gap of 0.06, two rows with a gap of 0.12.
  assertEquals(layout.xaxis.domain, [0, 0.47]);
  assertEquals(layout.xaxis2.domain, [0.53, 1]);
  assertEquals(layout.xaxis3.domain, layout.xaxis.domain);
  assertEquals([layout.yaxis.domain, layout.yaxis3.domain], [[0.56, 1], [0, 0.44]]);
  assertEquals(
    [layout.yaxis.title?.text, layout.yaxis2.title?.text, layout.yaxis3.title?.text],
    ["fraction of values", undefined, "fraction of values"],
  );
  assertEquals(layout.xaxis3.title!.text, "c");
});

Deno.test("intervalChart() as bars outlines the best mean only", () => {
  const rows = [
    { label: "a", mean: 1, low: 0.9, high: 1.1 },
    { label: "b", mean: 2, low: 1.8, high: 2.2 },
  ];
  const best = (fig: { toJSON(): { data: unknown[] } }) =>
    (fig.toJSON().data[0] as { marker: { line: { width: number[] } } }).marker.line.width;
  assertEquals(best(intervalChart(rows, { style: "bar" })), [2.5, 0]);
  assertEquals(best(intervalChart(rows, { style: "bar", best: "max" })), [0, 2.5]);
});
