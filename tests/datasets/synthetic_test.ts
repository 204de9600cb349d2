import { assert, assertEquals } from "@std/assert";
import { syntheticDataset, syntheticText } from "../../datasets/mod.ts";

Deno.test("syntheticText() is deterministic per seed and has the requested length", () => {
  assertEquals(syntheticText({ length: 1000, seed: 4 }), syntheticText({ length: 1000, seed: 4 }));
  assert(syntheticText({ length: 1000, seed: 4 }) !== syntheticText({ length: 1000, seed: 5 }));
  assertEquals(syntheticText({ length: 777 }).length, 777);
});

Deno.test("syntheticText() is made of grammar sentences, one per line", () => {
  const lines = syntheticText({ length: 5000 }).split("\n").slice(0, -1);
  for (const line of lines) {
    assert(/^(the|a|my) [a-z ]+( [1-9]( [0-9])*)?[.!?]$/.test(line), line);
  }
});

Deno.test("syntheticDataset() splits 90/10 with a small vocabulary", () => {
  const ds = syntheticDataset({ length: 10_000 });
  assertEquals(ds.train.length, 9000);
  assertEquals(ds.val.length, 1000);
  assert(ds.tokenizer.size < 40);
});
