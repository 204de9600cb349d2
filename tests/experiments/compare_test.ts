import { assertAlmostEquals, assertEquals } from "@std/assert";
import { comparePairs } from "@actlab/actlab/experiments";
import { readSweep, seedOutlierNotice, seedOutliers, type TrialResult } from "@actlab/actlab/sweep";

/** A completed trial record with just what the comparison reads. */
function trial(activation: string, seed: number, loss: number): TrialResult {
  return {
    activation,
    seed,
    status: "completed",
    finalValLoss: loss,
    finalTrainLoss: loss,
    evals: [],
    msPerStep: 1,
    params: 1,
    wallS: 1,
    settings: "test",
  };
}

const A = [2.01, 1.95, 1.99, 2.05, 1.97];
const B = [2.04, 1.99, 2.00, 2.09, 2.02];
const C = [1.90, 1.97, 1.93, 2.00, 1.99];
const trials = [
  ...A.map((x, i) => trial("a", i + 1, x)),
  ...B.map((x, i) => trial("b", i + 1, x)),
  ...C.map((x, i) => trial("c", i + 1, x)),
];

Deno.test("comparePairs() matches scipy's paired t-test, its CI and Holm's adjustment", () => {
  // scipy 1.17: ttest_rel(A, B).pvalue = 0.00742178877199416, t.interval(0.95, 4, …) of the
  // differences = (−0.0528307668834845, −0.0151692331165157); ttest_rel(C, B).pvalue =
  // 0.03201015874652131; ttest_ind(A, B, equal_var=False).pvalue = 0.20595626831841873.
  // Holm over the two: 2·0.007422 = 0.014844, then max(0.014844, 0.032010) = 0.032010.
  const rows = comparePairs(trials, [["a", "b"], ["c", "b"]]).objects() as Record<
    string,
    number
  >[];
  assertEquals(rows[0].pairs, 5);
  assertAlmostEquals(rows[0].diff_mean, -0.034, 1e-12);
  assertAlmostEquals(rows[0].diff_ci95_low, -0.052830766883484453, 1e-9);
  assertAlmostEquals(rows[0].diff_ci95_high, -0.01516923311651569, 1e-9);
  assertAlmostEquals(rows[0].p_paired, 0.00742178877199416, 1e-9);
  assertAlmostEquals(rows[1].p_paired, 0.03201015874652131, 1e-9);
  assertAlmostEquals(rows[0].p_holm, 2 * 0.00742178877199416, 1e-9);
  assertAlmostEquals(rows[1].p_holm, 0.03201015874652131, 1e-9);
  assertAlmostEquals(rows[0].p_welch, 0.20595626831841873, 1e-9);
});

Deno.test("comparePairs() pairs only the seeds both activations completed", () => {
  const partial = [
    ...trials.filter((t) => !(t.activation === "a" && t.seed === 5)),
    { ...trial("a", 5, NaN), status: "diverged" as const },
  ];
  const [row] = comparePairs(partial, [["a", "b"]]).objects() as Record<string, number>[];
  assertEquals(row.pairs, 4);
  assertAlmostEquals(row.diff_mean, (-0.03 - 0.04 - 0.01 - 0.04) / 4, 1e-12);
  const [none] = comparePairs(trials, [["a", "missing"]]).objects() as Record<string, number>[];
  assertEquals(none.pairs, 0);
  assertEquals(none.p_paired, NaN);
});

Deno.test("seedOutliers() names a seed far above its siblings and nothing in an ordinary spread", () => {
  const swiglu = [
    trial("swiglu", 1, 1.7709),
    trial("swiglu", 2, 2.4678),
    trial("swiglu", 3, 1.7607),
  ];
  const [o, ...rest] = seedOutliers([...trials, ...swiglu]);
  assertEquals(rest, []); // the five-seed a, b, c of the tests above are not outliers
  assertEquals([o.activation, o.seed], ["swiglu", 2]);
  assertAlmostEquals(o.othersMedian, (1.7709 + 1.7607) / 2, 1e-12);
  assertAlmostEquals(o.excess, 2.4678 - (1.7709 + 1.7607) / 2, 1e-12);
  // Below the absolute floor (0.1 nats/char) nothing is flagged, however tight the others are.
  assertEquals(seedOutliers([trial("x", 1, 1.8), trial("x", 2, 1.8), trial("x", 3, 1.89)]), []);
  // Within 5 robust sds of wide-spread siblings nothing is flagged either.
  const wide = [1.6, 1.9, 2.2, 2.4].map((v, i) => trial("w", i + 1, v));
  assertEquals(seedOutliers(wide), []);
  // Two seeds cannot say which one is odd; diverged trials are not compared.
  assertEquals(seedOutliers([trial("y", 1, 1.8), trial("y", 2, 3.0)]), []);
  const diverged = { ...trial("z", 3, NaN), status: "diverged" as const };
  assertEquals(seedOutliers([trial("z", 1, 1.8), trial("z", 2, 3.0), diverged]), []);
});

Deno.test("readSweep() warns about notebook 03's stalled SwiGLU seed at lr 1e-2", async () => {
  const dir = new URL("../../notebooks/results/03_activation_sweep/lr=0.01", import.meta.url)
    .pathname;
  const notices: string[] = [];
  const { trials } = await readSweep(dir, { onNotice: (m) => notices.push(m) });
  assertEquals(trials.length, 9);
  const [o] = seedOutliers(trials);
  assertEquals(notices.filter((n) => !n.includes("provenance")), [seedOutlierNotice(o, dir)]);
  assertEquals([o.activation, o.seed], ["swiglu", 2]);
  assertAlmostEquals(o.finalValLoss, 2.4678, 1e-4);
});
