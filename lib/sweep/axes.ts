/**
 * Axes as data: an axis is a named set of values applied to a sweep's options — the learning
 * rate, the step budget, a model size (`depth`), or any field of the model or training config
 * (`n_layer`, `n_embd`, `weight_decay`, `warmup`, …). A grid is the product of its axes; each
 * cell's folder, its place in tables and its merge are derived from the axis list. Adding an axis
 * is one entry in {@link AXES} (or none, for a config field).
 *
 * @module
 */
import {
  type ConfigFieldBase,
  type ConfigFields,
  type GptConfig,
  gptConfig,
  gptConfigFields,
  presets,
  type TrainConfig,
  trainConfig,
  trainConfigFields,
} from "../gpt/config.ts";
import { parseTokenizerSpec } from "../core/tokenizers.ts";
import type { SweepOptions } from "./options.ts";

/** A value an axis takes. */
export type AxisValue = number | string | boolean;

/** An axis: a name (as {@link axisKind} knows it) and its values. */
export interface Axis {
  /** The axis's name, e.g. `lr`, `iters`, `depth`, `n_layer`. */
  readonly name: string;
  /** Its values, in the order given (numbers are sorted ascending in a grid). */
  readonly values: readonly AxisValue[];
}

/** What an axis does to a sweep's options, and what it reads from them. */
export interface AxisKind {
  /** The canonical name (used in folder names and table columns). */
  readonly name: string;
  /** Other names accepted for it. */
  readonly aliases: readonly string[];
  /** One line for help texts. */
  readonly help: string;
  /** The kind of value: `int`, `number`, `bool` or `string`. */
  readonly kind: "int" | "number" | "bool" | "string";
  /** Checks one value against the base options; returns the error message when refused. */
  readonly check: (value: AxisValue, base: SweepOptions) => string | undefined;
  /** The options with this axis at `value`. */
  readonly apply: (options: SweepOptions, value: AxisValue) => SweepOptions;
  /** The value the options have for this axis (undefined when they have none, e.g. no depth). */
  readonly valueOf: (options: SweepOptions) => AxisValue | undefined;
}

/** The training config these options train with (preset, overrides, step budget). */
function trainOf(options: SweepOptions): TrainConfig {
  return trainConfig({
    preset: options.preset ?? "nano",
    ...(options.train ?? {}),
    ...(options.iters !== undefined ? { iters: options.iters } : {}),
  } as never);
}

/** The model config fields these options give (preset, overrides), validated when asked. */
function modelOf(options: SweepOptions, validate = false): Omit<GptConfig, "vocabSize"> {
  const preset = presets[options.preset ?? "nano"];
  if (!preset) throw new Error(`unknown preset "${options.preset}"`);
  const model = { ...preset.model, ...(options.model ?? {}) } as Omit<GptConfig, "vocabSize">;
  if (validate) gptConfig({ ...model, vocabSize: 65, activation: "relu" });
  return model;
}

/** The ratio of the final to the peak learning rate these options decay to (nano: 1/10). */
function decayRatio(options: SweepOptions): number {
  const t = trainOf(options);
  return (t.minLearningRate ?? t.learningRate / 10) / t.learningRate;
}

const isNumber = (v: AxisValue): v is number => typeof v === "number" && Number.isFinite(v);

/** The learning-rate axis: the peak rate, the final rate keeping the base's ratio to it. */
const lrAxis: AxisKind = {
  name: "lr",
  aliases: ["learning_rate", "learningRate", "learning-rate"],
  help: "peak learning rate; the final rate keeps the base's fraction of the peak (nano: 1/10)",
  kind: "number",
  check: (v) =>
    isNumber(v) && v > 0 && v <= 10 ? undefined : `learning rate ${v} is not a number in (0, 10]`,
  apply: (options, v) => ({
    ...options,
    train: {
      ...(options.train ?? {}),
      learningRate: v as number,
      minLearningRate: Number(((v as number) * decayRatio(options)).toPrecision(12)),
    },
  }),
  valueOf: (options) => trainOf(options).learningRate,
};

/** The step-budget axis: the cosine decay is fitted to each budget; warmup stays. */
const itersAxis: AxisKind = {
  name: "iters",
  aliases: ["steps", "budget", "budgets"],
  help: "training steps (the budget); the cosine decay is fitted to it, warmup stays",
  kind: "int",
  check: (v, base) => {
    const warmup = trainOf(base).warmupIters;
    return Number.isInteger(v) && (v as number) > warmup
      ? undefined
      : `step budget ${v} must be a whole number above the ${warmup} warmup steps ` +
        `(the cosine decay is fitted to what follows them)`;
  },
  apply: (options, v) => ({ ...options, iters: v as number }),
  valueOf: (options) => trainOf(options).iters,
};

/** Width per layer of the depth dial: nano (4 layers, 128 wide, 4 heads of 32) is depth 4. */
export const DEPTH_WIDTH = 32;

/**
 * The size dial: depth d sets d layers, d heads of 32 and width 32·d (nano is depth 4), so a
 * scaling study is a loop over one number, as nanochat's `--depth`.
 */
const depthAxis: AxisKind = {
  name: "depth",
  aliases: ["size"],
  help: `model size dial: d layers, d heads, width ${DEPTH_WIDTH}·d (nano = depth 4)`,
  kind: "int",
  check: (v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 64
      ? undefined
      : `depth ${v} is not a whole number from 1 to 64`,
  apply: (options, v) => ({
    ...options,
    model: {
      ...(options.model ?? {}),
      nLayer: v as number,
      nHead: v as number,
      nEmbd: DEPTH_WIDTH * (v as number),
    },
  }),
  valueOf: (options) => {
    const m = modelOf(options);
    return m.nHead === m.nLayer && m.nEmbd === DEPTH_WIDTH * m.nLayer ? m.nLayer : undefined;
  },
};

/** The tokenizer axis: the data's text tokenized by each spec (`char`, `byte`, `bpe:N`, `gpt2`). */
const tokenizerAxis: AxisKind = {
  name: "tokenizer",
  aliases: [],
  help: "how the text is tokenized: char, byte, bpe:N (trained on the corpus, cached), gpt2",
  kind: "string",
  check: (v) => {
    try {
      parseTokenizerSpec(String(v));
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  },
  apply: (options, v) => ({ ...options, tokenizer: String(v) }),
  valueOf: (options) => options.tokenizer ?? "char",
};

/** The corpus axis: each value a text file or folder to train on instead of the data given. */
const corpusAxis: AxisKind = {
  name: "corpus",
  aliases: ["data", "dataset"],
  help: "a text file or folder to train on (UTF-8), instead of the data given",
  kind: "string",
  check: (v) => typeof v === "string" && v.trim() !== "" ? undefined : `corpus ${v} is not a path`,
  apply: (options, v) => ({ ...options, corpus: String(v) }),
  valueOf: (options) => options.corpus,
};

/** snake_case of a camelCase field name. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An axis for one field of a config table: its flag's name (snake_case) or the field's. */
function fieldAxis<C>(
  field: string,
  spec: ConfigFieldBase<C>,
  where: "model" | "train",
): AxisKind {
  const name = spec.flag ? spec.flag.replaceAll("-", "_") : snake(field);
  const aliases = [...new Set([field, snake(field), spec.flag ?? field])].filter((a) => a !== name);
  const apply = (options: SweepOptions, v: AxisValue): SweepOptions =>
    where === "model"
      ? { ...options, model: { ...(options.model ?? {}), [field]: v } }
      : { ...options, train: { ...(options.train ?? {}), [field]: v } };
  const kindOk = (v: AxisValue) =>
    spec.kind === "int"
      ? Number.isInteger(v)
      : spec.kind === "number"
      ? isNumber(v)
      : spec.kind === "bool"
      ? typeof v === "boolean"
      : typeof v === "string" && v !== "";
  return {
    name,
    aliases,
    help: spec.help,
    kind: spec.kind,
    check: (v, base) => {
      if (!kindOk(v)) {
        return `${name} takes ${spec.kind === "int" ? "whole numbers" : spec.kind}, got ${v}`;
      }
      try {
        const applied = apply(base, v);
        if (where === "model") modelOf(applied, true);
        else trainOf(applied);
        return undefined;
      } catch (e) {
        return `${name}=${v}: ${(e as Error).message}`;
      }
    },
    apply,
    valueOf: (options) =>
      ((where === "model" ? modelOf(options) : trainOf(options)) as unknown as Record<
        string,
        AxisValue | undefined
      >)[field] ?? (spec.omittedMeans as AxisValue | undefined),
  };
}

/** Config fields that are not axes: the data sets them, or the sweep's own dimensions do. */
const NOT_AXES = new Set([
  "vocabSize",
  "activation",
  "seed",
  "iters",
  "learningRate",
  "evalEvery",
  "evalIters",
]);

function fieldAxes<C>(fields: ConfigFields<C>, where: "model" | "train"): AxisKind[] {
  return Object.entries(fields as Record<string, ConfigFieldBase<C>>)
    .filter(([field]) => !NOT_AXES.has(field))
    .map(([field, spec]) => fieldAxis(field, spec, where));
}

/**
 * Every axis a grid or study can vary: `lr`, `iters`, `depth`, `tokenizer`, `corpus`, then one
 * per model-config field
 * (`block_size`, `n_layer`, `n_head`, `n_embd`, `mlp_hidden`, `dropout`, `bias`, …) and one per
 * training-config field (`batch_size`, `min_lr`, `warmup`, `weight_decay`, `beta1`, `beta2`,
 * `adam_eps`, `grad_clip`).
 *
 * @example
 * ```ts
 * import { AXES } from "@actlab/actlab/sweep";
 * console.assert(AXES.some((a) => a.name === "n_layer") && AXES.some((a) => a.name === "weight_decay"));
 * ```
 */
export const AXES: readonly AxisKind[] = Object.freeze([
  lrAxis,
  itersAxis,
  depthAxis,
  tokenizerAxis,
  corpusAxis,
  ...fieldAxes(gptConfigFields, "model"),
  ...fieldAxes(trainConfigFields, "train"),
]);

/**
 * The axis called `name` (its canonical name or an alias: `n_layer`, `nLayer` and `n-layer` are
 * one axis); an error listing the known ones otherwise.
 *
 * @example
 * ```ts
 * import { axisKind } from "@actlab/actlab/sweep";
 * axisKind("nLayer").name; // "n_layer"
 * axisKind("learning_rate").name; // "lr"
 * ```
 */
export function axisKind(name: string): AxisKind {
  const found = AXES.find((a) => a.name === name || a.aliases.includes(name));
  if (!found) {
    throw new Error(
      `unknown axis "${name}"; axes: ${AXES.map((a) => a.name).join(", ")}.`,
    );
  }
  return found;
}

/**
 * Parses one `--axis NAME=V1,V2,…` flag into an axis, values converted by the axis's kind
 * (`1e-3`, `true`); an error naming the flag and the bad value.
 *
 * @example
 * ```ts
 * import { parseAxis } from "@actlab/actlab/sweep";
 * parseAxis("n_layer=2,4,6"); // { name: "n_layer", values: [2, 4, 6] }
 * parseAxis("lr=1e-3,3e-3"); // { name: "lr", values: [0.001, 0.003] }
 * ```
 */
export function parseAxis(text: string): Axis {
  const m = /^\s*([A-Za-z][\w-]*)\s*=\s*(.+)$/.exec(text);
  if (!m) throw new Error(`--axis takes NAME=V1,V2,… (e.g. n_layer=2,4,6), got '${text}'.`);
  const kind = axisKind(m[1]);
  const values = m[2].split(",").map((raw) => {
    const item = raw.trim();
    if (kind.kind === "bool") {
      if (item !== "true" && item !== "false") {
        throw new Error(`--axis ${kind.name}: '${item}' is not true or false.`);
      }
      return item === "true";
    }
    if (kind.kind === "string") return item;
    const x = Number(item);
    if (item === "" || !Number.isFinite(x)) {
      throw new Error(`--axis ${kind.name}: '${item}' is not a number.`);
    }
    return x;
  });
  return { name: kind.name, values };
}

/**
 * The axis values as folder text: numbers as their shortest decimal form (0.003, 1e-7), booleans
 * as written, text with every character outside `[A-Za-z0-9._:-]` replaced by `_` (a corpus path
 * stays one folder name).
 *
 * @example
 * ```ts
 * import { axisValueText } from "@actlab/actlab/sweep";
 * axisValueText(3e-4); // "0.0003"
 * axisValueText("data/my corpus.txt"); // "data_my_corpus.txt"
 * ```
 */
export function axisValueText(v: AxisValue): string {
  return typeof v === "string" ? v.replace(/[^A-Za-z0-9._:-]/g, "_") : String(v);
}

/**
 * Checks a list of axes against the base options: known names, none twice, each value valid.
 * Returns them with canonical names, deduplicated values, numbers ascending.
 *
 * @example
 * ```ts
 * import { checkAxes } from "@actlab/actlab/sweep";
 * checkAxes([{ name: "learning_rate", values: [3e-3, 1e-3, 3e-3] }], { preset: "nano" });
 * // [{ name: "lr", values: [0.001, 0.003] }]
 * ```
 */
export function checkAxes(axes: readonly Axis[], base: SweepOptions): Axis[] {
  const seen = new Set<string>();
  return axes.map((axis) => {
    const kind = axisKind(axis.name);
    if (seen.has(kind.name)) {
      throw new Error(`axis ${kind.name} is given twice; give each axis once.`);
    }
    seen.add(kind.name);
    if (axis.values.length === 0) throw new Error(`axis ${kind.name} has no values.`);
    for (const v of axis.values) {
      if (kind.valueOf(base) === v) continue; // the base's own value: what a plain run trains
      const bad = kind.check(v, base);
      if (bad) throw new Error(bad);
    }
    const values = [...new Set(axis.values)];
    if (values.every((v) => typeof v === "number")) {
      (values as number[]).sort((a, b) => a - b);
    }
    return { name: kind.name, values };
  });
}

/** One point of a grid: a value per axis. */
export type AxisPoint = Readonly<Record<string, AxisValue>>;

/**
 * The options of a grid cell: the base with each axis at its value, applied in axis order.
 *
 * @example
 * ```ts
 * import { applyAxes } from "@actlab/actlab/sweep";
 * applyAxes({ preset: "nano" }, { depth: 2 }).model; // { nLayer: 2, nHead: 2, nEmbd: 64 }
 * ```
 */
export function applyAxes(base: SweepOptions, point: AxisPoint): SweepOptions {
  let options = base;
  for (const [name, value] of Object.entries(point)) {
    options = axisKind(name).apply(options, value);
  }
  return options;
}

/**
 * The folder of a grid cell under the grid's folder: `name=value` for every axis whose value
 * differs from the base options', joined by commas in axis order (`lr=0.003`,
 * `lr=0.003,iters=500`); `""` for the cell equal to the base, which is the grid's folder itself.
 *
 * @example
 * ```ts
 * import { cellFolder } from "@actlab/actlab/sweep";
 * cellFolder({ preset: "nano" }, { lr: 1e-3, depth: 2 }); // "depth=2"
 * ```
 */
export function cellFolder(base: SweepOptions, point: AxisPoint): string {
  return Object.entries(point)
    .filter(([name, value]) => axisKind(name).valueOf(base) !== value)
    .map(([name, value]) => `${name}=${axisValueText(value)}`)
    .join(",");
}

/**
 * The points of a grid: the product of its axes, the first axis varying fastest.
 *
 * @example
 * ```ts
 * import { axisPoints } from "@actlab/actlab/sweep";
 * axisPoints([{ name: "lr", values: [1, 2] }, { name: "iters", values: [5, 9] }]);
 * // [{ lr: 1, iters: 5 }, { lr: 2, iters: 5 }, { lr: 1, iters: 9 }, { lr: 2, iters: 9 }]
 * ```
 */
export function axisPoints(axes: readonly Axis[]): AxisPoint[] {
  let points: Record<string, AxisValue>[] = [{}];
  for (const axis of axes) {
    points = axis.values.flatMap((v) => points.map((p) => ({ ...p, [axis.name]: v })));
  }
  return points;
}
