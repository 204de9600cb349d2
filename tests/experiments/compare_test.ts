import { assertAlmostEquals, assertEquals } from "@std/assert";
import { comparePairs, type TrialResult } from "@actlab/actlab/experiments";

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
