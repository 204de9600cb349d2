/**
 * Fused kernels for tfjs-webgpu: one WGSL compute pass per activation (and one for its
 * gradient) instead of the dozens a composite of tfjs ops dispatches. The math mirrors
 * `wasm/kernels.c` line for line, with its own exp (Cody-Waite + degree-7 polynomial, 2^k built
 * from bits), so accuracy does not depend on a GPU's native `exp`, which WGSL only bounds to
 * 3 + 2|x| ulp.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { webgpu_util } from "@tensorflow/tfjs-backend-webgpu";
import { fusedKernelNames, registerFused } from "./_fused.ts";

/** Shared WGSL helpers: exp32, erfcx32 (Estrin), gate, sigmoid_slope (see wasm/kernels.c). */
const WGSL_MATH = /* wgsl */ `
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

fn erfcx32(z : f32) -> f32 {
  let t = 1.0 - 7.5 / (z + 3.75);
  let t2 = t * t;
  let t4 = t2 * t2;
  let t8 = t4 * t4;
  let p01 = 0.14558972418308258 + -0.27342191338539124 * t;
  let p23 = 0.22600805759429932 + -0.1635722815990448 * t;
  let p45 = 0.10260436683893204 + -0.054799165576696396 * t;
  let p67 = 0.024142879992723465 + -0.008231693878769875 * t;
  let p89 = 0.001804018160328269 + -6.412790753529407e-06 * t;
  let pab = -0.0001542018580948934 + 3.147532697767019e-05 * t;
  let low = (p01 + t2 * p23) + t4 * (p45 + t2 * p67);
  let high = (p89 + t2 * pab) + t4 * 5.15199053552351e-06;
  return low + t8 * high;
}

fn gate(x : f32, g : f32) -> f32 {
  if (g == 0.0) { return 0.0; }
  return x * g;
}

fn sigmoid_slope(e : f32, s : f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return s * (e * s);
}

fn sigmoid32(x : f32) -> f32 { return 1.0 / (1.0 + exp32(-x)); }

fn normal_tail(x : f32) -> f32 {
  return 0.5 * erfcx32(abs(x) * 0.70710678) * exp32(-0.5 * x * x);
}

fn sig_gated(x : f32, beta : f32) -> f32 { return gate(x, sigmoid32(beta * x)); }

fn sig_gated_grad(x : f32, beta : f32) -> f32 {
  let e = exp32(-beta * x);
  let s = 1.0 / (1.0 + e);
  return s + gate(beta * x, sigmoid_slope(e, s));
}

fn gelu_tanh_u2(x : f32) -> f32 { return 1.59576912 * (x + 0.044715 * x * x * x); }
`;

/** Per activation: WGSL bodies of f(x) and f'(x) (x is the input, returns f32). */
const WGSL_FUNCTIONS: Record<string, { f: string; df: string }> = {
  gelu: {
    f: `let h = normal_tail(x); return gate(x, select(1.0 - h, h, x < 0.0));`,
    df: `let e = exp32(-0.5 * x * x);
      let h = 0.5 * erfcx32(abs(x) * 0.70710678) * e;
      return select(1.0 - h, h, x < 0.0) + gate(x, 0.39894228 * e);`,
  },
  gelu_tanh: {
    f: `return gate(x, sigmoid32(gelu_tanh_u2(x)));`,
    df: `let du2 = 1.59576912 * (1.0 + 0.134145 * x * x);
      let e = exp32(-gelu_tanh_u2(x));
      let s = 1.0 / (1.0 + e);
      return s + gate(x * du2, sigmoid_slope(e, s));`,
  },
  silu: { f: `return sig_gated(x, 1.0);`, df: `return sig_gated_grad(x, 1.0);` },
  quick_gelu: { f: `return sig_gated(x, 1.702);`, df: `return sig_gated_grad(x, 1.702);` },
};

/** Activations with a WGSL kernel. */
export const WEBGPU_FUSED = Object.keys(WGSL_FUNCTIONS);

interface WebGpuBackend {
  runWebGPUProgram(program: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo;
}

/** A flat elementwise WGSL program over `variableNames`, writing body(x[, dy]). */
function program(name: string, shape: number[], grad: boolean) {
  const workgroupSize: [number, number, number] = [128, 1, 1];
  const dispatchLayout = webgpu_util.flatDispatchLayout(shape);
  const { f, df } = WGSL_FUNCTIONS[name];
  return {
    variableNames: grad ? ["x", "dy"] : ["x"],
    outputShape: shape,
    shaderKey: `actlab_${name}${grad ? "_grad" : ""}`,
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, shape, workgroupSize),
    workgroupSize,
    size: true,
    getUserCode: () => `
      ${WGSL_MATH}
      fn activation(x : f32) -> f32 { ${grad ? df : f} }
      fn main(index : i32) {
        if (index < uniforms.size) {
          let x = getXByOutputIndex(index);
          ${
      grad
        ? "setOutputAtIndex(index, getDyByOutputIndex(index) * activation(x));"
        : "setOutputAtIndex(index, activation(x));"
    }
        }
      }`,
  };
}

/** Registers the WGSL kernels of every activation in {@link WEBGPU_FUSED}. */
export function registerWebgpuKernels(): void {
  for (const name of WEBGPU_FUSED) {
    const { forward, gradient } = fusedKernelNames(name);
    tf.registerKernel({
      kernelName: forward,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        return (backend as unknown as WebGpuBackend).runWebGPUProgram(
          program(name, x.shape, false),
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
          program(name, x.shape, true),
          [x, inputs.dy as tf.TensorInfo],
          "float32",
        );
      },
    });
    registerFused(name, "webgpu");
  }
}
