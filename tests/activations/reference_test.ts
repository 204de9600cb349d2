/**
 * The float64 references themselves: against independent mpmath values (golden.json, from
 * tools/golden_activations.py), the numbers people quote, the limits at ±∞, and a finite
 * difference of every reference derivative.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import {
  derivativeCheck,
  erf,
  erfc,
  isBuiltinActivation,
  normalCdf,
} from "@actlab/actlab/activations";
import { getGated, getUnary, listActivations } from "@actlab/actlab";

interface Golden {
  /** Per unary built-in: f and f′ at ±∞, and [x, f(x), f′(x)] rows. */
  unary: Record<
    string,
    { limits: [string, string]; dlimits: [string, string]; points: [number, string, string][] }
  >;
  /** Per gated built-in: [gate, value, f, ∂f/∂gate, ∂f/∂value] rows. */
  gated: Record<string, [number, number, string, string, string][]>;
  /** Per elementwise trainable built-in, at other parameters: [x, f, f′, ∂f/∂p…] rows. */
  trainable: Record<string, { params: Record<string, number>; points: (number | string)[][] }[]>;
  /** Per built-in normalising over a row: rows with y and the gradients of ⟨dy, y⟩. */
  rows: Record<string, {
    params: Record<string, number>;
    row: number[];
    dy: number[];
    y: string[];
    dx: string[];
    dparams: Record<string, string>;
  }[]>;
}

const golden: Golden = JSON.parse(
  await Deno.readTextFile(new URL("./golden.json", import.meta.url)),
);

const unary = (name: string) => getUnary(name);

/** |got − want| / max(1e-300, |want|): plain relative error. */
function rel(got: number, want: number): number {
  return got === want ? 0 : Math.abs(got - want) / Math.max(1e-300, Math.abs(want));
}

for (const [name, { points }] of Object.entries(golden.unary)) {
  Deno.test(`${name}.reference() and .derivative() match mpmath to 1e-13 relative`, () => {
    const def = unary(name);
    for (const [x, y, dy] of points) {
      const want = Number(y);
      const wantD = Number(dy);
      const e = want === 0 ? Math.abs(def.reference(x)) : rel(def.reference(x), want);
      assert(e < 1e-13, `${name}(${x}) = ${def.reference(x)}, mpmath ${y} (error ${e})`);
      if (def.kinks?.includes(x)) continue; // mpmath's central difference straddles the kink
      const ed = wantD === 0 ? Math.abs(def.derivative(x)) : rel(def.derivative(x), wantD);
      assert(ed < 1e-12, `${name}'(${x}) = ${def.derivative(x)}, mpmath ${dy} (error ${ed})`);
    }
  });
}

for (const [name, rows] of Object.entries(golden.gated)) {
  Deno.test(`${name}.reference() and .derivative() match mpmath to 1e-13 relative`, () => {
    const def = getGated(name);
    for (const [g, v, y, dg, dv] of rows) {
      const errors = [
        [def.reference(g, v), Number(y)],
        [def.derivative(g, v)[0], Number(dg)],
        [def.derivative(g, v)[1], Number(dv)],
      ].map(([got, want]) => (want === 0 ? Math.abs(got) : rel(got, want)));
      assert(
        errors[0] < 1e-13 && errors[1] < 1e-12 && errors[2] < 1e-12,
        `${name}(${g}, ${v}): errors ${errors} against mpmath ${y}, [${dg}, ${dv}]`,
      );
    }
  });
}

/** Plain relative error, or the absolute value where mpmath says 0. */
const off = (got: number, want: string) =>
  Number(want) === 0 ? Math.abs(got) : rel(got, Number(want));

for (const [name, settings] of Object.entries(golden.trainable)) {
  Deno.test(`${name} matches mpmath at other parameter values, in x and in each parameter`, () => {
    const def = unary(name);
    const names = def.trainable!.map((p) => p.name);
    for (const { params, points } of settings) {
      for (const [x, y, dy, ...dps] of points as [number, string, string, ...string[]][]) {
        assert(
          off(def.reference(x, params), y) < 1e-13,
          `${name}(${x}; ${JSON.stringify(params)})`,
        );
        if (def.kinks?.includes(x)) continue;
        assert(
          off(def.derivative(x, params), dy) < 1e-12,
          `${name}'(${x}; ${JSON.stringify(params)})`,
        );
        const dp = def.paramDerivative!(x, params);
        names.forEach((p, k) => {
          const e = off(dp[p], dps[k]);
          assert(e < 1e-12, `∂${name}/∂${p} at ${x}: ${dp[p]} vs mpmath ${dps[k]} (${e})`);
        });
      }
    }
  });
}

for (const [name, cases] of Object.entries(golden.rows)) {
  Deno.test(`${name}'s row reference and vector-Jacobian product match mpmath to 1e-12`, () => {
    const rows = unary(name).overChannels!;
    for (const c of cases) {
      const y = rows.reference(c.row, c.params);
      const { dx, dparams } = rows.vjp(c.row, c.dy, c.params);
      c.y.forEach((want, i) => assert(off(y[i], want) < 1e-13, `y[${i}] ${y[i]} vs ${want}`));
      c.dx.forEach((want, i) => assert(off(dx[i], want) < 1e-12, `dx[${i}] ${dx[i]} vs ${want}`));
      for (const [p, want] of Object.entries(c.dparams)) {
        assert(off(dparams[p], want) < 1e-12, `d${p} ${dparams[p]} vs ${want}`);
      }
    }
  });
}

Deno.test("golden.json covers exactly the registry's built-ins, in its order", () => {
  for (const kind of ["unary", "gated"] as const) {
    const names = listActivations({ kind }).map((d) => d.name).filter(isBuiltinActivation);
    assertEquals(
      Object.keys(golden[kind]),
      names,
      `${kind}: regenerate with /usr/bin/python3 tools/golden_activations.py > ` +
        `tests/activations/golden.json`,
    );
  }
});

Deno.test("erf() and erfc() hit known values and stay accurate in the tails", () => {
  assertAlmostEquals(erf(0.5), 0.5204998778130465, 2e-16);
  assertAlmostEquals(erf(1), 0.8427007929497149, 2e-16);
  assertAlmostEquals(erf(-2), -0.9953222650189527, 2e-16);
  assert(rel(erfc(5), 1.5374597944280349e-12) < 1e-14);
  assert(rel(erfc(10), 2.088487583762545e-45) < 1e-13);
  assertEquals(erfc(-Infinity), 2);
  assertEquals(erf(Infinity), 1);
  assert(rel(normalCdf(-10), 7.619853024160527e-24) < 1e-13);
});

Deno.test("gelu(-1) is -0.1586553 and gelu_tanh(-1) is -0.1588080", () => {
  assertAlmostEquals(unary("gelu").reference(-1), -0.1586553, 5e-8);
  assertAlmostEquals(unary("gelu_tanh").reference(-1), -0.1588080, 5e-8);
});

/** ∫ f(x) φ(x) dx over N(0, 1) by composite Simpson on [-12, 12]. */
function gaussianMean(f: (x: number) => number): number {
  const n = 24000;
  const h = 24 / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const x = -12 + i * h;
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    s += w * f(x) * Math.exp(-0.5 * x * x);
  }
  return s * h / 3 / Math.sqrt(2 * Math.PI);
}

Deno.test("the mean of relu over N(0, 1) is 1/√(2π) and of gelu is 1/(2√π)", () => {
  assertAlmostEquals(gaussianMean(unary("relu").reference), 1 / Math.sqrt(2 * Math.PI), 1e-7);
  assertAlmostEquals(gaussianMean(unary("gelu").reference), 1 / (2 * Math.sqrt(Math.PI)), 1e-10);
});

Deno.test("no overflow at large |x|: softplus(100) = 100, gelu_tanh(±20), sigmoid(-100)", () => {
  assertEquals(unary("softplus").reference(100), 100);
  assertEquals(unary("softplus").reference(1000), 1000);
  assertEquals(unary("gelu_tanh").reference(20), 20);
  // mpmath: −20·σ(2u(−20)) = −3.3754509563109673e-261, far below float32 but exact in float64.
  assert(rel(unary("gelu_tanh").reference(-20), -3.3754509563109673e-261) < 1e-12);
  assert(rel(unary("sigmoid").reference(-100), 3.720075976020836e-44) < 1e-14);
  assertEquals(unary("mish").reference(1000), 1000);
  assertEquals(unary("silu").reference(-1000), -0);
});

Deno.test("every unary reference and derivative take mpmath's limits at ±∞ and propagate NaN", () => {
  for (const [name, { limits, dlimits }] of Object.entries(golden.unary)) {
    const def = unary(name);
    const [lo, hi] = limits.map(Number);
    assertAlmostEquals(def.reference(-Infinity), lo, 1e-15, `${def.name}(-∞)`);
    assertEquals(def.reference(Infinity), hi, `${def.name}(+∞)`);
    assert(Number.isNaN(def.reference(NaN)), `${def.name}(NaN) should be NaN`);
    const [dlo, dhi] = dlimits.map(Number);
    for (const [x, want] of [[-Infinity, dlo], [Infinity, dhi]]) {
      const got = def.derivative(x);
      assert(
        got === want || Math.abs(got - want) <= 1e-15,
        `${def.name}'(${x}) = ${got}, not ${want}`,
      );
    }
    assert(Number.isNaN(def.derivative(NaN)), `${def.name}'(NaN) should be NaN`);
  }
});

Deno.test("every reference derivative agrees with a central finite difference to 1e-7", () => {
  for (const def of listActivations()) {
    const worst = derivativeCheck(def);
    assert(
      worst.maxError < 1e-7,
      `${def.name}: derivative ${worst.got} vs finite difference ${worst.want} at ` +
        `${JSON.stringify(worst.at)} (error ${worst.maxError})`,
    );
  }
});

Deno.test("gated references are inner(gate)·value with the product rule", () => {
  const swiglu = getGated("swiglu");
  const silu = unary("silu");
  assertEquals(swiglu.reference(1.5, -2), silu.reference(1.5) * -2);
  assertEquals(swiglu.derivative(1.5, -2), [silu.derivative(1.5) * -2, silu.reference(1.5)]);
  const gtu = getGated("gtu");
  assertAlmostEquals(gtu.reference(0, 1), 0.5 * Math.tanh(1), 1e-16);
});
