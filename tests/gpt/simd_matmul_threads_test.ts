/**
 * The SIMD matmul on several threads gives the one-thread result bit for bit: products of awkward
 * shapes cut along every axis, nano training steps, and the path where the main thread computes
 * the helpers' chunks itself. Timing is the benches' business (bench/train.ts --wasm-threads).
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { initEngine } from "../../lib/engine/tfjs.ts";
import {
  setSimdMatmulSplit,
  simdMatmul,
  simdMatmulThreads,
  simdMatmulThreadsReady,
  simdMatmulThreadStats,
} from "../../lib/gpt/_simd_matmul.ts";
import { createGpt, gptConfig, trainConfig, Trainer } from "../../lib/gpt/mod.ts";
import { createRng, sampleBatch } from "../../lib/core/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

await initEngine({ backend: "wasm" });

/** Threads for the matmul (and how to split), then whether the helpers are ready. */
async function useThreads(threads: number, split: Parameters<typeof setSimdMatmulSplit>[0] = {}) {
  await initEngine({ backend: "wasm", wasmThreads: threads });
  setSimdMatmulSplit(split);
  assertEquals(await simdMatmulThreadsReady(), threads, `${threads} threads ready`);
}

/** The bits of a tensor's values. */
const bits = (t: tf.Tensor) => new Uint32Array(Float32Array.from(t.dataSync()).buffer);

function firstDifference(a: Uint32Array, b: Uint32Array): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  const i = a.findIndex((x, j) => x !== b[j]);
  return i < 0 ? undefined : `element ${i}: bits ${a[i]} and ${b[i]}`;
}

const chunksRun = () => {
  const s = simdMatmulThreadStats();
  return s ? s.helped + s.here + s.stalled : 0;
};

Deno.test({
  name: "simdMatmul() on 2 and 3 threads equals 1 thread bit for bit (odd shapes, 1 row, every " +
    "transpose, cut by batch, rows and columns)",
  sanitizeOps: false, // the helper threads outlive the test (unref'ed)
  sanitizeResources: false,
  async fn() {
    // [batch, m, k, n]: 1 row (columns cut), 1 column panel (rows cut), n and m not multiples of
    // the tile (8 columns, 6 rows), k = 1, batches below and above the thread count.
    const shapes = [
      [1, 1, 300, 1000],
      [1, 7, 33, 1001],
      [1, 1000, 17, 9],
      [1, 513, 129, 65],
      [1, 13, 5, 3],
      [1, 7, 1, 9],
      [1, 128, 77, 384],
      [2, 300, 40, 17],
      [3, 5, 7, 9],
      [5, 61, 47, 59],
      [12, 64, 32, 64],
    ];
    try {
      for (const [batch, m, k, n] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = tf.randomNormal(ta ? [batch, k, m] : [batch, m, k], 0, 1, "float32", 1);
            const b = tf.randomNormal(tb ? [batch, n, k] : [batch, k, n], 0, 1, "float32", 2);
            const product = () => {
              const c = simdMatmul(a, b, { transposeA: ta, transposeB: tb });
              const out = bits(c);
              c.dispose();
              return out;
            };
            const what = `[${batch},${m},${k},${n}] ta=${ta} tb=${tb}`;
            await useThreads(1);
            const one = product();
            for (const threads of [2, 3]) {
              await useThreads(threads, { minMacs: 0 }); // split even the smallest
              const before = chunksRun();
              const diff = firstDifference(product(), one);
              assertEquals(diff, undefined, `${what}, ${threads} threads: ${diff}`);
              if (m * n > 1) assert(chunksRun() > before, `${what}: the product was not split`);
            }
            // The main thread computing every chunk itself (as when no helper wakes in time).
            await useThreads(2, { minMacs: 0, holdHelpers: true });
            const held = simdMatmulThreadStats()!.here;
            assertEquals(firstDifference(product(), one), undefined, `${what}, chunks held`);
            if (m * n > 1) assert(simdMatmulThreadStats()!.here > held, `${what}: none held`);
            tf.dispose([a, b]);
          }
        }
      }
    } finally {
      await useThreads(1);
      await initEngine({ backend: "wasm", wasmThreads: "auto" });
    }
  },
});

Deno.test({
  name: "products that grow tfjs-wasm's heap (detaching its views) and the shared memory, on 2 " +
    "and 3 threads, equal 1 thread bit for bit",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const heapBytes = () =>
      (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const before = heapBytes();
    // [batch, m, k, n]: a 32 MiB packed B (scratch grown after the output is placed), a 64 MiB C.
    const shapes = [[1, 6, 2048, 4096], [1, 4096, 8, 4096]];
    try {
      for (const [batch, m, k, n] of shapes) {
        const a = tf.randomNormal([batch, m, k], 0, 1, "float32", 3);
        const b = tf.randomNormal([batch, k, n], 0, 1, "float32", 4);
        const got = new Map<number, Uint32Array>();
        for (const threads of [2, 3, 1]) { // the multi-threaded runs first: they grow the heap
          await useThreads(threads);
          const c = simdMatmul(a, b);
          got.set(threads, bits(c));
          c.dispose();
        }
        for (const threads of [2, 3]) {
          const diff = firstDifference(got.get(threads)!, got.get(1)!);
          assertEquals(diff, undefined, `[${batch},${m},${k},${n}], ${threads} threads: ${diff}`);
        }
        tf.dispose([a, b]);
      }
      assert(heapBytes() > before, `tfjs-wasm's heap did not grow (${before} bytes)`);
    } finally {
      await initEngine({ backend: "wasm", wasmThreads: "auto" });
    }
  },
});

Deno.test({
  name: "nano training steps on 1 and 2 threads give identical losses, grad norms and parameters",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ds = syntheticDataset({ length: 20000 });
    const steps = async (threads: number) => {
      await useThreads(threads);
      const model = createGpt(gptConfig({ preset: "nano", vocabSize: ds.tokenizer.size }), {
        seed: 7,
      });
      const config = trainConfig({ preset: "nano" });
      const trainer = new Trainer(model, config);
      const rng = createRng(3);
      const losses: number[] = [];
      const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
      for (let i = 0; i < 3; i++) {
        const s = await trainer.step(sampleBatch(ds.train, shape, rng), i);
        losses.push(s.loss, s.gradNorm);
      }
      const params = new Map([...model.variables].map(([name, v]) => [name, bits(v)]));
      trainer.dispose();
      model.dispose();
      return { losses, params };
    };
    try {
      const one = await steps(1);
      const before = chunksRun();
      const two = await steps(2);
      assert(chunksRun() > before, "no product of the nano step was split");
      assertEquals(two.losses, one.losses);
      for (const [name, p] of one.params) {
        const diff = firstDifference(two.params.get(name)!, p);
        assertEquals(diff, undefined, `${name}: ${diff}`);
      }
    } finally {
      await initEngine({ backend: "wasm", wasmThreads: "auto" });
    }
  },
});

const root = new URL("../../", import.meta.url);
/** The URL of a module of this repository, for a script's imports. */
const mod = (path: string) => new URL(path, root).href;

/** Runs `code` (a TypeScript module) in a fresh Deno with `env`: its exit code and output. */
async function runScript(code: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: root.pathname, // deno.json: the import map
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("a script whose products ran on 2 threads ends by itself (the helpers keep no process alive)", async () => {
  const r = await runScript(`
    import * as tf from "@tensorflow/tfjs";
    import { initEngine } from "${mod("lib/engine/tfjs.ts")}";
    import { simdMatmul, simdMatmulThreadsReady, simdMatmulThreadStats } from "${
    mod("lib/gpt/_simd_matmul.ts")
  }";
    await initEngine({ backend: "wasm", wasmThreads: 2 });
    await simdMatmulThreadsReady();
    const c = simdMatmul(tf.ones([256, 256]), tf.ones([256, 256]));
    console.log(JSON.stringify({ c: c.dataSync()[0], stats: simdMatmulThreadStats() }));
  `);
  assertEquals(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assertEquals(got.c, 256);
  assert(got.stats.helped + got.stats.here > 0, r.stdout);
});

Deno.test("ACTLAB_WASM_THREADS=1 keeps every product on one thread; a bad value says what it wants", async () => {
  const code = `
    import * as tf from "@tensorflow/tfjs";
    import { initEngine } from "${mod("lib/engine/tfjs.ts")}";
    import { simdMatmul, simdMatmulThreads, simdMatmulThreadStats } from "${
    mod("lib/gpt/_simd_matmul.ts")
  }";
    const engine = await initEngine({ backend: "wasm" });
    simdMatmul(tf.ones([256, 256]), tf.ones([256, 256])).dataSync();
    console.log(JSON.stringify({ threads: simdMatmulThreads(), stats: simdMatmulThreadStats() ?? null, device: engine.device }));
  `;
  const one = await runScript(code, { ACTLAB_WASM_THREADS: "1" });
  assertEquals(one.code, 0, one.stderr);
  const got = JSON.parse(one.stdout.trim().split("\n").at(-1)!);
  assertEquals([got.threads, got.stats], [1, null]);
  assert(!got.device.includes("matmul on"), got.device);
  const bad = await runScript(code, { ACTLAB_WASM_THREADS: "two" });
  assert(bad.code !== 0);
  assert(bad.stderr.includes("ACTLAB_WASM_THREADS=two is not a thread count"), bad.stderr);
});

Deno.test("simdMatmulThreads() follows initEngine({ wasmThreads }) and refuses a non-count", async () => {
  try {
    await initEngine({ backend: "wasm", wasmThreads: 1 });
    assertEquals(simdMatmulThreads(), 1);
    await initEngine({ backend: "wasm", wasmThreads: 4 });
    assertEquals(simdMatmulThreads(), 4);
    let message = "";
    try {
      await initEngine({ backend: "wasm", wasmThreads: 0 });
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes("not a thread count"), message);
  } finally {
    await initEngine({ backend: "wasm", wasmThreads: "auto" });
  }
});
