/**
 * Helpers a notebook cell calls, so a notebook defines only what is new: `trainedGpt()` trains a
 * mini-GPT once per settings (with a progress bar) and reads its checkpoint afterwards;
 * `cachedSweep()` runs a sweep under one progress bar and keeps its trials. Both store their
 * results with `cached()`, keyed by every setting and the dataset. `saveResults()` writes the
 * rows behind a published notebook's tables beside it.
 *
 * @example
 * ```ts ignore
 * import { isFast, loadTinyShakespeare } from "@actlab/actlab";
 * import { cachedSweep, trainedGpt } from "@actlab/actlab/cells";
 * const data = await loadTinyShakespeare();
 * const { model, final } = await trainedGpt(data, { activation: "gelu", preset: "nano", iters: 300 });
 * const trials = await cachedSweep(data, {
 *   name: "my-sweep",
 *   activations: ["relu", "gelu"],
 *   seeds: isFast() ? 2 : 3,
 * });
 * ```
 *
 * @module
 */
export { cachedStudy } from "./cached_study.ts";
export type { CachedStudyOptions } from "./cached_study.ts";
export { cachedSweep } from "./cached_sweep.ts";
export type { CachedSweepOptions, CellSweepSettings } from "./cached_sweep.ts";
export { saveResults } from "./results.ts";
export { trainedGpt } from "./trained_gpt.ts";
export type { TrainedGpt, TrainedGptOptions, TrainedGptSettings } from "./trained_gpt.ts";
