/**
 * What the MLP activations of a trained mini-GPT look like: an {@link Ops} decorator that records
 * every activation call's input and output, per-layer statistics and dead-unit rates, and the
 * sparsity a ReLU-family MLP offers a sparse down-projection kernel in the forward pass, as a share
 * of the down projection, of the MLP and of the whole model's forward FLOPs. Plain data; never
 * draws.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sampleBatch } from "../core/batches.ts";
import { createRng } from "../core/rng.ts";
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";
import type { GptConfig } from "../gpt/config.ts";
import { type ForwardFlopsOptions, forwardFlopsPerToken } from "../gpt/flops.ts";
import { type Gpt, gptForward } from "../gpt/model.ts";
import type { Ops } from "../gpt/ops.ts";
import { tfjsOps } from "../gpt/tfjs_ops.ts";

/** One activation call inside the model, flattened to [tokens, H]. */
export interface MlpActivationRecord {
  /** Block index (the order of the calls in one forward pass). */
  readonly layer: number;
  /** Activation name. */
  readonly activation: string;
  /** Tokens N (B·T). */
  readonly tokens: number;
  /** Hidden units H. */
  readonly units: number;
  /** The pre-activation [N·H], row-major (gated: the gate). */
  readonly input: Float32Array;
  /** The value branch of a gated activation [N·H]; absent for unary. */
  readonly value?: Float32Array;
  /** The activation output [N·H] (the input of the down projection). */
  readonly output: Float32Array;
}

/**
 * Wraps an {@link Ops} so that every `activation` / `gatedActivation` call also keeps copies of its
 * inputs and output; `await collect()` reads them back (asynchronously: `dataSync` fails on WebGPU
 * under Deno, which has no canvas) into `records`, in call order, and frees the copies. `layer`
 * counts calls modulo `layers` when given. For analysis, not training.
 *
 * @example
 * ```ts ignore
 * import { gptForward, tfjsOps } from "@actlab/actlab/gpt";
 * import { recordingOps } from "@actlab/actlab/experiments";
 * const { ops, records, collect } = recordingOps(tfjsOps());
 * tf.tidy(() => gptForward(ops, model.params, model.config, model.activation, ids));
 * await collect();
 * records.map((r) => r.layer); // [0, 1, 2, 3]
 * ```
 */
export function recordingOps(
  base: Ops<tf.Tensor>,
  options: { readonly layers?: number } = {},
): {
  ops: Ops<tf.Tensor>;
  records: MlpActivationRecord[];
  collect(): Promise<MlpActivationRecord[]>;
} {
  const records: MlpActivationRecord[] = [];
  const pending: {
    meta: Omit<MlpActivationRecord, "input" | "output" | "value">;
    input: tf.Tensor;
    value?: tf.Tensor;
    output: tf.Tensor;
  }[] = [];
  const layerOf = () => {
    const n = records.length + pending.length;
    return options.layers ? n % options.layers : n;
  };
  const keep = (t: tf.Tensor) => tf.keep(t.clone()); // survives the caller's tidy
  const shape = (t: tf.Tensor) => {
    const units = t.shape[t.rank - 1];
    return { tokens: t.size / units, units };
  };
  const ops: Ops<tf.Tensor> = Object.create(base);
  Object.assign(ops, {
    activation(def: UnaryActivation, x: tf.Tensor) {
      const y = base.activation(def, x);
      pending.push({
        meta: { layer: layerOf(), activation: def.name, ...shape(x) },
        input: keep(x),
        output: keep(y),
      });
      return y;
    },
    gatedActivation(def: GatedActivation, gate: tf.Tensor, value: tf.Tensor) {
      const y = base.gatedActivation(def, gate, value);
      pending.push({
        meta: { layer: layerOf(), activation: def.name, ...shape(gate) },
        input: keep(gate),
        value: keep(value),
        output: keep(y),
      });
      return y;
    },
  });
  const read = async (t: tf.Tensor) => new Float32Array(await t.data() as Float32Array);
  const collect = async () => {
    for (const p of pending.splice(0)) {
      try {
        records.push({
          ...p.meta,
          input: await read(p.input),
          ...(p.value ? { value: await read(p.value) } : {}),
          output: await read(p.output),
        });
      } finally {
        tf.dispose([p.input, p.output, ...(p.value ? [p.value] : [])]);
      }
    }
    return records;
  };
  return { ops, records, collect };
}

/** Options of {@link captureMlpActivations}. */
export interface CaptureOptions {
  /** Sequences in the batch. Default 16. */
  readonly batchSize?: number;
  /** Sequence length. Default the model's blockSize. */
  readonly blockSize?: number;
  /** Seed of the batch positions. Default 0. */
  readonly seed?: number;
}

/**
 * Runs `model` on one seeded batch of token ids from `data` (e.g. the validation split) and
 * returns the MLP activation records, one per block.
 *
 * @example
 * ```ts ignore
 * import { captureMlpActivations, layerActivationStats } from "@actlab/actlab";
 * const records = await captureMlpActivations(model, dataset.val, { batchSize: 16 });
 * layerActivationStats(records); // a row per layer
 * ```
 */
export async function captureMlpActivations(
  model: Gpt,
  data: Int32Array,
  options: CaptureOptions = {},
): Promise<MlpActivationRecord[]> {
  const blockSize = options.blockSize ?? model.config.blockSize;
  const batchSize = options.batchSize ?? 16;
  if (data.length <= blockSize + 1) {
    throw new RangeError(
      `captureMlpActivations: ${data.length} tokens cannot fill a sequence of ${blockSize}; ` +
        `pass more data or a smaller blockSize`,
    );
  }
  const batch = sampleBatch(data, { batchSize, blockSize }, createRng(options.seed ?? 0));
  const { ops, collect } = recordingOps(tfjsOps(), { layers: model.config.nLayer });
  tf.tidy(() => {
    const ids = tf.tensor2d(batch.x, [batchSize, blockSize], "int32");
    gptForward(ops, model.params, model.config, model.activation, ids);
  });
  return await collect();
}

/** Per-layer statistics of MLP activations. */
export interface LayerActivationStats {
  /** Block index. */
  readonly layer: number;
  /** Activation name. */
  readonly activation: string;
  /** Tokens in the record. */
  readonly tokens: number;
  /** Hidden units in the record. */
  readonly units: number;
  /** Mean of the pre-activation (gated: the gate). */
  readonly inputMean: number;
  /** Standard deviation of the pre-activation (gated: the gate). */
  readonly inputStd: number;
  /** Mean of the output. */
  readonly mean: number;
  /** Standard deviation of the output. */
  readonly std: number;
  /** max |output|. */
  readonly maxAbs: number;
  /** Fraction of outputs exactly 0. */
  readonly zeroFraction: number;
  /** Fraction of outputs below 0. */
  readonly negativeFraction: number;
  /** Fraction of outputs with |h| ≤ `nearZero` (default 1e-3): what a threshold could skip. */
  readonly nearZeroFraction: number;
  /**
   * Fraction of units whose pre-activation (gated: gate) is never positive over the batch: dead
   * for ReLU (output and gradient always 0), nearly so for the smooth ones.
   */
  readonly deadUnitFraction: number;
}

/**
 * Statistics per layer of recorded MLP activations: input and output moments, exact-zero,
 * negative and near-zero fractions, and the dead-unit rate (units never positive over the batch).
 *
 * @example
 * ```ts
 * import { layerActivationStats } from "@actlab/actlab";
 * const rec = {
 *   layer: 0, activation: "relu", tokens: 2, units: 2,
 *   input: new Float32Array([-1, 2, -3, 4]), output: new Float32Array([0, 2, 0, 4]),
 * };
 * const [s] = layerActivationStats([rec]);
 * console.assert(s.zeroFraction === 0.5 && s.deadUnitFraction === 0.5); // unit 0 never > 0
 * ```
 */
export function layerActivationStats(
  records: readonly MlpActivationRecord[],
  options: { readonly nearZero?: number } = {},
): LayerActivationStats[] {
  const eps = options.nearZero ?? 1e-3;
  return records.map((r) => {
    const { input: x, output: y, tokens: n, units: h } = r;
    let sx = 0, sxx = 0, sy = 0, syy = 0, maxAbs = 0, zeros = 0, neg = 0, near = 0;
    for (let i = 0; i < y.length; i++) {
      sx += x[i];
      sxx += x[i] * x[i];
      const v = y[i];
      sy += v;
      syy += v * v;
      const a = Math.abs(v);
      if (a > maxAbs) maxAbs = a;
      if (v === 0) zeros++;
      if (v < 0) neg++;
      if (a <= eps) near++;
    }
    let dead = 0;
    for (let j = 0; j < h; j++) {
      let alive = false;
      for (let t = 0; t < n && !alive; t++) alive = x[t * h + j] > 0;
      if (!alive) dead++;
    }
    const m = y.length;
    const mx = sx / m, my = sy / m;
    return {
      layer: r.layer,
      activation: r.activation,
      tokens: n,
      units: h,
      inputMean: mx,
      inputStd: Math.sqrt(Math.max(0, sxx / m - mx * mx)),
      mean: my,
      std: Math.sqrt(Math.max(0, syy / m - my * my)),
      maxAbs,
      zeroFraction: zeros / m,
      negativeFraction: neg / m,
      nearZeroFraction: near / m,
      deadUnitFraction: dead / h,
    };
  });
}

/** Sparsity of one MLP layer and what a sparse down projection could skip. */
export interface MlpSparsity {
  /** Block index. */
  readonly layer: number;
  /** Activation name. */
  readonly activation: string;
  /** Fraction of activation outputs exactly zero. */
  readonly zeroFraction: number;
  /**
   * Fraction of the down projection's forward multiply-adds (N·H·C) whose activation input is
   * zero: what an unstructured sparse kernel skips in the forward pass. Equal to `zeroFraction`.
   */
  readonly downSkippable: number;
  /**
   * The same saving as a fraction of the whole MLP's multiply-adds (up projection C·H, or C·2H
   * gated, plus down projection H·C).
   */
  readonly mlpSkippable: number;
  /** Fraction of hidden units zero for every token of the batch (skippable by a dense kernel). */
  readonly unitSkippable: number;
  /** Mean over tokens of the fraction of units active (non-zero). */
  readonly activePerToken: number;
  /** Fraction of tiles of `tile` consecutive units × 1 token that are all zero (block sparsity). */
  readonly tileSkippable: number;
}

/**
 * Sparsity of recorded MLP activations per layer: exact-zero fractions and the fraction of the
 * down-projection (and whole-MLP) FLOPs a sparse kernel could skip, unstructured, per unit
 * (zero for the whole batch) and in tiles of `tile` units (default 8; the granularity a SIMD
 * kernel skips at).
 *
 * @example
 * ```ts
 * import { mlpSparsity } from "@actlab/actlab";
 * const rec = {
 *   layer: 0, activation: "relu", tokens: 2, units: 2,
 *   input: new Float32Array([-1, 2, -3, 4]), output: new Float32Array([0, 2, 0, 4]),
 * };
 * const [s] = mlpSparsity([rec], { tile: 1 });
 * console.assert(s.downSkippable === 0.5 && s.mlpSkippable === 0.25 && s.unitSkippable === 0.5);
 * ```
 */
export function mlpSparsity(
  records: readonly MlpActivationRecord[],
  options: { readonly tile?: number } = {},
): MlpSparsity[] {
  const tile = options.tile ?? 8;
  if (!(tile >= 1) || !Number.isInteger(tile)) {
    throw new RangeError(`mlpSparsity: tile must be a positive integer, got ${tile}`);
  }
  return records.map((r) => {
    const { output: y, tokens: n, units: h } = r;
    let zeros = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === 0) zeros++;
    let deadUnits = 0;
    for (let j = 0; j < h; j++) {
      let allZero = true;
      for (let t = 0; t < n && allZero; t++) allZero = y[t * h + j] === 0;
      if (allZero) deadUnits++;
    }
    let tiles = 0, zeroTiles = 0;
    for (let t = 0; t < n; t++) {
      for (let j0 = 0; j0 < h; j0 += tile) {
        tiles++;
        let allZero = true;
        for (let j = j0; j < Math.min(h, j0 + tile) && allZero; j++) allZero = y[t * h + j] === 0;
        if (allZero) zeroTiles++;
      }
    }
    const z = zeros / y.length;
    const upShare = r.value ? 2 : 1; // up projection width relative to H
    return {
      layer: r.layer,
      activation: r.activation,
      zeroFraction: z,
      downSkippable: z,
      mlpSkippable: z / (upShare + 1),
      unitSkippable: deadUnits / h,
      activePerToken: 1 - z,
      tileSkippable: zeroTiles / tiles,
    };
  });
}

export { forwardFlopsPerToken } from "../gpt/flops.ts";
export type { ForwardFlops, ForwardFlopsOptions } from "../gpt/flops.ts";

/**
 * The share of the whole model's forward FLOPs that a sparse down projection could skip: the
 * skipped multiply-adds Σ over layers of `downSkippable`·H·C, over {@link forwardFlopsPerToken}'s
 * total (at the config's context unless `options.context` says otherwise). `sparsity` must hold one row per
 * layer of one forward pass (what {@link mlpSparsity} returns for {@link captureMlpActivations}'s
 * records).
 *
 * Forward pass only. The backward pass has its own sparsity, not counted here: the down
 * projection's weight gradient dW = hᵀ·dY can skip the same zero entries of h (as many
 * multiply-adds as the forward skips); its input gradient dh = dY·Wᵀ cannot skip on that basis,
 * since dY has no zeros — only a kernel that computes just the entries the activation's derivative
 * keeps (for relu-family units f′ = 0 where h = 0) could; the up projection's gradients then see
 * the masked pre-activation gradient, whose zeros are where f′ = 0.
 *
 * @example
 * ```ts
 * import { forwardFlopsPerToken, modelSkippableShare } from "@actlab/actlab";
 * import { gptConfig } from "@actlab/actlab/gpt";
 * const config = gptConfig({ preset: "tiny", vocabSize: 65, activation: "relu" });
 * const rows = [0, 1].map((layer) => ({ layer, downSkippable: 0.5 }));
 * const f = forwardFlopsPerToken(config);
 * console.assert(modelSkippableShare(rows, config) === 0.5 * f.mlpDown / f.total);
 * ```
 */
export function modelSkippableShare(
  sparsity: readonly Pick<MlpSparsity, "layer" | "downSkippable">[],
  config: GptConfig,
  options: ForwardFlopsOptions = {},
): number {
  const layers = new Set(sparsity.map((s) => s.layer));
  if (sparsity.length !== config.nLayer || layers.size !== config.nLayer) {
    throw new RangeError(
      `modelSkippableShare: need one row per layer (${config.nLayer}), got ${sparsity.length} ` +
        `rows for layers ${[...layers].join(", ")}`,
    );
  }
  const f = forwardFlopsPerToken(config, options);
  const perLayerDown = f.mlpDown / config.nLayer;
  let skipped = 0;
  for (const s of sparsity) skipped += s.downSkippable * perLayerDown;
  return skipped / f.total;
}
