/**
 * A sweep for a notebook cell: one progress bar over every training step of every trial (showing
 * the running trial and its loss), and the trials kept on disk by `cached()`, so re-running the
 * cell, or another notebook with the same settings, reads them instead of training again.
 *
 * @module
 */
import type { SweepData } from "../sweep/data.ts";
import { activationFingerprint } from "../activations/fingerprint.ts";
import { isBuiltinActivation } from "../activations/registry.ts";
import { interruptible } from "../core/interrupt.ts";
import { cached, type CachedOptions } from "../display/cells.ts";
import { type Progress, progress } from "../display/progress.ts";
import { trainConfig } from "../gpt/config.ts";
import type { StepInfo } from "../gpt/step.ts";
import type { SweepObservers, SweepOptions } from "../sweep/options.ts";
import type { TrialResult, TrialSpec } from "../sweep/record.ts";
import { sweep } from "../sweep/sweep.ts";

/**
 * The settings of {@link cachedSweep}: the options of `sweep()` (without its callbacks) and a name.
 * The whole object, with the dataset (name and size), is the cache key.
 */
export interface CellSweepSettings extends Omit<SweepOptions, SweepObservers> {
  /** Names the stored result (its file starts with it), e.g. `nb-sweep`. */
  readonly name: string;
  /**
   * Inputs that change the trials but are neither sweep options nor activation values (a
   * registered activation's values are keyed already). Part of the key only.
   */
  readonly cacheKey?: Readonly<Record<string, unknown>>;
}

/** Options of {@link cachedSweep}: where the cache lives and what to show while training. */
export interface CachedSweepOptions extends CachedOptions {
  /** Show a progress bar over all trial steps (default true). */
  readonly progress?: boolean;
  /** Text before the bar (default `sweep`). */
  readonly label?: string;
  /** Called after each training step of the running trial; not called for cached trials. */
  readonly onStep?: (trial: TrialSpec, info: StepInfo) => void | Promise<void>;
}

/**
 * Runs `sweep(data, settings)` once and keeps its trials: the first call trains every trial under
 * one progress bar over all their steps (`run` = the activation/seed that took the last step,
 * `loss` = that step's loss; trials found in `out` count as done); later calls with the
 * same settings and dataset read the stored trials. The key is `settings` itself plus the dataset
 * (name and size), so notebooks that state the same settings share one sweep.
 *
 * @example
 * ```ts
 * import { initEngine, syntheticDataset } from "@actlab/actlab";
 * import { cachedSweep } from "@actlab/actlab/cells";
 * await initEngine({ backend: "cpu" });
 * const data = syntheticDataset({ length: 3000 });
 * const dir = await Deno.makeTempDir();
 * const settings = {
 *   name: "demo-sweep",
 *   activations: ["relu", "gelu"],
 *   seeds: 1,
 *   preset: "tiny",
 *   iters: 4,
 *   evalEvery: 2,
 *   evalIters: 1,
 * } as const;
 * const trials = await cachedSweep(data, settings, { dir }); // trains 2 trials
 * const again = await cachedSweep(data, settings, { dir }); // reads them
 * console.assert(again[1].finalValLoss === trials[1].finalValLoss);
 * ```
 */
export async function cachedSweep(
  data: SweepData,
  settings: CellSweepSettings,
  options: CachedSweepOptions = {},
): Promise<TrialResult[]> {
  const { name: _name, cacheKey: _cacheKey, ...sweepOptions } = settings;
  const iters = settings.iters ?? trainConfig({ preset: settings.preset ?? "nano" }).iters;
  const key: Record<string, unknown> = {
    ...settings,
    dataset: `${data.name}:${data.train.length + data.val.length}`,
  };
  // A registered activation is keyed by what it computes, so redefining it in a cell (same
  // name, other code) trains again instead of returning the old definition's trials.
  const custom = (settings.activations ?? []).filter((a) => !isBuiltinActivation(a));
  if (custom.length) {
    key.definitions = Object.fromEntries(
      await Promise.all(custom.map(async (a) => [a, await activationFingerprint(a)])),
    );
  }
  // Stop (SIGINT in the kernel) ends the sweep with an InterruptedError: finished trials stay in
  // `out` (re-running the cell resumes), nothing is cached, and the kernel keeps its variables.
  return await interruptible((scope) =>
    cached(key, async () => {
      let bar: Progress | undefined;
      let found = 0; // steps of the trials found finished on disk
      try {
        const r = await sweep(data, {
          ...sweepOptions,
          signal: scope.signal,
          onTrial: (_result, skipped) => {
            if (skipped) found += iters;
          },
          onTrialStart: (_trial, _index, total) => {
            if (bar || options.progress === false) return;
            bar = progress(total * iters, { label: options.label ?? "sweep", unit: "step" });
            bar.update(found);
          },
          onStep: async (t, s) => {
            bar?.increment(1, { run: `${t.activation}/${t.seed}`, loss: s.loss });
            await options.onStep?.(t, s);
          },
        });
        return r.trials;
      } finally {
        await bar?.done(undefined, scope.interrupted ? { status: "interrupted" } : {});
      }
    }, { dir: options.dir, recompute: options.recompute, quiet: options.quiet })
  );
}
