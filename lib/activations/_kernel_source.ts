/**
 * Source code of the fused float32 kernels, generated from the one definition of each
 * activation ({@link UnaryMath}) and the generated erfcx coefficients: WGSL (compiled by
 * `_fused_webgpu.ts` at run time) and C (written into the generated regions of `wasm/kernels.c`
 * by `tools/gen_kernels.ts`, then compiled to WebAssembly by `deno task build:wasm`).
 *
 * Both languages get the same statements in the same order: one local per operation, constants
 * rounded once to float32. The helpers the operations call (`exp32`, `sqrt32`, `abs32`, `min32`,
 * `max32`, `gate`, `sigmoid32`, `sigmoid_slope32`, `normal_cdf32`, `normal_pdf32`) are written by
 * hand in each language, in `wasm/kernels.c` and `_fused_webgpu.ts`.
 *
 * @module
 */
import type { Algebra, UnaryMath } from "./_algebra.ts";
import { ERFCX_F32, ERFCX_K } from "./_erfcx_coefficients.ts";

/** The two kernel languages. */
export type KernelLanguage = "c" | "wgsl";

/**
 * The float32 value of v as a literal: the shortest decimal of `Math.fround(v)` (exact as a
 * float64, so it rounds to that float32 in either language), with `f` in C.
 *
 * @example
 * ```ts
 * import { f32Literal } from "./_kernel_source.ts";
 * f32Literal(1.702, "c"); // "1.7020000219345093f"
 * f32Literal(2, "wgsl"); // "2.0"
 * ```
 */
export function f32Literal(v: number, lang: KernelLanguage): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw new Error(`kernel constant ${v} is not finite in float32`);
  let s = String(f);
  if (!/[.e]/.test(s)) s += ".0";
  return lang === "c" ? `${s}f` : s;
}

/** An {@link Algebra} over source text: every operation becomes one local of a function body. */
class Emitter implements Algebra<string> {
  readonly lines: string[] = [];
  readonly #lang: KernelLanguage;
  readonly #seen = new Map<string, string>();

  constructor(lang: KernelLanguage) {
    this.#lang = lang;
  }

  /** A local holding `expr` (the same expression twice gives the same local). */
  #let(expr: string): string {
    const known = this.#seen.get(expr);
    if (known) return known;
    const name = `v${this.#seen.size}`;
    this.#seen.set(expr, name);
    this.lines.push(this.#lang === "c" ? `float ${name} = ${expr};` : `let ${name} = ${expr};`);
    return name;
  }

  c(v: number): string {
    return f32Literal(v, this.#lang);
  }
  add(a: string, b: string): string {
    return this.#let(`${a} + ${b}`);
  }
  sub(a: string, b: string): string {
    return this.#let(`${a} - ${b}`);
  }
  mul(a: string, b: string): string {
    return this.#let(`${a} * ${b}`);
  }
  div(a: string, b: string): string {
    return this.#let(`${a} / ${b}`);
  }
  exp(x: string): string {
    return this.#let(`exp32(${x})`);
  }
  sqrt(x: string): string {
    return this.#let(`sqrt32(${x})`);
  }
  abs(x: string): string {
    return this.#let(`abs32(${x})`);
  }
  min(a: string, b: string): string {
    return this.#let(`min32(${a}, ${b})`);
  }
  max(a: string, b: string): string {
    return this.#let(`max32(${a}, ${b})`);
  }
  gate(x: string, g: string): string {
    return this.#let(`gate(${x}, ${g})`);
  }
  sigmoid(z: string): string {
    return this.#let(`sigmoid32(${z})`);
  }
  sigmoidSlope(z: string): string {
    return this.#let(`sigmoid_slope32(${z})`);
  }
  normalCdf(x: string): string {
    return this.#let(`normal_cdf32(${x})`);
  }
  normalPdf(x: string): string {
    return this.#let(`normal_pdf32(${x})`);
  }
}

/** A function `name(x) -> f32` in `lang` whose body is `body` emitted over x. */
function emitFunction(
  lang: KernelLanguage,
  name: string,
  body: (m: Algebra<string>, x: string) => string,
): string {
  const m = new Emitter(lang);
  const result = body(m, "x");
  const lines = [...m.lines, `return ${result};`].map((l) => `  ${l}`).join("\n");
  return lang === "c"
    ? `INLINE float ${name}(float x) {\n${lines}\n}`
    : `fn ${name}(x : f32) -> f32 {\n${lines}\n}`;
}

/**
 * The kernel functions of one activation: `<name>_f(x)` = f(x) and `<name>_df(x)` = f′(x),
 * in float32, from its {@link UnaryMath}.
 *
 * @example
 * ```ts
 * import { activationSource } from "./_kernel_source.ts";
 * const wgsl = activationSource("silu", {
 *   f: (m, x) => m.gate(x, m.sigmoid(x)),
 *   df: (m, x) => m.add(m.sigmoid(x), m.gate(x, m.sigmoidSlope(x))),
 * }, "wgsl");
 * // fn silu_f(x : f32) -> f32 { let v0 = sigmoid32(x); let v1 = gate(x, v0); return v1; } …
 * ```
 */
export function activationSource(name: string, math: UnaryMath, lang: KernelLanguage): string {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new Error(`fused kernel name '${name}' must be lower case letters, digits and '_'`);
  }
  return [
    emitFunction(lang, `${name}_f`, (m, x) => math.f(m, x)),
    emitFunction(lang, `${name}_df`, (m, x) => math.df(m, x)),
  ].join("\n\n");
}

/**
 * `erfcx32(z)` = exp(z²)·erfc(z), z ≥ 0, in float32: the polynomial {@link ERFCX_F32} in
 * t = (z − K)/(z + K) = 1 − 2K/(z + K) (exactly 1 at z = ∞), by Estrin's scheme (pairs combined
 * with t, t², t⁴, …: depth 4 instead of Horner's 12, so vector units overlap the work).
 */
export function erfcxSource(lang: KernelLanguage): string {
  const c = (v: number) => f32Literal(v, lang);
  const decl = lang === "c" ? "float" : "let";
  const lines = [
    `${decl} t = 1.0${lang === "c" ? "f" : ""} - ${c(2 * ERFCX_K)} / (z + ${c(ERFCX_K)});`,
  ];
  let terms = ERFCX_F32.map((a) => c(a));
  let power = "t";
  let level = 0;
  while (terms.length > 1) {
    const next: string[] = [];
    for (let i = 0; i + 1 < terms.length; i += 2) {
      const name = `p${level}_${i / 2}`;
      lines.push(`${decl} ${name} = ${terms[i]} + ${terms[i + 1]} * ${power};`);
      next.push(name);
    }
    if (terms.length % 2 === 1) next.push(terms[terms.length - 1]);
    terms = next;
    if (terms.length > 1) {
      const squared = `t${2 ** (level + 1)}`;
      lines.push(`${decl} ${squared} = ${power} * ${power};`);
      power = squared;
    }
    level++;
  }
  const body = [...lines, `return ${terms[0]};`].map((l) => `  ${l}`).join("\n");
  return lang === "c"
    ? `INLINE float erfcx32(float z) {\n${body}\n}`
    : `fn erfcx32(z : f32) -> f32 {\n${body}\n}`;
}

/** What the C generator needs of an activation with fused kernels. */
export interface FusedSource {
  /** Registry name: the kernel exports are `<name>_f32` and `<name>_grad_f32`. */
  readonly name: string;
  /** The one definition of f and f′. */
  readonly math: UnaryMath;
}

const BEGIN = (region: string) => `// BEGIN GENERATED ${region}`;
const END = (region: string) => `// END GENERATED ${region}`;

function replaceRegion(text: string, region: string, body: string): string {
  const begin = text.indexOf(BEGIN(region));
  const end = text.indexOf(END(region));
  if (begin < 0 || end < begin) {
    throw new Error(`kernels.c: no region '${BEGIN(region)}' … '${END(region)}'`);
  }
  const from = text.indexOf("\n", begin) + 1;
  const note = "// (written by tools/gen_kernels.ts from the registry: do not edit by hand)\n";
  return text.slice(0, from) + note + body + "\n" + text.slice(end);
}

/**
 * `kernels.c` with its two generated regions rewritten: `erfcx` (the erfcx32 polynomial) and
 * `activations` (per fused activation its f, f′ and the exported loops).
 */
export function generateKernelsC(text: string, fused: readonly FusedSource[]): string {
  const activations = fused.map(({ name, math }) =>
    `// ${name}\n${activationSource(name, math, "c")}\nKERNELS(${name}, ${name}_f, ${name}_df)`
  );
  return replaceRegion(
    replaceRegion(text, "erfcx", erfcxSource("c")),
    "activations",
    activations.join("\n\n"),
  );
}
