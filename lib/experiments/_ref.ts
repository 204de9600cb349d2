/**
 * Internal helpers of the experiment modules.
 *
 * @module
 */
import { getActivation } from "../activations/registry.ts";
import type { ActivationDef } from "../activations/types.ts";

/** An activation given by registry name or as a definition. */
export type ActivationRef = string | ActivationDef;

/** The registry definition of `act`. */
export function resolveActivationRef(act: ActivationRef): ActivationDef {
  return typeof act === "string" ? getActivation(act) : act;
}

/** f(x) for a unary activation; a gated one along its gate with value 1. */
export function scalarOf(act: ActivationRef): (x: number) => number {
  const def = resolveActivationRef(act);
  return def.kind === "unary" ? def.reference : (x: number) => def.reference(x, 1);
}
