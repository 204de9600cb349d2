/** trainingStepFlops() against a count by hand for the tiny preset. */
import { assertEquals, assertThrows } from "@std/assert";
import { gptConfig, trainingStepFlops } from "@actlab/actlab/gpt";

// tiny: C = 32, T = 16, L = 2 layers, B = 4 sequences, so N = B·T = 64 tokens; V = 65.
// Unary MLP: H = 4·32 = 128 (up [32, 128]). Gated: H = ⌈⌊8·32/3⌋/8⌉·8 = 88 (up [32, 176]).
const N = 64, C = 32, T = 16, V = 65;
const perLayer = (up: number, hidden: number) =>
  2 * N * C * (3 * C) + // q, k, v projection
  2 * N * T * C + // QKᵀ over all heads: B·nh·T·T·hs = N·T·C multiply-adds
  2 * N * T * C + // A·V, the same size
  2 * N * C * C + // attention output projection
  2 * N * C * up + // MLP up projection
  2 * N * hidden * C; // MLP down projection
const head = 2 * N * C * V; // tied output head

Deno.test("trainingStepFlops() counts the tiny preset's unary step as by hand: 11,022,336", () => {
  const forward = 2 * perLayer(128, 128) + head;
  assertEquals(forward, 3_674_112);
  const f = trainingStepFlops(gptConfig({ preset: "tiny", vocabSize: V, activation: "relu" }), {
    batchSize: 4,
  });
  assertEquals(f, { forward, backward: 2 * forward, total: 3 * forward });
  assertEquals(f.total, 11_022_336);
});

Deno.test("trainingStepFlops() counts a gated MLP's gate and value in its up projection", () => {
  const forward = 2 * perLayer(176, 88) + head;
  const config = gptConfig({ preset: "tiny", vocabSize: V, activation: "swiglu" });
  assertEquals(trainingStepFlops(config, { batchSize: 4 }).total, 3 * forward);
  assertEquals(3 * forward, 11_218_944);
  // The kind can be given instead of read from the registry.
  assertEquals(
    trainingStepFlops({ ...config, activation: "not-registered" }, { batchSize: 4, kind: "gated" }),
    trainingStepFlops(config, { batchSize: 4 }),
  );
});

Deno.test("trainingStepFlops() grows linearly with the batch and refuses a batch below 1", () => {
  const config = gptConfig({ preset: "nano", vocabSize: V, activation: "gelu" });
  const one = trainingStepFlops(config, { batchSize: 1 }).total;
  assertEquals(trainingStepFlops(config, { batchSize: 12 }).total, 12 * one);
  // nano, gelu, batch 12: 1,720,576 forward FLOPs per token × 768 tokens × 3.
  assertEquals(trainingStepFlops(config, { batchSize: 12 }).total, 1_720_576 * 768 * 3);
  assertThrows(() => trainingStepFlops(config, { batchSize: 0 }), RangeError, "batchSize");
});
