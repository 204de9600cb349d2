/**
 * Statistics against known values. Expected numbers come from mpmath at 40 digits (betainc,
 * loggamma, findroot on the t CDF); the Welch example is the two-sample set used by
 * Wikipedia's "Welch's t-test" article, checked in mpmath the same way.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  holmAdjust,
  incompleteBeta,
  logGamma,
  minimumDetectableDifference,
  pairedTTest,
  studentTCdf,
  studentTQuantile,
  variance,
} from "@actlab/actlab/core";
import { mean, std, summarize, welchTTest } from "@actlab/actlab";

Deno.test("mean, variance and std use the n − 1 sample convention", () => {
  assertEquals(mean([1, 2, 3, 4]), 2.5);
  assertAlmostEquals(variance([1, 2, 3, 4]), 5 / 3, 1e-15);
  assertAlmostEquals(std([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7), 1e-15);
  assert(Number.isNaN(mean([])));
  assert(Number.isNaN(variance([1])));
});

Deno.test("logGamma() and incompleteBeta() match mpmath to 1e-13", () => {
  assertAlmostEquals(logGamma(0.5), 0.57236494292470009, 1e-14);
  assertAlmostEquals(logGamma(3.7), 1.4280723266653881, 1e-14);
  assertAlmostEquals(logGamma(120.5), 455.41760044623451, 1e-11);
  assertAlmostEquals(incompleteBeta(0.3, 2.5, 0.5), 0.018927124071945652, 1e-15);
  assertAlmostEquals(incompleteBeta(0.5, 2, 2), 0.5, 1e-15);
});

Deno.test("Student-t quantiles match mpmath (the 95% CI multipliers people use)", () => {
  const cases: [number, number, number][] = [
    [0.975, 1, 12.706204736174693],
    [0.975, 2, 4.3026527297494618],
    [0.975, 9, 2.262157162798205],
    [0.975, 30, 2.0422724563012379],
    [0.995, 5, 4.0321429835552272],
    [0.9, 3.5, 1.5765766051364053],
  ];
  for (const [p, df, want] of cases) {
    assertAlmostEquals(studentTQuantile(p, df), want, 1e-9 * want, `t(${p}, ${df})`);
    assertAlmostEquals(studentTCdf(want, df), p, 1e-12);
  }
  assertAlmostEquals(studentTQuantile(0.025, 9), -2.262157162798205, 1e-9);
  assertEquals(studentTCdf(0, 4), 0.5);
});

Deno.test("summarize() gives the Student-t 95% interval of the mean", () => {
  const s = summarize([1.91, 1.93, 1.92]);
  assertEquals(s.n, 3);
  assertAlmostEquals(s.mean, 1.92, 1e-15);
  assertAlmostEquals(s.std, 0.01, 1e-15);
  assertAlmostEquals(s.ciHalfWidth, 4.3026527297494618 * 0.01 / Math.sqrt(3), 1e-12);
  assertAlmostEquals(s.ciLow, 1.92 - s.ciHalfWidth, 1e-15);
  assert(Number.isNaN(summarize([1.9]).ciHalfWidth), "one seed has no interval");
  assertThrows(() => summarize([1, 2], { level: 95 }), Error, "level must be in (0, 1)");
});

Deno.test("welchTTest() matches mpmath on Wikipedia's Welch example", () => {
  const a = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
  const b = [
    28.2,
    26.6,
    20.1,
    23.3,
    25.2,
    22.1,
    17.7,
    27.6,
    20.6,
    13.7,
    23.2,
    17.5,
    20.6,
    18.0,
    23.9,
    21.6,
    24.3,
    20.4,
    23.9,
    13.3,
  ];
  const r = welchTTest(a, b);
  assertAlmostEquals(r.t, -2.2255120399698535, 1e-12);
  assertAlmostEquals(r.df, 24.524634944257347, 1e-10);
  assertAlmostEquals(r.p, 0.035484530830010196, 1e-11);
  assertAlmostEquals(welchTTest(b, a).p, r.p, 1e-15);
});

Deno.test("welchTTest() needs two values per group and says so", () => {
  assertThrows(() => welchTTest([1], [1, 2]), Error, "run more seeds");
  assertEquals(welchTTest([1, 1], [1, 1]).p, 1);
});

// Reference values below: mpmath at 40 digits (regularized incomplete beta for the t CDF, its
// root for quantiles), see the comments; Holm's example matches R's p.adjust(method = "holm").

Deno.test("pairedTTest() matches mpmath on two samples of 3 and 5 pairs", () => {
  const r3 = pairedTTest([1.90, 1.95, 1.99], [1.92, 1.98, 2.01]);
  assertAlmostEquals(r3.difference, -0.023333333333333, 1e-12);
  assertAlmostEquals(r3.std, 0.0057735026918963, 1e-12);
  assertAlmostEquals(r3.t, -7.0, 1e-9);
  assertAlmostEquals(r3.p, 0.019803941180393689, 1e-10);
  assertAlmostEquals(r3.ciLow, -0.037675509099165, 1e-9);
  assertEquals(r3.df, 2);
  const r5 = pairedTTest([2.21, 2.25, 2.19, 2.30, 2.24], [2.28, 2.27, 2.26, 2.33, 2.31]);
  assertAlmostEquals(r5.t, -4.6697378526961712, 1e-9);
  assertAlmostEquals(r5.p, 0.0095201762529433863, 1e-10);
  assertAlmostEquals(r5.ciLow, -0.082917184224148, 1e-9);
  assertAlmostEquals(r5.ciHigh, -0.021082815775852, 1e-9);
});

Deno.test("pairedTTest() refuses unpaired or single values, and handles identical pairs", () => {
  assertThrows(() => pairedTTest([1, 2], [1]), Error, "needs pairs");
  assertThrows(() => pairedTTest([1], [2]), Error, "at least 2 pairs");
  const same = pairedTTest([1, 2, 3], [1, 2, 3]);
  assertEquals([same.difference, same.p], [0, 1]);
  const shifted = pairedTTest([2, 3, 4], [1, 2, 3]);
  assertEquals([shifted.t, shifted.p], [Infinity, 0]);
});

Deno.test("holmAdjust() matches R's p.adjust(method = 'holm') and leaves NaN alone", () => {
  const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  for (const [i, want] of [0.03, 0.06, 0.06, 0.02].entries()) {
    assertAlmostEquals(adjusted[i], want, 1e-15);
  }
  const withGap = holmAdjust([0.02, NaN, 0.5]);
  assertAlmostEquals(withGap[0], 0.04, 1e-15);
  assert(Number.isNaN(withGap[1]));
  assertAlmostEquals(withGap[2], 0.5, 1e-15);
  assertEquals(holmAdjust([0.6, 0.7]), [1, 1]);
});

Deno.test("minimumDetectableDifference() matches (t_.975 + t_.8)·sd/√n from mpmath", () => {
  assertAlmostEquals(minimumDetectableDifference(0.02, 5), 0.033249523000544150, 1e-10);
  assertAlmostEquals(minimumDetectableDifference(0.05, 10), 0.049735686750483676, 1e-10);
  assert(Number.isNaN(minimumDetectableDifference(0.02, 1)));
});

Deno.test("median() is the middle value, or the mean of the two middle ones", async () => {
  const { median } = await import("../../lib/core/stats.ts");
  assertEquals(median([1, 9]), 5);
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median(new Float64Array([4, 8, 1, 2])), 3);
  assert(Number.isNaN(median([])));
});

Deno.test("ACTLAB_VERSION is deno.json's version", async () => {
  const { ACTLAB_VERSION } = await import("../../lib/core/version.ts");
  const meta = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assertEquals(ACTLAB_VERSION, meta.version);
});
