/**
 * Means with confidence intervals: a point or bar chart of per-run values aggregated per group
 * (Student-t interval) or of rows aggregated already, the best mean marked.
 *
 * @module
 */
import { Figure, type PlotlyTrace, seriesColor } from "./figure.ts";
import { summarize } from "./_stats.ts";
import { type DataRows, toRecords } from "./_rows.ts";
import { axisTitle, cornerNote, num, pad, withUnit } from "./_labels.ts";

/** Options for {@link intervalChart}. */
export interface IntervalOptions {
  /** Field naming each bar (default "activation"). */
  group?: string;
  /** Field of the per-run value to aggregate (default "value"); ignored for aggregated rows. */
  value?: string;
  /** Confidence level of the interval (default 0.95). */
  level?: number;
  /** "bar" or "point" (default "point"). */
  style?: "bar" | "point";
  /** Mark the lowest (default) or highest mean as best. */
  best?: "min" | "max";
  /** Figure title. */
  title?: string;
  /** Value-axis title (default: the value field), followed by the unit. */
  yTitle?: string;
  /**
   * Unit appended to the value-axis title in parentheses (default "nats/char" when the title
   * names a loss; `""` for none). A title that already has a parenthesis is kept as it is.
   */
  unit?: string;
}

/** One aggregated row of {@link intervalChart}. */
export interface IntervalRow {
  /** The group's name (x axis). */
  label: string;
  /** The mean. */
  mean: number;
  /** Lower end of the interval. */
  low: number;
  /** Upper end of the interval. */
  high: number;
  /** Number of runs behind the mean, when known. */
  n?: number;
}

/** Whether the rows are aggregated already: the first has `mean`, `low` and `high`. */
function isAggregated(records: readonly Record<string, unknown>[]): boolean {
  return records.length > 0 && "mean" in records[0] && "low" in records[0] &&
    "high" in records[0];
}

/** Aggregated rows as they are, named by their `label` or else their group field. */
function readIntervals(records: readonly Record<string, unknown>[], group: string): IntervalRow[] {
  return records.map((r) => ({
    label: String(r.label ?? r[group]),
    mean: Number(r.mean),
    low: Number(r.low),
    high: Number(r.high),
    n: typeof r.n === "number" ? r.n : undefined,
  }));
}

/**
 * Per-run rows aggregated per group, in the order groups first appear: the mean with a Student-t
 * interval at `level` (of zero width for a single run). Rows without a finite value are skipped;
 * none left is an error that lists the fields seen.
 */
function aggregateRuns(
  records: readonly Record<string, unknown>[],
  group: string,
  value: string,
  level: number,
): IntervalRow[] {
  const by = new Map<string, number[]>();
  for (const r of records) {
    const y = Number(r[value]);
    if (!Number.isFinite(y)) continue;
    const k = String(r[group]);
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(y);
  }
  if (by.size === 0) {
    throw new Error(
      `intervalChart: no rows with a numeric '${value}' field (fields seen: ${
        Object.keys(records[0] ?? {}).join(", ") || "none"
      }); pass { group, value } or aggregated rows { label, mean, low, high }`,
    );
  }
  return [...by].map(([label, values]) => {
    const s = summarize(values, level);
    const ci = Number.isFinite(s.ci) ? s.ci : 0;
    return { label, mean: s.mean, low: s.mean - ci, high: s.mean + ci, n: s.n };
  });
}

/**
 * The chart's single trace: per group a point (the best a larger star) or a bar (the best
 * outlined), in the group's colour, with its interval as an error bar.
 */
function intervalTrace(
  items: readonly IntervalRow[],
  style: "bar" | "point",
  isBest: readonly boolean[],
): PlotlyTrace {
  const colors = items.map((_, i) => seriesColor(i));
  const marker = style === "point"
    ? {
      mode: "markers",
      marker: {
        size: isBest.map((b) => (b ? 17 : 11)),
        symbol: isBest.map((b) => (b ? "star" : "circle")),
        color: colors,
        line: { color: "#333", width: isBest.map((b) => (b ? 1 : 0)) },
      },
    }
    : {
      marker: {
        color: colors,
        line: { color: "#333", width: isBest.map((b) => (b ? 2.5 : 0)) },
      },
    };
  return {
    type: style === "bar" ? "bar" : "scatter",
    ...marker,
    x: items.map((r) => r.label),
    y: items.map((r) => r.mean),
    error_y: {
      type: "data",
      symmetric: false,
      array: items.map((r) => r.high - r.mean),
      arrayminus: items.map((r) => r.mean - r.low),
      color: "#444",
      thickness: 1.5,
      width: 6,
    },
    name: "mean",
    showlegend: false,
  };
}

/** The text summary: per group its mean, interval and number of runs, the best starred. */
function intervalSummary(title: string, items: readonly IntervalRow[], bestMean: number): string {
  const w = Math.max(12, ...items.map((r) => r.label.length + 2));
  return [
    `Figure: ${title} (${items.length} groups; ★ best)`,
    ...items.map((r) =>
      `  ${pad(r.label, w)}${num(r.mean)} [${num(r.low)}, ${num(r.high)}]` +
      (r.n !== undefined ? `  n=${r.n}` : "") + (r.mean === bestMean ? "  ★" : "")
    ),
  ].join("\n");
}

/**
 * Means with confidence intervals as a point or bar chart. Give one row per run
 * (`{ activation, value }`), which is aggregated with a Student-t interval, or rows already
 * aggregated (`{ label, mean, low, high }`). The best mean is marked.
 *
 * @example
 * ```ts
 * import { intervalChart } from "./interval_chart.ts";
 * const runs = [
 *   { activation: "relu", value: 1.71 }, { activation: "relu", value: 1.74 },
 *   { activation: "gelu", value: 1.66 }, { activation: "gelu", value: 1.69 },
 * ];
 * console.log(String(intervalChart(runs, { title: "val loss" })));
 * ```
 */
export function intervalChart(rows: DataRows, options: IntervalOptions = {}): Figure {
  const records = toRecords(rows);
  const level = options.level ?? 0.95;
  const group = options.group ?? "activation";
  const items = isAggregated(records)
    ? readIntervals(records, group)
    : aggregateRuns(records, group, options.value ?? "value", level);
  const pick = options.best === "max" ? Math.max : Math.min;
  const bestMean = pick(...items.map((r) => r.mean));
  const isBest = items.map((r) => r.mean === bestMean);
  const trace = intervalTrace(items, options.style ?? "point", isBest);
  const pct = Math.round(level * 100);
  const title = options.title ?? `Mean with ${pct}% confidence interval`;
  return new Figure([trace], {
    title: { text: title },
    height: 400,
    annotations: [cornerNote(`★ best mean · bars: ${pct}% CI`)],
    xaxis: axisTitle(group),
    yaxis: axisTitle(withUnit(options.yTitle ?? options.value ?? "value", options.unit)),
  }, { summary: intervalSummary(title, items, bestMean) });
}
