/**
 * Low-precision emulation: rounding to bf16, fp16 and the two OCP fp8 formats (e4m3, e5m2) in
 * float64 arithmetic, the activation error each format causes, and how gated MLPs amplify input
 * outliers (and with them the error of a per-tensor-scaled fp8 cast). Plain data; never draws.
 *
 * Rounding rules (all formats): round to nearest, ties to even, with subnormals (gradual
 * underflow); NaN stays NaN; the sign of zero is kept.
 * Overflow (a rounded magnitude above the largest finite value):
 * - `fp32`, `bf16`, `fp16` and `fp8_e5m2` (IEEE-style, with infinities): ±Infinity, as IEEE 754
 *   round-to-nearest does — the threshold is max + ½ ulp(max) (65,520 for fp16, 61,440 for e5m2).
 * - `fp8_e4m3` (OCP "E4M3FN": no infinities, max 448, one NaN pattern): NaN, as PyTorch's
 *   `.to(torch.float8_e4m3fn)` does; the threshold is 464 (448 + ½ ulp; 464 itself rounds to 448).
 * - `overflow: "saturate"` clamps to ±max instead, for every format (the OCP spec's saturating
 *   conversion, which fp8 training recipes use after scaling).
 *
 * @module
 */
import { createRng } from "../core/rng.ts";
import { type ActivationRef, resolveActivationRef } from "./_ref.ts";

/** A floating-point storage format. */
export type FloatFormat = "fp32" | "bf16" | "fp16" | "fp8_e4m3" | "fp8_e5m2";

/** The parameters of a {@link FloatFormat}. */
export interface FormatSpec {
  /** Format name. */
  readonly name: FloatFormat;
  /** Exponent bits. */
  readonly exponentBits: number;
  /** Explicit mantissa bits. */
  readonly mantissaBits: number;
  /** Exponent of the smallest normal number (1 − bias). */
  readonly minExponent: number;
  /** The largest finite value. */
  readonly max: number;
  /** Whether the format has infinities (else overflow gives NaN unless saturating). */
  readonly hasInfinity: boolean;
  /** The smallest positive subnormal. */
  readonly minSubnormal: number;
  /** Unit roundoff 2^−(mantissaBits+1): the largest relative rounding error of a normal number. */
  readonly unitRoundoff: number;
}

function spec(
  name: FloatFormat,
  exponentBits: number,
  mantissaBits: number,
  bias: number,
  max: number,
  hasInfinity: boolean,
): FormatSpec {
  const minExponent = 1 - bias;
  return {
    name,
    exponentBits,
    mantissaBits,
    minExponent,
    max,
    hasInfinity,
    minSubnormal: 2 ** (minExponent - mantissaBits),
    unitRoundoff: 2 ** -(mantissaBits + 1),
  };
}

/**
 * The formats: exponent/mantissa bits, range and unit roundoff.
 *
 * @example
 * ```ts
 * import { FLOAT_FORMATS } from "@actlab/actlab";
 * console.assert(FLOAT_FORMATS.fp8_e4m3.max === 448 && FLOAT_FORMATS.fp16.max === 65504);
 * ```
 */
export const FLOAT_FORMATS: Readonly<Record<FloatFormat, FormatSpec>> = Object.freeze({
  fp32: spec("fp32", 8, 23, 127, (2 - 2 ** -23) * 2 ** 127, true),
  bf16: spec("bf16", 8, 7, 127, (2 - 2 ** -7) * 2 ** 127, true),
  fp16: spec("fp16", 5, 10, 15, 65504, true),
  fp8_e4m3: spec("fp8_e4m3", 4, 3, 7, 448, false),
  fp8_e5m2: spec("fp8_e5m2", 5, 2, 15, 57344, true),
});

/** What a value beyond the format's range becomes. */
export type OverflowMode = "ieee" | "saturate";

/** Options of {@link roundToFormat} and {@link quantize}. */
export interface RoundOptions {
  /**
   * `"ieee"` (default): ±Infinity where the format has infinities, NaN for fp8_e4m3;
   * `"saturate"`: ±max.
   */
  readonly overflow?: OverflowMode;
}

function formatSpec(format: FloatFormat): FormatSpec {
  const s = FLOAT_FORMATS[format];
  if (!s) {
    throw new Error(
      `Unknown float format "${format}"; known: ${Object.keys(FLOAT_FORMATS).join(", ")}`,
    );
  }
  return s;
}

/** Round half to even of a float64 that is an integer + fraction. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Rounds a number to the nearest value of `format` (ties to even, subnormals kept; overflow as
 * described in the module documentation).
 *
 * @example
 * ```ts
 * import { roundToFormat } from "@actlab/actlab";
 * roundToFormat(1 + 2 ** -8, "bf16"); // 1 (a tie: rounds to the even neighbour)
 * roundToFormat(464, "fp8_e4m3"); // 448 (a tie between 448 and 480; 480 does not exist)
 * roundToFormat(465, "fp8_e4m3"); // NaN (E4M3FN has no infinity)
 * roundToFormat(465, "fp8_e4m3", { overflow: "saturate" }); // 448
 * roundToFormat(70000, "fp16"); // Infinity
 * ```
 */
export function roundToFormat(x: number, format: FloatFormat, options: RoundOptions = {}): number {
  const s = formatSpec(format);
  if (format === "fp32") {
    const r = Math.fround(x);
    if (!Number.isFinite(r) && Number.isFinite(x) && options.overflow === "saturate") {
      return Math.sign(x) * s.max;
    }
    return r;
  }
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  let r: number;
  if (a === Infinity) r = Infinity;
  else {
    // log2 can be off by one near powers of two; fix the exponent exactly.
    let exp = Math.floor(Math.log2(a));
    if (2 ** exp > a) exp--;
    if (2 ** (exp + 1) <= a) exp++;
    const quantum = 2 ** (Math.max(exp, s.minExponent) - s.mantissaBits); // subnormals below
    r = roundHalfEven(a / quantum) * quantum;
  }
  if (r > s.max) {
    if (options.overflow === "saturate") r = s.max;
    else if (s.hasInfinity) r = Infinity;
    else return NaN;
  }
  return x < 0 ? -r : r;
}

/**
 * {@link roundToFormat} over an array; returns a new Float64Array. With `scale`, values are
 * divided by it before rounding and multiplied back after (per-tensor scaling, as fp8 recipes do).
 *
 * @example
 * ```ts
 * import { quantize } from "@actlab/actlab/experiments";
 * const q = quantize([0.1, 1000, -3], "fp8_e4m3", { overflow: "saturate" });
 * console.assert(q[1] === 448 && q[2] === -3);
 * ```
 */
export function quantize(
  values: ArrayLike<number>,
  format: FloatFormat,
  options: RoundOptions & { readonly scale?: number } = {},
): Float64Array {
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new RangeError(`quantize: scale must be a positive finite number, got ${scale}`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = roundToFormat(values[i] / scale, format, options) * scale;
  }
  return out;
}

/** Where the rounding happens in {@link precisionError}. */
export type RoundingSite = "input" | "output" | "both";

/** Error of one activation under one format. */
export interface PrecisionErrorRow {
  /** Activation name. */
  readonly activation: string;
  /** The storage format. */
  readonly format: FloatFormat;
  /** Where values were rounded. */
  readonly site: RoundingSite;
  /** max |got − want| / max(1, |want|) over the grid (the README's accuracy metric). */
  readonly maxError: number;
  /** The input where `maxError` occurs. */
  readonly worstInput: number;
  /** Mean |got − want| over the grid. */
  readonly meanAbsError: number;
  /** max |got − want| / |want| over points with |want| ≥ 1e-3: the relative error. */
  readonly maxRelError: number;
  /** Grid points. */
  readonly points: number;
}

/** Options of {@link precisionError}. */
export interface PrecisionOptions {
  /** Input range. Default [−8, 8]. */
  readonly range?: readonly [number, number];
  /** Grid points (inputs are float32 values of an even grid). Default 4,001. */
  readonly points?: number;
  /** Rounding site(s). Default all three. */
  readonly sites?: readonly RoundingSite[];
  /** Overflow handling. Default "ieee". */
  readonly overflow?: OverflowMode;
}

/**
 * The error of computing activations with values stored in a low-precision format, against the
 * float64 reference at the same (float32) inputs: `"input"` rounds x to the format before the
 * exact activation (what storing pre-activations in bf16 does), `"output"` rounds the exact result
 * (a kernel computing in float32 and storing bf16), `"both"` does both. Gated activations take the
 * grid as gate with value 1.
 *
 * @example
 * ```ts
 * import { precisionError } from "@actlab/actlab";
 * const rows = precisionError(["gelu"], ["bf16"], { sites: ["output"] });
 * console.assert(rows[0].maxRelError <= 2 ** -8); // bf16's unit roundoff
 * ```
 */
export function precisionError(
  activations: readonly ActivationRef[],
  formats: readonly FloatFormat[],
  options: PrecisionOptions = {},
): PrecisionErrorRow[] {
  const [lo, hi] = options.range ?? [-8, 8];
  const n = options.points ?? 4001;
  if (!(n >= 2) || !(hi > lo)) {
    throw new RangeError(
      `precisionError: need points ≥ 2 and range hi > lo, got ${n}, [${lo}, ${hi}]`,
    );
  }
  const sites = options.sites ?? ["input", "output", "both"];
  const opts = { overflow: options.overflow };
  const xs = Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
  const rows: PrecisionErrorRow[] = [];
  for (const act of activations) {
    const def = resolveActivationRef(act);
    const f = def.kind === "unary" ? def.reference : (x: number) => def.reference(x, 1);
    const want = xs.map((x) => f(x));
    for (const format of formats) {
      for (const site of sites) {
        let maxError = 0, worst = NaN, sumAbs = 0, maxRel = 0;
        for (let i = 0; i < n; i++) {
          const xin = site === "output" ? xs[i] : roundToFormat(xs[i], format, opts);
          let y = f(xin);
          if (site !== "input") y = roundToFormat(y, format, opts);
          const d = Math.abs(y - want[i]);
          const err = d / Math.max(1, Math.abs(want[i]));
          if (!(err <= maxError)) { // NaN counts as the worst
            maxError = err;
            worst = xs[i];
          }
          sumAbs += d;
          if (Math.abs(want[i]) >= 1e-3) maxRel = Math.max(maxRel, d / Math.abs(want[i]));
        }
        rows.push({
          activation: def.name,
          format,
          site,
          maxError,
          worstInput: worst,
          meanAbsError: sumAbs / n,
          maxRelError: maxRel,
          points: n,
        });
      }
    }
  }
  return rows;
}

/** Formats of {@link scaledCastStats} and {@link outlierAmplification} when none are given. */
const DEFAULT_CAST_FORMATS: readonly FloatFormat[] = ["fp8_e4m3", "fp8_e5m2"];

/** What a per-tensor absmax-scaled cast does to a tensor, from {@link scaledCastStats}. */
export interface ScaledCastStats {
  /** max |h| over all entries: what the per-tensor scale maps to the format's max. */
  readonly maxAbs: number;
  /** RMS of h over the measured entries. */
  readonly rms: number;
  /** maxAbs / rms (the crest factor): the dynamic range a per-tensor scale must cover. */
  readonly crest: number;
  /**
   * Relative RMS error on the measured entries after casting h to the format with a per-tensor
   * absmax scale (max |h| ↦ the format's max, saturating), one entry per format.
   */
  readonly scaledError: Readonly<Partial<Record<FloatFormat, number>>>;
  /**
   * Fraction of the measured entries that are non-zero but that the scaled cast flushes to zero,
   * per format (entries below half the format's smallest subnormal after scaling).
   */
  readonly flushedToZero: Readonly<Partial<Record<FloatFormat, number>>>;
  /**
   * The same relative RMS error for symmetric int8 with a per-tensor absmax scale
   * (round(h / (max|h| / 127))): integer grids lose precision in proportion to the crest.
   */
  readonly int8Error: number;
}

/** Options of {@link scaledCastStats}. */
export interface ScaledCastOptions {
  /** Formats of the scaled cast. Default fp8_e4m3, fp8_e5m2. */
  readonly formats?: readonly FloatFormat[];
  /**
   * Which entries the RMS, the errors and the flush fractions are measured on (default: all).
   * The scale always comes from every entry, as a per-tensor cast's does.
   */
  readonly measure?: (index: number) => boolean;
}

/**
 * The crest factor of a tensor and the error of casting it with one per-tensor absmax scale: to
 * each fp8 format (saturating; relative RMS error and the share flushed to zero) and to symmetric
 * int8. The scale is set by max |h| over all entries; the RMS and the errors are measured on the
 * entries `measure` selects (e.g. the ordinary tokens, leaving out the outliers that set the
 * scale).
 *
 * @example
 * ```ts
 * import { scaledCastStats } from "@actlab/actlab";
 * // max 448 ↦ e4m3's max (scale 1); 0.0009 is below half e4m3's smallest subnormal 2⁻⁹: flushed
 * const s = scaledCastStats([448, 1, -1, 0.0009], { measure: (i) => i > 0 });
 * console.assert(s.flushedToZero.fp8_e4m3 === 1 / 3 && s.flushedToZero.fp8_e5m2 === 0);
 * console.assert(Math.abs(s.crest - 448 / Math.sqrt((1 + 1 + 0.0009 ** 2) / 3)) < 1e-9);
 * ```
 */
export function scaledCastStats(
  values: ArrayLike<number>,
  options: ScaledCastOptions = {},
): ScaledCastStats {
  const formats = options.formats ?? DEFAULT_CAST_FORMATS;
  const measure = options.measure ?? (() => true);
  const n = values.length;
  const measured = new Uint8Array(n);
  let maxAbs = 0, ss = 0, count = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    maxAbs = Math.max(maxAbs, Math.abs(v));
    if (measure(i)) {
      measured[i] = 1;
      ss += v * v;
      count++;
    }
  }
  if (count === 0) throw new RangeError("scaledCastStats: no entry is measured");
  const rms = Math.sqrt(ss / count);
  const scaledError: Partial<Record<FloatFormat, number>> = {};
  const flushedToZero: Partial<Record<FloatFormat, number>> = {};
  for (const format of formats) {
    const scale = maxAbs > 0 ? maxAbs / formatSpec(format).max : 1;
    let es = 0, zeros = 0;
    for (let i = 0; i < n; i++) {
      if (!measured[i]) continue;
      const v = values[i];
      const q = roundToFormat(v / scale, format, { overflow: "saturate" }) * scale;
      es += (q - v) ** 2;
      if (q === 0 && v !== 0) zeros++;
    }
    scaledError[format] = rms > 0 ? Math.sqrt(es / count) / rms : 0;
    flushedToZero[format] = zeros / count;
  }
  const step = maxAbs > 0 ? maxAbs / 127 : 1;
  let ei = 0;
  for (let i = 0; i < n; i++) {
    if (!measured[i]) continue;
    const v = values[i];
    ei += (roundHalfEven(v / step) * step - v) ** 2;
  }
  return {
    maxAbs,
    rms,
    crest: rms > 0 ? maxAbs / rms : NaN,
    scaledError,
    flushedToZero,
    int8Error: rms > 0 ? Math.sqrt(ei / count) / rms : 0,
  };
}

/**
 * One activation at one outlier magnitude, in {@link outlierAmplification}: the
 * {@link ScaledCastStats} of h (the activation output, the input of the down projection) with the
 * RMS and errors measured on the ordinary (non-outlier) tokens, plus the pre-activation's crest.
 */
export interface OutlierRow extends ScaledCastStats {
  /** Activation name. */
  readonly activation: string;
  /** Magnitude of the outlier channel in the residual stream (ordinary channels are N(0, 1)). */
  readonly outlier: number;
  /**
   * max |a| over all tokens / RMS of a over the ordinary tokens, a the pre-activation (gated: the
   * gate): how much of the outlier reaches the MLP before the activation acts on it.
   */
  readonly preCrest: number;
}

/** Options of {@link outlierAmplification}. */
export interface OutlierOptions {
  /** Outlier magnitudes to try. Default [1, 10, 30, 100, 300]. */
  readonly outliers?: readonly number[];
  /** Tokens. Default 512. */
  readonly tokens?: number;
  /** Model width d. Default 64. */
  readonly width?: number;
  /** MLP hidden width H. Default 256. */
  readonly hidden?: number;
  /** Every `every`-th token carries the outlier (in channel 0). Default 64. */
  readonly every?: number;
  /** Formats of the scaled cast. Default fp8_e4m3, fp8_e5m2. */
  readonly formats?: readonly FloatFormat[];
  /** Seed of inputs and weights. Default 0. */
  readonly seed?: number;
  /**
   * Apply LayerNorm to each token before the projections, as a pre-LN block does before its MLP
   * (PyTorch's definition: biased variance, ε = 1e-5, no bias). Default false: the raw residual
   * stream goes into the projections, which no pre-LN model does.
   */
  readonly layerNorm?: boolean;
  /**
   * The LayerNorm's gain γ, one entry per channel (length `width`); default all ones (a
   * LayerNorm at initialisation). Only with `layerNorm: true`.
   */
  readonly layerNormGain?: ArrayLike<number>;
}

/**
 * How an outlier in the residual stream grows through the MLP's activation: tokens x ∈ R^d with
 * N(0, 1) channels, every `every`-th token with channel 0 set to the outlier magnitude s (the
 * "massive activations" of LLM residual streams), optionally LayerNorm'd per token (as a pre-LN
 * block does), projected by N(0, 1/d) weights to the pre-activation (gated: to gate and value with
 * independent weights, the same hidden width H).
 *
 * Without LayerNorm a unary activation's output grows like s and a gated one's like s² (gate and
 * value both carry the outlier), so a per-tensor scale set by the outlier leaves the ordinary
 * tokens with fewer bits (fp8 keeps its relative precision until values fall below its smallest
 * normal; int8 loses precision in proportion to the crest). With LayerNorm every token has
 * norm √d·(gain): an outlier channel can at most take the whole norm (√(d − 1) in that channel), so
 * the pre-activation no longer grows with s; a large gain on the outlier channel lets part of it
 * through. Returns a row per activation × outlier magnitude.
 *
 * @example
 * ```ts
 * import { outlierAmplification } from "@actlab/actlab";
 * const rows = outlierAmplification(["gelu", "swiglu"], { outliers: [1, 100], tokens: 128 });
 * const crest = (a: string, s: number) =>
 *   rows.find((r) => r.activation === a && r.outlier === s)!.crest;
 * console.assert(crest("swiglu", 100) > 10 * crest("gelu", 100));
 * // LayerNorm'd (unit gain): the outlier token's pre-activation is no larger than any other's
 * const ln = outlierAmplification(["swiglu"], { outliers: [100], tokens: 128, layerNorm: true });
 * console.assert(ln[0].crest < crest("swiglu", 1) * 2);
 * ```
 */
export function outlierAmplification(
  activations: readonly ActivationRef[],
  options: OutlierOptions = {},
): OutlierRow[] {
  const outliers = options.outliers ?? [1, 10, 30, 100, 300];
  const n = options.tokens ?? 512, d = options.width ?? 64, hdim = options.hidden ?? 256;
  const every = options.every ?? 64;
  const formats = options.formats ?? DEFAULT_CAST_FORMATS;
  const gain = options.layerNormGain;
  if (gain !== undefined) {
    if (!options.layerNorm) {
      throw new Error("outlierAmplification: layerNormGain needs layerNorm: true");
    }
    if (gain.length !== d) {
      throw new RangeError(
        `outlierAmplification: layerNormGain has ${gain.length} entries, width is ${d}`,
      );
    }
  }
  const rng = createRng(options.seed ?? 0);
  const base = new Float64Array(n * d);
  for (let i = 0; i < base.length; i++) base[i] = rng.normal();
  const weights = (scale: number) => {
    const w = new Float64Array(d * hdim);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * scale;
    return w;
  };
  const wa = weights(1 / Math.sqrt(d)), wb = weights(1 / Math.sqrt(d));
  const layerNorm = (x: Float64Array) => { // per token, in place: (x − μ) / √(σ² + ε) · γ
    for (let t = 0; t < n; t++) {
      let m = 0, v = 0;
      for (let k = 0; k < d; k++) m += x[t * d + k];
      m /= d;
      for (let k = 0; k < d; k++) v += (x[t * d + k] - m) ** 2;
      const inv = 1 / Math.sqrt(v / d + 1e-5);
      for (let k = 0; k < d; k++) x[t * d + k] = (x[t * d + k] - m) * inv * (gain ? gain[k] : 1);
    }
  };
  const project = (x: Float64Array, w: Float64Array) => {
    const out = new Float64Array(n * hdim);
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < d; k++) {
        const v = x[t * d + k];
        if (v === 0) continue;
        const row = k * hdim, o = t * hdim;
        for (let j = 0; j < hdim; j++) out[o + j] += v * w[row + j];
      }
    }
    return out;
  };
  const ordinary = (i: number) => Math.floor(i / hdim) % every !== 0; // i indexes [n, H]
  const rows: OutlierRow[] = [];
  for (const s of outliers) {
    const x = base.slice();
    for (let t = 0; t < n; t += every) x[t * d] = s;
    if (options.layerNorm) layerNorm(x);
    const a = project(x, wa), b = project(x, wb); // [n, H] pre-activations (gate, value)
    let preMax = 0, preSs = 0, preCount = 0;
    for (let i = 0; i < a.length; i++) {
      preMax = Math.max(preMax, Math.abs(a[i]));
      if (ordinary(i)) {
        preSs += a[i] * a[i];
        preCount++;
      }
    }
    const preCrest = preMax / Math.sqrt(preSs / preCount);
    for (const act of activations) {
      const def = resolveActivationRef(act);
      const h = new Float64Array(n * hdim);
      for (let i = 0; i < h.length; i++) {
        h[i] = def.kind === "unary" ? def.reference(a[i]) : def.reference(a[i], b[i]);
      }
      rows.push({
        activation: def.name,
        outlier: s,
        preCrest,
        ...scaledCastStats(h, { formats, measure: ordinary }),
      });
    }
  }
  return rows;
}
