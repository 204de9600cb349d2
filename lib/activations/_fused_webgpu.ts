/**
 * Fused kernels for tfjs-webgpu: one WGSL compute pass per activation (and one for its
 * gradient) instead of the dozens a composite of tfjs ops dispatches. Each activation's f and f′
 * are generated from its registry math (`_kernel_source.ts`), and erfcx32 from the generated
 * coefficients, exactly as for `wasm/kernels.c`; the helpers below mirror that file's line for
 * line, with its own exp (Cody-Waite + degree-7 polynomial, 2^k built from bits), so accuracy
 * does not depend on a GPU's native `exp`, which WGSL only bounds to 3 + 2|x| ulp.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { webgpu_util } from "@tensorflow/tfjs-backend-webgpu";
import type { UnaryMath } from "./_algebra.ts";
import { fusedKernelNames, registerFused } from "./_fused.ts";
import { activationSource, erfcxSource } from "./_kernel_source.ts";

/** The operations of `_algebra.ts` in WGSL (see wasm/kernels.c), plus exp32 and erfcx32. */
export const WGSL_HELPERS: string = /* wgsl */ `
fn exp32(x : f32) -> f32 {
  let xc = clamp(x, -103.9, 88.73);
  let k = round(xc * 1.44269504);
  let r = (xc - k * 0.693359375) + k * 2.12194440e-4;
  var p = 1.98412698e-4;
  p = p * r + 1.38888889e-3;
  p = p * r + 8.33333333e-3;
  p = p * r + 4.16666667e-2;
  p = p * r + 1.66666667e-1;
  p = p * r + 0.5;
  p = p * r * r + r + 1.0;
  let ki = i32(k);
  let k1 = ki >> 1u;
  let s1 = bitcast<f32>(u32(k1 + 127) << 23u);
  let s2 = bitcast<f32>(u32(ki - k1 + 127) << 23u);
  var y = (p * s1) * s2;
  if (x < -103.9) { y = 0.0; }
  if (x > 88.73) { y = bitcast<f32>(0x7f800000u); }
  if (x != x) { y = x; }
  return y;
}

${erfcxSource("wgsl")}

fn sqrt32(x : f32) -> f32 { return sqrt(x); }

fn abs32(x : f32) -> f32 { return abs(x); }

// NaN by its bits: x != x may be compiled as an ordered compare (false for NaN), and min/max
// as instructions that return the other operand.
fn is_nan32(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

fn min32(a : f32, b : f32) -> f32 {
  if (is_nan32(a) || is_nan32(b)) { return a + b; }
  return min(a, b);
}

fn max32(a : f32, b : f32) -> f32 {
  if (is_nan32(a) || is_nan32(b)) { return a + b; }
  return max(a, b);
}

fn gate(x : f32, g : f32) -> f32 {
  if (g == 0.0) { return 0.0; }
  return x * g;
}

fn sigmoid32(z : f32) -> f32 { return 1.0 / (1.0 + exp32(-z)); }

fn sigmoid_slope32(z : f32) -> f32 {
  let e = exp32(-z);
  let s = 1.0 / (1.0 + e);
  if (s == 0.0) { return 0.0; }
  return s * (e * s);
}

fn normal_cdf32(x : f32) -> f32 {
  let h = 0.5 * erfcx32(abs(x) * 0.70710678) * exp32(-0.5 * x * x);
  return select(1.0 - h, h, x < 0.0);
}

fn normal_pdf32(x : f32) -> f32 { return 0.39894228 * exp32(-0.5 * x * x); }
`;

interface WebGpuBackend {
  runWebGPUProgram(program: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo;
}

/** A flat elementwise WGSL program writing f(x), or dy·f′(x) for the gradient. */
function program(name: string, source: string, shape: number[], grad: boolean) {
  const workgroupSize: [number, number, number] = [128, 1, 1];
  const dispatchLayout = webgpu_util.flatDispatchLayout(shape);
  return {
    variableNames: grad ? ["x", "dy"] : ["x"],
    outputShape: shape,
    shaderKey: `actlab_${name}${grad ? "_grad" : ""}`,
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, shape, workgroupSize),
    workgroupSize,
    size: true,
    getUserCode: () => `
      ${WGSL_HELPERS}
      ${source}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let x = getXByOutputIndex(index);
          ${
      grad
        ? `setOutputAtIndex(index, getDyByOutputIndex(index) * ${name}_df(x));`
        : `setOutputAtIndex(index, ${name}_f(x));`
    }
        }
      }`,
  };
}

/** Registers WGSL kernels generated from the math of each of the given fused activations. */
export function registerWebgpuKernels(
  defs: readonly { readonly name: string; readonly math?: UnaryMath }[],
): void {
  for (const { name, math } of defs) {
    if (!math) throw new Error(`${name}: a fused activation needs its math`);
    const source = activationSource(name, math, "wgsl");
    const { forward, gradient } = fusedKernelNames(name);
    tf.registerKernel({
      kernelName: forward,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        return (backend as unknown as WebGpuBackend).runWebGPUProgram(
          program(name, source, x.shape, false),
          [x],
          "float32",
        );
      },
    });
    tf.registerKernel({
      kernelName: gradient,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        return (backend as unknown as WebGpuBackend).runWebGPUProgram(
          program(name, source, x.shape, true),
          [x, inputs.dy as tf.TensorInfo],
          "float32",
        );
      },
    });
    registerFused(name, "webgpu");
  }
}
