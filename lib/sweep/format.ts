/**
 * The study engine's tables as text cells, formatted once: headers, cells, alignment, the row to
 * emphasise, a caption and notes. Each medium draws the same grid — the terminal and markdown
 * (the CLI), HTML (reports) and notebook outputs — through `lib/display`'s `TableView`, so the
 * numbers read the same wherever they are shown.
 *
 * @module
 */
import { summarize } from "../core/stats.ts";
import type { FamilyRow } from "./family.ts";
import type { TrialResult } from "./record.ts";
import { type SummaryRow, trialBitsPerByte } from "./summary.ts";
import type { Selection } from "./tune.ts";

/** A table as formatted text: what `TableView` (lib/display) draws in every medium. */
export interface TextGrid {
  /** Column headers. */
  columns: string[];
  /** Cell text, row by row. */
  cells: string[][];
  /** Whether each column is numeric (right-aligned). */
  numeric: boolean[];
  /** Whether each row is emphasised (the best). */
  bold: boolean[];
  /** A caption above the table. */
  caption?: string;
  /** Lines under the table: what the columns mean. */
  notes?: string;
  /** Rows left out (none here). */
  more: number;
}

/**
 * A loss or difference with three decimals (a thousandth of a nat is what sweeps resolve); "—"
 * when unknown.
 *
 * @example
 * ```ts
 * import { loss3 } from "@actlab/actlab/sweep";
 * loss3(1.82573); // "1.826"
 * ```
 */
export function loss3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : "—";
}

/**
 * A signed difference with three decimals and a true minus sign.
 *
 * @example
 * ```ts
 * import { signed3 } from "@actlab/actlab/sweep";
 * signed3(-0.0833); // "−0.083"
 * ```
 */
export function signed3(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}` : "—";
}

/**
 * A p-value: two significant digits, exponent form below 10⁻³.
 *
 * @example
 * ```ts
 * import { pValue } from "@actlab/actlab/sweep";
 * pValue(0.01834); // "0.018"
 * pValue(0.000187); // "1.9e-4"
 * ```
 */
export function pValue(x: number): string {
  if (!Number.isFinite(x)) return "—";
  return x >= 1e-3 ? String(Number(x.toPrecision(2))) : x.toExponential(1);
}

/**
 * A mean with its interval.
 *
 * @example
 * ```ts
 * import { withInterval } from "@actlab/actlab/sweep";
 * withInterval(1.82573, 1.80452, 1.84694); // "1.826 [1.805, 1.847]"
 * ```
 */
export function withInterval(m: number, lo: number, hi: number): string {
  if (!Number.isFinite(m)) return "—";
  return Number.isFinite(lo) && Number.isFinite(hi)
    ? `${loss3(m)} [${loss3(lo)}, ${loss3(hi)}]`
    : loss3(m);
}

/**
 * FLOPs in engineering form with the unit, e.g. "7.93 TFLOP"; "—" when unknown.
 *
 * @example
 * ```ts
 * import { flopsText } from "@actlab/actlab/sweep";
 * flopsText(7.928e12); // "7.93 TFLOP"
 * ```
 */
export function flopsText(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const units: [number, string][] = [[1e15, "PFLOP"], [1e12, "TFLOP"], [1e9, "GFLOP"]];
  const [scale, unit] = units.find(([u]) => x >= u) ?? [1e6, "MFLOP"];
  return `${(x / scale).toPrecision(3)} ${unit}`;
}

/**
 * The unit of a sweep's losses: nats per character for character-level data (every dataset until
 * a sweep names another tokenizer), else nats per token.
 *
 * @example
 * ```ts
 * import { lossUnit } from "@actlab/actlab/sweep";
 * lossUnit({}); // "nats/char"
 * lossUnit({ tokenizer: "bpe:2048" }); // "nats/token"
 * ```
 */
export function lossUnit(settings: { readonly tokenizer?: string }): string {
  return !settings.tokenizer || settings.tokenizer === "char" ? "nats/char" : "nats/token";
}

/** Options of {@link summaryGrid}. */
export interface SummaryGridOptions {
  /** What the final loss was measured on, for the notes (e.g. "the whole validation split"). */
  readonly evaluation?: string;
  /** The loss's unit (default `nats/token`). */
  readonly unit?: string;
  /** A caption above the table. */
  readonly caption?: string;
}

/**
 * A sweep summary as a {@link TextGrid}: per activation the runs, the mean final loss with its 95%
 * interval, the paired difference from the baseline with its interval, the paired and Holm p, the
 * smallest detectable difference, steps to the target, ms/step and parameters; the best mean
 * emphasised; notes that say what each column means.
 *
 * @example
 * ```ts ignore
 * import { summaryGrid } from "@actlab/actlab/sweep";
 * const grid = summaryGrid(result.summary, { evaluation: "the whole validation split" });
 * console.log(grid.columns.join(" | "));
 * ```
 */
export function summaryGrid(
  rows: readonly SummaryRow[],
  options: SummaryGridOptions = {},
): TextGrid {
  const unit = options.unit ?? "nats/token";
  const baseline = rows[0]?.baseline ?? "baseline";
  const target = rows[0]?.targetLoss ?? NaN;
  const means = rows.map((r) => r.valLossMean).filter(Number.isFinite);
  const best = means.length ? Math.min(...means) : NaN;
  const columns = [
    "activation",
    "runs",
    `val loss, ${unit} [95% CI]`,
    `Δ vs ${baseline}, ${unit} [95% CI]`,
    "p paired",
    "p Holm",
    "MDD80",
    `steps to ≤ ${loss3(target)}`,
    "ms/step",
    "params",
  ];
  const withBpb = rows.some((r) => Number.isFinite(r.bpbMean));
  if (withBpb) columns.splice(3, 0, "val bits/byte [95% CI]");
  const cells = rows.map((r) => {
    const runs = `${r.n}/${r.n + r.diverged}${r.unstable > 0 ? `, ${r.unstable} unstable` : ""}`;
    const isBase = r.activation === baseline;
    return [
      r.activation,
      runs,
      withInterval(r.valLossMean, r.ci95Low, r.ci95High),
      ...(withBpb ? [withInterval(r.bpbMean, r.bpbCi95Low, r.bpbCi95High)] : []),
      isBase
        ? "(baseline)"
        : `${signed3(r.diffMean)} [${signed3(r.diffCi95Low)}, ${signed3(r.diffCi95High)}]`,
      isBase ? "—" : pValue(r.pPaired),
      isBase ? "—" : pValue(r.pHolm),
      isBase ? "—" : loss3(r.mdd80),
      `${Number.isFinite(r.stepsToTarget) ? Math.round(r.stepsToTarget) : "—"} ` +
      `(${r.reachedTarget}/${r.n})`,
      Number.isFinite(r.msPerStep) ? r.msPerStep.toFixed(1) : "—",
      Number.isFinite(r.params) ? r.params.toLocaleString("en-US") : "—",
    ];
  });
  const evaluation = options.evaluation ??
    (Number.isFinite(rows[0]?.evalTokens)
      ? `the whole validation split (${rows[0].evalTokens.toLocaleString("en-US")} tokens)`
      : "the final evaluation");
  const notes = [
    `runs: completed/all (diverged runs stopped at a NaN/∞ loss; unstable: finished, but the ` +
    `training loss rose above 1.2× its start). val loss: final validation cross-entropy on ` +
    `${evaluation}, mean over seeds [95% Student-t interval].`,
    `Δ vs ${baseline}: mean of the per-seed differences (negative = lower loss) [95% CI]; p paired: ` +
    `paired t-test over the seeds both ran; p Holm: adjusted over the ${
      Math.max(0, rows.length - 1)
    } comparisons with ${baseline} in this table (a study's family may be larger); MDD80: the ` +
    `smallest difference these seeds detect with 80% power (α = 0.05).`,
    `steps to ≤ ${loss3(target)}: first evaluation at or below that loss, mean over the runs ` +
    `that reached it (reached/n). ms/step: each run's median step time, averaged over seeds.` +
    (withBpb
      ? ` val bits/byte: the same final loss in bits per UTF-8 byte of the validation text ` +
        `(loss × tokens / bytes / ln 2), which compares across tokenizers.`
      : ""),
  ].join("\n");
  return {
    columns,
    cells,
    numeric: columns.map((_, j) => j > 0),
    bold: rows.map((r) => r.valLossMean === best),
    caption: options.caption,
    notes,
    more: 0,
  };
}

/** A grid row's mean with its interval, and ★ when it is the best rate. */
function cellLoss(r: Record<string, unknown>): string {
  return withInterval(Number(r.val_loss_mean), Number(r.ci95_low), Number(r.ci95_high));
}

/** The columns of a grid table other than its fixed ones: its other axes. */
function axisColumns(rows: readonly Record<string, unknown>[], fixed: readonly string[]): string[] {
  const known = new Set([
    ...fixed,
    "activation",
    "lr",
    "iters",
    "folder",
    "n",
    "diverged",
    "val_loss_mean",
    "val_loss_std",
    "ci95_low",
    "ci95_high",
    "flops_per_step",
    "train_flops",
    "wall_s",
    "ms_per_step",
    "best",
    "at_edge",
  ]);
  return Object.keys(rows[0] ?? {}).filter((k) => !known.has(k) && !/^best_|s$/.test(k));
}

/**
 * A grid's two tables as {@link TextGrid}s: every cell (`gridTable` rows) and each activation's
 * best learning rate (`bestLearningRates` rows), with notes on what they mean.
 *
 * @example
 * ```ts ignore
 * import { gridGrids } from "@actlab/actlab/sweep";
 * const { full, best } = gridGrids(grid.table.objects(), grid.best.objects());
 * ```
 */
export function gridGrids(
  tableRows: readonly object[],
  bestRows: readonly object[],
  options: { unit?: string } = {},
): { full: TextGrid; best: TextGrid } {
  const table = tableRows as readonly Record<string, unknown>[];
  const best = bestRows as readonly Record<string, unknown>[];
  const unit = options.unit ?? "nats/token";
  const others = axisColumns(table, []);
  const fullColumns = [
    "activation",
    "lr",
    "steps",
    ...others,
    "runs",
    `val loss, ${unit} [95% CI]`,
    "train FLOPs",
    "wall s",
  ];
  const full: TextGrid = {
    columns: fullColumns,
    cells: table.map((r) => [
      String(r.activation),
      String(r.lr),
      String(r.iters),
      ...others.map((o) => String(r[o])),
      `${r.n}/${Number(r.n) + Number(r.diverged)}`,
      `${cellLoss(r)}${r.best ? " ★" : ""}`,
      flopsText(Number(r.train_flops)),
      Number.isFinite(Number(r.wall_s)) ? Number(r.wall_s).toFixed(0) : "—",
    ]),
    numeric: fullColumns.map((_, j) => j > 0),
    bold: table.map((r) => r.best === true),
    notes: `val loss: final validation cross-entropy, mean over seeds [95% Student-t interval]; ` +
      `★: the activation's best learning rate for those values of the other axes (a rate where ` +
      `any seed diverged never wins). train FLOPs: forward and backward matrix products of one ` +
      `trial (per step × steps). wall s: mean seconds per trial, evaluations included.`,
    more: 0,
  };
  const bestOthers = axisColumns(best, []);
  const bestColumns = [
    "activation",
    "steps",
    ...bestOthers,
    "best lr",
    "lrs tried",
    "runs",
    `val loss, ${unit} [95% CI]`,
    "train FLOPs",
  ];
  const bestGrid: TextGrid = {
    columns: bestColumns,
    cells: best.map((r) => [
      String(r.activation),
      String(r.iters),
      ...bestOthers.map((o) => String(r[o])),
      `${r.best_lr}${r.at_edge ? " (edge)" : ""}`,
      String(r.lrs).replaceAll(";", ", "),
      String(r.n),
      cellLoss(r),
      flopsText(Number(r.train_flops)),
    ]),
    numeric: bestColumns.map((_, j) => j > 0 && bestColumns[j] !== "lrs tried"),
    bold: best.map(() => false),
    notes:
      `best lr: the rate with the lowest mean final loss for those values of the other axes; ` +
      `(edge): it is the lowest or highest rate tried, so the optimum may lie outside the grid. ` +
      `The best rates are chosen on these same trials, so their means are optimistic (biased ` +
      `low): confirm a difference at the chosen rates on fresh seeds (a study's confirmation).`,
    more: 0,
  };
  return { full, best: bestGrid };
}

/** What {@link tunedGrid} reads of a study: its cells with their selection and trials. */
export interface StudyCellsView {
  /** Whether the study tunes an axis, and which. */
  readonly study: { readonly tune?: { readonly axis: string } };
  /** The cells. */
  readonly cells: readonly {
    readonly name: string;
    readonly activations: readonly string[];
    readonly selection: ReadonlyMap<string, Selection>;
    readonly trials: ReadonlyMap<string, readonly TrialResult[]>;
  }[];
}

/** A value of a tuned axis as text: 0.0033 → "3.3e-3". */
function rateText(x: number): string {
  return Number.isFinite(x) ? x.toExponential(1).replace("e-", "e−") : "—";
}

/**
 * A study's cells as a {@link TextGrid}: per cell and activation the chosen value of the tuned axis
 * and why (fit or best cell), the values tried, the fitted optimum with its interval, and the
 * confirmation runs' mean final loss [95% CI]; the lowest mean of each cell in bold.
 *
 * @example
 * ```ts ignore
 * import { tunedGrid } from "@actlab/actlab/sweep";
 * console.log(tunedGrid(await readStudy("results/tuned")).columns);
 * ```
 */
export function tunedGrid(view: StudyCellsView, options: { unit?: string } = {}): TextGrid {
  const unit = options.unit ?? "nats/token";
  const axis = view.study.tune?.axis;
  const rows = view.cells.flatMap((c) =>
    c.activations.map((a) => {
      const trials = c.trials.get(a) ?? [];
      const done = trials.filter((t) => t.status === "completed");
      const s = summarize(done.map((t) => t.finalValLoss));
      const bpbs = done.map(trialBitsPerByte);
      const b = bpbs.length && bpbs.every(Number.isFinite) ? summarize(bpbs) : undefined;
      return { cell: c.name, activation: a, sel: c.selection.get(a), trials, done, s, b };
    })
  );
  const bestOf = new Map<string, number>();
  for (const r of rows) {
    if (Number.isFinite(r.s.mean)) {
      bestOf.set(r.cell, Math.min(bestOf.get(r.cell) ?? Infinity, r.s.mean));
    }
  }
  const columns = [
    "cell",
    "activation",
    ...(axis ? [`chosen ${axis}`, "by", `${axis}s tried`, `fitted optimum [95% CI]`] : []),
    "runs",
    `val loss, ${unit} [95% CI]`,
    ...(rows.some((r) => r.b) ? ["val bits/byte [95% CI]"] : []),
  ];
  const withBpb = rows.some((r) => r.b);
  return {
    columns,
    cells: rows.map((r) => [
      r.cell,
      r.activation,
      ...(axis
        ? [
          r.sel ? `${rateText(r.sel.chosen)}${r.sel.atEdge ? " (edge)" : ""}` : "—",
          r.sel ? r.sel.rule.split(/[ :(]/)[0] : "—",
          r.sel ? r.sel.tried.map((t) => rateText(t.value)).join(", ") : "—",
          r.sel?.fit && r.sel.fit.curvature > 0
            ? `${rateText(r.sel.fit.optimum)} [${rateText(r.sel.fit.low)}, ${
              rateText(r.sel.fit.high)
            }]`
            : "—",
        ]
        : []),
      `${r.done.length}/${r.trials.length}`,
      withInterval(r.s.mean, r.s.ciLow, r.s.ciHigh),
      ...(withBpb ? [r.b ? withInterval(r.b.mean, r.b.ciLow, r.b.ciHigh) : "—"] : []),
    ]),
    numeric: columns.map((c) => !["cell", "activation", "by", `${axis}s tried`].includes(c)),
    bold: rows.map((r) => r.s.mean === bestOf.get(r.cell)),
    notes:
      (axis
        ? `chosen ${axis}: the value confirmed, chosen on the selection seeds (never the ` +
          `confirmation seeds) — by "fit": the tried value nearest the optimum of a quadratic fit ` +
          `of loss against ln(${axis}) around the best cell; by "best": the best cell (when the fit ` +
          `locates no minimum inside its points). (edge): the best is the lowest or highest value ` +
          `tried after widening: the optimum may lie beyond. fitted optimum: the fit's minimum ` +
          `with its 95% interval (delta method). `
        : "") +
      `runs and val loss: the ${axis ? "confirmation" : "cell's"} runs (completed/all), mean ` +
      `final validation loss over seeds [95% Student-t interval].`,
    more: 0,
  };
}

/**
 * A study's family of comparisons as a {@link TextGrid}: declared tests first, then exploratory
 * ones, each with the paired difference [95% CI], the paired p and (declared only) p corrected
 * over the whole family.
 *
 * @example
 * ```ts ignore
 * import { familyGrid } from "@actlab/actlab/sweep";
 * console.log(familyGrid(study.family).notes);
 * ```
 */
export function familyGrid(rows: readonly FamilyRow[], options: { unit?: string } = {}): TextGrid {
  const unit = options.unit ?? "nats/token";
  const ordered = [
    ...rows.filter((r) => r.role === "declared"),
    ...rows.filter((r) => r.role === "exploratory"),
  ];
  const m = rows[0]?.familySize ?? 0;
  const withBpb = rows.some((r) => Number.isFinite(r.diffBpb));
  const columns = [
    "cell",
    "a − b",
    "role",
    "pairs",
    `Δ, ${unit} [95% CI]`,
    ...(withBpb ? ["Δ bits/byte [95% CI]"] : []),
    "p paired",
    `p family (${m} tests)`,
    "MDD80",
    "note",
  ];
  return {
    columns,
    cells: ordered.map((r) => [
      r.cell,
      `${r.a} − ${r.b}`,
      r.role,
      String(r.pairs),
      `${signed3(r.diffMean)} [${signed3(r.diffCi95Low)}, ${signed3(r.diffCi95High)}]`,
      ...(withBpb
        ? [`${signed3(r.diffBpb)} [${signed3(r.diffBpbCi95Low)}, ${signed3(r.diffBpbCi95High)}]`]
        : []),
      pValue(r.pPaired),
      r.role === "declared" ? pValue(r.pFamily) : "(exploratory)",
      loss3(r.mdd80),
      r.note,
    ]),
    numeric: columns.map((c) => !["cell", "a − b", "role", "note"].includes(c)),
    bold: ordered.map((r) => r.role === "declared" && r.pFamily < 0.05),
    notes: `Δ: mean of the per-seed differences of the final validation loss, a − b (negative: a ` +
      `is lower), with its 95% interval; p paired: the paired t-test; p family: corrected over ` +
      `all ${m} declared tests of the study at once (bold: below 0.05). Exploratory comparisons ` +
      `were not declared up front and are not corrected: read them as leads, not findings. ` +
      `MDD80: the smallest difference these pairs detect with 80% power (α = 0.05, uncorrected).`,
    more: 0,
  };
}
