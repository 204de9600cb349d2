import * as tf from "@tensorflow/tfjs";
import { assert } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { simdMatmul, simdMatmulAvailable } from "../../lib/gpt/_simd_matmul.ts";

await initEngine({ backend: "wasm" });

const maxAbs = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

Deno.test("the WebAssembly SIMD kernel compiles here", () => {
  assert(simdMatmulAvailable());
});

Deno.test("simdMatmul() equals tf.matMul for odd and empty shapes, every transpose (1e-5 relative)", () => {
  const shapes = [[3, 5, 7, 9], [2, 1, 3, 1], [6, 64, 32, 64], [1, 4, 0, 8]];
  for (const [batch, m, k, n] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        tf.tidy(() => {
          const a = tf.randomNormal(ta ? [batch, k, m] : [batch, m, k], 0, 1, "float32", 1);
          const b = tf.randomNormal(tb ? [batch, n, k] : [batch, k, n], 0, 1, "float32", 2);
          // k = 0: an empty sum is 0 (tfjs-wasm's own kernel leaves memory uninitialised there)
          const want = k === 0 ? tf.zeros([batch, m, n]) : tf.matMul(a, b, ta, tb);
          const got = simdMatmul(a, b, { transposeA: ta, transposeB: tb });
          const err = maxAbs(got, want);
          const scale = Math.max(1, tf.max(tf.abs(want)).dataSync()[0]);
          assert(err <= 1e-5 * scale, `[${batch},${m},${k},${n}] ta=${ta} tb=${tb}: ${err}`);
        });
      }
    }
  }
});

Deno.test("simdMatmul() takes 2-D operands too (1e-4 relative to the largest entry)", () => {
  tf.tidy(() => {
    const a = tf.randomNormal([50, 70], 0, 1, "float32", 6),
      b = tf.randomNormal([70, 30], 0, 1, "float32", 7);
    const want = tf.matMul(a, b);
    const scale = tf.max(tf.abs(want)).dataSync()[0];
    assert(maxAbs(simdMatmul(a, b), want) <= 1e-4 * scale);
    assert(
      maxAbs(simdMatmul(b, a, { transposeA: true, transposeB: true }), tf.transpose(want)) <=
        1e-4 * scale,
    );
  });
});

Deno.test("simdMatmul() gradients equal tf.matMul's for 4-D attention shapes (1e-4 relative)", () => {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      tf.tidy(() => {
        const a = tf.randomNormal(ta ? [2, 3, 16, 12] : [2, 3, 12, 16], 0, 1, "float32", 3);
        const b = tf.randomNormal(tb ? [2, 3, 10, 16] : [2, 3, 16, 10], 0, 1, "float32", 4);
        const w = tf.randomNormal([2, 3, 12, 10], 0, 1, "float32", 5); // a fixed upstream gradient
        const ref = tf.grads((x, y) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
        const got = tf.grads((x, y) =>
          tf.sum(tf.mul(simdMatmul(x, y, { transposeA: ta, transposeB: tb }), w))
        )(
          [a, b],
        );
        for (let i = 0; i < 2; i++) {
          const scale = tf.max(tf.abs(ref[i])).dataSync()[0];
          assert(maxAbs(ref[i], got[i]) <= 1e-4 * scale, `grad ${i} ta=${ta} tb=${tb}`);
        }
      });
    }
  }
});
