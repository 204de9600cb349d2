/**
 * Reverse-mode differentiation at the level of the mini-GPT's `Ops`: {@link GradientTape} is an
 * `Ops<string>` implementation that, like the inference trace, appends the forward ONNX nodes of
 * each call to a graph, and also records the call's backward rule. After the forward pass,
 * {@link GradientTape.gradients} walks the records in reverse and emits the gradient nodes, so the
 * forward and backward pass end up in one ONNX graph.
 *
 * The tape itself is bookkeeping: each operation is a rule of `op_rules.ts` (forward lowering and
 * vector-Jacobian product side by side), and the reverse pass is the one the activation autodiff
 * uses too (`_reverse.ts`). Shapes are static (the tape knows every value's shape), so
 * broadcasting, reshapes and reductions in the backward pass are resolved while the graph is
 * built. Activations are differentiated through their ONNX lowerings (`autodiff.ts`), so a
 * user-registered activation trains with no extra code.
 *
 * @module
 */
import type { Ops } from "../gpt/ops.ts";
import type { GraphBuilder } from "./builder.ts";
import { OP_RULES, type OpRule, type TapeContext } from "./op_rules.ts";
import { reversePass, type ReverseStep } from "./_reverse.ts";
import { oneHotRows } from "./_portable.ts";

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Options of {@link GradientTape}. */
export interface GradientTapeOptions {
  /** Whether dropout is active (rate > 0 then emits ONNX `Dropout` in training mode). Default false. */
  readonly training?: boolean;
  /** Seed of the first dropout node; each further dropout node takes the next. Default 0. */
  readonly dropoutSeed?: number;
  /**
   * An int32 scalar value (e.g. a graph input fed the optimizer step each run) mixed into every
   * dropout mask, so each step drops different elements. Default: the constant 0.
   */
  readonly dropoutStep?: string;
  /**
   * Layer norm through ONNX Runtime's `LayerNormalization` kernel, reading its 1/σ output for the
   * backward pass (default true, for the CPU provider); false builds μ, σ and x̂ from primitives,
   * for GPU providers whose fused kernels need not produce that output.
   */
  readonly fusedLayerNorm?: boolean;
}

/**
 * Records the mini-GPT's forward pass into `g` together with a backward rule per `Ops` call.
 * Declare graph inputs with {@link GradientTape.input}, run the model with `tape.ops`, then call
 * {@link GradientTape.gradients} with the loss and the values to differentiate with respect to.
 *
 * @example
 * ```ts
 * import { GradientTape, GraphBuilder } from "@actlab/actlab/onnx";
 * const g = new GraphBuilder();
 * const tape = new GradientTape(g);
 * const x = tape.input("x", [2, 3]);
 * const w = tape.input("w", [3, 4], { requiresGrad: true });
 * const y = tape.ops.softmax(tape.ops.linear(x, w)); // [2, 4]
 * const loss = tape.ops.crossEntropy(tape.ops.scale(y, 1), tape.input("t", [2], { dtype: "int32" }));
 * const grads = tape.gradients(loss, ["w"]);
 * g.output(grads.get("w")!, "dw"); // [3, 4]
 * ```
 */
export class GradientTape {
  /** The graph receiving forward and backward nodes. */
  readonly g: GraphBuilder;
  /** The `Ops` implementation to run the model with. */
  readonly ops: Ops<string>;
  readonly #shapes = new Map<string, readonly number[]>();
  readonly #requires = new Set<string>();
  readonly #steps: ReverseStep[] = [];
  readonly #oneHots = new Map<string, string>();
  readonly #context: TapeContext;
  #dropoutSeed: number;
  #dropoutStep: string | undefined;
  /** The constant 1 that seeds the backward pass of `gradients()` (d loss / d loss). */
  #seed: string | undefined;

  /** A tape recording into `g`. */
  constructor(g: GraphBuilder, options: GradientTapeOptions = {}) {
    this.g = g;
    this.#dropoutSeed = options.dropoutSeed ?? 0;
    this.#dropoutStep = options.dropoutStep;
    this.#context = {
      g,
      training: options.training ?? false,
      fusedLayerNorm: options.fusedLayerNorm ?? true,
      shape: (name) => this.shapeOf(name),
      requiresGrad: (name) => this.requiresGrad(name),
      oneHot: (ids, depth) => this.#oneHot(ids, depth),
      isSeed: (grad) => grad === this.#seed,
      nextDropoutSeed: () => this.#dropoutSeed++,
      dropoutStep: () => this.#dropoutStep ??= g.constantInt32([0], []),
      transposed: new Map(),
      masked: new Map(),
    };
    this.ops = this.#makeOps();
  }

  /**
   * Declares a graph input (or any existing value) with its static shape; `requiresGrad` marks
   * it as something to differentiate with respect to (parameters).
   */
  input(
    name: string,
    shape: readonly number[],
    options: { readonly requiresGrad?: boolean; readonly dtype?: "float32" | "int32" } = {},
  ): string {
    this.#shapes.set(name, [...shape]);
    if (options.requiresGrad) this.#requires.add(name);
    return name;
  }

  /** The static shape of a value the tape knows. */
  shapeOf(name: string): readonly number[] {
    const s = this.#shapes.get(name);
    if (s === undefined) {
      throw new Error(
        `GradientTape: unknown value '${name}'; declare graph inputs with tape.input(name, shape)`,
      );
    }
    return s;
  }

  /** Whether `name` depends on a value declared with `requiresGrad`. */
  requiresGrad(name: string): boolean {
    return this.#requires.has(name);
  }

  /**
   * Emits the backward pass: the gradient of the scalar `loss` with respect to each of `wrt`
   * (value names; zeros for one the loss does not depend on). Gradients reaching a value from
   * several uses are summed.
   */
  gradients(loss: string, wrt: readonly string[]): Map<string, string> {
    if (product(this.shapeOf(loss)) !== 1) {
      throw new RangeError(
        `GradientTape.gradients: the loss must be a scalar, got [${this.shapeOf(loss)}]`,
      );
    }
    this.#seed = this.g.constant(1);
    return this.#backward([[loss, this.#seed]], wrt);
  }

  /**
   * Emits a vector-Jacobian product: the gradients with respect to each of `wrt` of
   * Σ ⟨cotangent, value⟩ over the given [value, cotangent] pairs (a cotangent has its value's
   * shape). `gradients(loss, wrt)` is the case of one scalar value with cotangent 1.
   *
   * @example
   * ```ts
   * import { GradientTape, GraphBuilder } from "@actlab/actlab/onnx";
   * const g = new GraphBuilder();
   * const tape = new GradientTape(g);
   * const x = tape.input("x", [2, 3], { requiresGrad: true });
   * const y = tape.ops.softmax(x);
   * g.output(tape.vjp([[y, "dy"]], [x]).get(x)!, "dx"); // dx = y·(dy − Σ dy·y)
   * ```
   */
  vjp(
    cotangents: Iterable<readonly [value: string, cotangent: string]>,
    wrt: readonly string[],
  ): Map<string, string> {
    this.#seed = undefined;
    return this.#backward(cotangents, wrt);
  }

  // -------------------------------------------------------------------------------------------

  #backward(
    seeds: Iterable<readonly [string, string]>,
    wrt: readonly string[],
  ): Map<string, string> {
    const gradient = reversePass(this.g, this.#steps, {
      active: (name) => this.#requires.has(name),
      seeds,
    });
    const out = new Map<string, string>();
    for (const name of wrt) out.set(name, gradient(name) ?? this.g.zeros(this.shapeOf(name)));
    return out;
  }

  /** The `Ops` over the rule table: each call runs its rule's forward and records a step. */
  #makeOps(): Ops<string> {
    const ops: Record<string, unknown> = { name: "onnx-tape", training: this.#context.training };
    for (const [name, r] of Object.entries(OP_RULES)) {
      const rule = r as OpRule<unknown[], unknown>;
      ops[name] = (...args: unknown[]) => {
        const recorded = rule.forward(this.#context, ...args);
        if (typeof recorded === "string") return recorded; // the identity: nothing to record
        const { inputs, saved } = recorded;
        const outputs = recorded.outputs.map(([output]) => output);
        const differentiable = inputs.some((i) => i !== undefined && this.#requires.has(i));
        for (const [output, shape] of recorded.outputs) {
          this.#shapes.set(output, [...shape]);
          if (differentiable) this.#requires.add(output);
        }
        if (differentiable) {
          this.#steps.push({
            inputs,
            outputs,
            backward: (dOutputs) => rule.backward(this.#context, saved, dOutputs),
          });
        }
        return rule.list ? outputs : outputs[0];
      };
    }
    return ops as unknown as Ops<string>;
  }

  /** One-hot rows [N, V] of int32 ids (any shape with N elements), cached per ids value. */
  #oneHot(ids: string, depth: number): string {
    const key = `${ids}/${depth}`;
    let oh = this.#oneHots.get(key);
    if (oh === undefined) {
      oh = oneHotRows(this.g, ids, product(this.shapeOf(ids)), depth);
      this.#oneHots.set(key, oh);
    }
    return oh;
  }
}
