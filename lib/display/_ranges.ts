/**
 * Axis ranges that show what most curves do: a curve that runs far beyond the others (relu² next
 * to GELU, a diverging run next to ten converging ones) is let off the edge instead of squeezing
 * every other curve into a few pixels.
 *
 * @module
 */

/** A y range and the curves it cuts off. */
export interface CurveRange {
  /** The range, margin included. */
  range: [number, number];
  /** Indices of curves that go above the range. */
  above: number[];
  /** Indices of curves that go below the range. */
  below: number[];
}

/** The `p`-quantile of sorted values, linearly interpolated. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * p;
  const i = Math.floor(pos);
  return i + 1 < sorted.length ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

function extremes(curve: readonly number[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const y of curve) {
    if (!Number.isFinite(y)) continue;
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  return [lo, hi];
}

/**
 * A y range for a set of curves. The typical top is the upper quartile of the curves' maxima and
 * the typical bottom the lower quartile of their minima; a curve is kept whole when its extreme
 * lies within half the typical span beyond them, and is cut off otherwise. With fewer than
 * `minCurves` curves (default 3) nothing is cut: there is no "most". `margin` (default 0.05) is
 * added on both sides, as a fraction of the span.
 */
export function curveRange(
  curves: readonly (readonly number[])[],
  options: { margin?: number; minCurves?: number } = {},
): CurveRange {
  const margin = options.margin ?? 0.05;
  const ext = curves.map(extremes).filter(([lo, hi]) => lo <= hi);
  if (ext.length === 0) return { range: [0, 1], above: [], below: [] };
  const mins = ext.map((e) => e[0]), maxs = ext.map((e) => e[1]);
  let lo = Math.min(...mins), hi = Math.max(...maxs);
  const above: number[] = [], below: number[] = [];
  if (ext.length >= (options.minCurves ?? 3)) {
    const qlo = quantile([...mins].sort((a, b) => a - b), 0.25);
    const qhi = quantile([...maxs].sort((a, b) => a - b), 0.75);
    const span = Math.max(qhi - qlo, 1e-12);
    const top = qhi + 0.5 * span, bottom = qlo - 0.5 * span;
    hi = Math.max(...maxs.filter((m) => m <= top));
    lo = Math.min(...mins.filter((m) => m >= bottom));
    curves.forEach((c, i) => {
      const [cl, ch] = extremes(c);
      if (ch > top) above.push(i);
      if (cl < bottom) below.push(i);
    });
  }
  const pad = (hi - lo) * margin || Math.abs(hi) * 0.05 || 0.5;
  return { range: [lo - pad, hi + pad], above, below };
}
