// Fused activation kernels for tfjs-wasm: one pass over float32 memory per activation (and one
// for its gradient), vectorised by clang into f32x4 SIMD.
//
// The helpers below are written by hand (and mirrored in _fused_webgpu.ts for WGSL); the two
// GENERATED regions are written by tools/gen_kernels.ts: the erfcx32 polynomial from
// _erfcx_coefficients.ts (tools/fit_erfcx.py), and each fused activation's f and f' from its one
// definition (`math`) in unary.ts. `deno task build:wasm` (tools/build_wasm.sh) regenerates them
// and compiles this file with clang + wasm-ld (-msimd128) into _kernels_wasm.ts.
//
// The module imports tfjs-wasm's own memory and works in place on tensors' buffers, so it must
// touch no linear memory of its own: no static data, no stack (every helper is always-inline and
// array-free; the build checks both).
//
// Accuracy (float32 arithmetic throughout, measured by tests/activations/backends_test.ts):
// a few ulps against the float64 reference, within the 1e-6 (forward) and 1e-5 (gradient)
// targets. float64 arithmetic gave 0.5 ulp but ran 2.7× slower on the same machine.
//
// exp32: Cody-Waite reduction x = k·ln2 + r with ln2 split in two (the high part has 9 bits, so
// k·ln2_hi is exact), |r| ≤ ln2/2, Taylor polynomial of degree 7 (truncation < 6e-9 relative).

#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))

INLINE float as_float(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

/** e^x in float32: 0 below −103.9 (under the smallest denormal), +inf above 88.73. */
INLINE float exp32(float x) {
  float xc = x < -103.9f ? -103.9f : (x > 88.73f ? 88.73f : x);
  float k = __builtin_rintf(xc * 1.44269504f);
  float r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.98412698e-4f;  // 1/7!
  p = p * r + 1.38888889e-3f;  // 1/6!
  p = p * r + 8.33333333e-3f;  // 1/5!
  p = p * r + 4.16666667e-2f;  // 1/4!
  p = p * r + 1.66666667e-1f;  // 1/3!
  p = p * r + 0.5f;
  p = p * r * r + r + 1.0f;
  // 2^k for k in [−150, 128] as two normal factors: k1 = k/2, k2 = k − k1.
  int32_t ki = (int32_t)k;  // trunc_sat: NaN → 0, the NaN flows through p
  int32_t k1 = ki >> 1;
  float s1 = as_float((uint32_t)(k1 + 127) << 23);
  float s2 = as_float((uint32_t)(ki - k1 + 127) << 23);
  float y = (p * s1) * s2;
  return x < -103.9f ? 0.0f : (x > 88.73f ? __builtin_inff() : y);
}

// exp(z²)·erfc(z) for z ≥ 0: the degree-12 float32 truncation of the Chebyshev series of
// tools/fit_erfcx.py in monomial form, by Estrin's scheme. Relative error < 4e-7 for z < 3, where
// GELU needs it; it grows to 1.6e-6 as z → ∞, where Φ has rounded to 0 or 1 in float32.
// BEGIN GENERATED erfcx
// (written by tools/gen_kernels.ts from the registry: do not edit by hand)
INLINE float erfcx32(float z) {
  float t = 1.0f - 7.5f / (z + 3.75f);
  float p0_0 = 0.14558972418308258f + -0.27342191338539124f * t;
  float p0_1 = 0.22600805759429932f + -0.1635722815990448f * t;
  float p0_2 = 0.10260436683893204f + -0.054799165576696396f * t;
  float p0_3 = 0.024142879992723465f + -0.008231693878769875f * t;
  float p0_4 = 0.001804018160328269f + -0.000006412790753529407f * t;
  float p0_5 = -0.0001542018580948934f + 0.00003147532697767019f * t;
  float t2 = t * t;
  float p1_0 = p0_0 + p0_1 * t2;
  float p1_1 = p0_2 + p0_3 * t2;
  float p1_2 = p0_4 + p0_5 * t2;
  float t4 = t2 * t2;
  float p2_0 = p1_0 + p1_1 * t4;
  float p2_1 = p1_2 + 0.00000515199053552351f * t4;
  float t8 = t4 * t4;
  float p3_0 = p2_0 + p2_1 * t8;
  return p3_0;
}
// END GENERATED erfcx

// ---- The operations of lib/activations/_algebra.ts, in float32.

/** √x: wasm's f32.sqrt, correctly rounded (NaN below 0). */
INLINE float sqrt32(float x) { return __builtin_sqrtf(x); }

INLINE float abs32(float x) { return __builtin_fabsf(x); }

/** min and max that give NaN if either operand is NaN (fminf and fmaxf return the other one). */
INLINE float min32(float a, float b) { return (a != a || b != b) ? a + b : (a < b ? a : b); }

INLINE float max32(float a, float b) { return (a != a || b != b) ? a + b : (a > b ? a : b); }

/** x·g, but 0 where the gate g is exactly 0 (so x = ±inf gives the limit 0, not NaN). */
INLINE float gate(float x, float g) { return g == 0.0f ? 0.0f : x * g; }

INLINE float sigmoid32(float z) { return 1.0f / (1.0f + exp32(-z)); }

/** σ(z)·σ(−z) as s·(e·s) with e = e^(−z), s = σ(z): no 1 − s cancellation (0 at e = ∞). */
INLINE float sigmoid_slope32(float z) {
  float e = exp32(-z);
  float s = 1.0f / (1.0f + e);
  return s == 0.0f ? 0.0f : s * (e * s);
}

/** Φ(x): h = ½·e^(−x²/2)·erfcx(|x|/√2) for x < 0, 1 − h for x ≥ 0. */
INLINE float normal_cdf32(float x) {
  float h = 0.5f * erfcx32(__builtin_fabsf(x) * 0.70710678f) * exp32(-0.5f * x * x);
  return x < 0.0f ? h : 1.0f - h;
}

INLINE float normal_pdf32(float x) { return 0.39894228f * exp32(-0.5f * x * x); }

// ---- Exported loops. Pointers are byte offsets into tfjs-wasm's memory.

#define KERNELS(name, f, df)                                                   \
  __attribute__((export_name(#name "_f32"))) void name##_f32(                  \
      const float* restrict x, float* restrict y, int32_t n) {                 \
    for (int32_t i = 0; i < n; i++) y[i] = f(x[i]);                            \
  }                                                                            \
  __attribute__((export_name(#name "_grad_f32"))) void name##_grad_f32(        \
      const float* restrict x, const float* restrict dy, float* restrict dx,   \
      int32_t n) {                                                             \
    for (int32_t i = 0; i < n; i++) dx[i] = dy[i] * df(x[i]);                  \
  }

// ---- Every activation whose registry entry has `fused: true`: f, f' and their loops.
// BEGIN GENERATED activations
// (written by tools/gen_kernels.ts from the registry: do not edit by hand)
// gelu
INLINE float gelu_f(float x) {
  float v0 = normal_cdf32(x);
  float v1 = gate(x, v0);
  return v1;
}

INLINE float gelu_df(float x) {
  float v0 = normal_cdf32(x);
  float v1 = normal_pdf32(x);
  float v2 = gate(x, v1);
  float v3 = v0 + v2;
  return v3;
}
KERNELS(gelu, gelu_f, gelu_df)

// gelu_tanh
INLINE float gelu_tanh_f(float x) {
  float v0 = 0.044714998453855515f * x;
  float v1 = v0 * x;
  float v2 = v1 * x;
  float v3 = x + v2;
  float v4 = 1.5957691669464111f * v3;
  float v5 = sigmoid32(v4);
  float v6 = gate(x, v5);
  return v6;
}

INLINE float gelu_tanh_df(float x) {
  float v0 = 0.044714998453855515f * x;
  float v1 = v0 * x;
  float v2 = v1 * x;
  float v3 = x + v2;
  float v4 = 1.5957691669464111f * v3;
  float v5 = sigmoid32(v4);
  float v6 = 0.13414500653743744f * x;
  float v7 = v6 * x;
  float v8 = 1.0f + v7;
  float v9 = 1.5957691669464111f * v8;
  float v10 = x * v9;
  float v11 = sigmoid_slope32(v4);
  float v12 = gate(v10, v11);
  float v13 = v5 + v12;
  return v13;
}
KERNELS(gelu_tanh, gelu_tanh_f, gelu_tanh_df)

// quick_gelu
INLINE float quick_gelu_f(float x) {
  float v0 = 1.7020000219345093f * x;
  float v1 = sigmoid32(v0);
  float v2 = gate(x, v1);
  return v2;
}

INLINE float quick_gelu_df(float x) {
  float v0 = 1.7020000219345093f * x;
  float v1 = sigmoid32(v0);
  float v2 = sigmoid_slope32(v0);
  float v3 = gate(v0, v2);
  float v4 = v1 + v3;
  return v4;
}
KERNELS(quick_gelu, quick_gelu_f, quick_gelu_df)

// silu
INLINE float silu_f(float x) {
  float v0 = sigmoid32(x);
  float v1 = gate(x, v0);
  return v1;
}

INLINE float silu_df(float x) {
  float v0 = sigmoid32(x);
  float v1 = sigmoid_slope32(x);
  float v2 = gate(x, v1);
  float v3 = v0 + v2;
  return v3;
}
KERNELS(silu, silu_f, silu_df)

// relu2_smooth
INLINE float relu2_smooth_f(float x) {
  float v0 = max32(x, -1152921504606847000.0f);
  float v1 = min32(v0, 1152921504606847000.0f);
  float v2 = v1 * v1;
  float v3 = v2 + 0.03999999910593033f;
  float v4 = sqrt32(v3);
  float v5 = max32(x, 0.0f);
  float v6 = abs32(v1);
  float v7 = v4 + v6;
  float v8 = 0.03999999910593033f / v7;
  float v9 = v5 * v5;
  float v10 = 0.5f * v1;
  float v11 = v10 * v8;
  float v12 = v9 + v11;
  return v12;
}

INLINE float relu2_smooth_df(float x) {
  float v0 = max32(x, -1152921504606847000.0f);
  float v1 = min32(v0, 1152921504606847000.0f);
  float v2 = v1 * v1;
  float v3 = v2 + 0.03999999910593033f;
  float v4 = sqrt32(v3);
  float v5 = max32(x, 0.0f);
  float v6 = abs32(v1);
  float v7 = v4 + v6;
  float v8 = 0.03999999910593033f / v7;
  float v9 = abs32(x);
  float v10 = max32(v4, v9);
  float v11 = 2.0f * v10;
  float v12 = 2.0f * v5;
  float v13 = v8 * v8;
  float v14 = v13 / v11;
  float v15 = v12 + v14;
  return v15;
}
KERNELS(relu2_smooth, relu2_smooth_f, relu2_smooth_df)
// END GENERATED activations
