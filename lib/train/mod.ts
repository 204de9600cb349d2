/**
 * Training the mini-GPT on the engine the caller chooses: `"tfjs"` (eager, any tfjs backend) or
 * `"ort"` (the whole step compiled into one ONNX Runtime graph), with the same schedule, batches,
 * evaluation, history and callbacks either way.
 *
 * @example
 * ```ts ignore
 * import { trainGpt } from "./mod.ts";
 * import { createGpt, gptConfig } from "../gpt/mod.ts";
 * import { syntheticDataset } from "../../datasets/mod.ts";
 * const ds = syntheticDataset();
 * const model = createGpt(gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size }));
 * const result = await trainGpt(model, ds, { preset: "tiny", engine: "ort" });
 * console.log(result.final.valLoss);
 * ```
 *
 * @module
 */
export {
  checkSplits,
  createTrainEngine,
  estimateLoss,
  registeredTrainEngine,
  registerTrainEngine,
  splitLoss,
  timeTrainingSteps,
  trainEngineNames,
  trainGpt,
  UNSTABLE_RISE,
} from "./train.ts";
export type { StepTiming, TrainData, TrainEngineInfo, TrainOptions, TrainResult } from "./train.ts";
