/**
 * The trainable activation parameters of a GPT as plain numbers: per layer, a scalar's value (and,
 * where the activation stores a raw parameterisation, the value people read: xIELU's α_p, α_n) and
 * a per-channel parameter's summary (mean, sd, min, quartiles, max). A sweep trial records one
 * snapshot per evaluation, so a notebook can plot how the parameters moved during training.
 *
 * @module
 */
import type { Gpt } from "./model.ts";

/** A per-channel parameter of one layer, summarised over its H channels. */
export interface ChannelSummary {
  /** Mean over the channels. */
  readonly mean: number;
  /** Standard deviation over the channels (population, divided by H). */
  readonly sd: number;
  /** Smallest value. */
  readonly min: number;
  /** First quartile (linear interpolation between order statistics). */
  readonly q25: number;
  /** Median. */
  readonly median: number;
  /** Third quartile. */
  readonly q75: number;
  /** Largest value. */
  readonly max: number;
}

/** One layer's activation parameters by name: a scalar's value, a per-channel summary. */
export type LayerActivationParams = Readonly<Record<string, number | ChannelSummary>>;

/** The activation parameters of every layer after `iter` optimizer steps. */
export interface ActivationParamSnapshot {
  /** Steps taken. */
  readonly iter: number;
  /** One entry per layer (`h.0`, `h.1`, …). */
  readonly layers: readonly LayerActivationParams[];
}

/** One tidy row of {@link activationParamRows}: a parameter of a layer at a step. */
export interface ActivationParamRow {
  /** Steps taken. */
  readonly iter: number;
  /** Layer index. */
  readonly layer: number;
  /** Parameter name (`a`, `alpha_p`, `alpha_p_raw`, `w1`, …). */
  readonly param: string;
  /** The scalar's value, or the mean of a per-channel parameter. */
  readonly value: number;
  /** Per-channel parameters: standard deviation over the channels (0 for a scalar). */
  readonly sd: number;
  /** Per-channel parameters: the smallest channel's value (the value for a scalar). */
  readonly min: number;
  /** Per-channel parameters: the largest channel's value (the value for a scalar). */
  readonly max: number;
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Summary of a per-channel parameter's values.
 *
 * @example
 * ```ts
 * import { channelSummary } from "@actlab/actlab/gpt";
 * channelSummary([1, 2, 3, 4]).median; // 2.5
 * ```
 */
export function channelSummary(values: ArrayLike<number>): ChannelSummary {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (values[i] - mean) ** 2 / n;
  const sorted = Float64Array.from(values).sort();
  return {
    mean,
    sd: Math.sqrt(variance),
    min: sorted[0],
    q25: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    q75: quantile(sorted, 0.75),
    max: sorted[n - 1],
  };
}

/**
 * The model's trainable activation parameters per layer, read from its variables (with the
 * ONNX Runtime engine, `trainGpt` writes the weights back before each evaluation). Empty for an
 * activation without trainable parameters. Where a parameter maps a raw value (xIELU's
 * `alpha_p_raw`), the mapped value is reported under its own name (`alpha_p`) as well.
 *
 * @example
 * ```ts ignore
 * import { createGpt, gptConfig } from "@actlab/actlab";
 * import { readActivationParams } from "@actlab/actlab/gpt";
 * const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 65, activation: "xielu" }));
 * (await readActivationParams(model))[0].alpha_p; // 0.8 at init
 * ```
 */
export async function readActivationParams(model: Gpt): Promise<LayerActivationParams[]> {
  const def = model.activation;
  const trainable = def.kind === "unary" ? def.trainable ?? [] : [];
  if (trainable.length === 0) return [];
  const layers: LayerActivationParams[] = [];
  for (let l = 0; l < model.config.nLayer; l++) {
    const layer: Record<string, number | ChannelSummary> = {};
    for (const p of trainable) {
      const v = model.variables.get(`h.${l}.mlp.act.${p.name}`);
      if (v === undefined) throw new Error(`readActivationParams: no h.${l}.mlp.act.${p.name}`);
      const data = await v.data() as Float32Array;
      if (p.shape === "scalar") {
        layer[p.name] = data[0];
        if (p.value) layer[p.value.name] = p.value.of(data[0]);
      } else {
        layer[p.name] = channelSummary(data);
      }
    }
    layers.push(layer);
  }
  return layers;
}

/**
 * Snapshots as tidy rows (iter, layer, param, value, sd, min, max), ready for a table or a plot
 * of each parameter over training, one line per layer.
 *
 * @example
 * ```ts
 * import { activationParamRows } from "@actlab/actlab/gpt";
 * const rows = activationParamRows([{ iter: 0, layers: [{ alpha_p: 0.8 }] }]);
 * rows[0].value; // 0.8
 * ```
 */
export function activationParamRows(
  snapshots: readonly ActivationParamSnapshot[] | undefined,
): ActivationParamRow[] {
  const rows: ActivationParamRow[] = [];
  for (const { iter, layers } of snapshots ?? []) {
    layers.forEach((params, layer) => {
      for (const [param, v] of Object.entries(params)) {
        rows.push(
          typeof v === "number"
            ? { iter, layer, param, value: v, sd: 0, min: v, max: v }
            : { iter, layer, param, value: v.mean, sd: v.sd, min: v.min, max: v.max },
        );
      }
    });
  }
  return rows;
}
