/**
 * Command line for training the mini-GPT: `deno task train --preset nano --activation gelu`.
 *
 * Prints one JSON object per evaluation (`iter`, `train_loss`, `val_loss`, `elapsed_s`), the
 * same shape as the PyTorch reference `torch_minigpt.py`, plus `val_bpb` (the validation loss in
 * bits per UTF-8 byte, comparable across tokenizers), after a header object; `--time-only N`
 * prints `median_ms_per_step` and `tokens_per_s` after 5 warm-up steps. Every JSON line carries
 * `provider`: the ONNX Runtime execution provider the steps run on with `--engine ort`
 * (`cpu`, `webgpu`, `cuda`, …), `null` with the tfjs engine; the header adds `provider_reason`. A progress bar
 * (`lib/display`) goes to stderr when it is a terminal. Run with `--help` for every flag.
 *
 * @example
 * ```sh
 * deno task train --preset nano --activation gelu --iters 2000 --backend wasm --json
 * deno task train --preset nano --time-only 30 --json
 * deno task train --preset shakespeare_char --engine ort --provider webgpu --json
 * deno task train --data my.txt --tokenizer bpe:2048 --final-eval split
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname } from "node:path";
import { syntheticDataset } from "../datasets/synthetic/generator.ts";
import { textDataset } from "../datasets/text_dataset.ts";
import type { Tokenizer } from "../lib/core/tokenizer.ts";
import { getActivation } from "../lib/activations/mod.ts";
import { progress as progressBar } from "../lib/display/progress.ts";
import { initEngine, resolveOrtProvider } from "../lib/engine/mod.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/gpt/checkpoint.ts";
import type { TrainState } from "../lib/gpt/optimizer.ts";
import {
  gptConfig,
  gptConfigFields,
  optimizerSettings,
  trainConfig,
  trainConfigFields,
} from "../lib/gpt/config.ts";
import { createGpt } from "../lib/gpt/model.ts";
import { generate } from "../lib/gpt/sample.ts";
import { TrainingDivergedError } from "../lib/gpt/step.ts";
import { checkSplits, timeTrainingSteps, trainGpt } from "../lib/train/train.ts";
import { command, type Parsed, runMain, UsageError } from "./_args.ts";
import { loadCliData } from "./_data.ts";
import { pathError } from "./_paths.ts";
import { checkResumeFlags, gracefulStop } from "./_resume.ts";
import {
  backendFlag,
  configFlags,
  presetFlag,
  providerFlag,
  textDataFlag,
  threadsFlag,
  tokenizerFlag,
} from "./_flags.ts";

// The flags that set config fields come from the field tables of lib/gpt/config.ts.
const modelFlags = configFlags(gptConfigFields);
const trainFlags = configFlags(trainConfigFields);

const FLAGS = {
  preset: presetFlag,
  ...modelFlags.flags,
  ...trainFlags.flags,
  backend: backendFlag,
  engine: {
    kind: "string",
    default: "tfjs",
    choices: ["tfjs", "ort"],
    description: "where steps run: tfjs, or ort (the compiled step on ONNX Runtime)",
  },
  provider: providerFlag,
  threads: { ...threadsFlag, defaultText: "ONNX Runtime's" },
  dataset: {
    kind: "string",
    default: "tinyshakespeare",
    choices: ["tinyshakespeare", "synthetic"],
    description: "the text to train on",
  },
  data: textDataFlag,
  tokenizer: tokenizerFlag,
  "final-eval": {
    kind: "string",
    default: "sampled",
    choices: ["sampled", "split"],
    description: "the final validation loss: sampled batches (as the reference), or split: the " +
      "whole validation split, every window once (exact bits per byte)",
  },
  "time-only": {
    kind: "int",
    min: 1,
    description: "time N steps after 5 warm-ups; print median ms/step and tokens/s",
  },
  save: {
    kind: "string",
    arg: "FILE",
    description: "write a safetensors checkpoint here after training",
  },
  "save-every": {
    kind: "int",
    min: 1,
    description: "also write --save every N steps, and on Ctrl-C or SIGTERM, with the " +
      "optimizer state and data position, so that --resume continues the run",
  },
  resume: {
    kind: "string",
    arg: "FILE",
    description: "continue the run a --save-every checkpoint holds (its model and training " +
      "config; give the same data); --save defaults to FILE",
  },
  sample: { kind: "int", min: 0, description: "generate N tokens after training" },
  json: { kind: "bool", description: "print JSON lines only" },
} as const;

type Args = Parsed<typeof FLAGS>;

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The config options that the flags on the command line set (the preset supplies the rest). */
function fromFlags<C>(args: Args, keys: Record<string, keyof C & string>): Partial<C> {
  const out: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(keys)) {
    if (args.given.has(flag)) out[key] = (args.values as Record<string, unknown>)[flag];
  }
  return out as Partial<C>;
}

/**
 * Refuses an output path that cannot be written, before any work: its folder must exist or be
 * creatable, and a file must be creatable there. Names the flag and the path.
 */
async function checkWritable(flag: string, path: string): Promise<void> {
  const dir = dirname(path) || ".";
  const fix = "give a file path in a folder you can write to, e.g. --save model.safetensors";
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new UsageError(
        `${flag} ${path} is a folder; give a file name, e.g. ${
          path.replace(/\/+$/, "")
        }/model.safetensors`,
      );
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UsageError(pathError(e, flag, path, fix).message);
    }
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(pathError(e, `${flag} ${path}: its folder`, dir, fix).message);
  }
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".actlab-write-check-" });
    await Deno.remove(probe);
  } catch (e) {
    throw new UsageError(pathError(e, `${flag} ${path}: its folder`, dir, fix).message);
  }
}

/** The data `deno task train` trains on: ids, their tokenizer, and what the header reports. */
interface CliData {
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly train: Int32Array;
  readonly val: Int32Array;
}

async function loadDataset(args: Args, quiet: boolean): Promise<CliData> {
  const { tokenizer } = args.values;
  const notice = quiet ? () => {} : (m: string) => console.error(m);
  if (args.values.dataset === "synthetic") {
    const ds = syntheticDataset({ length: 200_000 });
    return tokenizer === "char"
      ? ds
      : await textDataset({ text: ds.text }, { name: ds.name, tokenizer, onNotice: notice });
  }
  return await loadCliData(args.values, notice, quiet);
}

/** Refuses a value that only a config or the registry can check, as a bad command line. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof Error ? new UsageError(e.message) : e;
  }
}

const train = command({
  usage: "deno task train",
  summary: "Trains the mini-GPT and prints the loss at every evaluation: one JSON object per " +
    "line with --json (iter, train_loss, val_loss, elapsed_s, after a header object), the shape " +
    "of the PyTorch reference torch_minigpt.py.",
  flags: FLAGS,
  notes: "Flags left out take the preset's value (with --resume: the checkpoint's). Exit codes: " +
    "0 done, 1 error, 2 bad arguments, 3 training diverged, 130/143 stopped by Ctrl-C/SIGTERM " +
    "with the state saved.",
}, run);

async function run(args: Args): Promise<number> {
  const v = args.values;
  const json = v.json;
  // Every JSON line says where the steps run: set once the provider is known.
  let provider: string | null = null;
  const print = (obj: Record<string, unknown>, text: string) =>
    console.log(json ? JSON.stringify({ ...obj, provider }) : text);
  const preset = v.preset;
  const modelOpts = fromFlags(args, modelFlags.keys);
  const trainOpts = fromFlags(args, trainFlags.keys);
  // Every flag is checked before the engine starts or data loads: the activation against the
  // registry, the training config whole, and the model config with a stand-in vocabulary (the
  // real one, the tokenizer's size, is known only once the data is loaded).
  const activation = modelOpts.activation;
  if (activation !== undefined) asUsage(() => getActivation(activation));
  const ortOnly = ["provider", "threads"].filter((f) => args.given.has(f));
  if (v.engine !== "ort" && ortOnly.length) {
    throw new UsageError(
      `${ortOnly.map((f) => `--${f}`).join(" and ")} ${
        ortOnly.length > 1 ? "set" : "sets"
      } ONNX Runtime, which runs only with --engine ort; the tfjs engine would ignore ${
        ortOnly.length > 1 ? "them" : "it"
      }. Add --engine ort, or leave ${ortOnly.length > 1 ? "them" : "it"} out (tfjs: --backend).`,
    );
  }
  let tcfg = asUsage(() => trainConfig({ preset, ...trainOpts }));
  asUsage(() => gptConfig({ preset, ...modelOpts, vocabSize: 2 }));
  // --save-every and --resume keep the training state in the checkpoint (--save, else --resume).
  const savePath = v.save ?? v.resume;
  const keepState = v["save-every"] !== undefined || v.resume !== undefined;
  if (v["save-every"] !== undefined && savePath === undefined) {
    throw new UsageError("--save-every writes the --save checkpoint: give --save FILE");
  }
  if (keepState && v["time-only"] !== undefined) {
    throw new UsageError(
      "--time-only times steps and saves nothing: leave out --save-every/--resume",
    );
  }
  if (savePath !== undefined) await checkWritable("--save", savePath);
  if (v.dataset === "synthetic" && v.data !== undefined) {
    throw new UsageError(
      "--data names the text to train on, --dataset synthetic generates it: give one of them",
    );
  }

  const engine = await initEngine({ backend: v.backend });
  const stepEngine = v.engine;
  const ort = stepEngine === "ort" ? await resolveOrtProvider(v.provider) : undefined;
  provider = ort?.provider ?? null;
  const engineOptions = { provider: ort?.provider, threads: v.threads };
  const stepsOn = stepEngine === "ort" ? "ort" : engine.backend;
  const data = await loadDataset(args, json);
  const resumed = v.resume === undefined ? undefined : await loadResume(v.resume, args);
  if (resumed) tcfg = resumed.state.config;
  const mcfg = resumed?.model.config ??
    gptConfig({ preset, ...modelOpts, vocabSize: data.tokenizer.size });
  if (mcfg.vocabSize !== data.tokenizer.size) {
    resumed?.model.dispose();
    throw new UsageError(
      `--resume ${v.resume}: the run's vocabulary has ${mcfg.vocabSize} tokens, this data's ` +
        `tokenizer ${data.tokenizer.size}: give the --data, --dataset and --tokenizer it ran with`,
    );
  }
  asUsage(() => checkSplits(data, mcfg.blockSize)); // before the model is allocated

  const model = resumed?.model ?? createGpt(mcfg, { seed: tcfg.seed, tokenizer: data.tokenizer });
  print(
    {
      params: model.numParams,
      vocab: mcfg.vocabSize,
      hidden: model.hidden,
      act: model.activation.name,
      backend: engine.backend,
      device: engine.device,
      engine: stepEngine,
      provider_reason: ort?.reason ?? null,
      preset: resumed ? null : preset,
      ...(resumed ? { resumed_from: v.resume, resumed_at: resumed.state.iter } : {}),
      seed: tcfg.seed,
      optimizer: optimizerSettings(tcfg).optimizer,
      tfjs: tf.version_core,
      data: data.name,
      tokenizer: v.tokenizer,
      train_tokens: data.train.length,
      val_tokens: data.val.length,
    },
    `actlab mini-GPT: ${model.numParams} parameters, activation ${model.activation.name} ` +
      `(hidden ${model.hidden}), ${
        ort ? `steps on ONNX Runtime ${ort.provider} (${ort.reason}), ` : ""
      }tfjs ${engine.backend} on ${engine.device}; ${data.name}, tokenizer ` +
      `${v.tokenizer} (${mcfg.vocabSize} tokens): ${data.train.length} training and ` +
      `${data.val.length} validation tokens`,
  );
  // A progress bar (lib/display) on stderr when it is a terminal; logs get only the JSON lines.
  const isTty = Deno.stderr.isTerminal();
  const clearLine = () => {
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  };
  let stop: ReturnType<typeof gracefulStop> | undefined;
  try {
    if (v["time-only"] !== undefined) {
      const steps = v["time-only"];
      const t = await timeTrainingSteps(model, data, {
        steps,
        config: tcfg,
        engine: stepEngine,
        engineOptions,
      });
      print(
        {
          median_ms_per_step: round(t.medianMsPerStep, 2),
          tokens_per_s: Math.round(t.tokensPerS),
          backend: stepsOn,
          steps,
        },
        `median ${t.medianMsPerStep.toFixed(2)} ms/step, ${Math.round(t.tokensPerS)} tokens/s ` +
          `over ${steps} steps (${stepsOn}${ort ? ` ${ort.provider}` : ""})`,
      );
      return 0;
    }
    // With the state kept: a checkpoint every --save-every steps, on a stop and at the end.
    stop = keepState ? gracefulStop() : undefined;
    let saved: TrainState | undefined;
    const saveState = async (state: TrainState) => {
      try {
        await saveCheckpoint(model, savePath!, { state, metadata: { iters: String(state.iter) } });
      } catch (e) {
        throw pathError(e, "--save", savePath!, "the training state was not saved");
      }
      saved = state;
      print(
        { saved: savePath, iter: state.iter },
        `state after ${state.iter} steps saved to ${savePath}`,
      );
    };
    const bar = isTty
      ? progressBar(tcfg.iters, { label: `train ${model.activation.name}`, unit: "step" })
      : undefined;
    const result = await trainGpt(model, data, {
      ...tcfg,
      engine: stepEngine,
      engineOptions,
      finalEval: v["final-eval"] as "sampled" | "split",
      ...(keepState
        ? {
          resume: resumed?.state,
          onState: saveState,
          stateEvery: v["save-every"] ?? 0,
          signal: stop!.signal,
        }
        : {}),
      onStep: (s) => bar?.update(s.iter + 1, { loss: s.loss, ms: Math.round(s.ms) }),
      onEval: (e) => {
        clearLine();
        print(
          {
            iter: e.iter,
            train_loss: round(e.trainLoss, 4),
            val_loss: round(e.valLoss, 4),
            val_bpb: e.valBitsPerByte === undefined ? null : round(e.valBitsPerByte, 4),
            ...(e.valTokens !== undefined ? { val_tokens: e.valTokens } : {}),
            ...(e.valBytes !== undefined ? { val_bytes: e.valBytes } : {}),
            elapsed_s: round(e.elapsedS, 1),
          },
          `iter ${String(e.iter).padStart(5)}  train ${e.trainLoss.toFixed(4)}  val ` +
            `${e.valLoss.toFixed(4)}${
              e.valBitsPerByte === undefined ? "" : ` (${e.valBitsPerByte.toFixed(4)} bits/byte)`
            }${e.valTokens === undefined ? "" : ` over the whole split, ${e.valTokens} tokens`}  (${
              e.elapsedS.toFixed(1)
            } s)`,
        );
      },
    });
    await bar?.done();
    const signal = stop?.received();
    if (result.stopped === "aborted" && signal) {
      const at = saved?.iter ?? resumed?.state.iter ?? 0;
      print(
        { stopped: signal, iter: at, resume: savePath },
        `stopped by ${signal} after ${at} steps; continue with --resume ${savePath}`,
      );
      return signal === "SIGINT" ? 130 : 143;
    }
    if (v.save !== undefined && !keepState) {
      try {
        await saveCheckpoint(model, v.save, {
          train: tcfg,
          metadata: { iters: String(tcfg.iters) },
        });
      } catch (e) {
        throw pathError(
          e,
          "--save",
          v.save,
          "the checkpoint was not written and the trained model is lost; choose a writable path",
        );
      }
      print({ saved: v.save }, `checkpoint written to ${v.save}`);
    }
    if (v.sample !== undefined) {
      const text = await generate(model, "\n", {
        maxTokens: v.sample,
        seed: tcfg.seed,
      });
      print({ sample: text }, text);
    }
    return 0;
  } catch (err) {
    clearLine();
    if (err instanceof TrainingDivergedError) {
      print(
        { diverged: true, iter: err.iter, activation: err.activation, loss: String(err.loss) },
        err.message,
      );
      return 3;
    }
    throw err;
  } finally {
    stop?.dispose();
    model.dispose();
  }
}

/**
 * The run a `--resume` checkpoint holds: its model (on the active backend) and training state,
 * after checking that the flags given ask for that run.
 */
async function loadResume(path: string, args: Args) {
  let loaded;
  try {
    loaded = await loadCheckpoint(path);
  } catch (e) {
    throw new UsageError(`--resume ${path}: ${(e as Error).message}`);
  }
  const { model, state } = loaded;
  if (!state) {
    model.dispose();
    throw new UsageError(
      `--resume ${path} holds weights but no training state; resume from a checkpoint written ` +
        `with --save-every (or load it with loadCheckpoint to train anew)`,
    );
  }
  const flagOf = (key: string) =>
    Object.entries({ ...modelFlags.keys, ...trainFlags.keys }).find(([, k]) => k === key)?.[0] ??
      key;
  try {
    checkResumeFlags(
      { model: model.config, train: state.config },
      {
        preset: args.given.has("preset") ? args.values.preset : undefined,
        model: fromFlags(args, modelFlags.keys),
        train: fromFlags(args, trainFlags.keys),
      },
      flagOf,
    );
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, state };
}

/**
 * Runs the CLI with `argv` (as `Deno.args`); returns the exit code: 0 done, 1 error, 2 bad
 * arguments, 3 training diverged, 130/143 stopped by SIGINT/SIGTERM with the state saved.
 *
 * @example
 * ```ts ignore
 * const code = await main(["--preset", "tiny", "--dataset", "synthetic", "--iters", "20"]);
 * ```
 */
export function main(argv: readonly string[]): Promise<number> {
  return train.run(argv);
}

if (import.meta.main) await runMain(train);
