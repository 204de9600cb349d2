/**
 * Configuration of the mini-GPT and of its training, with named presets.
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
  /** AdamW decoupled weight decay, applied to 2-D weights only (embeddings and matrices). */
  readonly weightDecay: number;
  /** AdamW β1. */
  readonly beta1: number;
  /** AdamW β2. */
  readonly beta2: number;
  /** AdamW ε. */
  readonly adamEps: number;
  /** Clip the global gradient norm to this value (0 = no clipping). */
  readonly gradClip: number;
  /** Evaluate train and val loss every this many steps (and at the end). 0 = only at the end. */
  readonly evalEvery: number;
  /** Batches averaged per evaluation and split. */
  readonly evalIters: number;
  /** Seed of the weight init, the batches and dropout. */
  readonly seed: number;
}

/** Names of the presets. */
export type PresetName = "nano" | "tiny";

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
 * The presets. `nano` is nanoGPT's shakespeare_char CPU recipe (context 64, batch 12, 4 layers,
 * 4 heads, 128 wide, dropout 0, no biases, tied embeddings; AdamW lr 1e-3, β2 0.99, wd 0.1,
 * 100 warmup steps, cosine to 1e-4, clip 1.0, 2000 iterations). `tiny` is for tests: small enough
 * to train a few hundred steps in seconds.
 *
 * @example
 * ```ts
 * import { presets } from "./config.ts";
 * console.assert(presets.nano.model.blockSize === 64 && presets.nano.train.batchSize === 12);
 * ```
 */
export const presets: Readonly<Record<PresetName, Preset>> = Object.freeze({
  nano: {
    description: "nanoGPT shakespeare_char CPU recipe: 4 layers, 4 heads, 128 wide, context 64",
    model: {
      blockSize: 64,
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      activation: "gelu",
      mlpHidden: null,
      dropout: 0,
      bias: false,
      tiedEmbeddings: true,
      layerNormEps: 1e-5,
      initStd: 0.02,
    },
    train: {
      iters: 2000,
      batchSize: 12,
      learningRate: 1e-3,
      minLearningRate: 1e-4,
      warmupIters: 100,
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.99,
      adamEps: 1e-8,
      gradClip: 1,
      evalEvery: 250,
      evalIters: 20,
      seed: 1337,
    },
  },
  tiny: {
    description: "for tests: 2 layers, 2 heads, 32 wide, context 16, batch 4",
    model: {
      blockSize: 16,
      nLayer: 2,
      nHead: 2,
      nEmbd: 32,
      activation: "gelu",
      mlpHidden: null,
      dropout: 0,
      bias: false,
      tiedEmbeddings: true,
      layerNormEps: 1e-5,
      initStd: 0.02,
    },
    train: {
      iters: 200,
      batchSize: 4,
      learningRate: 3e-3,
      minLearningRate: 3e-4,
      warmupIters: 10,
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.99,
      adamEps: 1e-8,
      gradClip: 1,
      evalEvery: 50,
      evalIters: 4,
      seed: 1337,
    },
  },
});

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

function checkInt(where: string, key: string, v: unknown, min: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${where}: ${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
}

function checkNumber(where: string, key: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== "number" || !(v >= lo && v <= hi)) {
    throw new RangeError(
      `${where}: ${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`,
    );
  }
}

/** Options of {@link gptConfig}: any config fields, plus the preset they go over. */
export type GptConfigOptions = Partial<GptConfig> & { readonly preset?: PresetName };

const GPT_KEYS = [
  "vocabSize",
  "blockSize",
  "nLayer",
  "nHead",
  "nEmbd",
  "activation",
  "mlpHidden",
  "dropout",
  "bias",
  "tiedEmbeddings",
  "layerNormEps",
  "initStd",
] as const;

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
  checkInt(where, "vocabSize", cfg.vocabSize, 2);
  checkInt(where, "blockSize", cfg.blockSize, 1);
  checkInt(where, "nLayer", cfg.nLayer, 1);
  checkInt(where, "nHead", cfg.nHead, 1);
  checkInt(where, "nEmbd", cfg.nEmbd, 1);
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new RangeError(
      `${where}: nHead (${cfg.nHead}) must divide nEmbd (${cfg.nEmbd}) so that heads have equal size`,
    );
  }
  if (typeof cfg.activation !== "string" || cfg.activation === "") {
    throw new TypeError(
      `${where}: activation must be a registry name, got ${JSON.stringify(cfg.activation)}`,
    );
  }
  if (cfg.mlpHidden !== null) checkInt(where, "mlpHidden", cfg.mlpHidden, 1);
  checkNumber(where, "dropout", cfg.dropout, 0, 0.99);
  if (typeof cfg.bias !== "boolean") throw new TypeError(`${where}: bias must be a boolean`);
  if (typeof cfg.tiedEmbeddings !== "boolean") {
    throw new TypeError(`${where}: tiedEmbeddings must be a boolean`);
  }
  checkNumber(where, "layerNormEps", cfg.layerNormEps, 0, 1);
  checkNumber(where, "initStd", cfg.initStd, 0, 10);
  return Object.freeze({ ...cfg });
}

/** Options of {@link trainConfig}: any training fields, plus the preset they go over. */
export type TrainConfigOptions = Partial<TrainConfig> & { readonly preset?: PresetName };

const TRAIN_KEYS = [
  "iters",
  "batchSize",
  "learningRate",
  "minLearningRate",
  "warmupIters",
  "weightDecay",
  "beta1",
  "beta2",
  "adamEps",
  "gradClip",
  "evalEvery",
  "evalIters",
  "seed",
] as const;

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
  checkInt(where, "iters", cfg.iters, 0);
  checkInt(where, "batchSize", cfg.batchSize, 1);
  checkNumber(where, "learningRate", cfg.learningRate, 0, 10);
  if (cfg.minLearningRate !== null) {
    checkNumber(where, "minLearningRate", cfg.minLearningRate, 0, cfg.learningRate);
  }
  checkInt(where, "warmupIters", cfg.warmupIters, 0);
  checkNumber(where, "weightDecay", cfg.weightDecay, 0, 10);
  checkNumber(where, "beta1", cfg.beta1, 0, 0.999999);
  checkNumber(where, "beta2", cfg.beta2, 0, 0.999999);
  checkNumber(where, "adamEps", cfg.adamEps, 0, 1);
  checkNumber(where, "gradClip", cfg.gradClip, 0, Infinity);
  checkInt(where, "evalEvery", cfg.evalEvery, 0);
  checkInt(where, "evalIters", cfg.evalIters, 1);
  if (!Number.isSafeInteger(cfg.seed)) {
    throw new RangeError(`${where}: seed must be an integer, got ${JSON.stringify(cfg.seed)}`);
  }
  return Object.freeze(cfg);
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
