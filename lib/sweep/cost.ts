/**
 * What a trial cost in compute: the training FLOPs of one step, as recorded with the trial or,
 * for trials recorded before FLOPs were, computed from its sweep's settings.
 *
 * @module
 */
import { getActivation } from "../activations/registry.ts";
import { gptConfig, trainConfig } from "../gpt/config.ts";
import { trainingStepFlops } from "../gpt/flops.ts";
import { gptParamSpecs } from "../gpt/model.ts";
import type { SweepSettings, TrialResult } from "./record.ts";

/** The model config of a trial of these settings with vocabulary `v`. */
function configOf(settings: SweepSettings, activation: string, v: number) {
  return gptConfig({
    preset: settings.preset,
    ...((settings.model ?? {}) as Record<string, unknown>),
    vocabSize: v,
    activation,
  });
}

/** Parameters of a GPT of these settings and activation with vocabulary `v`. */
function paramCount(settings: SweepSettings, activation: string, v: number): number {
  const def = getActivation(activation);
  return gptParamSpecs(configOf(settings, activation, v), def)
    .reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/**
 * Training FLOPs of one step of a trial: its recorded `flopsPerStep`, else computed with
 * `trainingStepFlops` from the sweep's settings (preset, model and batch-size overrides) and the
 * trial's activation, the vocabulary read back from the trial's parameter count (which grows by
 * exactly C per token with tied embeddings). NaN when neither works (an activation no longer
 * registered, a parameter count no vocabulary explains).
 *
 * @example
 * ```ts ignore
 * import { trialFlopsPerStep } from "@actlab/actlab/sweep";
 * const fps = trialFlopsPerStep(result.trials[0], result.settings); // e.g. 3.96e9 for nano, gelu
 * ```
 */
export function trialFlopsPerStep(trial: TrialResult, settings: SweepSettings): number {
  if (typeof trial.flopsPerStep === "number") return trial.flopsPerStep;
  try {
    const p2 = paramCount(settings, trial.activation, 2);
    const perToken = paramCount(settings, trial.activation, 3) - p2;
    const vocab = 2 + (trial.params - p2) / perToken;
    if (!Number.isInteger(vocab) || vocab < 2) return NaN;
    const batch = settings.train.batchSize;
    const batchSize = typeof batch === "number"
      ? batch
      : trainConfig({ preset: settings.preset }).batchSize;
    return trainingStepFlops(configOf(settings, trial.activation, vocab), {
      batchSize,
      kind: getActivation(trial.activation).kind,
    }).total;
  } catch {
    return NaN;
  }
}
