/**
 * Command line for training the mini-GPT: `deno task train --preset nano --activation gelu`.
 *
 * Prints one JSON object per evaluation (`iter`, `train_loss`, `val_loss`, `elapsed_s`), the
 * same shape as the PyTorch reference `torch_minigpt.py`, after a header object; `--time-only N`
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
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname } from "node:path";
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { syntheticDataset } from "../datasets/synthetic/generator.ts";
import type { CharDataset } from "../datasets/char_dataset.ts";
import { getActivation } from "../lib/activations/mod.ts";
import { progress as progressBar } from "../lib/display/progress.ts";
import { initEngine, resolveOrtProvider } from "../lib/engine/mod.ts";
import { saveCheckpoint } from "../lib/gpt/checkpoint.ts";
import { gptConfig, gptConfigFields, trainConfig, trainConfigFields } from "../lib/gpt/config.ts";
import { createGpt } from "../lib/gpt/model.ts";
import { generate } from "../lib/gpt/sample.ts";
import { TrainingDivergedError } from "../lib/gpt/step.ts";
import { checkSplits, timeTrainingSteps, trainGpt } from "../lib/train/train.ts";
import { command, type Parsed, runMain, UsageError } from "./_args.ts";
import { pathError } from "./_paths.ts";
import {
  backendFlag,
  configFlags,
  dataFlag,
  presetFlag,
  providerFlag,
  threadsFlag,
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
  data: dataFlag,
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
  sample: { kind: "int", min: 0, description: "generate N characters after training" },
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

async function loadDataset(args: Args, quiet: boolean): Promise<CharDataset> {
  if (args.values.dataset === "synthetic") return syntheticDataset({ length: 200_000 });
  return await loadTinyShakespeare({
    dir: args.values.data,
    onProgress: quiet ? () => {} : undefined,
  });
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
  notes: "Flags left out take the preset's value. Exit codes: 0 done, 1 error, 2 bad arguments, " +
    "3 training diverged.",
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
  const tcfg = asUsage(() => trainConfig({ preset, ...trainOpts }));
  asUsage(() => gptConfig({ preset, ...modelOpts, vocabSize: 2 }));
  if (v.save !== undefined) await checkWritable("--save", v.save);

  const engine = await initEngine({ backend: v.backend });
  const stepEngine = v.engine;
  const ort = stepEngine === "ort" ? await resolveOrtProvider(v.provider) : undefined;
  provider = ort?.provider ?? null;
  const engineOptions = { provider: ort?.provider, threads: v.threads };
  const stepsOn = stepEngine === "ort" ? "ort" : engine.backend;
  const data = await loadDataset(args, json);
  const mcfg = gptConfig({ preset, ...modelOpts, vocabSize: data.tokenizer.size });
  asUsage(() => checkSplits(data, mcfg.blockSize)); // before the model is allocated

  const model = createGpt(mcfg, { seed: tcfg.seed, tokenizer: data.tokenizer });
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
      preset,
      seed: tcfg.seed,
      tfjs: tf.version_core,
    },
    `actlab mini-GPT: ${model.numParams} parameters, activation ${model.activation.name} ` +
      `(hidden ${model.hidden}), ${
        ort ? `steps on ONNX Runtime ${ort.provider} (${ort.reason}), ` : ""
      }tfjs ${engine.backend} on ${engine.device}`,
  );
  // A progress bar (lib/display) on stderr when it is a terminal; logs get only the JSON lines.
  const isTty = Deno.stderr.isTerminal();
  const clearLine = () => {
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  };
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
    const bar = isTty
      ? progressBar(tcfg.iters, { label: `train ${model.activation.name}`, unit: "step" })
      : undefined;
    await trainGpt(model, data, {
      ...tcfg,
      engine: stepEngine,
      engineOptions,
      onStep: (s) => bar?.update(s.iter + 1, { loss: s.loss, ms: Math.round(s.ms) }),
      onEval: (e) => {
        clearLine();
        print(
          {
            iter: e.iter,
            train_loss: round(e.trainLoss, 4),
            val_loss: round(e.valLoss, 4),
            elapsed_s: round(e.elapsedS, 1),
          },
          `iter ${String(e.iter).padStart(5)}  train ${e.trainLoss.toFixed(4)}  val ` +
            `${e.valLoss.toFixed(4)}  (${e.elapsedS.toFixed(1)} s)`,
        );
      },
    });
    await bar?.done();
    if (v.save !== undefined) {
      try {
        await saveCheckpoint(model, v.save, { metadata: { iters: String(tcfg.iters) } });
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
    model.dispose();
  }
}

/**
 * Runs the CLI with `argv` (as `Deno.args`); returns the exit code: 0 done, 1 error, 2 bad
 * arguments, 3 training diverged.
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
