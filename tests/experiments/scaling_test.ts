/** The scaling fit against known power laws, and its bootstrap over paired seeds. */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { scalingFit, type ScalingPoint } from "@actlab/actlab/experiments";

/** Trials of activations whose loss is c·C^β, times a per-seed factor shared by all of them. */
function trials(curves: Record<string, [number, number]>, noise: number[]): ScalingPoint[] {
  const computes = [2e12, 8e12, 3e13];
  return Object.entries(curves).flatMap(([activation, [c, beta]]) =>
    computes.flatMap((compute, k) =>
      noise.map((n, i) => ({
        activation,
        size: `depth=${2 * k + 2}`,
        compute,
        seed: i + 1,
        loss: c * compute ** beta * (1 + n * (k + 1)),
      }))
    )
  );
}

Deno.test("scalingFit() recovers each activation's exponent and the multiplier of a parallel curve", () => {
  const points = trials({ gelu: [3, -0.04], relu2: [2.9, -0.04] }, [0, 0, 0]);
  const { fits, multipliers } = scalingFit(points, { resamples: 50 });
  for (const f of fits) assertAlmostEquals(f.beta, -0.04, 1e-12);
  // relu2 is 2.9/3 of gelu at every compute: gelu needs (3/2.9)^(1/0.04) times the compute.
  const expected = (3 / 2.9) ** (1 / 0.04);
  assertEquals(multipliers.map((m) => m.size), ["depth=2", "depth=4", "depth=6"]);
  for (const m of multipliers) assertAlmostEquals(m.multiplier, expected, expected * 1e-9);
});

Deno.test("the bootstrap's intervals cover the truth and are narrow when seeds move together", () => {
  const noise = [0.004, -0.003, 0.001, -0.002, 0.003, 0, -0.001, 0.002];
  const points = trials({ gelu: [3, -0.04], swiglu: [2.95, -0.045] }, noise);
  const { fits, multipliers } = scalingFit(points, { resamples: 1000, seed: 7 });
  const swiglu = fits.find((f) => f.activation === "swiglu")!;
  assert(swiglu.betaLow < -0.045 + 0.01 && swiglu.betaHigh > -0.045 - 0.01, JSON.stringify(swiglu));
  // The shared seed factor cancels in the comparison: the multiplier's interval is tight.
  for (const m of multipliers) {
    assert(m.low <= m.multiplier && m.multiplier <= m.high, JSON.stringify(m));
    assert(m.high / m.low < 1.5, `interval ${m.low}–${m.high}`);
  }
  // A steeper curve gains more with compute: the multiplier grows with size.
  assert(multipliers[0].multiplier < multipliers[2].multiplier);
});

Deno.test("an activation with one size is left out of the fits and the multipliers", () => {
  const points = [
    ...trials({ gelu: [3, -0.04] }, [0, 0]),
    { activation: "mish", size: "depth=4", compute: 8e12, seed: 1, loss: 2 },
  ];
  const { fits, multipliers } = scalingFit(points, { resamples: 10 });
  assertEquals(fits.map((f) => f.activation), ["gelu"]);
  assertEquals(multipliers, []);
});
