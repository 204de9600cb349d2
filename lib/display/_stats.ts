/**
 * The sample summary figures and tables show (n, mean, std, CI half-width, range), computed with
 * the statistics of record in `lib/experiments/stats.ts` (a pure-math module with no other
 * dependencies, so display still depends on plain data only).
 *
 * @module
 */
import { mean, std, studentTQuantile } from "../core/stats.ts";

export { mean, studentTQuantile as tQuantile };

/** Summary of a sample: size, mean, standard deviation and a confidence interval of the mean. */
export interface SampleSummary {
  n: number;
  mean: number;
  std: number;
  /** Half-width of the confidence interval (NaN below two values). */
  ci: number;
  min: number;
  max: number;
}

/** Mean with a Student-t confidence interval at `level` (default 0.95). */
export function summarize(values: ArrayLike<number>, level = 0.95): SampleSummary {
  const xs = Array.from(values); // no spread into Math.min: it overflows the stack past ~1e5
  const n = xs.length;
  const s = std(xs);
  const ci = n >= 2 ? studentTQuantile(1 - (1 - level) / 2, n - 1) * s / Math.sqrt(n) : NaN;
  let min = Infinity, max = -Infinity;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { n, mean: mean(xs), std: s, ci, min: n ? min : NaN, max: n ? max : NaN };
}
