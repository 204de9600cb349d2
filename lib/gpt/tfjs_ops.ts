/**
 * The {@link Ops} interface on tfjs: eager execution with gradients, on whichever tfjs backend is
 * active (`wasm`, `webgpu`, `tensorflow`, `cpu`).
 *
 * Written for tfjs-wasm's speed: tfjs-wasm runs only plain 2-D products fast (XNNPACK); batched
 * products and products with transpose flags fall to a scalar loop about 10× slower. So on wasm
 * every product — weights, their gradients, attention — goes to our WebAssembly SIMD kernel
 * (`_simd_matmul.ts`: relaxed-SIMD FMA, transposes folded into packing), measured 5–30 % faster
 * than XNNPACK on the 2-D shapes here and 6–8× faster than tfjs-wasm on the batched ones. Other
 * backends use tfjs's matMul. The embedding lookup is a one-hot product, whose gradient needs no
 * `UnsortedSegmentSum` (missing on tfjs-wasm) and which is faster than `gather` there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { GatedActivation, UnaryActivation } from "../activations/types.ts";
import type { Ops } from "./ops.ts";
import { simdMatmul, simdMatmulAvailable } from "./_simd_matmul.ts";
import { registerWasmKernel } from "./_wasm_kernel.ts";

type GradSave = (tensors: tf.Tensor[]) => void;

/**
 * op(a) @ op(b) for 2-D operands (op = transpose when asked). On tfjs-wasm: the SIMD kernel
 * (faster than XNNPACK here, and transposes fold into its packing); elsewhere tfjs's matMul of
 * explicit transposes (on webgpu faster than its transpose flags: 1.45 vs 2.0 s/step, llvmpipe).
 */
function mm2d(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor2D {
  if (tf.getBackend() === "wasm" && simdMatmulAvailable()) {
    return simdMatmul(a, b, { transposeA: ta, transposeB: tb }) as tf.Tensor2D;
  }
  const t = (x: tf.Tensor, yes: boolean) => (yes ? tf.transpose(x) : x) as tf.Tensor2D;
  return tf.matMul(t(a, ta), t(b, tb));
}

/** `a @ b` for 2-D a [m, k], b [k, n], with both gradients as 2-D products. */
const matMul2d = tf.customGrad(
  ((a: tf.Tensor, b: tf.Tensor, save: GradSave) => {
    save([a, b]);
    return {
      value: mm2d(a, b, false, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved;
        return [
          mm2d(dy, sb, false, true), // dA = dY @ Bᵀ   [m, k]
          mm2d(sa, dy, true, false), // dB = Aᵀ @ dY   [k, n]
        ];
      },
    };
    // deno-lint-ignore no-explicit-any
  }) as any,
) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** One-hot rows `oh` [N, V] times `table` [V, C]; only the table gets a gradient. */
const oneHotLookup = tf.customGrad(
  ((oh: tf.Tensor, table: tf.Tensor, save: GradSave) => {
    save([oh]);
    return {
      value: mm2d(oh, table, false, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.zerosLike(saved[0]),
        mm2d(saved[0], dy, true, false), // dTable = ohᵀ @ dY   [V, C]
      ],
    };
    // deno-lint-ignore no-explicit-any
  }) as any,
) as (oh: tf.Tensor, table: tf.Tensor) => tf.Tensor2D;

/**
 * LayerNorm without bias over the last axis of a 2-D x [N, C]: (x − mean)/√(var + eps)·w, with the
 * analytic backward pass (about half the ops of differentiating the composite):
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w;  dw = Σ_rows dy·x̂.
 */
function layerNorm2d(eps: number) {
  return tf.customGrad(
    ((x: tf.Tensor2D, w: tf.Tensor1D, save: GradSave) => {
      const mean = tf.mean(x, -1, true); // [N, 1]
      const xc = tf.sub(x, mean);
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), tf.scalar(eps))); // [N, 1]
      const xhat = tf.mul(xc, rstd); // [N, C]
      save([xhat, rstd, w]);
      return {
        value: tf.mul(xhat, w),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sr, sw] = saved;
          const g = tf.mul(dy, sw); // [N, C]
          const dx = tf.mul(
            sr,
            tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sx, tf.mean(tf.mul(g, sx), -1, true))),
          );
          return [dx, tf.sum(tf.mul(dy, sx), 0)];
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  ) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;
}

const SPLIT_KERNEL = "ActlabSplitLast";

/** Registers the row-by-row split of the last axis on tfjs-wasm, with concat as its gradient. */
function registerSplitKernel(): void {
  if (tf.getKernel(SPLIT_KERNEL, "wasm") !== undefined) return;
  registerWasmKernel(SPLIT_KERNEL, ({ x }, heap, attrs) => {
    const parts = attrs.sizes as number[];
    const c = x.shape[x.shape.length - 1];
    const rows = c === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / c;
    const outs = parts.map((s) => heap.makeOutput([...x.shape.slice(0, -1), s], "float32")); // [..., s]
    const src = heap.typedArrayFromHeap(x);
    const dsts = outs.map((o) => heap.typedArrayFromHeap(o));
    for (let r = 0; r < rows; r++) {
      let off = r * c;
      for (let p = 0; p < parts.length; p++) {
        dsts[p].set(src.subarray(off, off + parts[p]), r * parts[p]);
        off += parts[p];
      }
    }
    return outs;
  });
  tf.registerGradient({
    kernelName: SPLIT_KERNEL,
    gradFunc: (dy) => ({ x: () => tf.concat(dy as tf.Tensor[], -1) }),
  });
}

/**
 * Splits the last axis into consecutive parts. tfjs-wasm's SplitV copies element by element
 * (about 2 ms for [768, 384]); the kernel here copies rows.
 */
function splitLast(x: tf.Tensor, sizes: readonly number[]): tf.Tensor[] {
  const c = x.shape[x.rank - 1];
  if (sizes.reduce((a, b) => a + b, 0) !== c) {
    throw new RangeError(`split: sizes [${sizes}] do not add up to the last axis (${c})`);
  }
  if (tf.getBackend() !== "wasm") return tf.split(x, [...sizes], -1);
  registerSplitKernel();
  const attrs = { sizes: [...sizes] } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(SPLIT_KERNEL, { x }, attrs) as unknown as tf.Tensor[];
}

const layerNormByEps = new Map<number, (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D>();

const maskValues = new Map<number, Float32Array>();

/** A [T, T] tensor: 0 on and below the diagonal, −∞ above (values cached, no kept tensor). */
function causalMaskTensor(t: number): tf.Tensor2D {
  let v = maskValues.get(t);
  if (v === undefined) {
    v = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) v[i * t + j] = -Infinity;
    maskValues.set(t, v);
  }
  return tf.tensor2d(v, [t, t]);
}

/** Rows of `table` [V, C] for `ids` [B, T], as a one-hot product → [B, T, C]. */
function embedding(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const [v, c] = table.shape;
  const oh = tf.cast(tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, v), "float32"); // [B·T, V]
  return tf.reshape(oneHotLookup(oh, table), [...ids.shape, c]); // [B, T, C]
}

/** The first T rows of the position table [blockSize, C] → [T, C]. */
function positionEmbedding(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const t = ids.shape[ids.rank - 1];
  if (t > table.shape[0]) {
    throw new RangeError(
      `sequence length ${t} exceeds the context length (blockSize ${table.shape[0]}); ` +
        `crop the input to its last ${table.shape[0]} tokens`,
    );
  }
  return tf.slice(table, [0, 0], [t, -1]); // [T, C]
}

/** `x @ w (+ bias)` over the last axis, as one 2-D product: [..., in] → [..., out]. */
function linear(x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = w.shape;
  const lead = x.shape.slice(0, -1);
  const y = matMul2d(tf.reshape(x, [-1, inDim]), w); // [N, out]
  const out = tf.reshape(y, [...lead, outDim]); // [..., out]
  return bias === undefined ? out : tf.add(out, bias);
}

/** LayerNorm over the last axis with the analytic backward pass (biased variance, as torch). */
function layerNorm(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  eps: number,
): tf.Tensor {
  let ln = layerNormByEps.get(eps);
  if (ln === undefined) layerNormByEps.set(eps, ln = layerNorm2d(eps));
  const c = x.shape[x.rank - 1];
  const y = tf.reshape(ln(tf.reshape(x, [-1, c]), weight), x.shape); // [N, C] → x's shape
  return bias === undefined ? y : tf.add(y, bias);
}

/** Batched product; on tfjs-wasm (whose own kernel is a scalar loop) through the SIMD kernel. */
function matmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (
    a.rank >= 3 && a.rank === b.rank && tf.getBackend() === "wasm" && simdMatmulAvailable() &&
    a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join()
  ) {
    return simdMatmul(a, b);
  }
  return tf.matMul(a, b);
}

/** Mean cross-entropy of logits [B, T, V] against int targets [B, T] → scalar. */
function crossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const v = logits.shape[logits.rank - 1];
  const logp = tf.logSoftmax(tf.reshape(logits, [-1, v])); // [B·T, V]
  const oh = tf.cast(tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, v), "float32"); // [B·T, V]
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, oh), -1))); // scalar
}

/** Options of {@link tfjsOps}. */
export interface TfjsOpsOptions {
  /** Dropout active. Default false. */
  readonly training?: boolean;
  /** Seed of the dropout masks; each dropout call advances it. Default 0. */
  readonly seed?: number;
}

/**
 * The tfjs implementation of {@link Ops}. Tensors must be created inside the caller's `tf.tidy`
 * (the ops allocate intermediates and do not dispose their inputs).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsOps } from "./tfjs_ops.ts";
 * const ops = tfjsOps();
 * const y = ops.linear(tf.ones([2, 3, 4]), tf.ones([4, 5])); // [2, 3, 5], every entry 4
 * console.assert(y.shape.join() === "2,3,5");
 * ```
 */
export function tfjsOps(options: TfjsOpsOptions = {}): Ops<tf.Tensor> {
  const training = options.training ?? false;
  let dropoutSeed = options.seed ?? 0;
  return {
    name: "tfjs",
    training,
    embedding,
    positionEmbedding,
    linear,
    linearSplit: (x, w, bias, sizes) => splitLast(linear(x, w, bias), sizes),
    add: (a, b) => tf.add(a, b),
    mul: (a, b) => tf.mul(a, b),
    scale: (x, s) => tf.mul(x, tf.scalar(s)),
    layerNorm,
    split: splitLast,
    splitHeads(x, nHead) {
      const c = x.shape[x.rank - 1];
      return tf.reshape(x, [...x.shape.slice(0, -1), nHead, c / nHead]); // [..., C] → [..., nh, hs]
    },
    mergeHeads(x) {
      const [nh, hs] = x.shape.slice(-2);
      return tf.reshape(x, [...x.shape.slice(0, -2), nh * hs]); // [..., nh, hs] → [..., C]
    },
    transpose: (x, perm) => tf.transpose(x, [...perm]),
    matmul,
    causalMask: (scores) => tf.add(scores, causalMaskTensor(scores.shape[scores.rank - 1])),
    softmax: (x) => tf.softmax(x),
    activation: (def: UnaryActivation, x, params) => def.apply(x, params),
    gatedActivation: (def: GatedActivation, gate, value) => def.apply(gate, value),
    dropout(x, rate) {
      if (!training || rate === 0) return x;
      return tf.dropout(x, rate, undefined, dropoutSeed++);
    },
    crossEntropy,
  };
}
