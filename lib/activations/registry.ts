/**
 * The activation registry: look up built-ins and user activations by name, alias or
 * parameterised spec (`leaky_relu(slope=0.2)`), list them, and register new ones.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { defineGated, defineUnary, gatedFrom } from "./_build.ts";
import { unregisterFused } from "./_fused.ts";
import { BUILTIN_GATED } from "./gated.ts";
import { BUILTIN_TRAINABLE } from "./trainable.ts";
import { BUILTIN_UNARY } from "./unary.ts";
import { probeDefinition } from "./probe.ts";
import type {
  ActivationDef,
  ActivationKind,
  ActivationParams,
  ActivationProperties,
  GatedActivation,
  GatedOnnxLowering,
  UnaryActivation,
  UnaryOnnxLowering,
} from "./types.ts";
import { editDistance } from "../core/text.ts";

const definitions = new Map<string, ActivationDef>();
const lookup = new Map<string, string>();
const builtinNames = new Set<string>();

/**
 * Normalises a name as the registry compares names: trimmed, lower case, `-` and spaces as `_`.
 *
 * @example
 * ```ts
 * import { normalizeActivationName } from "@actlab/actlab/activations";
 * normalizeActivationName(" GELU-tanh "); // "gelu_tanh"
 * ```
 */
export function normalizeActivationName(name: string): string {
  return name.trim().toLowerCase().replace(/[-\s]+/g, "_");
}

function add(def: ActivationDef): void {
  definitions.set(def.name, def);
  lookup.set(def.name, def.name);
  for (const alias of def.aliases ?? []) lookup.set(normalizeActivationName(alias), def.name);
}

function remove(name: string): void {
  const def = definitions.get(name);
  if (!def) return;
  definitions.delete(name);
  for (const [key, target] of [...lookup]) if (target === name) lookup.delete(key);
  unregisterFused(name);
}

/** The built-in definitions as shipped, to tell them from a user's override of the same name. */
const builtinDefs = new Map<string, ActivationDef>();
for (const def of [...BUILTIN_UNARY, ...BUILTIN_TRAINABLE, ...BUILTIN_GATED]) {
  add(def);
  builtinNames.add(def.name);
  builtinDefs.set(def.name, definitions.get(def.name)!);
}

/** The registered name or alias closest to `name` (ties: the one of equal length), if close. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const key of lookup.keys()) {
    const score = editDistance(name, key) + (key.length === name.length ? 0 : 0.5);
    if (score < bestScore) [best, bestScore] = [key, score];
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownName(name: string): Error {
  const suggestion = closest(name);
  const known = [...definitions.keys()].join(", ");
  return new Error(
    `Unknown activation '${name}'.` +
      (suggestion ? ` Did you mean '${suggestion}'?` : "") +
      ` Known activations: ${known}. Register your own with registerActivation().`,
  );
}

/** Splits `leaky_relu(slope=0.2)` or `elu(0.5)` into a name and parameters. */
function parseSpec(spec: string): { name: string; args?: string } {
  const m = /^\s*([^()]+?)\s*(?:\((.*)\))?\s*$/.exec(spec);
  if (!m) throw new Error(`Cannot read activation spec '${spec}': expected name or name(k=v).`);
  return { name: normalizeActivationName(m[1]), args: m[2] };
}

function parseArgs(def: ActivationDef, args: string): ActivationParams {
  const known = Object.keys(def.params ?? {});
  const params: Record<string, number> = {};
  for (const part of args.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [key, raw] = part.includes("=") ? part.split("=").map((s) => s.trim()) : [known[0], part];
    if (known.length !== 1 && !part.includes("=")) {
      throw new Error(
        `${def.name}: write parameters as key=value (it takes ${known.join(", ")}).`,
      );
    }
    const value = Number(raw);
    if (raw === "" || !Number.isFinite(value)) {
      throw new Error(`${def.name}: parameter '${key}' must be a finite number, got '${raw}'.`);
    }
    params[key] = value;
  }
  return params;
}

/**
 * The definition for a name, alias or parameterised spec. An unknown name throws an error that
 * lists the known names and the closest match.
 *
 * @example
 * ```ts
 * import { getActivation } from "@actlab/actlab";
 * const gelu = getActivation("gelu");
 * gelu.kind; // "unary"
 * const leaky = getActivation("leaky_relu(slope=0.2)");
 * leaky.name; // "leaky_relu(slope=0.2)"
 * getActivation("gelu_new").name; // "gelu_tanh"
 * ```
 */
export function getActivation(name: string, params?: ActivationParams): ActivationDef {
  if (typeof name !== "string") {
    throw new TypeError(`getActivation() takes a name (string), got ${typeof name}.`);
  }
  const spec = parseSpec(name);
  const canonical = lookup.get(spec.name);
  if (canonical === undefined) throw unknownName(spec.name);
  let def = definitions.get(canonical) as ActivationDef;
  const given = { ...(spec.args ? parseArgs(def, spec.args) : {}), ...params };
  if (Object.keys(given).length > 0) {
    if (!def.withParams) {
      throw new Error(`${def.name} takes no parameters (given ${JSON.stringify(given)}).`);
    }
    def = def.withParams(given);
  }
  return def;
}

/**
 * Like {@link getActivation}, for a unary activation; a gated name throws with the way out.
 *
 * @example
 * ```ts
 * import { getUnary } from "@actlab/actlab";
 * getUnary("gelu").reference(-1); // -0.15865525393145707
 * ```
 */
export function getUnary(name: string, params?: ActivationParams): UnaryActivation {
  const def = getActivation(name, params);
  if (def.kind !== "unary") {
    throw new Error(
      `'${def.name}' is gated (f(gate, value)); use getGated() or getActivation() for it.`,
    );
  }
  return def;
}

/**
 * Like {@link getActivation}, for a gated activation; a unary name throws with the way out.
 *
 * @example
 * ```ts
 * import { getGated } from "@actlab/actlab";
 * getGated("swiglu").reference(1, 2); // 2·silu(1)
 * ```
 */
export function getGated(name: string): GatedActivation {
  const def = getActivation(name);
  if (def.kind !== "gated") {
    throw new Error(
      `'${def.name}' is unary (f(x)); use getUnary() or getActivation() for it, or its gated ` +
        `form via gatedFrom() / registerActivation({ kind: "gated", inner: "${def.name}" }).`,
    );
  }
  return def;
}

/**
 * Whether a name, alias or spec resolves to a registered activation.
 *
 * @example
 * ```ts
 * import { hasActivation } from "@actlab/actlab/activations";
 * hasActivation("swish"); // true
 * ```
 */
export function hasActivation(name: string): boolean {
  try {
    getActivation(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every registered activation (built-ins first, then user ones), optionally of one kind.
 *
 * @example
 * ```ts
 * import { listActivations } from "@actlab/actlab";
 * listActivations({ kind: "gated" }).map((d) => d.name);
 * // ["glu", "bilinear", "reglu", "geglu", "swiglu", "gtu"]
 * ```
 */
export function listActivations(options: { kind?: ActivationKind } = {}): ActivationDef[] {
  return [...definitions.values()].filter((d) => !options.kind || d.kind === options.kind);
}

/**
 * Whether `name` (a name, alias or parameterised spec, as {@link getActivation} takes) resolves to
 * one of actlab's built-in activations as shipped: false for a user registration, and for a
 * built-in name a user has overridden. Another process (a sweep's worker) resolves such a name to
 * the same definition.
 *
 * @example
 * ```ts
 * import { isBuiltinActivation } from "@actlab/actlab/activations";
 * isBuiltinActivation("gelu"); // true
 * isBuiltinActivation("leaky_relu(slope=0.2)"); // true
 * ```
 */
export function isBuiltinActivation(name: string): boolean {
  let spec: { name: string };
  try {
    spec = parseSpec(name);
  } catch {
    return false;
  }
  const canonical = lookup.get(spec.name);
  return canonical !== undefined && builtinDefs.has(canonical) &&
    definitions.get(canonical) === builtinDefs.get(canonical);
}

const DEFAULT_PROPERTIES: ActivationProperties = {
  boundedBelow: false,
  boundedAbove: false,
  monotonic: false,
  smooth: true,
  selfGated: false,
  sparse: false,
};

/** A user's unary activation: the float64 math and the tfjs version. */
export interface UserUnaryActivation {
  /** Registry name (normalised: lower case, `_` for `-` and spaces). */
  name: string;
  /** `unary` (the default). */
  kind?: "unary";
  /** Other names that resolve to it. */
  aliases?: readonly string[];
  /** One line for tables. */
  description?: string;
  /** TeX formula for plots and tables. */
  formula?: string;
  /** Properties; unspecified ones default to false (smooth: true). */
  properties?: Partial<ActivationProperties>;
  /** float64 f(x). */
  reference(x: number): number;
  /** float64 f'(x); omitted, a central finite difference of `reference` stands in. */
  derivative?(x: number): number;
  /** f on tfjs tensors (differentiated by tfjs autodiff unless `gradient` is given). */
  apply(x: tf.Tensor): tf.Tensor;
  /** f'(x) on tfjs tensors, for a custom backward pass. */
  gradient?(x: tf.Tensor): tf.Tensor;
  /** ONNX lowering, for export and the ONNX Runtime engines. */
  onnx?: UnaryOnnxLowering;
}

/** A user's gated activation: either `inner` (a unary name: inner(gate)·value) or the math. */
export interface UserGatedActivation {
  /** Registry name (normalised: lower case, `_` for `-` and spaces). */
  name: string;
  /** `gated`. */
  kind: "gated";
  /** Other names that resolve to it. */
  aliases?: readonly string[];
  /** One line for tables. */
  description?: string;
  /** TeX formula for plots and tables. */
  formula?: string;
  /** Properties; unspecified ones default to false (smooth: true). */
  properties?: Partial<ActivationProperties>;
  /** A registered unary activation; the gated form is inner(gate)·value. */
  inner?: string;
  /** float64 f(gate, value) (required without `inner`). */
  reference?(gate: number, value: number): number;
  /** float64 partials [∂f/∂gate, ∂f/∂value]; omitted, finite differences stand in. */
  derivative?(gate: number, value: number): [number, number];
  /** f on tfjs tensors (required without `inner`). */
  apply?(gate: tf.Tensor, value: tf.Tensor): tf.Tensor;
  /** ONNX lowering, for export and the ONNX Runtime engines. */
  onnx?: GatedOnnxLowering;
}

/** Central difference with a step scaled to |x| (error ≈ 1e-10 relative for smooth f). */
function numericDerivative(f: (x: number) => number): (x: number) => number {
  return (x) => {
    const h = 6e-6 * Math.max(1, Math.abs(x));
    return (f(x + h) - f(x - h)) / (2 * h);
  };
}

function toDefinition(user: UserUnaryActivation | UserGatedActivation): ActivationDef {
  const name = normalizeActivationName(user.name ?? "");
  if (!/^[a-z][a-z0-9_.]*$/.test(name)) {
    throw new Error(
      `registerActivation: name '${user.name}' must start with a letter and use letters, ` +
        `digits and '_' only.`,
    );
  }
  const properties = { ...DEFAULT_PROPERTIES, ...user.properties };
  if (user.kind === "gated") {
    if (user.inner !== undefined) {
      const inner = getActivation(user.inner);
      if (inner.kind !== "unary") {
        throw new Error(`registerActivation: inner '${user.inner}' of ${name} must be unary.`);
      }
      return gatedFrom(inner, { name, aliases: user.aliases, description: user.description });
    }
    const { reference, apply } = user;
    if (!reference || !apply) {
      throw new Error(
        `registerActivation: gated '${name}' needs either inner (a unary activation's name) ` +
          `or both reference(gate, value) and apply(gate, value).`,
      );
    }
    return defineGated({
      name,
      aliases: user.aliases,
      description: user.description ?? "User-registered gated activation.",
      formula: user.formula ?? String.raw`f(g, v)`,
      properties,
      reference,
      derivative: user.derivative ?? ((g, v) => [
        numericDerivative((x) => reference(x, v))(g),
        numericDerivative((x) => reference(g, x))(v),
      ]),
      forward: apply,
      onnx: user.onnx,
    });
  }
  if (user.kind !== undefined && user.kind !== "unary") {
    throw new Error(`registerActivation: kind must be "unary" or "gated", got '${user.kind}'.`);
  }
  if (typeof user.reference !== "function" || typeof user.apply !== "function") {
    throw new Error(
      `registerActivation: unary '${name}' needs reference(x: number) (float64 math) and ` +
        `apply(x: tf.Tensor) (the tfjs version).`,
    );
  }
  return defineUnary({
    name,
    aliases: user.aliases,
    description: user.description ?? "User-registered activation.",
    formula: user.formula ?? String.raw`f(x)`,
    properties,
    reference: user.reference,
    derivative: user.derivative ?? numericDerivative(user.reference),
    forward: user.apply,
    gradient: user.gradient,
    onnx: user.onnx,
  });
}

/**
 * Registers a user activation so the GPT, sweeps and plots accept it like a built-in.
 * A name or alias already taken throws unless `override` is set (which replaces the old entry).
 *
 * Before accepting it, the definition is probed at x ∈ {−3, −1, −0.5, 0, 0.5, 1, 3} (gated: those
 * gates × values {−2, 0.5, 3}): `reference` must be finite there, `derivative` must match a
 * finite difference of `reference`, `apply` must return a float32 tensor of its input's shape
 * within 1e-4 of `reference` with a tfjs gradient within 1e-4 of `derivative`, and `onnx`
 * (evaluated op by op in float64) must match `reference`. A part that disagrees throws an
 * `ActivationProbeError` naming the part, the point, both values and the fix. `apply` runs
 * once, on the active tfjs backend when it reads synchronously (cpu, wasm, tensorflow) and
 * otherwise on tfjs's cpu backend; `checkActivation()` probes on any backend, and can run the
 * lowering in ONNX Runtime. `override` does not skip the probe; `probe: false` does, for tests
 * that register a definition that is wrong on purpose (a failure path).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { getActivation, registerActivation } from "@actlab/actlab";
 * registerActivation({
 *   name: "xsigmoid2",
 *   reference: (x) => x / (1 + Math.exp(-2 * x)),
 *   apply: (x) => tf.mul(x, tf.sigmoid(tf.mul(2, x))),
 * }, { override: true });
 * getActivation("xsigmoid2").kind; // "unary"
 * ```
 */
export function registerActivation(
  activation: UserUnaryActivation | UserGatedActivation | ActivationDef,
  options: {
    /** Replace an activation of the same name or alias (the probe still runs). */
    override?: boolean;
    /**
     * `false` registers the definition unprobed: only for tests of failure paths, whose
     * definition is wrong on purpose (a NaN reference to make training diverge, say).
     */
    probe?: boolean;
  } = {},
): ActivationDef {
  const def = isFullDefinition(activation) ? activation : toDefinition(activation);
  const taken = [def.name, ...(def.aliases ?? []).map(normalizeActivationName)]
    .filter((n) => lookup.has(n));
  if (taken.length > 0 && !options.override) {
    throw new Error(
      `registerActivation: '${taken.join("', '")}' is already registered` +
        ` (as ${[...new Set(taken.map((n) => lookup.get(n)))].join(", ")}).` +
        ` Pass { override: true } to replace it, or choose another name.`,
    );
  }
  if (options.probe !== false) probeDefinition(def);
  for (const n of taken) remove(lookup.get(n) as string);
  add(def);
  return def;
}

function isFullDefinition(a: object): a is ActivationDef {
  const d = a as Record<string, unknown>;
  return typeof d.derivative === "function" && typeof d.apply === "function" &&
    typeof d.formula === "string" && typeof d.description === "string" &&
    d.properties !== undefined && (d.kind === "unary" || d.kind === "gated");
}

/**
 * Removes a user-registered activation. Built-ins can only be replaced (with `override`), not
 * removed; returns whether something was removed.
 *
 * @example
 * ```ts
 * import { unregisterActivation } from "@actlab/actlab";
 * unregisterActivation("no_such_activation"); // false
 * ```
 */
export function unregisterActivation(name: string): boolean {
  const canonical = lookup.get(normalizeActivationName(name));
  if (canonical === undefined) return false;
  if (builtinNames.has(canonical)) {
    throw new Error(
      `unregisterActivation: '${canonical}' is built in; replace it with ` +
        `registerActivation(def, { override: true }) instead.`,
    );
  }
  remove(canonical);
  return true;
}
