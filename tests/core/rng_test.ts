import { assert, assertEquals, assertThrows } from "@std/assert";
import { createRng, restoreRng } from "../../lib/core/mod.ts";

Deno.test("createRng() with the same seed yields the same sequence", () => {
  const a = createRng(123), b = createRng(123);
  for (let i = 0; i < 100; i++) assertEquals(a.uint32(), b.uint32());
  assert(createRng(1).uint32() !== createRng(2).uint32());
});

Deno.test("int(n) stays in [0, n) and hits every value", () => {
  const rng = createRng(5);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) counts[rng.int(7)]++;
  for (const c of counts) assert(c > 850 && c < 1150, `counts ${counts}`); // ±15 % of 1000
  assertThrows(() => rng.int(0), RangeError);
});

Deno.test("normal() has mean ≈ 0 and standard deviation ≈ 1 (±0.02 over 100k draws)", () => {
  const rng = createRng(7);
  let s = 0, s2 = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  assert(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert(Math.abs(Math.sqrt(s2 / n - mean * mean) - 1) < 0.02);
});

Deno.test("fork() gives reproducible streams independent of the parent's position", () => {
  const a = createRng(9);
  a.uint32();
  assertEquals(a.fork(1).uint32(), createRng(9).fork(1).uint32());
  assert(createRng(9).fork(1).uint32() !== createRng(9).fork(2).uint32());
});

Deno.test("a restored generator continues the stream, forks and spare deviate included", () => {
  const a = createRng(2 ** 40 + 9);
  for (let i = 0; i < 5; i++) a.int(100);
  a.normal(); // leaves the second deviate of the pair for the next call
  const b = restoreRng(JSON.parse(JSON.stringify(a.state())));
  for (let i = 0; i < 20; i++) assertEquals([b.normal(), b.int(1000)], [a.normal(), a.int(1000)]);
  assertEquals(b.fork(3).uint32(), a.fork(3).uint32());
  assertThrows(
    () => restoreRng({ seed: 1, words: [0, 0, 0, 0], spare: null }),
    TypeError,
    "not a generator state",
  );
});
