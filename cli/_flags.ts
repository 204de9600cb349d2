/**
 * Flags that several programs in `cli/` share, declared once: the tfjs backend, ONNX Runtime's
 * execution provider and threads, the data folder or text, the tokenizer, the preset, and the
 * flags of `deno task train` that set config fields (read from the field tables of
 * `lib/gpt/config.ts`).
 *
 * @module
 */
import { BACKEND_ORDER, type BackendChoice } from "../lib/engine/tfjs.ts";
import { ORT_PROVIDERS, type OrtProviderChoice } from "../lib/engine/ort.ts";
import {
  type ConfigFieldBase,
  type ConfigFields,
  type PresetName,
  presets,
} from "../lib/gpt/config.ts";
import { parseTokenizerSpec, TOKENIZER_SPECS } from "../lib/core/tokenizers.ts";
import type { FlagSpec, NumberFlag, StringFlag } from "./_args.ts";

/**
 * `--backend`: the tfjs backend, or `auto` for the first that loads.
 *
 * @example
 * ```ts
 * import { backendFlag } from "./_flags.ts";
 * console.assert(backendFlag.choices.includes("wasm"));
 * ```
 */
export const backendFlag = {
  kind: "string",
  default: "auto",
  choices: ["auto", ...BACKEND_ORDER] as readonly BackendChoice[],
  description: "tfjs backend; auto takes the first that loads, in this order",
} as const satisfies StringFlag;

/**
 * `--provider`: ONNX Runtime's execution provider for `--engine ort`, or `auto`.
 *
 * @example
 * ```ts
 * import { providerFlag } from "./_flags.ts";
 * console.assert(providerFlag.choices.includes("webgpu"));
 * ```
 */
export const providerFlag = {
  kind: "string",
  default: "auto",
  choices: ["auto", ...ORT_PROVIDERS] as readonly OrtProviderChoice[],
  description: "--engine ort: ONNX Runtime execution provider; auto takes CUDA or a hardware " +
    "WebGPU adapter when one starts, else the CPU (ACTLAB_ORT_PROVIDER overrides auto)",
} as const satisfies StringFlag;

/**
 * `--preset`: a model and training preset of `lib/gpt/config.ts`.
 *
 * @example
 * ```ts
 * import { presetFlag } from "./_flags.ts";
 * console.assert(presetFlag.default === "nano");
 * ```
 */
export const presetFlag = {
  kind: "string",
  default: "nano",
  choices: Object.keys(presets) as readonly PresetName[],
  description: "model + training preset",
} as const satisfies StringFlag;

/** Why a path could not be stat'ed, as the end of a sentence naming it. */
function statFailure(e: unknown): string {
  return e instanceof Deno.errors.NotFound
    ? "does not exist"
    : e instanceof Deno.errors.FilesystemLoop
    ? "is a symbolic link loop"
    : e instanceof Deno.errors.NotADirectory
    ? "has a file where a folder is expected"
    : `cannot be read (${(e as Error).message})`;
}

/**
 * Why `dir` cannot be a `--data` folder (missing, a file, a link loop), or undefined when it is a
 * folder. A folder named on the command line must exist: the loader would otherwise fall back to
 * the cache or a download without a word.
 */
function dataFolderProblem(dir: string): string | undefined {
  try {
    if (Deno.statSync(dir).isDirectory) return undefined;
    return `--data ${dir} is a file; give the folder that holds tinyshakespeare/input.txt ` +
      `(or input.txt)`;
  } catch (e) {
    const why = statFailure(e);
    return `--data ${dir} ${why}: give a folder that holds tinyshakespeare/input.txt, or leave ` +
      `--data out to use $ACTLAB_DATA_DIR, the cache, or a checked download`;
  }
}

/**
 * `--data DIR`: where Tiny Shakespeare is read from; a folder that does not exist is refused.
 *
 * @example
 * ```ts
 * import { dataFlag } from "./_flags.ts";
 * console.assert(dataFlag.arg === "DIR");
 * console.assert(dataFlag.check("/nonexistent/data")!.includes("does not exist"));
 * ```
 */
export const dataFlag = {
  kind: "string",
  arg: "DIR",
  description: "folder holding tinyshakespeare/input.txt",
  defaultText: "$ACTLAB_DATA_DIR, else the cache, else a checked download",
  check: dataFolderProblem,
} as const satisfies StringFlag;

/**
 * Why `path` cannot be `deno task train`'s `--data` (missing, a link loop, unreadable), or
 * undefined when it exists: a file or a folder. What it holds is read later.
 */
function dataPathProblem(path: string): string | undefined {
  try {
    Deno.statSync(path);
    return undefined;
  } catch (e) {
    const why = statFailure(e);
    return `--data ${path} ${why}: give a folder that holds tinyshakespeare/input.txt, a UTF-8 ` +
      `text file, or a folder of text files; or leave --data out for Tiny Shakespeare from ` +
      `$ACTLAB_DATA_DIR, the cache, or a checked download`;
  }
}

/**
 * `deno task train`'s `--data PATH`: a folder holding `tinyshakespeare/input.txt` (or the
 * Tiny Shakespeare `input.txt` itself) as before, else any UTF-8 text file or folder of text
 * files (`textDataset`). A path that does not exist is refused.
 *
 * @example
 * ```ts
 * import { textDataFlag } from "./_flags.ts";
 * console.assert(textDataFlag.arg === "PATH");
 * console.assert(textDataFlag.check("/nonexistent/my.txt")!.includes("does not exist"));
 * ```
 */
export const textDataFlag = {
  kind: "string",
  arg: "PATH",
  description: "the text to train on: a UTF-8 file or a folder of text files; a folder holding " +
    "tinyshakespeare/input.txt (or Tiny Shakespeare's input.txt) means Tiny Shakespeare",
  defaultText: "Tiny Shakespeare from $ACTLAB_DATA_DIR, else the cache, else a checked download",
  check: dataPathProblem,
} as const satisfies StringFlag;

/**
 * `--tokenizer SPEC`: `char`, `byte`, `bpe:N` (trained on the data, cached) or `gpt2`.
 *
 * @example
 * ```ts
 * import { tokenizerFlag } from "./_flags.ts";
 * console.assert(tokenizerFlag.check("bpe:2048") === undefined);
 * console.assert(tokenizerFlag.check("bpe")!.includes("Unknown tokenizer"));
 * ```
 */
export const tokenizerFlag = {
  kind: "string",
  arg: "SPEC",
  default: "char",
  description: `how text becomes tokens: ${TOKENIZER_SPECS}; a BPE is trained on the training ` +
    "text once and cached",
  check: (spec: string): string | undefined => {
    try {
      parseTokenizerSpec(spec);
      return undefined;
    } catch (e) {
      return `--tokenizer: ${(e as Error).message}`;
    }
  },
} as const satisfies StringFlag;

/**
 * `--threads N`: ONNX Runtime's intra-op threads.
 *
 * @example
 * ```ts
 * import { threadsFlag } from "./_flags.ts";
 * console.assert(threadsFlag.min === 1);
 * ```
 */
export const threadsFlag = {
  kind: "int",
  min: 1,
  description: "--engine ort: ONNX Runtime's intra-op threads (1 to compare with PyTorch)",
} as const satisfies NumberFlag;

/** How the help shows a field's value in every preset: `0.1`, or `nano 2000, tiny 200`. */
function presetDefaults(field: ConfigFieldBase<unknown>): string | undefined {
  if (!field.presets) {
    return field.omittedMeans !== undefined ? String(field.omittedMeans) : field.from;
  }
  const show = (v: unknown) => v === null ? field.nullMeans ?? "null" : String(v);
  const entries = Object.entries(field.presets);
  const shown = entries.map(([, v]) => show(v));
  return shown.every((s) => s === shown[0])
    ? shown[0]
    : entries.map(([name, v]) => `${name} ${show(v)}`).join(", ");
}

/**
 * The flags of the fields of `fields` that have one, with the help line, kind, range and every
 * preset's value taken from the table, and the config key each flag sets.
 *
 * @example
 * ```ts
 * import { configFlags } from "./_flags.ts";
 * import { trainConfigFields } from "../lib/gpt/config.ts";
 * const { flags, keys } = configFlags(trainConfigFields);
 * console.assert(keys["lr"] === "learningRate" && flags["iters"].defaultText?.startsWith("nano 2000, tiny 200"));
 * ```
 */
export function configFlags<C>(
  fields: ConfigFields<C>,
): { flags: Record<string, FlagSpec>; keys: Record<string, keyof C & string> } {
  const flags: Record<string, FlagSpec> = {};
  const keys: Record<string, keyof C & string> = {};
  for (const [key, f] of Object.entries(fields as Record<string, ConfigFieldBase<C>>)) {
    if (f.flag === undefined) continue;
    const common = {
      description: f.help,
      defaultText: presetDefaults(f as ConfigFieldBase<unknown>),
    };
    flags[f.flag] = f.kind === "int" || f.kind === "number"
      ? {
        ...common,
        kind: f.kind,
        min: f.min,
        max: typeof f.max === "number" && f.max !== Infinity ? f.max : undefined,
      }
      : f.kind === "string"
      ? { ...common, kind: "string", arg: "NAME", ...(f.choices ? { choices: f.choices } : {}) }
      : { ...common, kind: "bool" };
    keys[f.flag] = key as keyof C & string;
  }
  return { flags, keys };
}
