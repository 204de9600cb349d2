/**
 * The built-in gated activations, written f(gate, value): the MLP's up-projection is split in
 * two halves and one gates the other (Dauphin et al. 2016; Shazeer 2020).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { defineGated, gatedFrom } from "./_build.ts";
import { sigmoid } from "./_math.ts";
import { gelu, relu, sigmoidOnnx, silu } from "./unary.ts";
import type { GatedActivation } from "./types.ts";

/** GLU: σ(gate)·value. */
export const glu: GatedActivation = defineGated({
  name: "glu",
  description: "Gated linear unit: a sigmoid gate on a linear value.",
  formula: String.raw`\sigma(g)\cdot v`,
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "Dauphin et al. 2016",
  reference: (g, v) => sigmoid(g) * v,
  derivative: (g, v) => [sigmoid(g) * sigmoid(-g) * v, sigmoid(g)],
  forward: (g, v) => tf.mul(tf.sigmoid(g), v),
  onnx: (b, g, v) => b.op("Mul", [sigmoidOnnx(b, g), v]),
});

/** Bilinear: gate·value, the GLU with no nonlinearity. */
export const bilinear: GatedActivation = defineGated({
  name: "bilinear",
  aliases: ["bilinear_glu"],
  description: "GLU without a nonlinearity: the product of two projections.",
  formula: String.raw`g\cdot v`,
  properties: {
    boundedBelow: false,
    boundedAbove: false,
    monotonic: false,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "Shazeer 2020",
  reference: (g, v) => g * v,
  derivative: (g, v) => [v, g],
  forward: (g, v) => tf.mul(g, v),
  onnx: (b, g, v) => b.op("Mul", [g, v]),
});

/** ReGLU: relu(gate)·value. */
export const reglu: GatedActivation = gatedFrom(relu, {
  name: "reglu",
  description: "ReLU-gated linear unit.",
  source: "Shazeer 2020",
});

/** GEGLU: gelu(gate)·value (exact GELU). */
export const geglu: GatedActivation = gatedFrom(gelu, {
  name: "geglu",
  description: "GELU-gated linear unit; best perplexity in Shazeer 2020 with SwiGLU.",
  source: "Shazeer 2020",
});

/** SwiGLU: silu(gate)·value (LLaMA, PaLM). */
export const swiglu: GatedActivation = gatedFrom(silu, {
  name: "swiglu",
  aliases: ["silu_glu", "swish_glu"],
  description: "SiLU-gated linear unit; the MLP of LLaMA and PaLM.",
  source: "Shazeer 2020",
});

/** GTU: σ(gate)·tanh(value). */
export const gtu: GatedActivation = defineGated({
  name: "gtu",
  description: "Gated tanh unit: a sigmoid gate on a tanh value (WaveNet, PixelCNN).",
  formula: String.raw`\sigma(g)\cdot\tanh(v)`,
  properties: {
    boundedBelow: true,
    boundedAbove: true,
    monotonic: true,
    smooth: true,
    selfGated: false,
    sparse: false,
  },
  source: "van den Oord et al. 2016",
  reference: (g, v) => sigmoid(g) * Math.tanh(v),
  derivative: (g, v) => {
    const t = Math.tanh(v);
    return [sigmoid(g) * sigmoid(-g) * t, sigmoid(g) * (1 - t * t)];
  },
  forward: (g, v) => tf.mul(tf.sigmoid(g), tf.tanh(v)),
  onnx: (b, g, v) => b.op("Mul", [sigmoidOnnx(b, g), b.op("Tanh", [v])]),
});

/** Every built-in gated activation, in the order tables list them. */
export const BUILTIN_GATED: readonly GatedActivation[] = [glu, bilinear, reglu, geglu, swiglu, gtu];
