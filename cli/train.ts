/**
 * Command line for training the mini-GPT: `deno task train --preset nano --activation gelu`.
 *
 * Prints one JSON object per evaluation (`iter`, `train_loss`, `val_loss`, `elapsed_s`), the
 * same shape as the PyTorch reference `torch_minigpt.py`, after a header object; `--time-only N`
 * prints `median_ms_per_step` and `tokens_per_s` after 5 warm-up steps. A progress bar
 * (`lib/display`) goes to stderr when it is a terminal. Run with `--help` for every flag.
 *
 * @example
 * ```sh
 * deno task train --preset nano --activation gelu --iters 2000 --backend wasm --json
 * deno task train --preset nano --time-only 30 --json
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadTinyShakespeare } from "../datasets/tinyshakespeare/loader.ts";
import { syntheticDataset } from "../datasets/synthetic/generator.ts";
import type { CharDataset } from "../datasets/char_dataset.ts";
import { progress as progressBar } from "../lib/display/progress.ts";
import { type BackendChoice, initEngine } from "../lib/engine/mod.ts";
import { saveCheckpoint } from "../lib/gpt/checkpoint.ts";
import {
  gptConfig,
  type GptConfigOptions,
  presets,
  trainConfig,
  type TrainConfigOptions,
} from "../lib/gpt/config.ts";
import { createGpt } from "../lib/gpt/model.ts";
import { generate } from "../lib/gpt/sample.ts";
import { TrainingDivergedError } from "../lib/gpt/step.ts";
import { timeTrainingSteps, trainGpt } from "../lib/train/train.ts";

interface Flag {
  readonly kind: "int" | "number" | "string" | "bool";
  readonly help: string;
  readonly target?: "model" | "train";
  readonly key?: string;
}

const FLAGS: Record<string, Flag> = {
  "preset": {
    kind: "string",
    help: `model + training preset: ${Object.keys(presets).join(", ")} (default nano)`,
  },
  "activation": {
    kind: "string",
    help: "MLP activation (registry name)",
    target: "model",
    key: "activation",
  },
  "iters": { kind: "int", help: "optimizer steps", target: "train", key: "iters" },
  "batch-size": { kind: "int", help: "sequences per batch", target: "train", key: "batchSize" },
  "lr": { kind: "number", help: "peak learning rate", target: "train", key: "learningRate" },
  "min-lr": {
    kind: "number",
    help: "final learning rate",
    target: "train",
    key: "minLearningRate",
  },
  "warmup": { kind: "int", help: "warmup steps", target: "train", key: "warmupIters" },
  "weight-decay": {
    kind: "number",
    help: "AdamW weight decay",
    target: "train",
    key: "weightDecay",
  },
  "grad-clip": {
    kind: "number",
    help: "global gradient-norm clip (0 = off)",
    target: "train",
    key: "gradClip",
  },
  "seed": {
    kind: "int",
    help: "seed of weights, batches and dropout",
    target: "train",
    key: "seed",
  },
  "eval-every": { kind: "int", help: "evaluate every N steps", target: "train", key: "evalEvery" },
  "eval-iters": {
    kind: "int",
    help: "batches per evaluation and split",
    target: "train",
    key: "evalIters",
  },
  "block-size": { kind: "int", help: "context length", target: "model", key: "blockSize" },
  "n-layer": { kind: "int", help: "transformer blocks", target: "model", key: "nLayer" },
  "n-head": { kind: "int", help: "attention heads", target: "model", key: "nHead" },
  "n-embd": { kind: "int", help: "embedding width", target: "model", key: "nEmbd" },
  "mlp-hidden": {
    kind: "int",
    help: "MLP hidden width (default derived)",
    target: "model",
    key: "mlpHidden",
  },
  "dropout": { kind: "number", help: "dropout rate", target: "model", key: "dropout" },
  "backend": {
    kind: "string",
    help: "tfjs backend: auto, tensorflow, webgpu, wasm, cpu (default auto)",
  },
  "engine": {
    kind: "string",
    help: "where steps run: tfjs (default) or ort (the compiled step on ONNX Runtime)",
  },
  "provider": {
    kind: "string",
    help: "--engine ort: execution provider auto, cpu, cuda (default auto)",
  },
  "threads": {
    kind: "int",
    help: "--engine ort: intra-op threads (default ONNX Runtime's; 1 to compare with PyTorch)",
  },
  "dataset": { kind: "string", help: "tinyshakespeare (default) or synthetic" },
  "data": {
    kind: "string",
    help: "data folder holding tinyshakespeare/input.txt (else ACTLAB_DATA_DIR, cache, download)",
  },
  "time-only": {
    kind: "int",
    help: "time N steps after 5 warm-ups; print median ms/step and tokens/s",
  },
  "save": { kind: "string", help: "write a safetensors checkpoint here after training" },
  "sample": { kind: "int", help: "generate N characters after training" },
  "json": { kind: "bool", help: "print JSON lines only" },
  "help": { kind: "bool", help: "show this help" },
};

/** Parsed command line. */
interface Args {
  [flag: string]: string | number | boolean | undefined;
}

function usage(): string {
  const lines = Object.entries(FLAGS).map(([name, f]) => {
    const arg = f.kind === "bool" ? "" : f.kind === "string" ? " VALUE" : " N";
    return `  --${(name + arg).padEnd(22)} ${f.help}`;
  });
  return `usage: deno task train [flags]\n${lines.join("\n")}`;
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    if (!raw.startsWith("--")) throw new Error(`unexpected argument "${raw}"\n${usage()}`);
    let [name, value] = raw.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const flag = FLAGS[name];
    if (!flag) {
      const near = Object.keys(FLAGS).find((k) =>
        k.replace(/-/g, "") === name.replace(/[-_]/g, "")
      );
      throw new Error(
        `unknown flag --${name}${near ? ` (did you mean --${near}?)` : ""}\n${usage()}`,
      );
    }
    if (flag.kind === "bool") {
      out[name] = value === undefined ? true : value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
    }
    if (flag.kind === "string") out[name] = value;
    else {
      const n = Number(value);
      if (!Number.isFinite(n) || (flag.kind === "int" && !Number.isInteger(n))) {
        throw new Error(
          `--${name} needs ${flag.kind === "int" ? "an integer" : "a number"}, got "${value}"`,
        );
      }
      out[name] = n;
    }
  }
  return out;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

async function loadDataset(args: Args, quiet: boolean): Promise<CharDataset> {
  const which = (args["dataset"] as string | undefined) ?? "tinyshakespeare";
  if (which === "synthetic") return syntheticDataset({ length: 200_000 });
  if (which !== "tinyshakespeare") {
    throw new Error(`unknown dataset "${which}"; choose tinyshakespeare or synthetic`);
  }
  return await loadTinyShakespeare({
    dir: args["data"] as string | undefined,
    onProgress: quiet ? () => {} : undefined,
  });
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
export async function main(argv: readonly string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (args["help"]) {
    console.log(usage());
    return 0;
  }
  const json = args["json"] === true;
  const print = (obj: Record<string, unknown>, text: string) =>
    console.log(json ? JSON.stringify(obj) : text);
  const preset = (args["preset"] as string | undefined) ?? "nano";
  const modelOpts: Record<string, unknown> = {};
  const trainOpts: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(FLAGS)) {
    if (flag.target && args[name] !== undefined) {
      (flag.target === "model" ? modelOpts : trainOpts)[flag.key!] = args[name];
    }
  }
  const engine = await initEngine({
    backend: ((args["backend"] as string) ?? "auto") as BackendChoice,
  });
  const stepEngine = (args["engine"] as string | undefined) ?? "tfjs";
  if (stepEngine !== "tfjs" && stepEngine !== "ort") {
    console.error(`unknown --engine "${stepEngine}": choose tfjs or ort`);
    return 2;
  }
  const engineOptions = {
    provider: args["provider"] as string | undefined,
    threads: args["threads"] as number | undefined,
  };
  const stepsOn = stepEngine === "ort" ? "ort" : engine.backend;
  const data = await loadDataset(args, json);
  const mcfg = gptConfig(
    { preset, vocabSize: data.tokenizer.size, ...modelOpts } as GptConfigOptions,
  );
  const tcfg = trainConfig({ preset, ...trainOpts } as TrainConfigOptions);
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
      preset,
      seed: tcfg.seed,
      tfjs: tf.version_core,
    },
    `actlab mini-GPT: ${model.numParams} parameters, activation ${model.activation.name} ` +
      `(hidden ${model.hidden}), ${
        stepEngine === "ort" ? "steps on ONNX Runtime, " : ""
      }tfjs ${engine.backend} on ${engine.device}`,
  );
  // A progress bar (lib/display) on stderr when it is a terminal; logs get only the JSON lines.
  const isTty = Deno.stderr.isTerminal();
  const clearLine = () => {
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  };
  try {
    if (args["time-only"] !== undefined) {
      const steps = args["time-only"] as number;
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
          `over ${steps} steps (${stepsOn})`,
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
    if (args["save"] !== undefined) {
      await saveCheckpoint(model, args["save"] as string, {
        metadata: { iters: String(tcfg.iters) },
      });
      print({ saved: args["save"] }, `checkpoint written to ${args["save"]}`);
    }
    if (args["sample"] !== undefined) {
      const text = await generate(model, "\n", {
        maxTokens: args["sample"] as number,
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

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(1);
  }
}
