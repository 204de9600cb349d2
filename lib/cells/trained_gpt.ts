/**
 * A mini-GPT trained once per settings and kept on disk: the first call trains it with a progress
 * bar and stores the checkpoint through `cached()`; later calls (another cell, another notebook, a
 * re-run) rebuild the model from the stored checkpoint without training.
 *
 * @module
 */
import { activationFingerprint } from "../activations/fingerprint.ts";
import { isBuiltinActivation } from "../activations/registry.ts";
import type { CharDataset } from "../../datasets/char_dataset.ts";
import { cached, type CachedOptions } from "../display/cells.ts";
import { progress } from "../display/progress.ts";
import { gptConfig, type PresetName, trainConfig, type TrainConfigOptions } from "../gpt/config.ts";
import { checkpointBytes, checkpointFromBytes } from "../gpt/checkpoint.ts";
import { createGpt, type Gpt } from "../gpt/model.ts";
import type { EvalInfo, StepInfo } from "../gpt/step.ts";
import { interruptible } from "../core/interrupt.ts";
import { ensureEngine } from "../engine/tfjs.ts";
import { trainGpt } from "../train/train.ts";

/** What {@link trainedGpt} trains: every field is part of the cache key. */
export interface TrainedGptSettings {
  /** MLP activation: a registry name, alias or spec (user-registered ones too). */
  readonly activation: string;
  /** Model and training preset. Default `nano`. */
  readonly preset?: PresetName;
  /** Training steps. Default: the preset's. */
  readonly iters?: number;
  /** Seed of the weights and of the training batches. Default: the preset's. */
  readonly seed?: number;
  /** Batches per split of the final evaluation (`final`). Default: the preset's. */
  readonly evalIters?: number;
  /** Where training steps run: `tfjs` (the active backend, default) or `ort` (ONNX Runtime). */
  readonly engine?: "tfjs" | "ort";
  /** Other training settings over the preset (learning rate, batch size, …). */
  readonly train?: Omit<
    TrainConfigOptions,
    "preset" | "iters" | "seed" | "evalIters" | "evalEvery"
  >;
  /**
   * Inputs that change the model but are neither settings here nor activation values (a
   * registered activation's values are keyed already). Part of the key only.
   */
  readonly cacheKey?: Readonly<Record<string, unknown>>;
}

/** Options of {@link trainedGpt}: where the cache lives and what to show while training. */
export interface TrainedGptOptions extends CachedOptions {
  /** Show a progress bar (steps, loss) while training (default true). */
  readonly progress?: boolean;
  /** Text before the bar (default `train <activation>`). */
  readonly label?: string;
  /** Called after every training step; not called when the model comes from the cache. */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
}

/** What {@link trainedGpt} returns. */
export interface TrainedGpt {
  /** The trained model, rebuilt from its checkpoint, with the dataset's tokenizer. */
  readonly model: Gpt;
  /** The final evaluation after the last step: train and validation loss. */
  readonly final: EvalInfo;
}

/** What the cache stores: the checkpoint (safetensors bytes, base64) and the final evaluation. */
interface StoredGpt {
  readonly checkpoint: string;
  readonly final: EvalInfo;
}

/**
 * A mini-GPT trained on `data` with `settings`, trained only the first time: the checkpoint and
 * the final evaluation are stored with `cached()`, keyed by the complete model and training
 * configs, the engine, the dataset (name and size) and `settings.cacheKey`, so different
 * settings never share an entry. Training evaluates at step 0 and after the last step. The
 * caller owns the returned model (`model.dispose()` frees it). Stop in a notebook ends training
 * with an `InterruptedError` ("interrupted; re-run the cell to resume"); the kernel survives.
 *
 * @example
 * ```ts
 * import { initEngine, syntheticDataset } from "@actlab/actlab";
 * import { trainedGpt } from "@actlab/actlab/cells";
 * await initEngine({ backend: "cpu" });
 * const data = syntheticDataset({ length: 3000 });
 * const dir = await Deno.makeTempDir();
 * const settings = { activation: "relu", preset: "tiny", iters: 5, seed: 1, evalIters: 1 } as const;
 * const a = await trainedGpt(data, settings, { dir, progress: false }); // trains
 * const b = await trainedGpt(data, settings, { dir, progress: false }); // reads the checkpoint
 * console.assert(a.final.valLoss === b.final.valLoss);
 * a.model.dispose();
 * b.model.dispose();
 * ```
 */
export async function trainedGpt(
  data: CharDataset,
  settings: TrainedGptSettings,
  options: TrainedGptOptions = {},
): Promise<TrainedGpt> {
  const { activation, preset, engine = "tfjs", cacheKey } = settings;
  const model = gptConfig({ preset, vocabSize: data.tokenizer.size, activation });
  const iters = settings.iters ?? trainConfig({ preset }).iters;
  const train = trainConfig({
    ...settings.train,
    preset,
    iters,
    seed: settings.seed,
    evalIters: settings.evalIters,
    evalEvery: iters, // evaluate at step 0 and after the last step
  });
  const key = {
    name: `gpt-${activation}`,
    model,
    train,
    engine,
    dataset: `${data.name}:${data.train.length + data.val.length}`,
    ...(cacheKey ? { cacheKey } : {}),
    // A registered activation is keyed by what it computes (built-in names by the code version).
    ...(isBuiltinActivation(activation)
      ? {}
      : { definition: await activationFingerprint(activation) }),
  };
  await ensureEngine(); // a cell that skipped initEngine() gets the best backend, said once
  // Stop (SIGINT in the kernel) ends training with an InterruptedError: the model is freed,
  // nothing is stored, and re-running the cell trains again; the kernel and its variables stay.
  const stored = await interruptible((scope) =>
    cached(key, async (): Promise<StoredGpt> => {
      const gpt = createGpt(model, { seed: train.seed, tokenizer: data.tokenizer });
      const bar = options.progress === false
        ? undefined
        : progress(train.iters, { label: options.label ?? `train ${activation}`, unit: "step" });
      try {
        const r = await trainGpt(gpt, data, {
          ...train,
          engine,
          onStep: async (s) => {
            bar?.update(s.iter + 1, { loss: s.loss });
            await options.onStep?.(s);
          },
        });
        const bytes = await checkpointBytes(gpt);
        return { checkpoint: bytes.toBase64(), final: r.final };
      } finally {
        await bar?.done(undefined, scope.interrupted ? { status: "interrupted" } : {});
        gpt.dispose();
      }
    }, { dir: options.dir, recompute: options.recompute, quiet: options.quiet })
  );
  const bytes = Uint8Array.fromBase64(stored.checkpoint);
  return {
    model: checkpointFromBytes(bytes, `the ${activation} checkpoint`).model,
    final: stored.final,
  };
}
