/**
 * The helper threads' hand-off (lib/gpt/_wasm_threads.ts) on a tiny test kernel: a chunk a
 * stalled helper holds is computed by the main thread (and the pool waits for the helper before
 * reusing the memory), a helper's failure is reported, held chunks run on the main thread, and a
 * failed preparation leaves the pool usable.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { type KernelThreads, startKernelThreads } from "../../lib/gpt/_wasm_threads.ts";

/**
 * A kernel `mm(a0, a1, a2, …)` on a shared one-page memory that stores a1 at byte a0 and counts
 * its calls at byte 8. Each instance takes a number at start (from byte 0): the first (the main
 * thread's) 0, helpers 1, 2, …. In a helper it first counts the call at byte 12, traps when
 * a2 ≠ 0, and spins while the word at byte 4 is not 0 (a stalled helper).
 */
function testModule(): WebAssembly.Module {
  const uleb = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
  const str = (s: string) => vec([...new TextEncoder().encode(s)].map((c) => [c]));
  const atomicAdd = (addr: number) => [0x41, addr, 0x41, 1, 0xfe, 0x1e, 2, 0]; // → old value
  const start = [0x00, ...atomicAdd(0), 0x24, 0, 0x0b]; // id = fetch_add(byte 0, 1)
  // deno-fmt-ignore
  const mm = [
    0x00,
    0x23, 0, 0x04, 0x40, // if (id) {
    ...atomicAdd(12), 0x1a, // started++
    0x20, 2, 0x04, 0x40, 0x00, 0x0b, // if (a2) unreachable
    0x03, 0x40, 0x41, 4, 0xfe, 0x10, 2, 0, 0x0d, 0, 0x0b, // while (load(byte 4)) {}
    0x0b, // }
    ...atomicAdd(8), 0x1a, // calls++
    0x20, 0, 0x20, 1, 0x36, 2, 0, // store(a0, a1)
    0x0b,
  ];
  // deno-fmt-ignore
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(10).fill([0x7f])), 0], [0x60, 0, 0]])),
    ...section(2, vec([[...str("env"), ...str("memory"), 0x02, 0x03, 1, 1]])),
    ...section(3, vec([[1], [0]])),
    ...section(6, vec([[0x7f, 0x01, 0x41, 0, 0x0b]])),
    ...section(7, vec([[...str("mm"), 0x00, 1]])),
    ...section(8, [0]),
    ...section(10, vec([[...uleb(start.length), ...start], [...uleb(mm.length), ...mm]])),
  ]);
  return new WebAssembly.Module(bytes);
}

/** Polls `ok` every millisecond for up to 10 s. */
async function until(ok: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Blocks this thread until `ok` (at most 10 s). */
function spinUntil(ok: () => boolean): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const t0 = Date.now();
  while (!ok() && Date.now() - t0 < 10_000) Atomics.wait(nap, 0, 0, 0.1);
}

const args = (at: number, value: number, fail = 0) => [at, value, fail, 0, 0, 0, 0, 0, 0, 0];

async function pool(): Promise<{ pool: KernelThreads; view: Int32Array }> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const p = startKernelThreads(testModule(), memory, 1);
  await until(() => p.ready() === 1, "the helper");
  return { pool: p, view: new Int32Array(memory.buffer) };
}

const opts = { sanitizeOps: false, sanitizeResources: false }; // helpers outlive a test

Deno.test({
  ...opts,
  name: "a chunk whose helper stalls is computed by the main thread; the pool is busy until the " +
    "helper is done",
  async fn() {
    const { pool: p, view } = await pool();
    Atomics.store(view, 1, 1); // helpers spin
    const done: number[] = [];
    p.run({
      chunks: 1,
      prepare: () => args(16, 42),
      here: () => spinUntil(() => Atomics.load(view, 3) === 1), // until the helper has it
      done: (c) => done.push(c),
      weight: () => 1,
    });
    assertEquals([view[4], done, p.stats.stalled], [42, [0], 1]);
    assert(p.busy(), "busy while the helper still holds the chunk");
    Atomics.store(view, 1, 0); // the helper resumes
    await until(() => !p.busy(), "the helper to finish");
    assertEquals(Atomics.load(view, 2), 2); // computed twice: here and by the helper
    p.run({
      chunks: 1,
      prepare: () => args(20, 7),
      here: () => {},
      done: () => {},
      weight: () => 1,
    });
    assertEquals(view[5], 7);
    p.close();
  },
});

Deno.test({
  ...opts,
  name: "a helper whose kernel throws makes the job throw",
  async fn() {
    const { pool: p, view } = await pool();
    assertThrows(
      () =>
        p.run({
          chunks: 1,
          prepare: () => args(16, 1, 1),
          here: () => spinUntil(() => Atomics.load(view, 3) === 1),
          done: () => {},
          weight: () => 1e6,
        }),
      Error,
      "helper thread's kernel failed",
    );
    p.close();
  },
});

Deno.test({
  ...opts,
  name: "held chunks run on the main thread, and a failed preparation leaves the pool usable",
  async fn() {
    const { pool: p, view } = await pool();
    const chunks = 5;
    p.run({
      chunks,
      prepare: (c) => args(16 + 4 * c, 100 + c),
      here: () => {},
      done: () => {},
      weight: () => 1,
      hold: true,
    });
    assertEquals([...view.slice(4, 9)], [100, 101, 102, 103, 104]);
    assertEquals([p.stats.here, p.stats.helped, Atomics.load(view, 3)], [chunks, 0, 0]);
    assertThrows(
      () =>
        p.run({
          chunks: 3,
          prepare: (c) => {
            if (c === 2) throw new Error("no room");
            return args(40 + 4 * c, 1);
          },
          here: () => {},
          done: () => {},
          weight: () => 1,
        }),
      Error,
      "no room",
    );
    await until(() => !p.busy(), "the posted chunks");
    const got: number[] = [];
    p.run({
      chunks: 4,
      prepare: (c) => args(64 + 4 * c, 200 + c),
      here: () => {},
      done: (c) => got.push(c),
      weight: () => 1e6,
    });
    assertEquals([...view.slice(16, 20)], [200, 201, 202, 203]);
    assertEquals(got.sort(), [0, 1, 2, 3]);
    p.close();
  },
});
