import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import * as aq from "arquero";
import { cached, isFast, timed, versions } from "../../lib/display/cells.ts";

async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = log;
  }
}

Deno.test("cached() computes once, then reads the stored result from disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let calls = 0;
    const fn = () => {
      calls++;
      return { loss: [2.5, 2.1], seeds: [0, 1] };
    };
    const a = await quietly(() => cached({ name: "sweep", steps: 10 }, fn, { dir }));
    const b = await quietly(() => cached({ steps: 10, name: "sweep" }, fn, { dir }));
    assertEquals(calls, 1, "key order must not matter");
    assertEquals(b.value, a.value);
    assertStringIncludes(a.lines[0], "[cached] sweep: computed in");
    assertStringIncludes(b.lines[0], "[cached] sweep: reused the result computed");
    await quietly(() => cached({ name: "sweep", steps: 20 }, fn, { dir }));
    assertEquals(calls, 2, "a changed input computes afresh");
    await quietly(() => cached({ name: "sweep", steps: 10 }, fn, { dir, recompute: true }));
    assertEquals(calls, 3, "recompute: true ignores the stored result");
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(files.filter((f) => f.endsWith(".tmp")), [], "no temporary files left");
    assertEquals(files.filter((f) => f.startsWith("sweep-")).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cached() recomputes when ACTLAB_RECOMPUTE=1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let calls = 0;
    const fn = () => ++calls;
    await quietly(() => cached("n", fn, { dir }));
    Deno.env.set("ACTLAB_RECOMPUTE", "1");
    try {
      assertEquals((await quietly(() => cached("n", fn, { dir }))).value, 2);
    } finally {
      Deno.env.delete("ACTLAB_RECOMPUTE");
    }
    assertEquals((await quietly(() => cached("n", fn, { dir }))).value, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cached() keeps arquero tables, NaN, infinities, typed arrays and dates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = aq.table({ activation: ["relu", "gelu"], loss: [1.5, NaN] });
    await quietly(() => cached("table", () => t, { dir }));
    const back = (await quietly(() => cached("table", () => aq.table({}), { dir }))).value;
    assertEquals(back.columnNames(), ["activation", "loss"]);
    assertEquals(back.array("activation"), ["relu", "gelu"]);
    assert(Number.isNaN(back.get("loss", 1)));
    const value = { x: new Float32Array([1, NaN, Infinity]), d: new Date(0), n: -Infinity };
    await quietly(() => cached("plain", () => value, { dir }));
    const got = (await quietly(() => cached("plain", () => ({}) as typeof value, { dir }))).value;
    assert(got.x instanceof Float32Array);
    assertEquals(Array.from(got.x), [1, NaN, Infinity]);
    assertEquals(got.d.getTime(), 0);
    assertEquals(got.n, -Infinity);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cached() refuses values it cannot store faithfully and says what to return", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => quietly(() => cached("m", () => ({ m: new Map() }), { dir })),
      TypeError,
      "cannot store a Map at value.m",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("timed() returns the result and prints the elapsed time", async () => {
  const { value, lines } = await quietly(() =>
    timed("nap", () => new Promise<number>((r) => setTimeout(() => r(7), 50)))
  );
  assertEquals(value, 7);
  assert(/^\[timed\] nap: 0\.\d\d s$/.test(lines[0]), lines[0]);
});

Deno.test("isFast() follows ACTLAB_FAST", () => {
  const before = Deno.env.get("ACTLAB_FAST");
  try {
    Deno.env.set("ACTLAB_FAST", "1");
    assertEquals(isFast(), true);
    Deno.env.set("ACTLAB_FAST", "0");
    assertEquals(isFast(), false);
  } finally {
    if (before === undefined) Deno.env.delete("ACTLAB_FAST");
    else Deno.env.set("ACTLAB_FAST", before);
  }
});

Deno.test("versions() reports Deno, tfjs, ONNX Runtime and the machine", async () => {
  const v = await versions();
  assertEquals(v.info.deno, Deno.version.deno);
  assert(/^4\.\d+\.\d+$/.test(v.info.tfjs), v.info.tfjs);
  assert(/^\d+\.\d+\.\d+/.test(v.info.onnxRuntime), v.info.onnxRuntime);
  assertEquals(v.info.cpus, navigator.hardwareConcurrency);
  const text = String(v);
  for (const row of ["Deno", "TensorFlow.js", "ONNX Runtime", "engine", "machine", "ACTLAB_FAST"]) {
    assertStringIncludes(text, row);
  }
});
