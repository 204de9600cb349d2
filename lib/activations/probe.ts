/**
 * Probes of an activation definition at a handful of points, so a wrong definition is refused
 * with a message that names the part that disagrees, the point, both values and the fix, instead
 * of surfacing later as a loss curve that looks odd.
 *
 * Unary definitions are probed at x ∈ {−3, −1, −0.5, 0, 0.5, 1, 3}; gated ones at every gate
 * among those points paired with value ∈ {−2, 0.5, 3}. What is probed, and when:
 *
 * | part | `registerActivation()` (synchronous) | `await checkActivation()` |
 * |---|---|---|
 * | `reference` | a finite number at every point | same |
 * | `derivative` | within 1e-5 of a central (or, at a kink, one-sided) difference of `reference` | same |
 * | `apply` | returns a float32 tensor of the input's shape whose values are within 1e-4 of `reference`; run on the active tfjs backend when it reads synchronously (cpu, wasm, tensorflow), otherwise (webgpu, or none started yet) on tfjs's cpu backend | on the active backend, webgpu included (`await data()`) |
 * | `gradient` | tfjs's gradient of `apply` within 1e-4 of `derivative` | same |
 * | `onnx` | the lowering evaluated op by op in float64, within 1e-4 of `reference` (skipped when it uses an op the evaluator lacks, or throws) | same, plus the lowering in ONNX Runtime when a runner is passed |
 *
 * Errors are scaled: |got − want| / max(1, |want|). `apply` is called once per probe.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { EvaluatingBuilder, UnsupportedOnnxOp } from "./_onnx_eval.ts";
import type { ActivationDef } from "./types.ts";

/** The parts of a definition a probe checks. */
export type ProbePart = "reference" | "derivative" | "apply" | "gradient" | "onnx";

/** Where a probe stands: a unary input x, or a gated (gate, value) pair. */
export type ProbePoint = number | readonly [gate: number, value: number];

/**
 * A definition that failed a probe: which part, at which point, and the message saying what to
 * fix.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerActivation } from "@actlab/actlab";
 * import { ActivationProbeError } from "@actlab/actlab/activations";
 * try {
 *   registerActivation({
 *     name: "typo_relu",
 *     reference: (x) => Math.max(0, x),
 *     apply: (x) => tf.relu(tf.mul(x, 2)),
 *   });
 * } catch (e) {
 *   if (e instanceof ActivationProbeError) console.log(e.part, e.at); // "apply" 0.5
 * }
 * ```
 */
export class ActivationProbeError extends Error {
  /** The activation's name. */
  readonly activation: string;
  /** The part that disagrees. */
  readonly part: ProbePart;
  /** The point where it disagrees (undefined when it fails everywhere, e.g. throws). */
  readonly at?: ProbePoint;

  constructor(activation: string, part: ProbePart, message: string, at?: ProbePoint) {
    super(message);
    this.name = "ActivationProbeError";
    this.activation = activation;
    this.part = part;
    this.at = at;
  }
}

/** What a probe checked, and what it left out and why. */
export interface ProbeReport {
  /** The activation's name. */
  readonly activation: string;
  /** Points probed (gated: (gate, value) pairs). */
  readonly points: number;
  /** The parts that were checked and agree. */
  readonly checked: readonly ProbePart[];
  /** The parts not checked, each with the reason. */
  readonly skipped: readonly { readonly part: ProbePart; readonly reason: string }[];
  /** The tfjs backend `apply` ran on, when it ran. */
  readonly backend?: string;
}

/**
 * Runs an activation's ONNX lowering (in ONNX Runtime, say) on float32 inputs named `x`, or
 * `gate` and `value`, and resolves to its output. `lib/onnx` builds the graph; pass a runner to
 * {@link checkActivation} to include it.
 */
export type OnnxRunner = (
  def: ActivationDef,
  inputs: Readonly<Record<string, Float32Array>>,
) => Promise<ArrayLike<number>>;

/** Unary probe points (exact in float32). */
const POINTS = [-3, -1, -0.5, 0, 0.5, 1, 3];
/** Values paired with every gate point for gated definitions. */
const VALUES = [-2, 0.5, 3];
const GATES = VALUES.flatMap(() => POINTS);
const GATE_VALUES = VALUES.flatMap((v) => POINTS.map(() => v));
/** float32 results (apply, its gradient, an ONNX run) against the float64 math. */
const TOLERANCE = 1e-4;
/** The float64 derivative against differences of the float64 reference. */
const DERIVATIVE_TOLERANCE = 1e-5;
/** Backends whose `dataSync()` works (webgpu's needs a canvas, which Deno lacks). */
const SYNC_READS = new Set(["cpu", "wasm", "tensorflow"]);
const ESCAPE = "(A definition that is wrong on purpose, for a test of a failure path, can be " +
  "registered with { probe: false }.)";

function scaled(got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) {
    return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  }
  return got === want ? 0 : Math.abs(got - want) / Math.max(1, Math.abs(want));
}

/** A number as messages show it: 7 significant digits. */
function show(v: unknown): string {
  return typeof v === "number" && Number.isFinite(v) ? String(Number(v.toPrecision(7))) : String(v);
}

function where(at: ProbePoint): string {
  return typeof at === "number" ? `x = ${at}` : `(gate, value) = (${at[0]}, ${at[1]})`;
}

/**
 * f′(x) as the reference sees it: a central difference, and the one-sided ones (at a kink the
 * derivative may follow either side, as tfjs and PyTorch do).
 */
function slopes(f: (t: number) => number, x: number): number[] {
  const h = 1e-5 * Math.max(1, Math.abs(x));
  const k = 1e-7 * Math.max(1, Math.abs(x));
  return [(f(x + h) - f(x - h)) / (2 * h), (f(x) - f(x - k)) / k, (f(x + k) - f(x)) / k];
}

/** The smallest scaled error of `got` against any of `wants`. */
function closest(got: number, wants: readonly number[]): number {
  return Math.min(...wants.map((w) => scaled(got, w)));
}

class Probe {
  readonly checked = new Set<ProbePart>();
  readonly skipped: { part: ProbePart; reason: string }[] = [];
  backend?: string;

  constructor(readonly def: ActivationDef, readonly caller: string) {}

  fail(part: ProbePart, at: ProbePoint | undefined, what: string, fix: string): never {
    const lead = `${this.caller}: '${this.def.name}' ${
      this.caller === "registerActivation" ? "is refused" : "fails its probe"
    }`;
    throw new ActivationProbeError(
      this.def.name,
      part,
      `${lead}: ${what}. ${fix}${this.caller === "registerActivation" ? ` ${ESCAPE}` : ""}`,
      at,
    );
  }

  report(): ProbeReport {
    return {
      activation: this.def.name,
      points: this.def.kind === "unary" ? POINTS.length : GATES.length,
      checked: [...this.checked],
      skipped: this.skipped,
      backend: this.backend,
    };
  }
}

/** The probe points with f, f′ and the differences, per kind. */
interface Site {
  at: ProbePoint;
  want: number;
  /** Per input (x; or gate, value): the derivative and the reference's slopes. */
  slopes: { derivative: number; differences: number[] }[];
}

function sites(def: ActivationDef): Site[] {
  if (def.kind === "unary") {
    return POINTS.map((x) => ({
      at: x,
      want: def.reference(x),
      slopes: [{ derivative: def.derivative(x), differences: slopes(def.reference, x) }],
    }));
  }
  return GATES.map((g, i) => {
    const v = GATE_VALUES[i];
    const d = def.derivative(g, v);
    return {
      at: [g, v] as const,
      want: def.reference(g, v),
      slopes: [
        { derivative: d?.[0], differences: slopes((t) => def.reference(t, v), g) },
        { derivative: d?.[1], differences: slopes((t) => def.reference(g, t), v) },
      ],
    };
  });
}

/** `reference` finite, `derivative` against differences of `reference`. */
function probeMath(p: Probe): Site[] {
  const { def } = p;
  const args = def.kind === "unary" ? "(x)" : "(gate, value)";
  for (const at of def.kind === "unary" ? POINTS : GATES.map((g, i) => [g, GATE_VALUES[i]])) {
    const y = typeof at === "number"
      ? (def as { reference(x: number): number }).reference(at)
      : (def as { reference(g: number, v: number): number }).reference(at[0], at[1]);
    if (typeof y !== "number" || !Number.isFinite(y)) {
      p.fail(
        "reference",
        at as ProbePoint,
        `reference${args} is ${typeof y === "number" ? y : typeof y} at ${where(at as ProbePoint)}`,
        "The float64 reference must return a finite number at ordinary inputs: look for 0/0, " +
          "∞ − ∞, the log or square root of a negative number, or an exp that overflows.",
      );
    }
  }
  p.checked.add("reference");
  const all = sites(def);
  const names = def.kind === "unary" ? ["f′(x)"] : ["∂f/∂gate", "∂f/∂value"];
  for (const site of all) {
    site.slopes.forEach(({ derivative, differences }, k) => {
      if (!(closest(derivative, differences) <= DERIVATIVE_TOLERANCE)) {
        p.fail(
          "derivative",
          site.at,
          `derivative${args} gives ${names[k]} = ${show(derivative)} at ${where(site.at)}, but ` +
            `a central difference of reference gives ${show(differences[0])}`,
          "Make derivative the derivative of the same function as reference (check signs and " +
            "the chain rule), or leave derivative out: a finite difference then stands in.",
        );
      }
    });
  }
  p.checked.add("derivative");
  return all;
}

/** The lowering evaluated in float64, op by op. */
function probeOnnxLocally(p: Probe, all: Site[]): void {
  const { def } = p;
  if (!def.onnx) {
    p.skipped.push({ part: "onnx", reason: "no ONNX lowering" });
    return;
  }
  const b = new EvaluatingBuilder(
    def.kind === "unary" ? { x: POINTS } : { gate: GATES, value: GATE_VALUES },
  );
  let out: unknown;
  try {
    out = def.kind === "unary" ? def.onnx(b, "x") : def.onnx(b, "gate", "value");
  } catch (e) {
    const reason = e instanceof UnsupportedOnnxOp
      ? `the lowering uses '${e.op}', which the float64 evaluator lacks; checkActivation() ` +
        `with an ONNX Runtime runner checks it`
      : `the lowering threw: ${e instanceof Error ? e.message : e}`;
    p.skipped.push({ part: "onnx", reason });
    return;
  }
  if (typeof out !== "string" || !b.has(out)) {
    p.fail(
      "onnx",
      undefined,
      `the ONNX lowering returned ${JSON.stringify(out)}, which is not a value it emitted`,
      "Return the name g.op(...) gave the node that computes the activation.",
    );
  }
  compareOnnx(p, all, b.values(out as string), "evaluated op by op in float64");
}

function compareOnnx(p: Probe, all: Site[], ys: ArrayLike<number>, how: string): void {
  all.forEach((site, i) => {
    if (!(scaled(ys[i], site.want) <= TOLERANCE)) {
      const swapped = p.def.kind === "gated" && typeof site.at !== "number" &&
        swappedMatches(p.def, ys);
      p.fail(
        "onnx",
        site.at,
        `the ONNX lowering (${how}) gives ${show(ys[i])} at ${where(site.at)}, reference ` +
          `${show(site.want)} (scaled error ${scaled(ys[i], site.want).toExponential(1)} > ` +
          `${TOLERANCE})`,
        swapped
          ? "The lowering seems to take (value, gate): it is called as onnx(g, gate, value)."
          : "Fix the lowering (constants, op types, attributes, input order) or the reference, " +
            "so both compute the same function.",
      );
    }
  });
  p.checked.add("onnx");
}

/** Whether gated outputs match reference(value, gate) at every point: arguments swapped. */
function swappedMatches(def: ActivationDef, ys: ArrayLike<number>): boolean {
  if (def.kind !== "gated") return false;
  return GATES.every((g, i) => scaled(ys[i], def.reference(GATE_VALUES[i], g)) <= TOLERANCE);
}

/** What one call of `apply` (with tfjs's gradient) left: tensors to read and dispose. */
interface Applied {
  inputs: tf.Tensor[];
  /** Whether apply returned (rather than threw). */
  returned: boolean;
  /** What apply returned. */
  output?: unknown;
  grads?: tf.Tensor[];
  error?: unknown;
}

/** Calls `apply` once on the probe points (shape [1, n]) and differentiates it with tf.grads. */
function runApply(def: ActivationDef): Applied {
  const n = def.kind === "unary" ? POINTS.length : GATES.length;
  const inputs = def.kind === "unary"
    ? [tf.tensor2d(POINTS, [1, n])]
    : [tf.tensor2d(GATES, [1, n]), tf.tensor2d(GATE_VALUES, [1, n])];
  const run: Applied = { inputs, returned: false };
  const f = (...t: tf.Tensor[]): tf.Tensor => {
    const y = def.kind === "unary" ? def.apply(t[0]) : def.apply(t[0], t[1]);
    run.returned = true;
    run.output = y instanceof tf.Tensor ? tf.keep(y) : y;
    return y;
  };
  try {
    run.grads = tf.tidy(() => tf.grads(f)(inputs));
  } catch (e) {
    const y = run.output;
    if (
      y instanceof tf.Tensor && /Cannot compute gradient/.test(String(e)) && y.dtype === "float32"
    ) {
      // y does not depend on the input through differentiable ops: y = x itself (d = 1) or a
      // constant (d = 0), as tfjs treats them inside a model
      run.grads = inputs.map((x) => y === x ? tf.onesLike(x) : tf.zerosLike(x));
    } else {
      run.error = e;
    }
  }
  return run;
}

function disposeRun(run: Applied): void {
  const owned = [...run.inputs, ...(run.grads ?? [])];
  if (run.output instanceof tf.Tensor) owned.push(run.output);
  tf.dispose(owned);
}

/** Checks what `apply` returned before reading it: that it ran, its type, dtype and shape. */
function judgeShape(p: Probe, run: Applied): tf.Tensor {
  const apply = p.def.kind === "unary" ? "apply(x)" : "apply(gate, value)";
  const shape = run.inputs[0].shape;
  if (!run.returned) {
    p.fail(
      "apply",
      undefined,
      `${apply} threw on a float32 tensor of shape [${shape}]: ${
        run.error instanceof Error ? run.error.message : run.error
      }`,
      "apply must take float32 tensors and return one; it runs inside tf.tidy and tf.grad.",
    );
  }
  const y = run.output;
  if (!(y instanceof tf.Tensor)) {
    p.fail(
      "apply",
      undefined,
      `${apply} returned ${y === null ? "null" : typeof y}, not a tf.Tensor`,
      "Return the tfjs tensor f(x), computed with tf ops.",
    );
  }
  if (y.dtype !== "float32") {
    p.fail(
      "apply",
      undefined,
      `${apply} returned dtype ${y.dtype} for float32 input`,
      `Return float32: compute with floating-point ops, or cast with tf.cast(y, "float32").`,
    );
  }
  if (!tf.util.arraysEqual(y.shape, shape)) {
    p.fail(
      "apply",
      undefined,
      `${apply} changed the shape: input [${shape}], output [${y.shape}]`,
      "An activation is elementwise: one output per input, in the input's shape (no " +
        "reduction, reshape, concatenation or broadcast against a fixed shape).",
    );
  }
  return y;
}

/** Checks the values of `apply` and of its tfjs gradient against the float64 math. */
function judgeValues(
  p: Probe,
  run: Applied,
  all: Site[],
  ys: ArrayLike<number>,
  grads: ArrayLike<number>[] | undefined,
): void {
  const apply = p.def.kind === "unary" ? "apply(x)" : "apply(gate, value)";
  const on = `float32 on ${p.backend}`;
  all.forEach((site, i) => {
    if (!(scaled(ys[i], site.want) <= TOLERANCE)) {
      p.fail(
        "apply",
        site.at,
        `${apply} gives ${show(ys[i])} (${on}) at ${where(site.at)}, reference ${
          show(site.want)
        } (scaled error ${scaled(ys[i], site.want).toExponential(1)} > ${TOLERANCE})`,
        swappedMatches(p.def, ys)
          ? "apply seems to take (value, gate): the registry calls apply(gate, value)."
          : "Make apply and reference compute the same function (constants, signs, argument " +
            "order, a missing term).",
      );
    }
  });
  p.checked.add("apply");
  if (!grads) {
    p.fail(
      "gradient",
      undefined,
      `tf.grads could not differentiate ${apply}: ${
        run.error instanceof Error ? run.error.message : run.error
      }`,
      "Build apply from differentiable tf ops, or give gradient(x) for a custom backward pass.",
    );
  }
  const names = p.def.kind === "unary" ? ["d/dx"] : ["∂/∂gate", "∂/∂value"];
  all.forEach((site, i) => {
    site.slopes.forEach(({ derivative, differences }, k) => {
      const got = grads[k][i];
      if (!(closest(got, [derivative, ...differences]) <= TOLERANCE)) {
        p.fail(
          "gradient",
          site.at,
          `tfjs's gradient of ${apply} gives ${names[k]} = ${show(got)} (${on}) at ` +
            `${where(site.at)}, derivative ${show(derivative)}`,
          "Fix the custom gradient (or the ops in apply) so tfjs differentiates the same " +
            "function as reference.",
        );
      }
    });
  });
  p.checked.add("gradient");
}

interface EngineFields {
  backendName?: string;
  backendInstance?: unknown;
  profiler?: unknown;
}

/**
 * Runs `fn` on a tfjs backend that reads synchronously: the active one when it does, otherwise
 * tfjs's cpu backend, switched to and back within this call. JavaScript runs one call at a time,
 * so no other code sees the switch; the engine's own fields are restored exactly (including "no
 * backend yet"). Returns undefined (and runs nothing) when no such backend can be had.
 */
function onSyncBackend<T>(fn: (backend: string) => T): T | undefined {
  const engine = tf.engine() as unknown as EngineFields;
  const active = engine.backendInstance ? engine.backendName : undefined;
  if (active !== undefined && SYNC_READS.has(active)) return fn(active);
  if (tf.findBackendFactory("cpu") === null) return undefined;
  const fields = ["backendName", "backendInstance", "profiler"] as const;
  const saved = fields.map((k) => [k, k in engine, engine[k]] as const);
  // cpu initialises synchronously, so setBackend has switched by the time it returns its promise
  tf.setBackend("cpu").catch(() => {});
  try {
    if (tf.getBackend() !== "cpu" || engine.backendInstance !== tf.findBackend("cpu")) {
      return undefined;
    }
    const cpu = tf.findBackend("cpu") as { firstUse?: boolean };
    cpu.firstUse = false; // no "install tfjs-node" banner for the probe's tensors
    return fn("cpu");
  } finally {
    for (const [k, had, v] of saved) {
      if (had) engine[k] = v as never;
      else delete engine[k];
    }
  }
}

/**
 * The synchronous probe `registerActivation()` runs: every part in the module table, `apply`
 * on a synchronously readable backend. Throws {@link ActivationProbeError}.
 */
export function probeDefinition(def: ActivationDef, caller = "registerActivation"): ProbeReport {
  const p = new Probe(def, caller);
  const all = probeMath(p);
  probeOnnxLocally(p, all);
  const done = onSyncBackend((backend) => {
    p.backend = backend;
    const run = runApply(def);
    try {
      const y = judgeShape(p, run);
      judgeValues(p, run, all, y.dataSync(), run.grads?.map((g) => g.dataSync()));
    } finally {
      disposeRun(run);
    }
    return true;
  });
  if (!done) {
    for (const part of ["apply", "gradient"] as const) {
      p.skipped.push({ part, reason: "no tfjs backend that reads synchronously" });
    }
  }
  return p.report();
}

/**
 * Probes a definition as `registerActivation()` does, with `apply` run on the active tfjs
 * backend (webgpu included: values are read with `await data()`), and, given `onnx`, its ONNX
 * lowering run by that runner (ONNX Runtime) as well. Resolves to what was checked; rejects with
 * an {@link ActivationProbeError} naming the part that disagrees.
 *
 * @example
 * ```ts
 * import { getActivation, initEngine } from "@actlab/actlab";
 * import { checkActivation } from "@actlab/actlab/activations";
 * await initEngine({ backend: "cpu" });
 * const report = await checkActivation(getActivation("gelu"));
 * report.checked; // ["reference", "derivative", "onnx", "apply", "gradient"]
 * ```
 */
export async function checkActivation(
  def: ActivationDef,
  options: { onnx?: OnnxRunner } = {},
): Promise<ProbeReport> {
  const p = new Probe(def, "checkActivation");
  const all = probeMath(p);
  probeOnnxLocally(p, all);
  const engine = tf.engine() as unknown as EngineFields;
  const active = engine.backendInstance ? engine.backendName : undefined;
  if (active === undefined) {
    // no backend started: the synchronous path picks tfjs's cpu and leaves none active
    const sync = probeDefinition(def, "checkActivation");
    p.backend = sync.backend;
    for (const part of sync.checked) p.checked.add(part);
  } else {
    p.backend = active;
    const run = runApply(def);
    try {
      const y = judgeShape(p, run);
      const [ys, ...grads] = await Promise.all(
        [y, ...(run.grads ?? [])].map((t) => t.data() as Promise<Float32Array>),
      );
      judgeValues(p, run, all, ys, run.grads ? grads : undefined);
    } finally {
      disposeRun(run);
    }
  }
  if (options.onnx && def.onnx) {
    const inputs: Record<string, Float32Array> = def.kind === "unary"
      ? { x: Float32Array.from(POINTS) }
      : { gate: Float32Array.from(GATES), value: Float32Array.from(GATE_VALUES) };
    compareOnnx(p, all, await options.onnx(def, inputs), "run by the ONNX runner");
    p.skipped.splice(0, p.skipped.length, ...p.skipped.filter((s) => s.part !== "onnx"));
  }
  return p.report();
}
