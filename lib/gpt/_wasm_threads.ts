/**
 * Helper threads for a WebAssembly kernel: each helper is a worker holding its own instance of the
 * kernel on one shared `WebAssembly.Memory`, and runs calls of the kernel's `mm` export (ten i32
 * arguments: a chunk of work) that the main thread posts.
 *
 * A job: the main thread wakes the helpers, prepares the chunks one by one (copies their operands
 * into the shared memory) and posts each as soon as it is ready, so a helper starts on the first
 * while the rest are prepared; then it computes a part of its own (`here`, on memory the helpers
 * cannot see), then takes the chunks no helper has started, from the last one back, collecting
 * results as chunks finish. So the work balances itself: a helper that is slow to wake (a busy
 * machine), or never started, costs the parallelism but does not stall the job. A helper that has
 * started a chunk but is descheduled for far longer than the chunk takes has its chunk computed
 * again here (the same bytes to the same place) rather than waited for. Which thread computes a
 * chunk never changes its bytes: every thread runs the same module on the same memory.
 *
 * Hand-off through `Atomics` on a shared control block: a chunk's state word goes posted →
 * claimed (compare-and-exchange: by exactly one thread) → done, tagged with the job's number, so
 * a helper waking late never takes a chunk of a later job by mistake. tfjs kernels are
 * synchronous, so the main thread blocks in `Atomics.wait`, which Deno allows. The helpers are
 * `node:worker_threads` workers from a `data:` URL: unlike Deno's web `Worker`, they can be
 * `unref()`'ed, so an idle helper keeps neither a script nor `deno test` from ending (a web worker
 * blocked in `Atomics.wait` keeps Deno 2.9 from exiting, even after `terminate()`), and a `data:`
 * URL needs no read permission.
 *
 * @module
 */
import { Worker } from "node:worker_threads";

/** Most chunks in one job. */
export const MAX_CHUNKS = 32;

// The control block (Int32Array): JOB (the job's number; helpers wait on it), COUNT (its chunks),
// READY (helpers started), FAILED (the number of a job in which a helper's kernel threw), then
// MAX_CHUNKS chunk slots of 16 words: the state word, then the ten arguments. A state word is
// 4·job + kind. The helper's copy of this layout is in helperMain.
const JOB = 0, COUNT = 1, READY = 2, FAILED = 3, SLOTS = 16, SLOT = 16;
const POSTED = 1, CLAIMED = 2, DONE = 3;
/** How long an idle helper looks for the next job before it sleeps (ms). */
const SPIN_MS = 0.2;
/** Job numbers cycle below this (4·job + kind stays a positive int32). */
const JOB_CYCLE = 1 << 28;

/** The kernel's entry point: ten i32 arguments (byte addresses and sizes). */
export type KernelFn = (...args: number[]) => void;

/**
 * A helper's whole program (runs in the worker; it sees only its argument). The layout constants
 * are repeated as literals: the function is sent as source text.
 */
function helperMain(data: {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array;
  spinMs: number;
}): void {
  const { control } = data;
  const [jobAt, countAt, readyAt, failedAt, slots, slot] = [0, 1, 2, 3, 16, 16];
  const mm = new WebAssembly.Instance(data.module, { env: { memory: data.memory } }).exports
    .mm as (...a: number[]) => void;
  Atomics.add(control, readyAt, 1);
  let job = Atomics.load(control, jobAt);
  for (;;) {
    // Products often follow one another closely (a layer's forward, its backward): look for the
    // next job a little while (spinning: no wake-up latency) before sleeping.
    const until = performance.now() + data.spinMs;
    while (Atomics.load(control, jobAt) === job && performance.now() < until) { /* spin */ }
    Atomics.wait(control, jobAt, job);
    job = Atomics.load(control, jobAt);
    if (job < 0) return; // closed
    const [posted, claimed, done] = [4 * job + 1, 4 * job + 2, 4 * job + 3];
    const count = Atomics.load(control, countAt);
    // Chunks in order; one not yet posted is waited for (the main thread posts all of them).
    for (let i = 0; i < count && Atomics.load(control, jobAt) === job; i++) {
      const at = slots + i * slot;
      let s = Atomics.load(control, at);
      while (s !== posted && s !== claimed && s !== done) {
        Atomics.wait(control, at, s, 5);
        if (Atomics.load(control, jobAt) !== job) break;
        s = Atomics.load(control, at);
      }
      if (Atomics.compareExchange(control, at, posted, claimed) !== posted) continue;
      try {
        const a = control.subarray(at + 1, at + 11);
        mm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
      } catch {
        Atomics.store(control, failedAt, job);
      }
      Atomics.store(control, at, done);
      Atomics.notify(control, at);
    }
  }
}

/** Counters of a pool, for benches. */
export interface ThreadStats {
  /** Chunks a helper ran. */
  helped: number;
  /** Chunks the main thread ran itself (no helper had started them when it was free). */
  here: number;
  /** Chunks the main thread computed again because their helper had stalled. */
  stalled: number;
}

/** One job for {@link KernelThreads.run}. */
export interface ThreadJob {
  /** Chunks, at most {@link MAX_CHUNKS}. */
  readonly chunks: number;
  /** Copies chunk c's operands into the shared memory; returns its ten kernel arguments. */
  prepare(c: number): readonly number[];
  /** This thread's own part, run while the helpers compute. */
  here(): void;
  /** Chunk c's results are in the shared memory (called once per chunk, in any order). */
  done(c: number): void;
  /** Chunk c's work relative to `here()`'s: how long a helper may take before it has stalled. */
  weight(c: number): number;
  /** Post without waking the helpers, so that this thread runs every chunk (a test). */
  readonly hold?: boolean;
}

/** A pool of helper threads running one WebAssembly kernel on a shared memory. */
export interface KernelThreads {
  /** The shared memory that every instance of the kernel uses. */
  readonly memory: WebAssembly.Memory;
  /** Helpers started (ready or not). */
  readonly helpers: number;
  /** How many helpers have started and wait for work. */
  ready(): number;
  /**
   * Runs a job (see the module doc); when it returns, every chunk is done and `done` was called
   * for each. A helper that has not finished its chunk within 1.5 times what the chunk should
   * take (`weight` × the time `here()` took) has stalled: this thread computes the chunk too, and
   * the pool is {@link KernelThreads.busy} until the helper is done with it.
   */
  run(job: ThreadJob): void;
  /**
   * Whether a helper is still computing a chunk of an earlier job that this thread finished for
   * it: the shared memory must not be reused (run nothing) until it is done.
   */
  busy(): boolean;
  /** Counters since the pool started. */
  readonly stats: ThreadStats;
  /** Ends the helpers. */
  close(): void;
}

/**
 * Starts `helpers` worker threads, each instantiating `module` (which imports `env.memory`) on
 * `memory` (shared). The workers start in the background and are unref'ed: they never keep the
 * process alive. Until `ready()` says a helper is there, run jobs on one thread.
 *
 * @example
 * ```ts ignore
 * const pool = startKernelThreads(module, memory, 1);
 * pool.run({ chunks: 4, prepare, here, done, weight: () => 0.25 }); // all chunks done on return
 * ```
 */
export function startKernelThreads(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  helpers: number,
): KernelThreads {
  const control = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + MAX_CHUNKS * SLOT)));
  const local = new WebAssembly.Instance(module, { env: { memory } }).exports.mm as KernelFn;
  const stats: ThreadStats = { helped: 0, here: 0, stalled: 0 };
  /** Chunks of earlier jobs that a stalled helper still computes: slot and its done state. */
  let pending: [number, number][] = [];
  const source = `import { workerData } from "node:worker_threads";\n` +
    `(${helperMain.toString()})(workerData);\n`;
  const url = new URL(`data:text/javascript,${encodeURIComponent(source)}`);
  const workers: Worker[] = [];
  let broken = false;
  for (let h = 0; h < helpers; h++) {
    try {
      const w = new Worker(url, { workerData: { module, memory, control, spinMs: SPIN_MS } });
      w.on("error", () => broken = true); // a helper that failed to start is never used
      w.unref();
      workers.push(w);
    } catch {
      broken = true;
      break;
    }
  }
  let job = 0;
  const runHere = (at: number) => {
    const a = control.subarray(at + 1, at + 11);
    local(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  };
  const slot = (c: number) => SLOTS + c * SLOT;
  const busy = () => {
    if (pending.length > 0) {
      pending = pending.filter(([at, done]) => Atomics.load(control, at) !== done);
    }
    return pending.length > 0;
  };
  const run = (j: ThreadJob) => {
    const n = j.chunks;
    if (n > MAX_CHUNKS) throw new Error(`kernel threads: at most ${MAX_CHUNKS} chunks per job`);
    if (busy()) throw new Error("kernel threads: a helper is still busy with a stalled chunk");
    job = job + 1 < JOB_CYCLE ? job + 1 : 1;
    const [posted, claimed, done] = [4 * job + POSTED, 4 * job + CLAIMED, 4 * job + DONE];
    try {
      Atomics.store(control, COUNT, n);
      if (!j.hold && !broken) {
        Atomics.store(control, JOB, job); // helpers wake while the first chunk is prepared
        Atomics.notify(control, JOB);
      }
      for (let c = 0; c < n; c++) {
        const args = j.prepare(c), at = slot(c);
        for (let i = 0; i < 10; i++) control[at + 1 + i] = args[i];
        Atomics.store(control, at, posted);
        Atomics.notify(control, at);
      }
      finish(j, n, posted, claimed, done);
    } catch (e) {
      // No chunk is left for a helper to wait for or take; one a helper is computing keeps the
      // pool busy until it is done.
      for (let c = 0; c < n; c++) {
        const s = Atomics.compareExchange(control, slot(c), posted, done);
        if (s === claimed) pending.push([slot(c), done]);
        else if (s !== posted && s !== done) Atomics.store(control, slot(c), done);
      }
      throw e;
    }
    if (Atomics.load(control, FAILED) === job) {
      throw new Error("kernel threads: a helper thread's kernel failed");
    }
  };
  /** A job's chunks are posted: this thread's part, then the rest as the module doc says. */
  const finish = (j: ThreadJob, n: number, posted: number, claimed: number, done: number) => {
    const [here0, stalled0] = [stats.here, stats.stalled];
    const t0 = performance.now();
    j.here();
    const hereMs = performance.now() - t0;
    const collected = new Uint8Array(n);
    let left = n;
    const collect = () => {
      for (let c = 0; c < n; c++) {
        if (!collected[c] && Atomics.load(control, slot(c)) === done) {
          collected[c] = 1;
          left--;
          j.done(c);
        }
      }
    };
    // The chunks no helper has started, from the last back, collecting finished ones between.
    for (let c = n - 1; c >= 0; c--) {
      collect();
      if (Atomics.compareExchange(control, slot(c), posted, claimed) !== posted) continue;
      runHere(slot(c));
      stats.here++;
      Atomics.store(control, slot(c), done);
    }
    collect();
    // The chunks helpers are computing: wait for each (a stalled one is computed here too).
    for (let c = 0; c < n && left > 0; c++) {
      if (collected[c]) continue;
      const at = slot(c), limit = Math.max(0.05, 1.5 * hereMs * j.weight(c));
      const start = performance.now();
      let s: number;
      while ((s = Atomics.load(control, at)) === claimed) {
        const wait = limit - (performance.now() - start);
        if (wait <= 0) break;
        Atomics.wait(control, at, claimed, wait);
      }
      if (s === claimed) {
        runHere(at); // the same bytes to the same place as the stalled helper will write
        stats.stalled++;
        pending.push([at, done]);
      } else if (s !== done) throw new Error(`kernel threads: chunk ${c} in state ${s}, not done`);
      collected[c] = 1;
      left--;
      j.done(c);
      collect();
    }
    stats.helped += n - (stats.here - here0) - (stats.stalled - stalled0);
  };
  return {
    memory,
    helpers: workers.length,
    stats,
    ready: () => (broken ? 0 : Math.min(Atomics.load(control, READY), workers.length)),
    run,
    busy,
    close() {
      broken = true;
      Atomics.store(control, JOB, -1);
      Atomics.notify(control, JOB);
    },
  };
}
