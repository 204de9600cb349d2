/**
 * Activations as the figures take them — a registry name or a definition — and their values,
 * slopes and legend names; shared by the curve and distribution figures.
 *
 * @module
 */
import { getActivation } from "../activations/mod.ts";
import type { ActivationDef } from "../activations/types.ts";

/**
 * An activation given by registry name (`"gelu"`, `"leaky_relu(slope=0.2)"`) or definition
 * (`ActivationDef` from the activation registry).
 */
export type ActivationLike = string | ActivationDef;

/** The registry's definition of an activation given by name, or the definition itself. */
export function resolve(act: ActivationLike): ActivationDef {
  return typeof act === "string" ? getActivation(act) : act;
}

/** f(x) of an activation; gated ones are evaluated with the value input fixed at 1. */
export function valueAt(def: ActivationDef, x: number): number {
  return def.kind === "unary" ? def.reference(x) : def.reference(x, 1);
}

/** f'(x) (∂f/∂gate with value 1 for gated ones). */
export function slopeAt(def: ActivationDef, x: number): number {
  return def.kind === "unary" ? def.derivative(x) : def.derivative(x, 1)[0];
}

/** An activation's name in legends and summaries: gated ones as `name(x, 1)`. */
export function label(def: ActivationDef): string {
  return def.kind === "unary" ? def.name : `${def.name}(x, 1)`;
}

/** `n` evenly spaced points from `lo` to `hi`, both included. */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (!(n >= 2)) throw new RangeError(`need at least 2 points, got ${n}`);
  if (!(hi > lo)) throw new RangeError(`range must be increasing, got [${lo}, ${hi}]`);
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));
}
