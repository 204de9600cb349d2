import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { BatchSampler, createRng, sampleBatch, splitTrainVal } from "../../lib/core/mod.ts";

const data = Int32Array.from({ length: 1000 }, (_, i) => i);

Deno.test("splitTrainVal() keeps the first 90 % for training and the rest for validation", () => {
  const { train, val } = splitTrainVal(data);
  assertEquals(train.length, 900);
  assertEquals(val.length, 100);
  assertEquals(train[899], 899);
  assertEquals(val[0], 900);
  assertEquals(splitTrainVal(Int32Array.from({ length: 1115394 })).train.length, 1003854);
});

Deno.test("sampleBatch() returns targets equal to the inputs shifted by one token", () => {
  const b = sampleBatch(data, { batchSize: 8, blockSize: 32 }, createRng(3));
  assertEquals(b.x.length, 256);
  for (let i = 0; i < b.x.length; i++) assertEquals(b.y[i], b.x[i] + 1);
  for (let r = 0; r < 8; r++) {
    const row = b.x.subarray(r * 32, r * 32 + 32);
    for (let t = 1; t < 32; t++) assertEquals(row[t], row[t - 1] + 1); // contiguous windows
    assert(row[0] >= 0 && row[31] + 1 <= 999);
  }
});

Deno.test("the same seed gives the same batches and another seed different ones", () => {
  const shape = { batchSize: 4, blockSize: 16 };
  const a = new BatchSampler(data, { ...shape, seed: 9 });
  const b = new BatchSampler(data, { ...shape, seed: 9 });
  const c = new BatchSampler(data, { ...shape, seed: 10 });
  for (let i = 0; i < 5; i++) {
    const [x, y, z] = [a.next(), b.next(), c.next()];
    assertEquals([...x.x], [...y.x]);
    assertNotEquals([...x.x], [...z.x]);
  }
});

Deno.test("window starts cover the whole valid range", () => {
  const small = Int32Array.from({ length: 12 }, (_, i) => i);
  const seen = new Set<number>();
  const rng = createRng(1);
  for (let i = 0; i < 500; i++) {
    seen.add(sampleBatch(small, { batchSize: 1, blockSize: 4 }, rng).x[0]);
  }
  assertEquals([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]); // starts in [0, 12 − 4)
});

Deno.test("data shorter than blockSize + 1 is an error that says so", () => {
  assertThrows(
    () => sampleBatch(new Int32Array(8), { batchSize: 1, blockSize: 8 }, createRng(0)),
    RangeError,
    "fewer than blockSize + 1",
  );
});
