/**
 * A sweep's summary as typed rows ({@link SummaryRow}), one per activation: counts, the final
 * validation loss with its confidence interval, and the paired comparison with the baseline (trials
 * of one seed share batches and, where shapes agree, initial weights). Arquero only at the edge:
 * {@link summaryCsv} writes the rows as the CSV beside the trials.
 *
 * @module
 */
import * as aq from "arquero";
import {
  holmAdjust,
  mean,
  median,
  minimumDetectableDifference,
  type PairedResult,
  pairedTTest,
  summarize,
  welchTTest,
} from "../core/stats.ts";
import type { TrialResult } from "./record.ts";

/** One activation's row of a sweep summary. Losses are nats per token; differences a − baseline. */
export interface SummaryRow {
  /** The activation. */
  readonly activation: string;
  /** Completed trials (seeds). */
  readonly n: number;
  /** Trials stopped by a NaN/∞ loss. */
  readonly diverged: number;
  /** Completed trials whose training loss rose above 1.2× its start on the way. */
  readonly unstable: number;
  /** Mean final validation loss over the completed seeds. */
  readonly valLossMean: number;
  /** Its standard deviation over seeds. */
  readonly valLossStd: number;
  /** Lower end of the mean's 95% Student-t interval. */
  readonly ci95Low: number;
  /** Upper end of the mean's 95% Student-t interval. */
  readonly ci95High: number;
  /** The activation every row is compared with. */
  readonly baseline: string;
  /** Seeds both this activation and the baseline completed (NaN in the baseline's row). */
  readonly pairs: number;
  /** Mean of the per-seed differences from the baseline (negative: lower loss). */
  readonly diffMean: number;
  /** Lower end of the difference's 95% interval. */
  readonly diffCi95Low: number;
  /** Upper end of the difference's 95% interval. */
  readonly diffCi95High: number;
  /** Paired t-test's two-sided p. */
  readonly pPaired: number;
  /** Holm-adjusted across the activations compared with the baseline in this summary. */
  readonly pHolm: number;
  /** The smallest difference these pairs detect with 80% power at α = 0.05. */
  readonly mdd80: number;
  /** Welch's unpaired p against the baseline, for reference. */
  readonly pWelch: number;
  /** Tokens behind each final loss (the whole validation split), NaN when they differ or are unknown. */
  readonly evalTokens: number;
  /** The loss `stepsToTarget` counts to (default: the worst mean final loss). */
  readonly targetLoss: number;
  /** Mean step of the first evaluation at or below the target, over the trials that reached it. */
  readonly stepsToTarget: number;
  /** How many trials reached the target. */
  readonly reachedTarget: number;
  /** Each trial's median ms/step, averaged over seeds. */
  readonly msPerStep: number;
  /** Parameters of the model. */
  readonly params: number;
  /**
   * Mean final validation loss in bits per UTF-8 byte (comparable across tokenizers); NaN when
   * the trials did not record it (trials written before bits per byte existed).
   */
  readonly bpbMean: number;
  /** Lower end of its 95% interval. */
  readonly bpbCi95Low: number;
  /** Upper end. */
  readonly bpbCi95High: number;
}

/**
 * A trial's final validation loss in bits per byte (its last evaluation's), NaN when not recorded.
 *
 * @example
 * ```ts
 * import { trialBitsPerByte } from "@actlab/actlab/sweep";
 * trialBitsPerByte({ evals: [{ iter: 0, trainLoss: 1, valLoss: 1, elapsedS: 0, valBitsPerByte: 1.44 }] } as never); // 1.44
 * ```
 */
export function trialBitsPerByte(t: Pick<TrialResult, "evals">): number {
  return t.evals.at(-1)?.valBitsPerByte ?? NaN;
}

/** Options of {@link summarizeTrials}. */
export interface SummaryOptions {
  /** The activations, in row order (default: as they first appear in the trials). */
  readonly activations?: readonly string[];
  /** The baseline (default: `gelu` when present, else the first activation). */
  readonly baseline?: string;
  /** The target loss of `stepsToTarget` (default: the worst mean final loss). */
  readonly targetLoss?: number;
}

/** The completed trials' final validation losses of one activation, by seed. */
function finalsBySeed(trials: readonly TrialResult[], activation: string): Map<number, number> {
  return new Map(
    trials.filter((t) => t.activation === activation && t.status === "completed")
      .map((t) => [t.seed, t.finalValLoss]),
  );
}

/**
 * The paired test of `a` against `b` over the seeds both completed (`a − b`; negative: `a` has
 * the lower loss). `result` is undefined with fewer than two shared seeds.
 *
 * @example
 * ```ts
 * import { pairBySeed } from "@actlab/actlab/sweep";
 * const t = (activation: string, seed: number, finalValLoss: number) =>
 *   ({ activation, seed, status: "completed", finalValLoss }) as never;
 * const { seeds, result } = pairBySeed([t("a", 1, 1.0), t("a", 2, 1.1), t("b", 1, 1.2), t("b", 2, 1.2)], "a", "b");
 * console.assert(seeds.length === 2 && Math.abs(result!.difference + 0.15) < 1e-12);
 * ```
 */
export function pairBySeed(
  trials: readonly TrialResult[],
  a: string,
  b: string,
): { readonly seeds: number[]; readonly result?: PairedResult } {
  const mine = finalsBySeed(trials, a), theirs = finalsBySeed(trials, b);
  const seeds = [...mine.keys()].filter((k) => theirs.has(k)).sort((x, y) => x - y);
  if (seeds.length < 2) return { seeds };
  const result = pairedTTest(seeds.map((k) => mine.get(k)!), seeds.map((k) => theirs.get(k)!));
  return { seeds, result };
}

/**
 * The summary of finished trials, one {@link SummaryRow} per activation (in the order given):
 * counts, the mean final validation loss with its 95% Student-t interval over seeds, and against
 * the baseline, **paired by seed**, the mean difference with its interval, the paired t-test, Holm
 * across the activations of this summary, and the smallest detectable difference; Welch's unpaired
 * p for reference; steps to the target loss, ms/step and parameters.
 *
 * @example
 * ```ts
 * import { summarizeTrials } from "@actlab/actlab/sweep";
 * const t = (activation: string, seed: number, loss: number) => ({
 *   activation, seed, status: "completed" as const, finalValLoss: loss, finalTrainLoss: loss,
 *   evals: [{ iter: 10, trainLoss: loss, valLoss: loss, elapsedS: 1 }], msPerStep: 2,
 *   params: 100, wallS: 1, settings: "k",
 * });
 * const rows = summarizeTrials([t("relu", 1, 1.8), t("relu", 2, 1.9), t("gelu", 1, 1.9), t("gelu", 2, 2.05)]);
 * console.assert(rows[0].baseline === "gelu" && Math.abs(rows[0].diffMean + 0.125) < 1e-12);
 * ```
 */
export function summarizeTrials(
  trials: readonly TrialResult[],
  options: SummaryOptions = {},
): SummaryRow[] {
  const names = options.activations ?? [...new Set(trials.map((t) => t.activation))];
  const done = (name: string) =>
    trials.filter((t) => t.activation === name && t.status === "completed");
  const finals = (name: string) => done(name).map((t) => t.finalValLoss);
  const baseline = options.baseline ?? (names.includes("gelu") ? "gelu" : names[0]);
  const means = names.map((n) => summarize(finals(n)).mean).filter(Number.isFinite);
  const target = options.targetLoss ?? (means.length ? Math.max(...means) : NaN);
  const paired = names.map((name) =>
    name === baseline ? undefined : pairBySeed(trials, name, baseline)
  );
  const pHolm = holmAdjust(paired.map((x) => x?.result?.p ?? NaN));
  return names.map((name, i): SummaryRow => {
    const s = summarize(finals(name));
    const base = finals(baseline);
    const reach = done(name).map((t) => t.evals.find((e) => e.valLoss <= target)?.iter ?? NaN);
    const pr = paired[i]?.result;
    const tokens = done(name).map((t) => t.evalTokens ?? NaN);
    const bpbs = done(name).map(trialBitsPerByte);
    const bpb = bpbs.length && bpbs.every(Number.isFinite) ? summarize(bpbs) : undefined;
    return {
      activation: name,
      n: s.n,
      diverged: trials.filter((t) => t.activation === name && t.status === "diverged").length,
      unstable: done(name).filter((t) => t.unstable).length,
      valLossMean: s.mean,
      valLossStd: s.std,
      ci95Low: s.ciLow,
      ci95High: s.ciHigh,
      baseline,
      pairs: paired[i]?.seeds.length ?? NaN,
      diffMean: pr?.difference ?? NaN,
      diffCi95Low: pr?.ciLow ?? NaN,
      diffCi95High: pr?.ciHigh ?? NaN,
      pPaired: pr?.p ?? NaN,
      pHolm: pHolm[i],
      mdd80: pr ? minimumDetectableDifference(pr.std, pr.n) : NaN,
      pWelch: name !== baseline && s.n >= 2 && base.length >= 2
        ? welchTTest(finals(name), base).p
        : NaN,
      evalTokens: tokens.length && tokens.every((x) => x === tokens[0]) ? tokens[0] : NaN,
      targetLoss: target,
      stepsToTarget: summarize(reach.filter(Number.isFinite)).mean,
      reachedTarget: reach.filter(Number.isFinite).length,
      msPerStep: mean(done(name).map((t) => t.msPerStep)),
      params: done(name)[0]?.params ?? NaN,
      bpbMean: bpb?.mean ?? NaN,
      bpbCi95Low: bpb?.ciLow ?? NaN,
      bpbCi95High: bpb?.ciHigh ?? NaN,
    };
  });
}

/** The CSV columns of a summary, in order, with the row field each one holds. */
const CSV_COLUMNS: readonly [string, keyof SummaryRow][] = [
  ["activation", "activation"],
  ["n", "n"],
  ["diverged", "diverged"],
  ["unstable", "unstable"],
  ["val_loss_mean", "valLossMean"],
  ["val_loss_std", "valLossStd"],
  ["ci95_low", "ci95Low"],
  ["ci95_high", "ci95High"],
  ["baseline", "baseline"],
  ["pairs", "pairs"],
  ["diff_mean", "diffMean"],
  ["diff_ci95_low", "diffCi95Low"],
  ["diff_ci95_high", "diffCi95High"],
  ["p_paired", "pPaired"],
  ["p_holm", "pHolm"],
  ["mdd80", "mdd80"],
  ["p_vs_baseline", "pWelch"],
  ["eval_tokens", "evalTokens"],
  ["target_loss", "targetLoss"],
  ["steps_to_target", "stepsToTarget"],
  ["reached_target", "reachedTarget"],
  ["ms_per_step", "msPerStep"],
  ["params", "params"],
];

/** The bits-per-byte columns, written after the others when the trials recorded them. */
const BPB_COLUMNS: readonly [string, keyof SummaryRow][] = [
  ["val_bpb_mean", "bpbMean"],
  ["val_bpb_ci95_low", "bpbCi95Low"],
  ["val_bpb_ci95_high", "bpbCi95High"],
];

/**
 * The summary as an arquero table with the CSV's snake_case columns (`val_loss_mean`, `p_holm`,
 * `p_vs_baseline` for Welch's p, …): for notebook tables and files.
 *
 * @example
 * ```ts ignore
 * import { summaryTable } from "@actlab/actlab/sweep";
 * summaryTable(rows).print();
 * ```
 */
export function summaryTable(rows: readonly SummaryRow[]): aq.ColumnTable {
  // Bits per byte only where some trial recorded it: older folders keep their columns exactly.
  const columns = rows.some((r) => Number.isFinite(r.bpbMean))
    ? [...CSV_COLUMNS, ...BPB_COLUMNS]
    : CSV_COLUMNS;
  return aq.from(
    rows.map((r) => Object.fromEntries(columns.map(([column, field]) => [column, r[field]]))),
  );
}

/**
 * The summary as the CSV written beside a sweep's trials (`summary.csv`).
 *
 * @example
 * ```ts ignore
 * import { summaryCsv } from "@actlab/actlab/sweep";
 * await Deno.writeTextFile("summary.csv", summaryCsv(rows));
 * ```
 */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  if (rows.length === 0) return CSV_COLUMNS.map(([c]) => c).join(",") + "\n";
  return summaryTable(rows).toCSV();
}

/** A completed trial whose final loss lies far above the other seeds of its activation. */
export interface SeedOutlier {
  /** The activation. */
  readonly activation: string;
  /** The seed. */
  readonly seed: number;
  /** Its final validation loss. */
  readonly finalValLoss: number;
  /** The median final loss of the activation's other completed seeds. */
  readonly othersMedian: number;
  /** `finalValLoss − othersMedian`. */
  readonly excess: number;
}

/**
 * Completed trials whose final validation loss exceeds the median of their activation's other
 * seeds by more than `minExcess` (default 0.1 nats) and by more than `spreads` (default 5)
 * robust standard deviations of those others (1.4826 × their median absolute deviation): a run
 * that stalled or failed without diverging, which a mean over seeds silently absorbs. Only
 * activations with at least three completed seeds are checked (with two, neither is the odd one).
 *
 * @example
 * ```ts
 * import { seedOutliers } from "@actlab/actlab/sweep";
 * const trial = (seed: number, finalValLoss: number) =>
 *   ({ activation: "swiglu", seed, status: "completed", finalValLoss }) as never;
 * const [o] = seedOutliers([trial(1, 1.771), trial(2, 2.468), trial(3, 1.761)]);
 * console.assert(o.seed === 2 && Math.abs(o.excess - 0.702) < 1e-9);
 * ```
 */
export function seedOutliers(
  trials: readonly TrialResult[],
  options: { readonly minExcess?: number; readonly spreads?: number } = {},
): SeedOutlier[] {
  const minExcess = options.minExcess ?? 0.1, spreads = options.spreads ?? 5;
  const out: SeedOutlier[] = [];
  for (const activation of new Set(trials.map((t) => t.activation))) {
    const finals = [...finalsBySeed(trials, activation)].filter(([, v]) => Number.isFinite(v));
    if (finals.length < 3) continue;
    for (const [seed, loss] of finals) {
      const others = finals.filter(([s]) => s !== seed).map(([, v]) => v);
      const mid = median(others);
      const mad = median(others.map((v) => Math.abs(v - mid)));
      const excess = loss - mid;
      if (excess > minExcess && excess > spreads * 1.4826 * mad) {
        out.push({ activation, seed, finalValLoss: loss, othersMedian: mid, excess });
      }
    }
  }
  return out;
}

/**
 * The notice for an outlying trial (see {@link seedOutliers}): which trial, by how much, and what
 * to do about it; `where` (a sweep folder) prefixes it.
 *
 * @example
 * ```ts
 * import { seedOutlierNotice } from "@actlab/actlab/sweep";
 * const o = { activation: "swiglu", seed: 2, finalValLoss: 2.468, othersMedian: 1.766, excess: 0.702 };
 * console.assert(seedOutlierNotice(o).startsWith("swiglu seed 2 ended at a validation loss of 2.468"));
 * ```
 */
export function seedOutlierNotice(o: SeedOutlier, where?: string): string {
  return `${where ? `${where}: ` : ""}${o.activation} seed ${o.seed} ended at a validation loss ` +
    `of ${o.finalValLoss.toFixed(3)}, ${o.excess.toFixed(3)} above the median of its other ` +
    `seeds (${o.othersMedian.toFixed(3)}): the run may have stalled or failed without ` +
    `diverging. It is counted in the means; look at its loss curve before reading them.`;
}
