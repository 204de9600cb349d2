// Fused activation kernels for tfjs-wasm: one pass over float32 memory per activation (and one
// for its gradient), vectorised by clang into f32x4 SIMD.
//
// Built with `deno task build:wasm` (tools/build_wasm.sh: clang + wasm-ld, -msimd128) into
// lib/activations/wasm/_kernels_wasm.ts. The module imports tfjs-wasm's own memory and works
// in place on tensors' buffers, so it must touch no linear memory of its own: no static data,
// no stack (every helper is always-inline and array-free; the build checks both).
//
// Accuracy (float32 arithmetic throughout, measured by tests/activations/backends_test.ts):
// a few ulps against the float64 reference, within the 1e-6 (forward) and 1e-5 (gradient)
// targets. float64 arithmetic gave 0.5 ulp but ran 2.7× slower on the same machine.
//
// exp32: Cody-Waite reduction x = k·ln2 + r with ln2 split in two (the high part has 9 bits, so
// k·ln2_hi is exact), |r| ≤ ln2/2, Taylor polynomial of degree 7 (truncation < 6e-9 relative).
// erfcx32: the Chebyshev series of tools/fit_erfcx.py (K = 3.75) to degree 12, Estrin's scheme.

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

/**
 * exp(z²)·erfc(z) for z ≥ 0: the degree-12 truncation of the Chebyshev series of
 * tools/fit_erfcx.py (K = 3.75) in monomial form, evaluated by Estrin's scheme (depth 4 instead
 * of Horner's 12, so the vector units overlap the work). Relative error < 2e-7 for z < 3, where
 * GELU needs it; it grows to 1.5e-6 as z → ∞, where Φ has rounded to 0 or 1 in float32.
 */
INLINE float erfcx32(float z) {
  float t = 1.0f - 7.5f / (z + 3.75f);  // (z − 3.75)/(z + 3.75), exactly 1 at z = ∞
  float t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
  float p01 = 0.14558972418308258f + -0.27342191338539124f * t;
  float p23 = 0.22600805759429932f + -0.1635722815990448f * t;
  float p45 = 0.10260436683893204f + -0.054799165576696396f * t;
  float p67 = 0.024142879992723465f + -0.008231693878769875f * t;
  float p89 = 0.001804018160328269f + -6.412790753529407e-06f * t;
  float pab = -0.0001542018580948934f + 3.147532697767019e-05f * t;
  float low = (p01 + t2 * p23) + t4 * (p45 + t2 * p67);
  float high = (p89 + t2 * pab) + t4 * 5.15199053552351e-06f;
  return low + t8 * high;
}

/** x·g, but 0 where the gate g is exactly 0 (so x = ±inf gives the limit 0, not NaN). */
INLINE float gate(float x, float g) { return g == 0.0f ? 0.0f : x * g; }

INLINE float sigmoid32(float x) { return 1.0f / (1.0f + exp32(-x)); }

// ---- GELU, exact: x·Φ(x), Φ(x) = ½·e^(−x²/2)·erfcx(|x|/√2) for x < 0, 1 − that for x ≥ 0.

INLINE float normal_tail(float x) {
  return 0.5f * erfcx32(__builtin_fabsf(x) * 0.70710678f) * exp32(-0.5f * x * x);
}

INLINE float gelu32(float x) {
  float h = normal_tail(x);
  return gate(x, x < 0.0f ? h : 1.0f - h);
}

INLINE float gelu_grad32(float x) {
  float e = exp32(-0.5f * x * x);
  float h = 0.5f * erfcx32(__builtin_fabsf(x) * 0.70710678f) * e;
  return (x < 0.0f ? h : 1.0f - h) + gate(x, 0.39894228f * e);
}

// ---- x·σ(βx) with β = 1 (SiLU), 1.702 (quick GELU), and GELU's tanh form x·σ(2u(x)).

INLINE float sig_gated32(float x, float beta) { return gate(x, sigmoid32(beta * x)); }

/** σ(z)·σ(−z) from e = e^(−z) and s = σ(z): s·(e·s), without 1 − s cancellation (0 at e = ∞). */
INLINE float sigmoid_slope(float e, float s) { return s == 0.0f ? 0.0f : s * (e * s); }

INLINE float sig_gated_grad32(float x, float beta) {
  float e = exp32(-beta * x);
  float s = 1.0f / (1.0f + e);
  return s + gate(beta * x, sigmoid_slope(e, s));
}

#define SQRT_2_OVER_PI 0.79788456f
#define CUBIC 0.044715f

INLINE float gelu_tanh32(float x) {
  float u2 = 2.0f * SQRT_2_OVER_PI * (x + CUBIC * x * x * x);
  return gate(x, sigmoid32(u2));
}

INLINE float gelu_tanh_grad32(float x) {
  float u2 = 2.0f * SQRT_2_OVER_PI * (x + CUBIC * x * x * x);
  float du2 = 2.0f * SQRT_2_OVER_PI * (1.0f + 3.0f * CUBIC * x * x);
  float e = exp32(-u2);
  float s = 1.0f / (1.0f + e);
  return s + gate(x * du2, sigmoid_slope(e, s));
}

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

#define SILU(x) sig_gated32(x, 1.0f)
#define SILU_GRAD(x) sig_gated_grad32(x, 1.0f)
#define QUICK(x) sig_gated32(x, 1.702f)
#define QUICK_GRAD(x) sig_gated_grad32(x, 1.702f)

KERNELS(gelu, gelu32, gelu_grad32)
KERNELS(gelu_tanh, gelu_tanh32, gelu_tanh_grad32)
KERNELS(silu, SILU, SILU_GRAD)
KERNELS(quick_gelu, QUICK, QUICK_GRAD)
