/**
 * Learning-rate schedule: linear warmup, then cosine decay to a minimum (nanoGPT's `get_lr`, as in
 * the PyTorch reference).
 *
 * @module
 */

/** The fields of the schedule (a subset of `TrainConfig`). */
export interface ScheduleConfig {
  /** Total optimizer steps. */
  readonly iters: number;
  /** Peak learning rate. */
  readonly learningRate: number;
  /** Final learning rate; `null` = learningRate / 10. */
  readonly minLearningRate: number | null;
  /** Warmup steps. */
  readonly warmupIters: number;
}

/**
 * Learning rate at step `iter` (0-based): `lr·(iter+1)/(warmup+1)` during warmup, then
 * `min + ½(1 + cos(π·r))·(lr − min)` with r = (iter − warmup)/(iters − warmup), clamped to 1.
 *
 * @example
 * ```ts
 * import { learningRateAt } from "./schedule.ts";
 * const cfg = { iters: 2000, learningRate: 1e-3, minLearningRate: 1e-4, warmupIters: 100 };
 * console.assert(Math.abs(learningRateAt(100, cfg) - 1e-3) < 1e-12);
 * console.assert(Math.abs(learningRateAt(2000, cfg) - 1e-4) < 1e-12);
 * ```
 */
export function learningRateAt(iter: number, cfg: ScheduleConfig): number {
  const lr = cfg.learningRate;
  const minLr = cfg.minLearningRate ?? lr / 10;
  const warm = cfg.warmupIters;
  if (iter < warm) return (lr * (iter + 1)) / (warm + 1);
  const r = Math.min(1, (iter - warm) / Math.max(1, cfg.iters - warm));
  return minLr + 0.5 * (1 + Math.cos(Math.PI * r)) * (lr - minLr);
}
