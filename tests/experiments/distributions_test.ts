import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  normalOutputStats,
  normalStatsTable,
  sampledDistribution,
} from "../../lib/experiments/distributions.ts";

const SQRT_2PI = Math.sqrt(2 * Math.PI);

Deno.test("normalOutputStats(relu) gives mean 1/√(2π), std √(1/2 − 1/(2π)) and half zeros", () => {
  const s = normalOutputStats("relu");
  assertAlmostEquals(s.mean, 1 / SQRT_2PI, 1e-10); // 0.3989
  assertAlmostEquals(s.std, Math.sqrt(0.5 - 1 / (2 * Math.PI)), 1e-10);
  assertAlmostEquals(s.zeroFraction, 0.5, 1e-12);
  assertEquals(s.negativeFraction, 0);
});

Deno.test("normalOutputStats(gelu) gives mean 1/(2√π) = 0.2821, no zeros, half negative", () => {
  const s = normalOutputStats("gelu");
  assertAlmostEquals(s.mean, 1 / (2 * Math.sqrt(Math.PI)), 1e-10);
  assertEquals(s.zeroFraction, 0);
  assertAlmostEquals(s.negativeFraction, 0.5, 1e-12);
});

Deno.test("normalOutputStats(identity) and (relu2) match the normal moments", () => {
  const id = normalOutputStats("identity");
  assertAlmostEquals(id.mean, 0, 1e-12);
  assertAlmostEquals(id.std, 1, 1e-10);
  // E[relu(X)²] = 1/2, E[relu(X)⁴] = 3/2  →  std = √(3/2 − 1/4)
  const r2 = normalOutputStats("relu2");
  assertAlmostEquals(r2.mean, 0.5, 1e-10);
  assertAlmostEquals(r2.std, Math.sqrt(1.5 - 0.25), 1e-9);
});

Deno.test("normalOutputStats(relu6) loses the mass above 6 only: mean just below 1/√(2π)", () => {
  const s = normalOutputStats("relu6");
  // E[relu(X)] − E[relu6(X)] = E[(X − 6)⁺] = φ(6) − 6·(1 − Φ(6)) ≈ 1.56e-10
  assert(s.mean < 1 / SQRT_2PI && 1 / SQRT_2PI - s.mean < 1e-9);
});

Deno.test("normalOutputStats refuses an odd number of intervals with a message", () => {
  assertThrows(() => normalOutputStats("relu", { intervals: 3 }), RangeError, "even");
});

Deno.test("sampledDistribution agrees with the exact statistics within sampling error", () => {
  for (const name of ["relu", "gelu", "silu"]) {
    const exact = normalOutputStats(name);
    const d = sampledDistribution(name, { n: 40_000, seed: 3 });
    const se = exact.std / Math.sqrt(d.n);
    assert(Math.abs(d.mean - exact.mean) < 5 * se, `${name}: ${d.mean} vs ${exact.mean}`);
    assertAlmostEquals(d.zeroFraction, exact.zeroFraction, 0.01);
    assertEquals(d.counts.reduce((a, b) => a + b, 0), d.n);
    assertEquals(d.edges.length, d.counts.length + 1);
  }
});

Deno.test("sampledDistribution is deterministic for a seed", () => {
  const a = sampledDistribution("gelu", { n: 100, seed: 9 });
  const b = sampledDistribution("gelu", { n: 100, seed: 9 });
  assertEquals(Array.from(a.values), Array.from(b.values));
});

Deno.test("normalStatsTable returns a row per activation, gated along the gate", () => {
  const rows = normalStatsTable(["relu", "swiglu"]);
  assertEquals(rows.map((r) => r.activation), ["relu", "swiglu"]);
  // swiglu(g, 1) = silu(g)
  assertAlmostEquals(rows[1].mean, normalOutputStats("silu").mean, 1e-12);
});
