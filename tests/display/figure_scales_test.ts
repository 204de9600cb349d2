/**
 * Figures that show what the text reports: GELU's dip keeps a visible scale next to relu², loss
 * curves that end 0.1 apart get a zoomed panel by default, learning-rate axes read in rates, and
 * (in a real Chromium) the drawn ticks say 3e-3, not −2.5.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { activationCurves } from "../../lib/display/activation_curves.ts";
import { lossCurves, OVERLAP_SHARE, rateLabel } from "../../lib/display/loss_curves.ts";
import { findChromium } from "../../lib/display/chromium.ts";
import { renderFigureImages } from "../../lib/display/static_image.ts";

type Axis = { range?: number[]; type?: string; tickvals?: number[]; ticktext?: string[] };
const axis = (fig: { toJSON(): { layout: Record<string, unknown> } }, name: string) =>
  fig.toJSON().layout[name] as Axis | undefined;

Deno.test("activationCurves() keeps GELU's dip visible next to relu² by default, two curves too", () => {
  for (const names of [["gelu", "relu2"], ["relu", "gelu", "relu2"]]) {
    const fig = activationCurves(names);
    const [lo, hi] = axis(fig, "yaxis")!.range!;
    assert(lo < -0.17 && hi <= 5.5, `f(x) range [${lo}, ${hi}]`);
    // The dip (−0.17) spans at least 2 % of the axis: several pixels on a 300-px panel.
    assert(0.17 / (hi - lo) > 0.02, `dip share ${0.17 / (hi - lo)}`);
    const [dlo, dhi] = axis(fig, "yaxis2")!.range!;
    assert(dlo < -0.13 && dhi <= 2.3, `f′(x) range [${dlo}, ${dhi}]`);
    assertStringIncludes(String(fig), "f(x) off scale: relu2 ↑");
  }
  // Alone, relu² is shown whole: nothing else needs the scale.
  const alone = axis(activationCurves(["relu2"]), "yaxis")!.range!;
  assert(alone[1] >= 16, `${alone}`);
  // "all" still shows every curve whole.
  assertEquals(
    axis(activationCurves(["gelu", "relu2"], { yRange: "all" }), "yaxis")!.range,
    undefined,
  );
});

/** 3 curves × 3 seeds from 4.2 down to `finals`, over 2,000 steps. */
function losses(finals: Record<string, number>) {
  const rows = [];
  for (const [activation, end] of Object.entries(finals)) {
    for (const seed of [1, 2, 3]) {
      for (let step = 0; step <= 2000; step += 100) {
        rows.push({ activation, seed, step, loss: end + (4.2 - end) * Math.exp(-step / 350) });
      }
    }
  }
  return rows;
}

Deno.test("lossCurves() zooms into the final steps by default when curves end too close to tell apart", () => {
  const close = lossCurves(losses({ relu: 1.62, gelu: 1.52, swiglu: 1.47 }));
  const zoom = axis(close, "yaxis2");
  assert(zoom, "a second panel");
  const [lo, hi] = zoom!.range!;
  assert((0.1 / (hi - lo)) > 0.3, `0.1 nats fill ${(0.1 / (hi - lo)).toFixed(2)} of the zoom`);
  assertEquals(axis(close, "xaxis2")!.range![0], 1400, "the final 30 % of steps");
  assertStringIncludes(String(close), "zoom: step ≥ 1400");
  // Curves 0.9 nats apart at the end are told apart at full scale: no zoom.
  const apart = lossCurves(losses({ relu: 2.4, gelu: 1.5 }));
  assertEquals(axis(apart, "yaxis2"), undefined);
  assert(OVERLAP_SHARE > 0 && OVERLAP_SHARE < 0.5);
  // zoom: false still means none; one curve never zooms.
  assertEquals(
    axis(lossCurves(losses({ relu: 1.6, gelu: 1.5 }), { zoom: false }), "yaxis2"),
    undefined,
  );
  assertEquals(axis(lossCurves(losses({ relu: 1.6 })), "yaxis2"), undefined);
});

const LRS = [3e-4, 1e-3, 3e-3, 1e-2];
const lrRows = LRS.flatMap((lr) =>
  ["relu", "gelu"].map((activation, i) => ({
    activation,
    lr,
    loss: 1.5 + 0.1 * i + 0.25 * (Math.log10(lr) + 2.5) ** 2,
  }))
);

Deno.test("lossCurves({ logX }) puts rates on a log axis labelled 3e-4 … 1e-2, never log₁₀ values", () => {
  const fig = lossCurves(lrRows, { x: "lr", logX: true, xTitle: "peak learning rate" });
  const x = axis(fig, "xaxis")!;
  assertEquals(x.type, "log");
  assertEquals(x.tickvals, LRS);
  assertEquals(x.ticktext, ["3e-4", "1e-3", "3e-3", "1e-2"]);
  assertEquals(axis(fig, "yaxis2"), undefined, "no zoom into 'final steps' of a rate axis");
  assertEquals(
    [0.0003, 0.001, 0.0015, 0.003, 0.01, 0.3, 1, 0.00030000000000000003].map(rateLabel),
    ["3e-4", "1e-3", "1.5e-3", "3e-3", "1e-2", "0.3", "1", "3e-4"],
  );
  const logs = lrRows.map((r) => ({ ...r, lr: Math.log10(r.lr) }));
  assertThrows(
    () => lossCurves(logs, { x: "lr", logX: true }),
    RangeError,
    "give the rates themselves, not their log₁₀",
  );
  // With a baseline, the difference panel shares the rate axis.
  const diff = lossCurves(lrRows, { x: "lr", logX: true, baseline: "gelu" });
  assertEquals(axis(diff, "xaxis2")!.ticktext, ["3e-4", "1e-3", "3e-3", "1e-2"]);
});

Deno.test({
  name: "in Chromium, the rate axis is drawn with the labels 3e-4 … 1e-2",
  ignore: !findChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const fig = lossCurves(lrRows, { x: "lr", logX: true, xTitle: "peak learning rate" });
    const [svg] = await renderFigureImages([fig.toJSON()], { format: "svg" });
    const ticks = [...svg.matchAll(/class="xtick"[^>]*>.*?<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
      m[1]
    );
    const labels = ticks.length
      ? ticks
      : [...svg.matchAll(/>(\d(?:\.\d)?e-\d)</g)].map((m) => m[1]);
    for (const label of ["3e-4", "1e-3", "3e-3", "1e-2"]) {
      assert(labels.includes(label), labels.join());
    }
    assert(!/>−?[23]\.\d</.test(svg), "no log₁₀ values as tick labels");
  },
});
