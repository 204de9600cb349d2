/**
 * A study's family of tests: its declared comparisons, expanded over its cells, tested paired by
 * seed and corrected together (Holm by default) — one family for the whole study, not one per
 * printed table. Exploratory comparisons are tested and reported beside the family, never in it.
 * Two activations whose trials are identical (the same final loss and curve in every seed, e.g. a
 * clip that never acts) are one activation: tests that differ only by swapping them are the same
 * test and counted once, and a test of one against the other is no test at all.
 *
 * @module
 */
import * as aq from "arquero";
import { holmAdjust, minimumDetectableDifference, pairedTTest, summarize } from "../core/stats.ts";
import type { AxisPoint } from "./axes.ts";
import type { TrialResult } from "./record.ts";
import type { Comparison } from "./study_file.ts";
import { pairBySeed, trialBitsPerByte } from "./summary.ts";

/** A cell's trials for the family: its label, axis values and trials by activation. */
export interface FamilyCell {
  /** How tables name the cell (`depth=2`, or `(base)`). */
  readonly label: string;
  /** Its axis values. */
  readonly point: AxisPoint;
  /** The trials each activation contributes (e.g. at its chosen learning rate). */
  readonly trials: ReadonlyMap<string, readonly TrialResult[]>;
}

/** One test of a study: a comparison in a cell. Losses are nats per token; differences a − b. */
export interface FamilyRow {
  /** The cell. */
  readonly cell: string;
  /** `a` of `a − b`. */
  readonly a: string;
  /** `b` of `a − b`. */
  readonly b: string;
  /** `declared` (in the family) or `exploratory`. */
  readonly role: "declared" | "exploratory";
  /** Seeds both completed. */
  readonly pairs: number;
  /** Mean final loss of `a` over those seeds. */
  readonly aMean: number;
  /** Mean final loss of `b` over those seeds. */
  readonly bMean: number;
  /** Mean of the per-seed differences. */
  readonly diffMean: number;
  /** Its 95% interval, lower end. */
  readonly diffCi95Low: number;
  /** Its 95% interval, upper end. */
  readonly diffCi95High: number;
  /** The paired t-test's two-sided p. */
  readonly pPaired: number;
  /** p corrected over the whole family (NaN for exploratory tests, duplicates and non-tests). */
  readonly pFamily: number;
  /** The number of tests in the family. */
  readonly familySize: number;
  /** The smallest difference these pairs detect with 80% power at α = 0.05 (uncorrected). */
  readonly mdd80: number;
  /** Why the row is not a test of its own: a duplicate of another row, identical trials, too few pairs. */
  readonly note: string;
  /** The same difference in bits per byte (NaN when the trials did not record it). */
  readonly diffBpb: number;
  /** Its 95% interval, lower end. */
  readonly diffBpbCi95Low: number;
  /** Upper end. */
  readonly diffBpbCi95High: number;
}

/** Whether a cell's axis values match a comparison's `where`. */
function applies(c: Comparison, point: AxisPoint): boolean {
  return Object.entries(c.where ?? {}).every(([k, v]) => point[k] === v);
}

/** The pairs `[a, b]` a comparison asks for in a cell with these activations. */
function expand(c: Comparison, activations: readonly string[]): [string, string][] {
  if ("baseline" in c) {
    return activations.includes(c.baseline)
      ? activations.filter((a) => a !== c.baseline).map((a) => [a, c.baseline])
      : [];
  }
  return activations.includes(c.a) && activations.includes(c.b) ? [[c.a, c.b]] : [];
}

/** A fingerprint of an activation's trials: equal when every seed's record computed the same. */
function sameness(trials: readonly TrialResult[]): string {
  return JSON.stringify(
    [...trials].sort((x, y) => x.seed - y.seed).map((t) => [
      t.seed,
      t.status,
      t.finalValLoss,
      t.evals.map((e) => [e.iter, e.trainLoss, e.valLoss]),
    ]),
  );
}

/**
 * Activations whose trials in a cell are identical, mapped to the first of their kind (in the
 * cell's order): `relu6_2 → relu2` when the clip at 6 never acts.
 *
 * @example
 * ```ts
 * import { identicalActivations } from "@actlab/actlab/sweep";
 * const t = (activation: string) => ({
 *   activation, seed: 1, status: "completed" as const, finalValLoss: 1.8, finalTrainLoss: 1.8,
 *   evals: [{ iter: 10, trainLoss: 1.8, valLoss: 1.8, elapsedS: 1 }], msPerStep: 1, params: 10,
 *   wallS: 1, settings: "k",
 * });
 * const same = identicalActivations(new Map([["relu2", [t("relu2")]], ["relu6_2", [t("relu6_2")]]]));
 * console.assert(same.get("relu6_2") === "relu2");
 * ```
 */
export function identicalActivations(
  trials: ReadonlyMap<string, readonly TrialResult[]>,
): Map<string, string> {
  const first = new Map<string, string>();
  const out = new Map<string, string>();
  for (const [activation, mine] of trials) {
    if (mine.length === 0) continue;
    const key = sameness(mine);
    const seen = first.get(key);
    if (seen) out.set(activation, seen);
    else first.set(key, activation);
  }
  return out;
}

/** One test before correction. */
type Test = Omit<FamilyRow, "pFamily" | "familySize">;

function runTest(
  cell: FamilyCell,
  a: string,
  b: string,
  role: FamilyRow["role"],
  note: string,
): Test {
  const all = [...(cell.trials.get(a) ?? []), ...(cell.trials.get(b) ?? [])];
  const { seeds, result } = pairBySeed(all, a, b);
  const bpbOf = (name: string) =>
    seeds.map((s) => trialBitsPerByte(all.find((t) => t.activation === name && t.seed === s)!));
  const [bpbA, bpbB] = [bpbOf(a), bpbOf(b)];
  const bpb = seeds.length >= 2 && [...bpbA, ...bpbB].every(Number.isFinite)
    ? pairedTTest(bpbA, bpbB)
    : undefined;
  const mean = (name: string) =>
    summarize(
      all.filter((t) => t.activation === name && seeds.includes(t.seed)).map((t) => t.finalValLoss),
    ).mean;
  return {
    cell: cell.label,
    a,
    b,
    role,
    pairs: seeds.length,
    aMean: mean(a),
    bMean: mean(b),
    diffMean: result?.difference ?? NaN,
    diffCi95Low: result?.ciLow ?? NaN,
    diffCi95High: result?.ciHigh ?? NaN,
    pPaired: result?.p ?? NaN,
    mdd80: result ? minimumDetectableDifference(result.std, result.n) : NaN,
    note: note || (seeds.length < 2 ? "fewer than 2 paired seeds: not a test" : ""),
    diffBpb: bpb?.difference ?? NaN,
    diffBpbCi95Low: bpb?.ciLow ?? NaN,
    diffBpbCi95High: bpb?.ciHigh ?? NaN,
  };
}

/**
 * Tests a study's comparisons in every cell and corrects the declared ones as one family: each
 * declared comparison in each cell where both activations ran is one test (a `baseline`
 * comparison is one test per other activation); duplicates and tests of identical trials are
 * reported and left out of the family; exploratory comparisons are tested, reported, and never
 * corrected with the family. `pFamily` is Holm's (or Bonferroni's) adjustment over the family.
 *
 * @example
 * ```ts ignore
 * import { familyTests } from "@actlab/actlab/sweep";
 * const rows = familyTests(cells, study.comparisons, study.exploratory, "holm");
 * console.table(rows.filter((r) => r.pFamily < 0.05));
 * ```
 */
export function familyTests(
  cells: readonly FamilyCell[],
  declared: readonly Comparison[],
  exploratory: readonly Comparison[],
  correction: "holm" | "bonferroni" | "none" = "holm",
): FamilyRow[] {
  const tests: Test[] = [];
  const seen = new Map<string, string>();
  for (const [role, list] of [["declared", declared], ["exploratory", exploratory]] as const) {
    for (const cell of cells) {
      const same = identicalActivations(cell.trials);
      const rep = (x: string) => same.get(x) ?? x;
      const present = [...cell.trials.keys()].filter((a) => (cell.trials.get(a) ?? []).length);
      for (const c of list.filter((c) => applies(c, cell.point))) {
        for (const [a, b] of expand(c, present)) {
          const key = `${cell.label}\0${[rep(a), rep(b)].sort().join("\0")}`;
          let note = "";
          if (rep(a) === rep(b)) note = `${a} and ${b} have identical trials: no test`;
          else if (seen.has(key)) note = `the same test as ${seen.get(key)} (identical trials)`;
          else seen.set(key, `${a} − ${b} (${cell.label})`);
          tests.push(runTest(cell, a, b, role, note));
        }
      }
    }
  }
  const inFamily = tests.map((t) => t.role === "declared" && !t.note && Number.isFinite(t.pPaired));
  const m = inFamily.filter(Boolean).length;
  const ps = tests.map((t, i) => (inFamily[i] ? t.pPaired : NaN));
  const adjusted = correction === "holm"
    ? holmAdjust(ps)
    : ps.map((p) => (correction === "bonferroni" ? Math.min(1, p * m) : p));
  return tests.map((t, i) => ({ ...t, pFamily: adjusted[i], familySize: m }));
}

/**
 * The family's rows as the CSV written beside a study (`family.csv`), snake_case columns.
 *
 * @example
 * ```ts ignore
 * import { familyCsv } from "@actlab/actlab/sweep";
 * await Deno.writeTextFile("family.csv", familyCsv(rows));
 * ```
 */
export function familyCsv(rows: readonly FamilyRow[]): string {
  return aq.from(rows.map((r) => ({
    cell: r.cell,
    a: r.a,
    b: r.b,
    role: r.role,
    pairs: r.pairs,
    a_mean: r.aMean,
    b_mean: r.bMean,
    diff_mean: r.diffMean,
    diff_ci95_low: r.diffCi95Low,
    diff_ci95_high: r.diffCi95High,
    p_paired: r.pPaired,
    p_family: r.pFamily,
    family_size: r.familySize,
    mdd80: r.mdd80,
    note: r.note,
    ...(rows.some((x) => Number.isFinite(x.diffBpb))
      ? {
        diff_bpb: r.diffBpb,
        diff_bpb_ci95_low: r.diffBpbCi95Low,
        diff_bpb_ci95_high: r.diffBpbCi95High,
      }
      : {}),
  }))).toCSV();
}
