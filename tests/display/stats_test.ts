import { assertEquals } from "@std/assert";
import { summarize } from "../../lib/display/_stats.ts";

Deno.test("summaries of 600,000 values (a layer's activations) do not overflow the stack", () => {
  const values = Float32Array.from({ length: 600_000 }, (_, i) => i % 1000);
  const s = summarize(values);
  assertEquals([s.n, s.min, s.max], [600_000, 0, 999]);
});
