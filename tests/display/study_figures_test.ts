/** A study's figures from a real (tiny) study folder's rows, and from hand-made rows. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { scalingFit } from "@actlab/actlab/experiments";
import {
  differenceChart,
  multiplierChart,
  scalingFigure,
  selectionFigure,
} from "@actlab/actlab/display";

Deno.test("selectionFigure() draws each activation against a rate axis and stars the confirmed value", () => {
  const rows = [1.6e-3, 2.5e-3, 4e-3].flatMap((value, i) => [
    { activation: "gelu", value, loss: [1.80, 1.77, 1.79][i], chosen: i === 1 },
    { activation: "relu", value, loss: [1.79, 1.78, Infinity][i], chosen: i === 1 },
  ]);
  const f = selectionFigure(rows);
  const json = f.toJSON() as unknown as {
    data: { name: string; x: number[]; marker: { symbol?: string } }[];
    layout: { xaxis: { type: string; ticktext: string[] } };
  };
  assertEquals(json.layout.xaxis.type, "log");
  assertEquals(json.layout.xaxis.ticktext, ["1.6e-3", "2.5e-3", "4e-3"]);
  assertEquals(json.data.filter((t) => t.marker.symbol === "star").map((t) => t.x), [[2.5e-3], [
    2.5e-3,
  ]]);
  assertEquals(
    json.data.find((t) => t.name === "relu")!.x.length,
    2,
    "the diverged value is left out",
  );
  assertStringIncludes(f.summary(), "gelu: 1.6e-3 → 1.800, 2.5e-3 → 1.770 ★");
});

Deno.test("differenceChart() plots each difference with its interval and marks the family's findings", () => {
  const row = (a: string, d: number, p: number) => ({
    cell: "depth=4",
    a,
    b: "gelu",
    role: "declared" as const,
    pairs: 8,
    aMean: 1.8 + d,
    bMean: 1.8,
    diffMean: d,
    diffCi95Low: d - 0.01,
    diffCi95High: d + 0.01,
    pPaired: p,
    pFamily: p * 3,
    familySize: 3,
    mdd80: 0.02,
    note: "",
    diffBpb: NaN,
    diffBpbCi95Low: NaN,
    diffBpbCi95High: NaN,
  });
  const f = differenceChart([row("relu", 0.004, 0.3), row("swiglu", -0.03, 0.001)]);
  const [trace] = (f.toJSON() as unknown as { data: { marker: { color: string[] } }[] }).data;
  assertEquals(trace.marker.color, ["#4e79a7", "#e15759"]);
  assertStringIncludes(f.summary(), "swiglu − gelu: -0.030 [-0.040, -0.020], p family 0.0030");
});

Deno.test("scalingFigure() and multiplierChart() show the fits and the multipliers", () => {
  const points = ["gelu", "relu2"].flatMap((activation) =>
    [1e12, 1e13, 1e14].flatMap((compute, k) =>
      [1, 2].map((seed) => ({
        activation,
        size: `depth=${2 * k + 2}`,
        compute,
        seed,
        loss: (activation === "gelu" ? 3 : 2.9) * compute ** -0.04 * (1 + seed * 1e-3),
      }))
    )
  );
  const { fits, multipliers } = scalingFit(points, { resamples: 100 });
  const fig = scalingFigure(points, fits);
  assertEquals(
    (fig.toJSON() as { data: unknown[] }).data.length,
    4,
    "points and a fit per activation",
  );
  assertStringIncludes(fig.summary(), "relu2: β = -0.040");
  const m = multiplierChart(multipliers);
  assert(m.summary().includes("relu2 at depth=2:"));
});
