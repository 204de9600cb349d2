/** Least-squares fits against hand computations and a known quadratic. */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { polyFit, quadraticVertex } from "../../lib/core/fit.ts";

Deno.test("polyFit() recovers an exact line and quadratic, with zero residual", () => {
  const line = polyFit([0, 1, 2, 3], [1, 3, 5, 7], 1);
  assertAlmostEquals(line.coefficients[0], 1, 1e-12);
  assertAlmostEquals(line.coefficients[1], 2, 1e-12);
  assertAlmostEquals(line.sigma, 0, 1e-12);
  assertEquals(line.df, 2);
  const xs = [-3, -1.5, 0, 2, 4.5];
  const quad = polyFit(xs, xs.map((x) => 2 - 0.5 * x + 0.25 * x * x), 2);
  [2, -0.5, 0.25].forEach((c, k) => assertAlmostEquals(quad.coefficients[k], c, 1e-12));
  assertAlmostEquals(quad.r2, 1, 1e-12);
});

Deno.test("polyFit()'s covariance matches the textbook slope variance σ²/Σ(x − x̄)²", () => {
  const xs = [1, 2, 3, 4, 5, 6], ys = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2];
  const f = polyFit(xs, ys, 1);
  const mx = 3.5, sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const fitted = xs.map((x) => f.coefficients[0] + f.coefficients[1] * x);
  const s2 = ys.reduce((s, y, i) => s + (y - fitted[i]) ** 2, 0) / (xs.length - 2);
  assertAlmostEquals(f.covariance[1][1], s2 / sxx, 1e-12);
  assertAlmostEquals(f.covariance[0][0], s2 * (1 / xs.length + mx * mx / sxx), 1e-12);
});

Deno.test("quadraticVertex() finds the minimum; its interval covers it and narrows with less noise", () => {
  const xs = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2];
  const noise = [0.01, -0.02, 0.015, 0, -0.01, 0.02, -0.015, 0.005, 0];
  const v = quadraticVertex(polyFit(xs, xs.map((x, i) => (x - 0.3) ** 2 + noise[i]), 2));
  assert(v.curvature > 0 && v.low < 0.3 && v.high > 0.3, JSON.stringify(v));
  const quiet = quadraticVertex(polyFit(xs, xs.map((x, i) => (x - 0.3) ** 2 + noise[i] / 10), 2));
  assert(quiet.high - quiet.low < (v.high - v.low) / 5);
  const exact = quadraticVertex(polyFit([-1, 0, 1], [2, 1, 2], 2));
  assertAlmostEquals(exact.x, 0, 1e-12);
  assert(Number.isNaN(exact.low), "three points leave no residual degrees of freedom");
});

Deno.test("polyFit() refuses too few distinct x values for the degree", () => {
  assertThrows(() => polyFit([1, 1, 2], [1, 2, 3], 2), Error, "3 distinct x values");
});
