/**
 * One trial of a sweep: train one model for an activation and a seed, and the record of it. Runs
 * in the sweep's thread (`jobs: 1`) or in a worker (`_trial_worker.ts`), with the same code, so
 * the numbers are the same either way.
 *
 * @module
 */
import type { SweepData } from "./data.ts";
import { median } from "../core/stats.ts";
import { type ActivationParamSnapshot, readActivationParams } from "../gpt/activation_params.ts";
import { gptConfig, trainConfig } from "../gpt/config.ts";
import { trainingStepFlops } from "../gpt/flops.ts";
import { createGpt } from "../gpt/model.ts";
import { type EvalInfo, type StepInfo, TrainingDivergedError } from "../gpt/step.ts";
import { trainGpt } from "../train/train.ts";
import type { SweepTrainOverrides } from "./options.ts";
import { type CodeProvenance, engineVersion, stepFingerprint } from "./provenance.ts";
import type { Provenance, SweepSettings, TrialResult, TrialSpec } from "./record.ts";

/** What a running trial reports, in order: steps and evaluations. */
export interface TrialHooks {
  /** After each step. */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** After each evaluation. */
  readonly onEval?: (info: EvalInfo) => void | Promise<void>;
  /** Stops the trial; it is then not a result (`runTrial` returns `undefined`). */
  readonly signal?: AbortSignal;
  /** Warnings of the training run (an unstable loss). */
  readonly onNotice?: (message: string) => void;
  /** The code's provenance (`codeProvenance()`), recorded with the trial. */
  readonly code?: CodeProvenance;
}

/** The trial's provenance: the code's, the engine's, and the step's numerics fingerprint. */
async function provenanceOf(
  spec: TrialSpec,
  settings: SweepSettings,
  code: CodeProvenance | undefined,
): Promise<Provenance | undefined> {
  if (!code) return undefined;
  const numerics = await stepFingerprint({
    engine: settings.engine,
    device: settings.device,
    threads: settings.threads,
    activation: spec.activation,
  });
  return {
    ...code,
    engine: settings.engine,
    engineVersion: engineVersion(settings.engine),
    device: settings.device,
    numerics,
  };
}

/**
 * Trains one model for `spec` under `settings`. Returns the trial's record, `diverged` when the
 * loss became NaN or infinite, or `undefined` when `hooks.signal` stopped it: an interrupted trial
 * is never a result.
 *
 * @example
 * ```ts ignore
 * import { runTrial } from "@actlab/actlab/sweep";
 * const result = await runTrial(data, { activation: "relu", seed: 1 }, settings, {});
 * console.log(result?.finalValLoss);
 * ```
 */
export async function runTrial(
  data: SweepData,
  spec: TrialSpec,
  settings: SweepSettings,
  train: SweepTrainOverrides,
  hooks: TrialHooks = {},
): Promise<TrialResult | undefined> {
  const provenance = await provenanceOf(spec, settings, hooks.code);
  const config = gptConfig({
    preset: settings.preset,
    ...(settings.model ?? {}),
    vocabSize: data.tokenizer.size,
    activation: spec.activation,
  });
  const model = createGpt(config, { seed: spec.seed, tokenizer: data.tokenizer });
  const t0 = performance.now();
  const stepMs: number[] = [];
  const actParams: ActivationParamSnapshot[] = [];
  const trainable = model.activation.kind === "unary" && !!model.activation.trainable?.length;
  const common = {
    activation: spec.activation,
    seed: spec.seed,
    params: model.numParams,
    settings: settings.key,
    flopsPerStep: trainingStepFlops(config, {
      batchSize: train.batchSize ?? trainConfig({ preset: settings.preset }).batchSize,
      kind: model.activation.kind,
    }).total,
  };
  const tail = () => ({
    msPerStep: median(stepMs),
    wallS: (performance.now() - t0) / 1000,
  });
  try {
    const r = await trainGpt(model, data, {
      ...train,
      preset: settings.preset,
      seed: spec.seed,
      ...(settings.iters !== null ? { iters: settings.iters } : {}),
      ...(settings.evalEvery !== null ? { evalEvery: settings.evalEvery } : {}),
      ...(settings.evalIters !== null ? { evalIters: settings.evalIters } : {}),
      engine: settings.engine,
      engineOptions: settings.engine === "ort"
        ? { provider: settings.device, threads: settings.threads ?? undefined }
        : undefined,
      signal: hooks.signal,
      finalEval: settings.finalEval,
      onStep: async (info) => {
        stepMs.push(info.ms);
        await hooks.onStep?.(info);
      },
      onEval: async (info) => {
        if (trainable) {
          actParams.push({ iter: info.iter, layers: await readActivationParams(model) });
        }
        await hooks.onEval?.(info);
      },
      onNotice: (m) =>
        (hooks.onNotice ?? console.warn)(`${spec.activation} seed ${spec.seed}: ${m}`),
    });
    if (r.stopped !== "completed") return undefined;
    return {
      ...common,
      status: "completed",
      finalValLoss: r.final.valLoss,
      finalTrainLoss: r.final.trainLoss,
      evals: r.evals,
      ...tail(),
      ...(r.final.valTokens !== undefined ? { evalTokens: r.final.valTokens } : {}),
      ...(r.unstable ? { unstable: r.unstable } : {}),
      ...(trainable ? { activationParams: actParams } : {}),
      ...(provenance ? { provenance } : {}),
    };
  } catch (e) {
    if (!(e instanceof TrainingDivergedError)) throw e;
    return {
      ...common,
      status: "diverged",
      divergedAt: e.iter,
      finalValLoss: NaN,
      finalTrainLoss: NaN,
      evals: e.evals,
      ...tail(),
      ...(trainable ? { activationParams: actParams } : {}),
      ...(provenance ? { provenance } : {}),
    };
  } finally {
    model.dispose();
  }
}
