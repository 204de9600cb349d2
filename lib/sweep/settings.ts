/**
 * A sweep's settings: every choice that changes a trial's numbers (preset, steps, evaluation,
 * dataset, training and model overrides, engine, device, threads, the final evaluation, the
 * definitions of registered activations), and the short key they hash to. Trials of different
 * keys never share a folder or a summary.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sha256Hex } from "../core/hash.ts";
import { activationFingerprint } from "../activations/fingerprint.ts";
import { isBuiltinActivation } from "../activations/registry.ts";
import { type OrtProviderChoice, resolveOrtProvider } from "../engine/ort.ts";
import { gptConfig, presets, trainConfig, trainConfigFields } from "../gpt/config.ts";
import { registeredTrainEngine, trainEngineNames } from "../train/train.ts";
import type { SweepOptions } from "./options.ts";
import type { SweepSettings } from "./record.ts";

/** The fields of a settings object that its key covers, in the order they are hashed. */
const KEY_FIELDS = [
  "preset",
  "iters",
  "evalEvery",
  "evalIters",
  "dataset",
  "train",
  "engine",
  "device",
  "threads",
  "finalEval",
  "custom",
  "model",
  "tokenizer",
] as const;

/** Optional fields: hashed only when present, so the keys of sweeps without them never change. */
const OPTIONAL = new Set<string>(["custom", "model", "tokenizer"]);

/** `value` with the keys of every nested object sorted, for a hash that ignores key order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
}

/**
 * The key of settings: 12 hex digits of the SHA-256 of the key fields, in a fixed order, nested
 * objects with sorted keys. Fields other than the key fields (a listing's activations and seeds,
 * the key itself) are ignored.
 *
 * @example
 * ```ts
 * import { settingsKey } from "@actlab/actlab/sweep";
 * const a = await settingsKey({ preset: "nano", train: { learningRate: 3e-3, batchSize: 8 } });
 * const b = await settingsKey({ preset: "nano", train: { batchSize: 8, learningRate: 3e-3 } });
 * console.assert(a === b && a.length === 12);
 * ```
 */
export async function settingsKey(settings: Readonly<Record<string, unknown>>): Promise<string> {
  const fields: Record<string, unknown> = {};
  for (const k of KEY_FIELDS) {
    if (OPTIONAL.has(k) && settings[k] === undefined) continue;
    fields[k] = canonical(settings[k]);
  }
  return (await sha256Hex(new TextEncoder().encode(JSON.stringify(fields)))).slice(0, 12);
}

/**
 * Settings as one line of JSON without the key, for messages that compare two of them.
 *
 * @example
 * ```ts
 * import { describeSettings } from "@actlab/actlab/sweep";
 * describeSettings({ preset: "nano", iters: 800, key: "abc" } as never); // '{"preset":"nano","iters":800}'
 * ```
 */
export function describeSettings(s: SweepSettings): string {
  const out: Record<string, unknown> = {};
  for (const k of KEY_FIELDS) if (s[k] !== undefined) out[k] = s[k];
  return JSON.stringify(out);
}

/**
 * The number of steps a trial of these settings trains (the preset's when `iters` is null).
 *
 * @example
 * ```ts
 * import { settingsIters } from "@actlab/actlab/sweep";
 * settingsIters({ preset: "nano", iters: null, train: {} }); // 2000
 * ```
 */
export function settingsIters(s: Pick<SweepSettings, "iters" | "preset" | "train">): number {
  return s.iters ?? trainConfig({ preset: s.preset }).iters;
}

/**
 * The device a sweep's trials would run on: the active tfjs backend, ONNX Runtime's provider
 * (resolving `auto` as a run would, so a GPU machine and a CPU one never share a key), or what a
 * registered engine says.
 */
async function deviceOf(engine: string, options: SweepOptions): Promise<string> {
  if (engine === "tfjs") return tf.getBackend();
  if (engine === "ort") {
    const choice = (options.engineOptions?.provider ?? "auto") as OrtProviderChoice;
    return (await resolveOrtProvider(choice)).provider;
  }
  const info = registeredTrainEngine(engine);
  return info?.device ? await info.device(options.engineOptions ?? {}) : engine;
}

/**
 * Checks the engine a sweep names against the registry of training engines (built in, or
 * registered with `registerTrainEngine()`); throws an error that lists the known ones.
 *
 * @example
 * ```ts
 * import { checkEngine } from "@actlab/actlab/sweep";
 * checkEngine("ort"); // fine
 * let message = "";
 * try { checkEngine("jax"); } catch (e) { message = (e as Error).message; }
 * console.assert(message.includes("known are tfjs, ort"));
 * ```
 */
export function checkEngine(engine: string): void {
  if (!trainEngineNames().includes(engine)) {
    throw new Error(
      `sweep: unknown engine "${engine}"; known are ${trainEngineNames().join(", ")} ` +
        `(register your own with registerTrainEngine()).`,
    );
  }
}

/**
 * Training overrides without the fields set to what leaving them out means (`optimizer: "adamw"`):
 * the same training, so the same key as a sweep that never named them.
 */
function withoutOmitted(train: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields = trainConfigFields as Readonly<Record<string, { omittedMeans?: unknown }>>;
  return Object.fromEntries(
    Object.entries(train).filter(([k, v]) =>
      fields[k]?.omittedMeans === undefined || fields[k].omittedMeans !== v
    ),
  );
}

/**
 * Checks the model and training overrides against the config tables before anything runs, with
 * errors that name the field: a bad axis value fails here, not in the middle of a grid.
 */
function checkOverrides(options: SweepOptions): void {
  const preset = options.preset ?? "nano";
  if (!(preset in presets)) {
    throw new Error(
      `sweep: unknown preset "${preset}"; presets: ${Object.keys(presets).join(", ")}.`,
    );
  }
  const model = options.model ?? {};
  if ("vocabSize" in model || "activation" in model) {
    throw new Error(
      "sweep: model overrides cannot set vocabSize (it comes from the data) or activation " +
        "(the sweep's activations list sets it).",
    );
  }
  gptConfig({ preset, vocabSize: 65, activation: "relu", ...model });
  trainConfig({
    preset,
    ...(options.train ?? {}),
    ...(options.iters !== undefined ? { iters: options.iters } : {}),
  });
}

/**
 * The settings of a sweep on `dataset` (its name and token count, e.g.
 * `tinyshakespeare:1115394`; `datasetId`) tokenized by `tokenizer` (`tokenizerId`; undefined for
 * characters), with every choice that changes numbers in the key.
 *
 * @example
 * ```ts ignore
 * import { sweepSettings } from "@actlab/actlab/sweep";
 * const s = await sweepSettings("synthetic:6000", { preset: "tiny", engine: "ort" }, ["relu"]);
 * console.log(s.device, s.key); // "cpu", 12 hex digits
 * ```
 */
export async function sweepSettings(
  dataset: string,
  options: SweepOptions,
  activations: readonly string[],
  tokenizer?: string,
): Promise<SweepSettings> {
  const engine = options.engine ?? "tfjs";
  checkEngine(engine);
  checkOverrides(options);
  const device = await deviceOf(engine, options);
  const base: Record<string, unknown> = {
    preset: options.preset ?? "nano",
    iters: options.iters ?? null,
    evalEvery: options.evalEvery ?? null,
    evalIters: options.evalIters ?? null,
    dataset,
    train: canonical(withoutOmitted(options.train ?? {})),
    engine,
    device,
    threads: engine === "ort" ? options.engineOptions?.threads ?? 1 : null,
    finalEval: options.finalEval ?? "split",
  };
  // Only sweeps of registered (not built-in) activations carry definitions, so the keys of
  // built-in sweeps, and the committed results behind them, stay what they were.
  const custom: Record<string, string> = {};
  for (const a of activations.filter((a) => !isBuiltinActivation(a))) {
    custom[a] = await activationFingerprint(a);
  }
  if (Object.keys(custom).length) base.custom = custom;
  const model = options.model ?? {};
  if (Object.keys(model).length) base.model = canonical(model);
  if (tokenizer !== undefined) base.tokenizer = tokenizer;
  const settings = { ...base, key: await settingsKey(base) };
  return settings as unknown as SweepSettings;
}
