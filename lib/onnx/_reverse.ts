/**
 * The one reverse pass of actlab's ONNX autodiff. Both differentiators record steps while the
 * forward nodes are emitted, and hand them here: the {@link GradientTape} one step per `Ops` call
 * (rules in `op_rules.ts`), the activation autodiff one step per node of a lowering (rules per
 * ONNX op type in `autodiff.ts`). The pass walks the steps backwards, sums the gradients that
 * reach a value from several uses, and asks each step's rule for the vector-Jacobian product.
 *
 * @module
 */
import type { OnnxBuilder } from "../activations/types.ts";

/** A recorded forward step: the values it read and wrote, and its vector-Jacobian product. */
export interface ReverseStep {
  /** The values the step may send gradients to (`undefined`: an omitted optional input). */
  readonly inputs: readonly (string | undefined)[];
  /** The values it produced. */
  readonly outputs: readonly string[];
  /**
   * Emits the gradients of `inputs` (same order; `undefined` where none flows) from those of
   * `outputs` (`undefined` for an output nothing downstream differentiates).
   */
  backward(dOutputs: readonly (string | undefined)[]): readonly (string | undefined)[];
}

/** What {@link reversePass} starts from. */
export interface ReversePassOptions {
  /** Whether a value depends on something being differentiated (only those carry gradients). */
  readonly active: (name: string) => boolean;
  /** The incoming gradients: [value, gradient] pairs, e.g. [loss, 1]. */
  readonly seeds: Iterable<readonly [value: string, gradient: string]>;
}

/**
 * Walks `steps` from last to first and emits their backward nodes into `g`, accumulating
 * gradients per value. Returns a lookup of the total gradient of any value (`undefined`: none
 * reached it); contributions from several uses are summed by a chain of `Add` nodes (ONNX
 * Runtime's WebGPU provider has no variadic `Sum`; the chain adds in the same order as `Sum`),
 * emitted when the total is first needed.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./builder.ts";
 * import { reversePass, type ReverseStep } from "./_reverse.ts";
 * const g = new GraphBuilder();
 * const y = g.op("Neg", ["x"]); // y = −x, recorded with its rule:
 * const step: ReverseStep = { inputs: ["x"], outputs: [y], backward: ([dy]) => [g.op("Neg", [dy!])] };
 * const grad = reversePass(g, [step], { active: (n) => n !== "dy", seeds: [[y, "dy"]] });
 * g.output(grad("x")!, "dx"); // dx = −dy
 * ```
 */
export function reversePass(
  g: OnnxBuilder,
  steps: readonly ReverseStep[],
  options: ReversePassOptions,
): (name: string) => string | undefined {
  const pending = new Map<string, string[]>();
  const push = (name: string, grad: string) => {
    const list = pending.get(name);
    if (list) list.push(grad);
    else pending.set(name, [grad]);
  };
  const total = (name: string): string | undefined => {
    const list = pending.get(name);
    if (!list || list.length === 0) return undefined;
    const sum = addAll(g, list);
    pending.set(name, [sum]);
    return sum;
  };
  const active = (name: string | undefined): name is string =>
    name !== undefined && options.active(name);
  for (const [name, grad] of options.seeds) push(name, grad);
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    if (!step.inputs.some(active)) continue;
    const dOutputs = step.outputs.map(total);
    if (dOutputs.every((d) => d === undefined)) continue;
    const dInputs = step.backward(dOutputs);
    step.inputs.forEach((input, k) => {
      const d = dInputs[k];
      if (d !== undefined && active(input)) push(input, d);
    });
  }
  return total;
}

/**
 * a₀ + a₁ + … as a left-to-right chain of binary `Add` nodes (the order ONNX Runtime's CPU `Sum`
 * adds in); one value is returned as is.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./builder.ts";
 * import { addAll } from "./_reverse.ts";
 * const g = new GraphBuilder();
 * addAll(g, ["a", "b", "c"]); // Add(Add(a, b), c)
 * console.assert(g.nodes.length === 2);
 * ```
 */
export function addAll(g: OnnxBuilder, values: readonly string[]): string {
  if (values.length === 0) throw new RangeError("addAll: nothing to add");
  return values.slice(1).reduce((sum, v) => g.op("Add", [sum, v]), values[0]);
}
