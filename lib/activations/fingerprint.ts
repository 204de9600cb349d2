/**
 * A short fingerprint of what an activation computes, for keys of stored results.
 *
 * @module
 */
import { sha256Hex } from "../core/hash.ts";
import { getActivation } from "./registry.ts";

/**
 * A 12-hex-digit fingerprint of an activation's float64 reference on a fixed grid (x from −8 to
 * 8 in steps of ¼; for a gated one, the gate and the value each swept with the other at 1.5).
 * Two definitions that compute the same values share it; a notebook that redefines its own
 * activation under the same name gets a new one, so results stored under the old definition are
 * never taken for the new one. Built-in names are fixed by the code's version and need none.
 *
 * @example
 * ```ts
 * import { activationFingerprint } from "@actlab/actlab/activations";
 * const a = await activationFingerprint("gelu");
 * console.assert(a.length === 12 && a !== await activationFingerprint("silu"));
 * ```
 */
export async function activationFingerprint(name: string): Promise<string> {
  const def = getActivation(name);
  const grid = Array.from({ length: 65 }, (_, i) => -8 + i / 4);
  const values = def.kind === "unary"
    ? grid.map((x) => def.reference(x))
    : grid.flatMap((g) => [def.reference(g, 1.5), def.reference(1.5, g)]);
  const text = `${def.kind}:${values.map((v) => v.toPrecision(12)).join(",")}`;
  return (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
}
