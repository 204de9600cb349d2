import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  FLOAT_FORMATS,
  outlierAmplification,
  precisionError,
  quantize,
  roundToFormat,
  scaledCastStats,
} from "../../lib/experiments/precision.ts";

Deno.test("roundToFormat(fp32) equals Math.fround on random values of every magnitude", () => {
  let seed = 1;
  const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  for (let i = 0; i < 20_000; i++) {
    const x = (rand() - 0.5) * Math.exp((rand() - 0.5) * 200);
    assertEquals(roundToFormat(x, "fp32"), Math.fround(x), `x = ${x}`);
  }
});

Deno.test("roundToFormat(bf16) keeps 8 significant bits and rounds ties to even", () => {
  assertEquals(roundToFormat(1 + 2 ** -8, "bf16"), 1); // tie → even (1.0000000)
  assertEquals(roundToFormat(1 + 3 * 2 ** -8, "bf16"), 1 + 2 ** -6); // tie → even (…10)
  assertEquals(roundToFormat(1 + 2 ** -8 + 2 ** -20, "bf16"), 1 + 2 ** -7); // above the tie
  assertEquals(roundToFormat(-3.14159, "bf16"), -3.140625);
});

Deno.test("roundToFormat(fp16): max 65504, overflow to Infinity at 65520, subnormals to 2⁻²⁴", () => {
  assertEquals(roundToFormat(65519, "fp16"), 65504);
  assertEquals(roundToFormat(65520, "fp16"), Infinity);
  assertEquals(roundToFormat(-1e6, "fp16"), -Infinity);
  assertEquals(roundToFormat(-1e6, "fp16", { overflow: "saturate" }), -65504);
  assertEquals(roundToFormat(2 ** -24, "fp16"), 2 ** -24);
  assertEquals(roundToFormat(2 ** -25, "fp16"), 0); // tie between 0 and 2⁻²⁴ → 0 (even)
  assertEquals(roundToFormat(3 * 2 ** -26, "fp16"), 2 ** -24);
  assertEquals(roundToFormat(0.1, "fp16"), 0.0999755859375);
});

Deno.test("roundToFormat(fp8_e4m3): max 448, 464 rounds to 448, above is NaN (no infinity)", () => {
  assertEquals(FLOAT_FORMATS.fp8_e4m3.max, 448);
  assertEquals(roundToFormat(450, "fp8_e4m3"), 448);
  assertEquals(roundToFormat(464, "fp8_e4m3"), 448);
  assert(Number.isNaN(roundToFormat(465, "fp8_e4m3")));
  assert(Number.isNaN(roundToFormat(Infinity, "fp8_e4m3")));
  assertEquals(roundToFormat(1e9, "fp8_e4m3", { overflow: "saturate" }), 448);
  assertEquals(roundToFormat(2 ** -9, "fp8_e4m3"), 2 ** -9); // smallest subnormal
  assertEquals(roundToFormat(2 ** -10, "fp8_e4m3"), 0);
  assertEquals(roundToFormat(0.1, "fp8_e4m3"), 0.1015625);
  assertEquals(roundToFormat(17, "fp8_e4m3"), 16); // tie between 16 and 18 → 16 (even mantissa)
});

Deno.test("roundToFormat(fp8_e5m2): max 57344, overflow to Infinity from 61440", () => {
  assertEquals(roundToFormat(61439, "fp8_e5m2"), 57344);
  assertEquals(roundToFormat(61440, "fp8_e5m2"), Infinity);
  assertEquals(roundToFormat(61440, "fp8_e5m2", { overflow: "saturate" }), 57344);
  assertEquals(roundToFormat(2 ** -16, "fp8_e5m2"), 2 ** -16);
  assertEquals(roundToFormat(5, "fp8_e5m2"), 5);
  assertEquals(roundToFormat(4.5, "fp8_e5m2"), 4); // tie → even
});

Deno.test("roundToFormat keeps NaN and signed zero, and names an unknown format", () => {
  assert(Number.isNaN(roundToFormat(NaN, "bf16")));
  assert(Object.is(roundToFormat(-0, "fp16"), -0));
  assert(Object.is(roundToFormat(-(2 ** -30), "fp16"), -0));
  // deno-lint-ignore no-explicit-any
  assertThrows(() => roundToFormat(1, "fp4" as any), Error, "known: fp32, bf16");
});

Deno.test("every rounded normal value is within the unit roundoff", () => {
  for (const f of ["bf16", "fp16", "fp8_e4m3", "fp8_e5m2"] as const) {
    const u = FLOAT_FORMATS[f].unitRoundoff;
    for (let x = 0.5; x < 300; x *= 1.0137) {
      const r = roundToFormat(x, f);
      assert(Math.abs(r - x) / x <= u * (1 + 1e-12), `${f} at ${x}: ${r}`);
    }
  }
});

Deno.test("quantize with a scale divides, rounds and multiplies back", () => {
  // 1000 / 10 = 100 is a tie between 96 and 104 in e4m3 → 96 (even mantissa) → 960
  const q = quantize([1000, 1920], "fp8_e4m3", { scale: 10 });
  assertEquals(Array.from(q), [960, 1920]);
  assertThrows(() => quantize([1], "bf16", { scale: 0 }), RangeError, "scale");
});

Deno.test("precisionError: output rounding stays within the unit roundoff; relu is exact in input", () => {
  const rows = precisionError(["gelu", "relu"], ["bf16", "fp16", "fp8_e4m3"], {
    sites: ["input", "output"],
  });
  for (const r of rows.filter((r) => r.site === "output")) {
    const u = FLOAT_FORMATS[r.format].unitRoundoff;
    assert(r.maxError <= u * (1 + 1e-9), JSON.stringify(r));
    // outputs ≥ 1e-3 are normal numbers in bf16 and fp16 (not in fp8, whose normals start at 2⁻⁶)
    if (r.format !== "fp8_e4m3") assert(r.maxRelError <= u * (1 + 1e-9), JSON.stringify(r));
  }
  // relu commutes with rounding: input rounding = output rounding
  const relu = rows.filter((r) => r.activation === "relu");
  for (const f of ["bf16", "fp16", "fp8_e4m3"]) {
    const [i, o] = ["input", "output"].map((s) =>
      relu.find((r) => r.format === f && r.site === s)!
    );
    assertAlmostEquals(i.maxError, o.maxError, 1e-15);
  }
});

Deno.test("outlierAmplification: gated outputs grow like s², unary like s", () => {
  const rows = outlierAmplification(["gelu", "swiglu"], { outliers: [10, 100], tokens: 128 });
  const get = (a: string, s: number) => rows.find((r) => r.activation === a && r.outlier === s)!;
  const gelu = get("gelu", 100).maxAbs / get("gelu", 10).maxAbs;
  const swiglu = get("swiglu", 100).maxAbs / get("swiglu", 10).maxAbs;
  assert(gelu > 5 && gelu < 15, `gelu grew ${gelu}×`);
  assert(swiglu > 30, `swiglu grew ${swiglu}×`);
  // int8 error follows the crest; fp8 e4m3 stays near its relative precision
  assert(get("swiglu", 100).int8Error > 3 * get("gelu", 100).int8Error);
  assert(get("swiglu", 100).scaledError.fp8_e4m3! < 0.05);
});

Deno.test("scaledCastStats matches a hand count: crest, fp8 errors, flushes and int8", () => {
  // max 448 sets the scale: e4m3 scale 1, e5m2 scale 448/57344 = 1/128, int8 step 448/127
  const s = scaledCastStats([448, 1, -1, 0.0009], { measure: (i) => i > 0 });
  const rms = Math.sqrt((2 + 0.0009 ** 2) / 3);
  assertEquals(s.maxAbs, 448);
  assertAlmostEquals(s.rms, rms, 1e-15);
  assertAlmostEquals(s.crest, 448 / rms, 1e-12);
  // e4m3: 1 and −1 exact; 0.0009 < 2⁻¹⁰ (half the smallest subnormal) flushes to 0
  assertAlmostEquals(s.scaledError.fp8_e4m3!, Math.sqrt(0.0009 ** 2 / 3) / rms, 1e-15);
  assertEquals(s.flushedToZero.fp8_e4m3, 1 / 3);
  // e5m2: 0.0009·128 = 0.1152 rounds to 7·2⁻⁶ = 0.109375, i.e. 0.109375/128 after scaling back
  const e5 = 0.0009 - 0.109375 / 128;
  assertAlmostEquals(s.scaledError.fp8_e5m2!, Math.sqrt(e5 ** 2 / 3) / rms, 1e-15);
  assertEquals(s.flushedToZero.fp8_e5m2, 0);
  // int8: 1 / (448/127) = 0.28 rounds to 0, so every measured entry becomes 0: error = rms
  assertAlmostEquals(s.int8Error, 1, 1e-15);
  assertThrows(() => scaledCastStats([1, 2], { measure: () => false }), RangeError, "measured");
});

Deno.test("scaledCastStats: e5m2 flushes only below half its smallest subnormal after scaling", () => {
  // scale = 57344 / 57344 = 1; e5m2's smallest subnormal is 2⁻¹⁶, ties at 2⁻¹⁷ round to 0
  const s = scaledCastStats([57344, 2 ** -17, 1.01 * 2 ** -17, 2 ** -16], {
    formats: ["fp8_e5m2"],
    measure: (i) => i > 0,
  });
  assertEquals(s.flushedToZero.fp8_e5m2, 1 / 3);
  assertEquals(Object.keys(s.scaledError), ["fp8_e5m2"]);
});

Deno.test("outlierAmplification with LayerNorm: the outlier no longer grows with s", () => {
  const opts = { outliers: [10, 100, 1000], tokens: 256, layerNorm: true } as const;
  const rows = outlierAmplification(["gelu", "swiglu"], opts);
  const raw = outlierAmplification(["gelu", "swiglu"], { ...opts, layerNorm: false });
  const get = (rs: typeof rows, a: string, s: number) =>
    rs.find((r) => r.activation === a && r.outlier === s)!;
  for (const a of ["gelu", "swiglu"]) {
    // a LayerNorm'd token has norm ≈ √d whatever s is: its pre-activation is an ordinary one
    assert(get(rows, a, 1000).preCrest < 1.5 * get(rows, a, 10).preCrest);
    assertAlmostEquals(
      get(rows, a, 1000).crest,
      get(rows, a, 10).crest,
      0.05 * get(rows, a, 10).crest,
    );
    // without it the pre-activation grows with s (about 10× from 100 to 1000)
    assert(get(raw, a, 1000).preCrest > 8 * get(raw, a, 100).preCrest);
  }
  // a large gain on the outlier channel lets part of it through again
  const gain = Array.from({ length: 64 }, (_, k) => (k === 0 ? 10 : 1));
  const g = outlierAmplification(["swiglu"], { ...opts, layerNormGain: gain });
  assert(get(g, "swiglu", 1000).crest > 3 * get(rows, "swiglu", 1000).crest);
  assertThrows(
    () => outlierAmplification(["gelu"], { layerNormGain: gain }),
    Error,
    "needs layerNorm",
  );
  assertThrows(
    () => outlierAmplification(["gelu"], { layerNorm: true, layerNormGain: [1, 2] }),
    RangeError,
    "width is 64",
  );
});
