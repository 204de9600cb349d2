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
import { getActivation } from "../../lib/activations/mod.ts";
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
