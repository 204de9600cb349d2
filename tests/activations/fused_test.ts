/**
 * Fused kernels against the one definition they are generated from. The fused-kernel set is
 * the registry entries with `fused: true`; for each, on every backend present, the kernel's
 * forward and gradient are compared point by point with the entry's float64 math (forward
 * ≤ 1e-6, gradient ≤ 1e-5, scaled error); the generated sources are checked to be current; and
 * the algebra the math is written in is checked to mean the same in float64 and in tfjs.
 */
import { assert, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { availableBackends } from "@actlab/actlab/engine";
import {
  accuracyGrid,
  type BuiltUnary,
  fusedBackends,
  isBuiltinActivation,
  measureAccuracy,
  scaledError,
} from "@actlab/actlab/activations";
import { initEngine, listActivations } from "@actlab/actlab";
import { sha256Hex } from "@actlab/actlab/core";
import { type Algebra, F64, TENSORS } from "../../lib/activations/_algebra.ts";
import { wasmKernelNames } from "../../lib/activations/_fused_wasm.ts";
import { WGSL_HELPERS } from "../../lib/activations/_fused_webgpu.ts";
import {
  activationSource,
  f32Literal,
  generateKernelsC,
} from "../../lib/activations/_kernel_source.ts";
import { KERNELS_SOURCE_SHA256 } from "../../lib/activations/wasm/_kernels_wasm.ts";

const FORWARD_TOLERANCE = 1e-6;
const GRADIENT_TOLERANCE = 1e-5;
const FUSED_BACKENDS = ["cpu", "wasm", "webgpu"];

const builtins = listActivations({ kind: "unary" })
  .filter((d) => isBuiltinActivation(d.name)) as BuiltUnary[];
const fused = builtins.filter((d) => d.fused);
const kernelsC = new URL("../../lib/activations/wasm/kernels.c", import.meta.url);

Deno.test("the fused-kernel set is the registry entries with fused: true, each with math", () => {
  assert(fused.length > 0);
  for (const def of fused) assert(def.math, `${def.name} is fused but has no math`);
});

Deno.test("every fused activation has kernels on cpu, wasm and webgpu; fixed others on cpu only", () => {
  for (const def of builtins) {
    assertEquals(
      fusedBackends(def.name).sort(),
      def.fused ? FUSED_BACKENDS : def.trainable ? [] : ["cpu"], // trainable: parameters in, no kernel
      def.fused ? `${def.name} (run \`deno task build:wasm\` after marking it fused)` : def.name,
    );
  }
});

Deno.test("the committed wasm module exports a kernel pair for exactly the fused set", () => {
  assertEquals(
    wasmKernelNames().sort(),
    fused.map((d) => d.name).sort(),
    "kernels.c and the registry disagree: run `deno task build:wasm`",
  );
});

Deno.test("kernels.c's generated regions are what the registry's math generates", async () => {
  const text = await Deno.readTextFile(kernelsC);
  const want = generateKernelsC(text, fused.map((d) => ({ name: d.name, math: d.math! })));
  assertEquals(text, want, "kernels.c is stale: run `deno task build:wasm`");
});

Deno.test("the committed wasm kernels were built from the current kernels.c", async () => {
  const hex = await sha256Hex(await Deno.readFile(kernelsC));
  assertEquals(hex, KERNELS_SOURCE_SHA256, "kernels.c changed: run `deno task build:wasm`");
});

Deno.test("every helper the generated kernels call is defined in both C and WGSL", async () => {
  const c = await Deno.readTextFile(kernelsC);
  for (const def of fused) {
    for (
      const [lang, source, defined] of [
        ["c", c, (f: string) => new RegExp(`INLINE float ${f}\\(`)],
        ["wgsl", WGSL_HELPERS, (f: string) => new RegExp(`fn ${f}\\(`)],
      ] as const
    ) {
      const called = activationSource(def.name, def.math!, lang).matchAll(/= (\w+)\(/g);
      for (const [, f] of called) assert(defined(f).test(source), `${lang}: ${f} (${def.name})`);
    }
  }
});

Deno.test("float32 literals in generated kernels round to the intended float32 in both languages", () => {
  for (const v of [1, 0.044715, 3 * 0.044715, 1.702, 2 * Math.sqrt(2 / Math.PI), -6.4e-6, 1e-30]) {
    for (const lang of ["c", "wgsl"] as const) {
      const text = f32Literal(v, lang);
      assert(/[.e]/.test(text), `${text} must read as a float in ${lang}`);
      assertEquals(Math.fround(Number(text.replace(/f$/, ""))), Math.fround(v), text);
    }
  }
});

const backends = await availableBackends();

for (const { backend, ok, detail } of backends.filter((b) => FUSED_BACKENDS.includes(b.backend))) {
  if (!ok) console.warn(`skipping fused kernels on ${backend}: ${detail}`);
  Deno.test({
    name: `on ${backend}: each fused kernel matches its entry's float64 math (1e-6 / 1e-5)`,
    ignore: !ok,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async (t) => {
      await initEngine({ backend });
      for (const def of fused) {
        await t.step(`${def.name}: forward ≤ 1e-6 and gradient ≤ 1e-5 over the grid`, async () => {
          assert(fusedBackends(def.name).includes(backend), `no fused ${def.name} on ${backend}`);
          const r = await measureAccuracy(def);
          assert(
            r.forward.maxError <= FORWARD_TOLERANCE,
            `forward at ${r.forward.at}: ${r.forward.got} vs ${r.forward.want}`,
          );
          assert(
            r.gradient.maxError <= GRADIENT_TOLERANCE,
            `gradient at ${r.gradient.at}: ${r.gradient.got} vs ${r.gradient.want}`,
          );
        });
      }
    },
  });
}

Deno.test({
  name: "min and max give NaN where either operand is NaN, in float64 and in tfjs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initEngine({ backend: "cpu" });
    for (const op of ["min", "max"] as const) {
      assert(Number.isNaN(F64[op](NaN, 0)) && Number.isNaN(F64[op](0, NaN)), op);
      const t = tf.tidy(() => TENSORS[op](tf.tensor1d([NaN, 0, 1]), tf.tensor1d([0, NaN, 2])));
      const v = await t.data();
      t.dispose();
      assert(Number.isNaN(v[0]) && Number.isNaN(v[1]), `${op}: ${v}`);
      assertEquals(v[2], op === "min" ? 1 : 2);
    }
  },
});

Deno.test({
  name: "every algebra operation means the same in float64 and in float32 tfjs (within 1e-6)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initEngine({ backend: "cpu" });
    const xs = accuracyGrid();
    const ys = xs.map((x) => Math.fround(0.37 * x + 0.5));
    const probes: Record<string, <T>(m: Algebra<T>, x: T, y: T) => T> = {
      c: (m) => m.c(0.044715),
      add: (m, x, y) => m.add(x, y),
      sub: (m, x, y) => m.sub(x, y),
      mul: (m, x, y) => m.mul(x, y),
      div: (m, x, y) => m.div(x, y),
      exp: (m, x) => m.exp(x),
      sqrt: (m, x) => m.sqrt(x), // NaN below 0 on both sides
      abs: (m, x) => m.abs(x),
      min: (m, x, y) => m.min(x, y),
      max: (m, x, y) => m.max(x, y),
      gate: (m, x, y) => m.gate(x, y),
      sigmoid: (m, x) => m.sigmoid(x),
      sigmoidSlope: (m, x) => m.sigmoidSlope(x),
      normalCdf: (m, x) => m.normalCdf(x),
      normalPdf: (m, x) => m.normalPdf(x),
    };
    assertEquals(Object.keys(probes).sort(), Object.keys(F64).sort(), "a probe per operation");
    const failures: string[] = [];
    for (const [op, probe] of Object.entries(probes)) {
      const got = tf.tidy(() =>
        tf.broadcastTo(probe(TENSORS, tf.tensor1d(xs), tf.tensor1d(ys)), [xs.length])
      );
      const values = await got.data();
      got.dispose();
      xs.forEach((x, i) => {
        const want = Math.fround(probe(F64, x, ys[i])); // tfjs is float32: e^100 overflows
        const e = scaledError(values[i], want);
        if (!(e <= 1e-6)) failures.push(`${op}(${x}, ${ys[i]}): ${values[i]} vs ${want}`);
      });
    }
    assertEquals(failures.length, 0, failures.slice(0, 5).join("\n"));
  },
});
