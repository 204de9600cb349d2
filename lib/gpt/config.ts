/**
 * Configuration of the mini-GPT and of its training, with named presets.
 *
 * Each field is written once in a table ({@link gptConfigFields}, {@link trainConfigFields}):
 * its help line, kind, allowed range, value in every preset and command-line flag. The presets,
 * the key lists that reject unknown options, the validation, and the flags and help of
 * `deno task train` are all read from those tables; the interfaces below carry each field's type
 * and documentation, and the tables' type makes the compiler check that both list the same keys.
 *
 * Options are merged over a preset's values; an unknown key is an error that names it.
 *
 * @module
 */

/** The model's shape. Every field is plain data, so a config round-trips through JSON. */
export interface GptConfig {
  /** Number of token ids V (65 for Tiny Shakespeare's characters). Required. */
  readonly vocabSize: number;
  /** Context length T: the model reads at most this many tokens (positions 0 … T−1). */
  readonly blockSize: number;
  /** Number of transformer blocks. */
  readonly nLayer: number;
  /** Attention heads per block; must divide `nEmbd`. */
  readonly nHead: number;
  /** Width d of the residual stream (embedding size). */
  readonly nEmbd: number;
  /** MLP activation: a registry name or alias (user-registered ones too), e.g. `gelu`, `swiglu`. */
  readonly activation: string;
  /**
   * MLP hidden width. `null` derives it: 4·d for unary activations, ⅔·4·d rounded up to a
   * multiple of 8 for gated ones, so both have about the same parameters (Shazeer 2020).
   */
  readonly mlpHidden: number | null;
  /** Dropout rate on attention weights and on each residual branch during training (0 = off). */
  readonly dropout: number;
  /** Biases in linear layers and LayerNorms (nanoGPT's CPU recipe: none). */
  readonly bias: boolean;
  /** Share the token embedding with the output head (`lm_head = wteᵀ`). */
  readonly tiedEmbeddings: boolean;
  /** LayerNorm epsilon (PyTorch's default 1e-5). */
  readonly layerNormEps: number;
  /** Standard deviation of the normal init of weights; residual projections get std/√(2·nLayer). */
  readonly initStd: number;
}

/** How to train: optimizer, schedule, batches, evaluation. */
export interface TrainConfig {
  /** Optimizer steps. */
  readonly iters: number;
  /** Sequences per batch B. */
  readonly batchSize: number;
  /** Peak learning rate, reached after warmup. */
  readonly learningRate: number;
  /** Final learning rate of the cosine decay; `null` = learningRate / 10. */
  readonly minLearningRate: number | null;
  /** Linear warmup steps. */
  readonly warmupIters: number;
  /**
   * The optimizer: `adamw` (left out: every parameter by AdamW) or `muon` (Muon for the blocks'
   * 2-D weight matrices, AdamW for embeddings, the untied head and every vector or scalar,
   * trainable activation parameters included; `lib/gpt/muon.ts`).
   */
  readonly optimizer?: OptimizerName;
  /**
   * AdamW decoupled weight decay, applied to 2-D weights only (embeddings and matrices). With
   * Muon: to the 2-D weights AdamW updates (embeddings, the untied head).
   */
  readonly weightDecay: number;
  /** AdamW β1. */
  readonly beta1: number;
  /** AdamW β2. */
  readonly beta2: number;
  /** AdamW ε. */
  readonly adamEps: number;
  /**
   * Muon's learning rate as a multiple of the schedule's (`learningRate`, warmup and decay), which
   * the AdamW group takes as it is: both groups follow one schedule at a fixed ratio, as nanochat
   * scales every group's initial rate by one multiplier. Left out: 20 (Muon's 0.02 of Keller
   * Jordan's `Muon` and nanochat's `matrix_lr`, over nanoGPT's AdamW 1e-3).
   */
  readonly muonLrRatio?: number;
  /** Muon's Nesterov momentum β. Left out: 0.95 (KellerJordan/Muon, modded-nanogpt, nanochat). */
  readonly muonMomentum?: number;
  /**
   * Muon's decoupled weight decay: p ← p·(1 − lr·wd) with Muon's learning rate. Left out: 0
   * (KellerJordan/Muon's default; nanochat's first Muon had none).
   */
  readonly muonWeightDecay?: number;
  /** Clip the global gradient norm to this value (0 = no clipping). */
  readonly gradClip: number;
  /** Evaluate train and val loss every this many steps (and at the end). 0 = only at the end. */
  readonly evalEvery: number;
  /** Batches averaged per evaluation and split. */
  readonly evalIters: number;
  /** Seed of the weight init, the batches and dropout. */
  readonly seed: number;
}

/** The optimizers {@link TrainConfig.optimizer} names. */
export type OptimizerName = "adamw" | "muon";

/** Names of the presets. */
export type PresetName = "nano" | "tiny" | "shakespeare_char";

/** A preset: model shape (without the vocabulary, which comes from the data) and training. */
export interface Preset {
  /** One line for help texts. */
  readonly description: string;
  /** Model fields. */
  readonly model: Omit<GptConfig, "vocabSize">;
  /** Training fields. */
  readonly train: TrainConfig;
}

/**
 * What every config field's row holds, whatever the field's type: its help line, kind, allowed
 * values, value in each preset and the flag of `deno task train` that sets it. `C` is the config.
 *
 * @example
 * ```ts
 * import { type ConfigFieldBase, type TrainConfig, trainConfigFields } from "./config.ts";
 * const rows: [string, ConfigFieldBase<TrainConfig>][] = Object.entries(trainConfigFields);
 * console.assert(rows.some(([, f]) => f.flag === "lr"));
 * ```
 */
export interface ConfigFieldBase<C> {
  /** One line for help texts (the config interface's JSDoc says more). */
  readonly help: string;
  /** The value's kind: `int` (an integer), `number`, `string` or `bool`. */
  readonly kind: "int" | "number" | "string" | "bool";
  /** Smallest allowed value (`int`, `number`); an `int` without it is any safe integer. */
  readonly min?: number;
  /** Largest allowed value (`number`), or one computed from the other fields. */
  readonly max?: number | ((config: C) => number);
  /** What a `string` must be, for the error message (default "a non-empty string"). */
  readonly expects?: string;
  /** What `null` means, for the fields that allow it; absent = `null` is refused. */
  readonly nullMeans?: string;
  /**
   * For a field that may be left out (one added after results were recorded): the value it then
   * has. The field has no preset value, and {@link trainConfig} keeps it only when it differs
   * from this, so a config that leaves it at this value — and every key hashed from one — is
   * exactly what it was before the field existed.
   */
  readonly omittedMeans?: string | number | boolean;
  /** The values a `string` field may take; absent = any non-empty string. */
  readonly choices?: readonly string[];
  /** The value in every preset; absent when it comes from elsewhere (see `from`). */
  readonly presets?: Readonly<Record<PresetName, unknown>>;
  /** Where the value comes from when no preset holds it (e.g. the tokenizer). */
  readonly from?: string;
  /** The flag of `deno task train` that sets the field (kebab-case); absent = none. */
  readonly flag?: string;
  /** A rule across fields, checked after this field: the error message when broken. */
  readonly rule?: (config: C) => string | undefined;
}

/**
 * The row of one config field whose type is `V`: the kind must fit `V`, every preset's value must
 * be a `V`, and `nullMeans` is required exactly when `V` allows `null`.
 *
 * @example
 * ```ts
 * import type { ConfigField, TrainConfig } from "./config.ts";
 * const iters: ConfigField<TrainConfig, number> = {
 *   help: "optimizer steps",
 *   kind: "int",
 *   min: 0,
 *   presets: { nano: 2000, tiny: 200, shakespeare_char: 5000 },
 *   flag: "iters",
 * };
 * console.assert(iters.presets?.tiny === 200);
 * ```
 */
export type ConfigField<C, V> =
  & ConfigFieldBase<C>
  & {
    readonly kind: [NonNullable<V>] extends [number] ? "int" | "number"
      : [NonNullable<V>] extends [string] ? "string"
      : "bool";
    readonly presets?: Readonly<Record<PresetName, V>>;
  }
  & (null extends V ? { readonly nullMeans: string } : { readonly nullMeans?: undefined })
  & (undefined extends V ? { readonly omittedMeans: NonNullable<V> }
    : { readonly omittedMeans?: undefined });

/**
 * A table of every field of config `C`. Its type makes the compiler reject a missing or an extra
 * key, so the table and the interface always list the same fields.
 *
 * @example
 * ```ts
 * import type { ConfigFields, GptConfig } from "./config.ts";
 * type Fields = ConfigFields<GptConfig>;
 * const keys: (keyof Fields)[] = ["vocabSize", "nLayer"];
 * console.assert(keys.length === 2);
 * ```
 */
export type ConfigFields<C> = { readonly [K in keyof C]-?: ConfigField<C, C[K]> };

/**
 * Every field of {@link GptConfig}, in the order of the interface.
 *
 * @example
 * ```ts
 * import { gptConfigFields } from "./config.ts";
 * console.assert(gptConfigFields.nLayer.flag === "n-layer");
 * console.assert(gptConfigFields.nEmbd.presets?.nano === 128);
 * ```
 */
export const gptConfigFields: ConfigFields<GptConfig> = Object.freeze({
  vocabSize: {
    help: "number of token ids",
    kind: "int",
    min: 2,
    from: "the tokenizer (dataset.tokenizer.size); required",
  },
  blockSize: {
    help: "context length",
    kind: "int",
    min: 1,
    presets: { nano: 64, tiny: 16, shakespeare_char: 256 },
    flag: "block-size",
  },
  nLayer: {
    help: "transformer blocks",
    kind: "int",
    min: 1,
    presets: { nano: 4, tiny: 2, shakespeare_char: 6 },
    flag: "n-layer",
  },
  nHead: {
    help: "attention heads",
    kind: "int",
    min: 1,
    presets: { nano: 4, tiny: 2, shakespeare_char: 6 },
    flag: "n-head",
  },
  nEmbd: {
    help: "embedding width",
    kind: "int",
    min: 1,
    presets: { nano: 128, tiny: 32, shakespeare_char: 384 },
    flag: "n-embd",
    rule: (c) =>
      c.nEmbd % c.nHead === 0
        ? undefined
        : `nHead (${c.nHead}) must divide nEmbd (${c.nEmbd}) so that heads have equal size`,
  },
  activation: {
    help: "MLP activation (registry name)",
    kind: "string",
    expects: "a registry name",
    presets: { nano: "gelu", tiny: "gelu", shakespeare_char: "gelu" },
    flag: "activation",
  },
  mlpHidden: {
    help: "MLP hidden width",
    kind: "int",
    min: 1,
    nullMeans: "derived: 4·d, or ⅔·4·d rounded up to 8 for gated activations",
    presets: { nano: null, tiny: null, shakespeare_char: null },
    flag: "mlp-hidden",
  },
  dropout: {
    help: "dropout rate",
    kind: "number",
    min: 0,
    max: 0.99,
    presets: { nano: 0, tiny: 0, shakespeare_char: 0.2 },
    flag: "dropout",
  },
  bias: {
    help: "biases in linear layers and LayerNorms",
    kind: "bool",
    presets: { nano: false, tiny: false, shakespeare_char: false },
  },
  tiedEmbeddings: {
    help: "output head shares the token embedding",
    kind: "bool",
    presets: { nano: true, tiny: true, shakespeare_char: true },
  },
  layerNormEps: {
    help: "LayerNorm epsilon",
    kind: "number",
    min: 0,
    max: 1,
    presets: { nano: 1e-5, tiny: 1e-5, shakespeare_char: 1e-5 },
  },
  initStd: {
    help: "standard deviation of the weight init",
    kind: "number",
    min: 0,
    max: 10,
    presets: { nano: 0.02, tiny: 0.02, shakespeare_char: 0.02 },
  },
});

/**
 * Every field of {@link TrainConfig}, in the order of the interface.
 *
 * @example
 * ```ts
 * import { trainConfigFields } from "./config.ts";
 * console.assert(trainConfigFields.learningRate.flag === "lr");
 * console.assert(trainConfigFields.batchSize.presets?.tiny === 4);
 * ```
 */
export const trainConfigFields: ConfigFields<TrainConfig> = Object.freeze({
  iters: {
    help: "optimizer steps",
    kind: "int",
    min: 0,
    presets: { nano: 2000, tiny: 200, shakespeare_char: 5000 },
    flag: "iters",
  },
  batchSize: {
    help: "sequences per batch",
    kind: "int",
    min: 1,
    presets: { nano: 12, tiny: 4, shakespeare_char: 64 },
    flag: "batch-size",
  },
  learningRate: {
    help: "peak learning rate",
    kind: "number",
    min: 0,
    max: 10,
    presets: { nano: 1e-3, tiny: 3e-3, shakespeare_char: 1e-3 },
    flag: "lr",
  },
  minLearningRate: {
    help: "final learning rate of the cosine decay",
    kind: "number",
    min: 0,
    max: (c) => c.learningRate,
    nullMeans: "learningRate / 10",
    presets: { nano: 1e-4, tiny: 3e-4, shakespeare_char: 1e-4 },
    flag: "min-lr",
  },
  warmupIters: {
    help: "warmup steps",
    kind: "int",
    min: 0,
    presets: { nano: 100, tiny: 10, shakespeare_char: 100 },
    flag: "warmup",
  },
  optimizer: {
    help: "optimizer: adamw, or muon (hidden matrices; AdamW for the rest)",
    kind: "string",
    expects: "adamw or muon",
    choices: ["adamw", "muon"],
    omittedMeans: "adamw",
    flag: "optimizer",
  },
  weightDecay: {
    help: "AdamW weight decay",
    kind: "number",
    min: 0,
    max: 10,
    presets: { nano: 0.1, tiny: 0.1, shakespeare_char: 0.1 },
    flag: "weight-decay",
  },
  beta1: {
    help: "AdamW β1",
    kind: "number",
    min: 0,
    max: 0.999999,
    presets: { nano: 0.9, tiny: 0.9, shakespeare_char: 0.9 },
  },
  beta2: {
    help: "AdamW β2",
    kind: "number",
    min: 0,
    max: 0.999999,
    presets: { nano: 0.99, tiny: 0.99, shakespeare_char: 0.99 },
  },
  adamEps: {
    help: "AdamW ε",
    kind: "number",
    min: 0,
    max: 1,
    presets: { nano: 1e-8, tiny: 1e-8, shakespeare_char: 1e-8 },
  },
  muonLrRatio: {
    help: "Muon's learning rate over the schedule's (--lr, which AdamW takes)",
    kind: "number",
    min: 0,
    max: 1e4,
    omittedMeans: 20,
    flag: "muon-lr-ratio",
  },
  muonMomentum: {
    help: "Muon's Nesterov momentum",
    kind: "number",
    min: 0,
    max: 0.999999,
    omittedMeans: 0.95,
    flag: "muon-momentum",
  },
  muonWeightDecay: {
    help: "Muon's decoupled weight decay",
    kind: "number",
    min: 0,
    max: 10,
    omittedMeans: 0,
    flag: "muon-weight-decay",
  },
  gradClip: {
    help: "global gradient-norm clip (0 = off)",
    kind: "number",
    min: 0,
    max: Infinity,
    presets: { nano: 1, tiny: 1, shakespeare_char: 1 },
    flag: "grad-clip",
  },
  evalEvery: {
    help: "evaluate every N steps (0 = only at the end)",
    kind: "int",
    min: 0,
    presets: { nano: 250, tiny: 50, shakespeare_char: 250 },
    flag: "eval-every",
  },
  evalIters: {
    help: "batches per evaluation and split",
    kind: "int",
    min: 1,
    presets: { nano: 20, tiny: 4, shakespeare_char: 200 },
    flag: "eval-iters",
  },
  seed: {
    help: "seed of weights, batches and dropout",
    kind: "int",
    presets: { nano: 1337, tiny: 1337, shakespeare_char: 1337 },
    flag: "seed",
  },
});

const PRESET_DESCRIPTIONS: Readonly<Record<PresetName, string>> = {
  nano: "nanoGPT shakespeare_char CPU recipe: 4 layers, 4 heads, 128 wide, context 64",
  tiny: "for tests: 2 layers, 2 heads, 32 wide, context 16, batch 4",
  shakespeare_char:
    "nanoGPT shakespeare_char GPU recipe: 6 layers, 6 heads, 384 wide, context 256, batch 64, " +
    "dropout 0.2, 5000 iterations",
};

/** The values that preset `name` gives the fields of `fields` (those with a preset value). */
function presetColumn<C>(fields: ConfigFields<C>, name: PresetName): Record<string, unknown> {
  const column: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields as Record<string, ConfigFieldBase<C>>)) {
    if (field.presets) column[key] = field.presets[name];
  }
  return Object.freeze(column);
}

/**
 * The presets, read from the field tables. `nano` is nanoGPT's shakespeare_char CPU recipe
 * (context 64, batch 12, 4 layers, 4 heads, 128 wide, dropout 0, no biases, tied embeddings; AdamW
 * lr 1e-3, β2 0.99, wd 0.1, 100 warmup steps, cosine to 1e-4, clip 1.0, 2000 iterations). `tiny`
 * is for tests: small enough to train a few hundred steps in seconds. `shakespeare_char` is
 * nanoGPT's `config/train_shakespeare_char.py`, the GPU-sized baby GPT (context 256, batch 64,
 * 6 layers, 6 heads, 384 wide, dropout 0.2, no biases; AdamW lr 1e-3, β2 0.99, wd 0.1, 100 warmup
 * steps, cosine to 1e-4 over 5000 iterations, clip 1.0; evaluation every 250 steps over 200
 * batches): nanoGPT reports val ≈ 1.47 after about 3 minutes on one A100.
 *
 * @example
 * ```ts
 * import { presets } from "./config.ts";
 * console.assert(presets.nano.model.blockSize === 64 && presets.nano.train.batchSize === 12);
 * ```
 */
export const presets: Readonly<Record<PresetName, Preset>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(PRESET_DESCRIPTIONS) as PresetName[]).map((name) => [
      name,
      Object.freeze({
        description: PRESET_DESCRIPTIONS[name],
        model: presetColumn(gptConfigFields, name) as unknown as Preset["model"],
        train: presetColumn(trainConfigFields, name) as unknown as TrainConfig,
      }),
    ]),
  ) as Record<PresetName, Preset>,
);

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** Throws an error naming every key of `options` not in `known`, with a suggestion. */
function rejectUnknownKeys(
  where: string,
  options: object,
  known: readonly string[],
): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const hints = unknown.map((k) => {
    const best = known
      .map((n) => ({ n, d: editDistance(k.toLowerCase(), n.toLowerCase()) }))
      .sort((a, b) => a.d - b.d)[0];
    return best && best.d <= Math.max(2, Math.floor(k.length / 3))
      ? `"${k}" (did you mean "${best.n}"?)`
      : `"${k}"`;
  });
  throw new TypeError(
    `${where}: unknown option${unknown.length > 1 ? "s" : ""} ${hints.join(", ")}. ` +
      `Known: ${known.join(", ")}.`,
  );
}

function presetOf(where: string, name: unknown): Preset {
  if (name === undefined) return presets.nano;
  if (typeof name !== "string" || !(name in presets)) {
    throw new TypeError(
      `${where}: unknown preset ${JSON.stringify(name)}; presets: ${
        Object.keys(presets).join(", ")
      }`,
    );
  }
  return presets[name as PresetName];
}

/** Checks every field of `cfg` against its row of `fields`, in table order; throws naming it. */
function checkFields<C extends object>(where: string, fields: ConfigFields<C>, cfg: C): void {
  const record = cfg as Record<string, unknown>;
  for (const [key, f] of Object.entries(fields as Record<string, ConfigFieldBase<C>>)) {
    const v = record[key];
    const got = `got ${JSON.stringify(v)}`;
    if (v === null && f.nullMeans !== undefined) continue;
    if (v === undefined && f.omittedMeans !== undefined) continue;
    if (f.kind === "int") {
      if (f.min === undefined) {
        if (!Number.isSafeInteger(v)) {
          throw new RangeError(`${where}: ${key} must be an integer, ${got}`);
        }
      } else if (typeof v !== "number" || !Number.isInteger(v) || v < f.min) {
        throw new RangeError(`${where}: ${key} must be an integer ≥ ${f.min}, ${got}`);
      }
    } else if (f.kind === "number") {
      const lo = f.min ?? -Infinity;
      const hi = typeof f.max === "function" ? f.max(cfg) : f.max ?? Infinity;
      if (typeof v !== "number" || !(v >= lo && v <= hi)) {
        throw new RangeError(`${where}: ${key} must be a number in [${lo}, ${hi}], ${got}`);
      }
    } else if (f.kind === "string") {
      if (typeof v !== "string" || v === "" || (f.choices && !f.choices.includes(v))) {
        throw new TypeError(
          `${where}: ${key} must be ${f.expects ?? "a non-empty string"}, ${got}`,
        );
      }
    } else if (typeof v !== "boolean") {
      throw new TypeError(`${where}: ${key} must be a boolean`);
    }
    const broken = f.rule?.(cfg);
    if (broken !== undefined) throw new RangeError(`${where}: ${broken}`);
  }
}

/** Options of {@link gptConfig}: any config fields, plus the preset they go over. */
export type GptConfigOptions = Partial<GptConfig> & { readonly preset?: PresetName };

const GPT_KEYS: readonly string[] = Object.keys(gptConfigFields);

/**
 * A complete, validated model config: `options` over the preset (default `nano`).
 * `vocabSize` is required; unknown keys and invalid values throw errors that name them.
 *
 * @example
 * ```ts
 * import { gptConfig } from "./config.ts";
 * const cfg = gptConfig({ preset: "nano", vocabSize: 65, activation: "swiglu" });
 * console.assert(cfg.nEmbd === 128 && cfg.activation === "swiglu");
 * ```
 */
export function gptConfig(options: GptConfigOptions): GptConfig {
  const where = "gptConfig";
  const { preset, ...rest } = options;
  rejectUnknownKeys(where, rest, GPT_KEYS);
  const base = presetOf(where, preset).model;
  const cfg: GptConfig = { ...base, vocabSize: NaN, ...stripUndefined(rest) };
  if (Number.isNaN(cfg.vocabSize)) {
    throw new TypeError(
      `${where}: vocabSize is required (the tokenizer's size, e.g. dataset.tokenizer.size)`,
    );
  }
  return validateGptConfig(cfg);
}

/**
 * Checks every field of a complete config (e.g. one read from a checkpoint) and returns it frozen.
 *
 * @example
 * ```ts
 * import { gptConfig, validateGptConfig } from "./config.ts";
 * const cfg = validateGptConfig({ ...gptConfig({ vocabSize: 10 }) });
 * console.assert(Object.isFrozen(cfg));
 * ```
 */
export function validateGptConfig(cfg: GptConfig): GptConfig {
  const where = "GptConfig";
  rejectUnknownKeys(where, cfg, GPT_KEYS);
  for (const k of GPT_KEYS) {
    if (!(k in cfg)) throw new TypeError(`${where}: missing field ${k}`);
  }
  checkFields(where, gptConfigFields, cfg);
  return Object.freeze({ ...cfg });
}

/** Options of {@link trainConfig}: any training fields, plus the preset they go over. */
export type TrainConfigOptions = Partial<TrainConfig> & { readonly preset?: PresetName };

const TRAIN_KEYS: readonly string[] = Object.keys(trainConfigFields);

/**
 * A complete, validated training config: `options` over the preset (default `nano`).
 *
 * @example
 * ```ts
 * import { trainConfig } from "./config.ts";
 * const t = trainConfig({ preset: "tiny", iters: 50 });
 * console.assert(t.iters === 50 && t.batchSize === 4);
 * ```
 */
export function trainConfig(options: TrainConfigOptions = {}): TrainConfig {
  const where = "trainConfig";
  const { preset, ...rest } = options;
  rejectUnknownKeys(where, rest, TRAIN_KEYS);
  const cfg: TrainConfig = { ...presetOf(where, preset).train, ...stripUndefined(rest) };
  checkFields(where, trainConfigFields, cfg);
  return Object.freeze(dropOmitted(trainConfigFields, cfg));
}

/** `cfg` without the fields that hold the value leaving them out means (see `omittedMeans`). */
function dropOmitted<C extends object>(fields: ConfigFields<C>, cfg: C): C {
  const table = fields as Record<string, ConfigFieldBase<C>>;
  return Object.fromEntries(
    Object.entries(cfg).filter(([key, v]) => table[key]?.omittedMeans !== v),
  ) as C;
}

/** A training config's optimizer and its settings, the values of left-out fields filled in. */
export interface OptimizerSettings {
  /** The optimizer. */
  readonly optimizer: OptimizerName;
  /** Muon's learning rate over the schedule's. */
  readonly muonLrRatio: number;
  /** Muon's Nesterov momentum. */
  readonly muonMomentum: number;
  /** Muon's decoupled weight decay. */
  readonly muonWeightDecay: number;
}

/**
 * The optimizer a training config asks for, with every setting it leaves out at the value that
 * means (the field table's `omittedMeans`).
 *
 * @example
 * ```ts
 * import { optimizerSettings, trainConfig } from "./config.ts";
 * console.assert(optimizerSettings(trainConfig()).optimizer === "adamw");
 * const muon = optimizerSettings(trainConfig({ optimizer: "muon" }));
 * console.assert(muon.muonMomentum === 0.95 && muon.muonLrRatio === 20);
 * ```
 */
export function optimizerSettings(
  config: Pick<TrainConfig, keyof OptimizerSettings>,
): OptimizerSettings {
  const f = trainConfigFields;
  return {
    optimizer: config.optimizer ?? f.optimizer.omittedMeans,
    muonLrRatio: config.muonLrRatio ?? f.muonLrRatio.omittedMeans,
    muonMomentum: config.muonMomentum ?? f.muonMomentum.omittedMeans,
    muonWeightDecay: config.muonWeightDecay ?? f.muonWeightDecay.omittedMeans,
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The MLP hidden width for a config and activation kind: `mlpHidden` if set, else 4·d (unary) or
 * ⅔·4·d rounded up to a multiple of 8 (gated), as `(int(8d/3) + 7) // 8 * 8` in the reference.
 *
 * @example
 * ```ts
 * import { gptConfig, mlpHiddenSize } from "./config.ts";
 * const cfg = gptConfig({ vocabSize: 65 });
 * console.assert(mlpHiddenSize(cfg, "unary") === 512 && mlpHiddenSize(cfg, "gated") === 344);
 * ```
 */
export function mlpHiddenSize(config: GptConfig, kind: "unary" | "gated"): number {
  if (config.mlpHidden !== null) return config.mlpHidden;
  const d = config.nEmbd;
  return kind === "gated" ? Math.ceil(Math.floor((8 * d) / 3) / 8) * 8 : 4 * d;
}
