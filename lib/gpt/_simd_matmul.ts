/**
 * Matrix products for tfjs-wasm written directly in WebAssembly SIMD.
 *
 * tfjs-wasm sends every batched product (`[..., m, k] @ [..., k, n]` with a batch > 1) and every
 * product with transpose flags to a scalar triple loop (about 1 GMAC/s here); only plain 2-D
 * products reach XNNPACK (about 25 GFLOP/s here, without fused multiply-add). This kernel
 * multiplies with a 6 × 8 register tile of f32x4 multiply-adds — fused (`relaxed_madd`) where
 * relaxed SIMD validates, as in Deno 2.9 — reaching about 30–35 GFLOP/s on one core here. As a
 * tfjs kernel it runs on tfjs-wasm's own memory: A is read where it lies (a transpose is only a
 * change of strides), C is written straight into the output tensor, and only B is packed into
 * column panels (transposed if asked) in a scratch block of tfjs-wasm's heap — no copies in or
 * out, which took 15–50 % of a product's time when the kernel had a memory of its own. The
 * mini-GPT uses it for every product on wasm: weights, their gradients and attention.
 *
 * The module is assembled here from its instructions (no binary blob): `moduleBytes` below is the
 * whole program. Registered as the tfjs kernel `ActlabBatchMatMul` on the wasm backend with its
 * gradient (`dA = dC·Bᵀ`, `dB = Aᵀ·dC`, computed by the same kernel with transpose flags).
 *
 * On several threads ({@link simdMatmulThreads}: the cores, at most 2; ACTLAB_WASM_THREADS or
 * `initEngine({ wasmThreads })` to choose), a product of at least 2^21 multiply-adds is cut along
 * its batch, its rows or its columns: the main thread computes the first part in place on
 * tfjs-wasm's heap, as above, while helper threads (`_wasm_threads.ts`) compute the rest in
 * chunks with their own instances of the kernel on a shared memory, into which the main thread
 * copies the chunks' operands (A's rows or all of A, B packed) and from which it copies their C
 * back (tfjs-wasm's own heap cannot be shared: its build without threads has an unshared memory).
 * Every element of C is still the same instructions in the same order (a tile's lanes are
 * independent, and the cut falls between whole tiles or panels), so the result is the one-thread
 * result bit for bit, whichever thread computes which chunk.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { wasmThreads } from "../engine/tfjs.ts";
import {
  type KernelThreads,
  MAX_CHUNKS,
  startKernelThreads,
  type ThreadStats,
} from "./_wasm_threads.ts";

/**
 * The kernel's name in the tfjs registry.
 *
 * @example
 * ```ts
 * import { SIMD_MATMUL_KERNEL } from "./_simd_matmul.ts";
 * console.assert(SIMD_MATMUL_KERNEL === "ActlabBatchMatMul");
 * ```
 */
export const SIMD_MATMUL_KERNEL = "ActlabBatchMatMul";

// ---------------------------------------------------------------------------------------------
// A tiny WebAssembly assembler: just what the kernel needs.

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

const I32 = 0x7f, V128 = 0x7b, VOID = 0x40;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const add = [0x6a], sub = [0x6b], mul = [0x6c], ltU = [0x49], ltS = [0x48], gtS = [0x4a];
const select = [0x1b];
const loop = [0x03, VOID], end = [0x0b], ifVoid = [0x04, VOID];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const v128Load = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const v128Store = (offset: number) => [...simd(0x0b), 0, ...uleb(offset)];
const load32Splat = (offset: number) => [...simd(0x09), 2, ...uleb(offset)];
const fAdd = simd(0xe4), fMul = simd(0xe6);
const relaxedMadd = simd(0x105); // relaxed SIMD: a·b + c, fused where the CPU has FMA
const zero = [...simd(0x0c), ...new Array(16).fill(0)];
const inc = (local: number, by: number[]) => [...get(local), ...by, ...add, ...set(local)];

/** Rows per register tile; the tile is ROWS × 8 (two f32x4 per row). */
const ROWS = 6;

/** The helper threads' shared memory may grow to this many 64 KiB pages (4 GiB). */
const SHARED_MAX_PAGES = 65536;

/**
 * `mm(a, b, c, batch, m, k, np, rowStrideA, kStrideA, rowStrideC)`: for each batch,
 * C[m, np] = A·B. A is read where it lies: element (i, kk) at `a + i·rowStrideA + kk·kStrideA`
 * (row-major A: k·4 and 4; transposed: 4 and m·4), so no transpose or copy of A is made. B is
 * packed in column panels ([np/8][k][8]); C has rows of `rowStrideC` bytes, of which only the
 * m real rows are written. Byte addresses; consecutive batches follow one another (A: m·k,
 * B: k·np, C: m rows). Each k step loads 8 values of B (two f32x4) and broadcasts ROWS values of
 * A (`v128.load32_splat`), then does 2·ROWS vector multiply-adds (fused with relaxed SIMD when
 * `fma`). In the last row panel, rows past m read row m − 1 again and are not stored.
 * `memoryKind`: `own` (a memory of its own, exported), `import` (the memory it is given: tfjs-wasm's)
 * or `shared` (a shared memory it is given, of at most {@link SHARED_MAX_PAGES} pages: the helper
 * threads').
 */
// deno-fmt-ignore
function moduleBytes(fma: boolean, memoryKind: "own" | "import" | "shared"): Uint8Array {
  const importMemory = memoryKind !== "own";
  // params 0..9; i32 locals 10..24; v128 locals: accumulators, then b0, b1, av
  const [A, B, C, BATCH, M, K, N, RSA, KSA, CROW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [BT, I, J, KK, PA, PB, PC, PANEL, RV] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
  const O = (r: number) => 18 + r; // byte offset of row r from row 0 in the tile (r = 1..5)
  const ACC = (r: number, h: number) => 25 + 2 * r + h;
  const B0 = 25 + 2 * ROWS, B1 = B0 + 1, AV = B0 + 2;
  const madd = (acc: number, b: number) =>
    fma
      ? [...get(AV), ...get(b), ...get(acc), ...relaxedMadd, ...set(acc)]
      : [...get(acc), ...get(AV), ...get(b), ...fMul, ...fAdd, ...set(acc)];
  const body: number[] = [
    ...get(K), ...i32(4), ...mul, ...set(PANEL), // k·4: panel offset per column
    ...i32(0), ...set(BT),
    ...loop, // batch
    ...i32(0), ...set(J),
    ...loop, // column panels of 8
    ...i32(0), ...set(I),
    ...loop, // row panels of ROWS
    // rv = min(ROWS, m − i); row r's offset is r·rowStrideA, or (rv − 1)·rowStrideA past m
    ...get(M), ...get(I), ...sub, ...set(RV),
    ...get(RV), ...i32(ROWS), ...i32(ROWS), ...get(RV), ...gtS, ...select, ...set(RV),
  ];
  for (let r = 1; r < ROWS; r++) {
    body.push(
      ...i32(r), ...get(RSA), ...mul,
      ...get(RV), ...i32(1), ...sub, ...get(RSA), ...mul,
      ...i32(r), ...get(RV), ...ltS, ...select, ...set(O(r)),
    );
  }
  for (let r = 0; r < ROWS; r++) for (let h = 0; h < 2; h++) body.push(...zero, ...set(ACC(r, h)));
  body.push(
    ...get(A), ...get(I), ...get(RSA), ...mul, ...add, ...set(PA), // a + i·rowStrideA
    ...get(B), ...get(J), ...get(PANEL), ...mul, ...add, ...set(PB), // b + j·k·4
    ...i32(0), ...set(KK),
    ...loop, // inner dimension
    ...get(PB), ...v128Load(0), ...set(B0),
    ...get(PB), ...v128Load(16), ...set(B1),
  );
  for (let r = 0; r < ROWS; r++) {
    body.push(...get(PA), ...(r === 0 ? [] : [...get(O(r)), ...add]), ...load32Splat(0), ...set(AV));
    body.push(...madd(ACC(r, 0), B0), ...madd(ACC(r, 1), B1));
  }
  body.push(
    ...inc(PA, get(KSA)),
    ...inc(PB, i32(32)),
    ...inc(KK, i32(1)),
    ...get(KK), ...get(K), ...ltU, ...brIf(0),
    ...end, // inner dimension
    // pc = c + i·rowStrideC + j·4, then the tile's real rows one after another
    ...get(C), ...get(I), ...get(CROW), ...mul, ...add, ...get(J), ...i32(4), ...mul, ...add,
    ...set(PC),
  );
  for (let r = 0; r < ROWS; r++) {
    const store = [
      ...get(PC), ...get(ACC(r, 0)), ...v128Store(0),
      ...get(PC), ...get(ACC(r, 1)), ...v128Store(16),
    ];
    if (r === 0) body.push(...store);
    else body.push(...get(RV), ...i32(r), ...gtS, ...ifVoid, ...store, ...end);
    if (r < ROWS - 1) body.push(...inc(PC, get(CROW)));
  }
  body.push(
    ...inc(I, i32(ROWS)),
    ...get(I), ...get(M), ...ltU, ...brIf(0),
    ...end, // row panels
    ...inc(J, i32(8)),
    ...get(J), ...get(N), ...ltU, ...brIf(0),
    ...end, // column panels
    // next batch: a += m·k·4, b += k·np·4, c += m·rowStrideC
    ...get(A), ...get(M), ...get(PANEL), ...mul, ...add, ...set(A),
    ...get(B), ...get(N), ...get(PANEL), ...mul, ...add, ...set(B),
    ...get(C), ...get(M), ...get(CROW), ...mul, ...add, ...set(C),
    ...inc(BT, i32(1)),
    ...get(BT), ...get(BATCH), ...ltU, ...brIf(0),
    ...end, // batch
    ...end, // function
  );
  const locals = vec([[...uleb(15), I32], [...uleb(2 * ROWS + 3), V128]]);
  const code = [...locals, ...body];
  const limits = memoryKind === "shared"
    ? [0x03, ...uleb(1), ...uleb(SHARED_MAX_PAGES)] // shared, with the maximum sharing requires
    : [0x00, ...uleb(1)];
  const memory = importMemory
    ? section(2, vec([[...str("env"), ...str("memory"), 0x02, ...limits]])) // import
    : section(5, vec([[0x00, ...uleb(16)]])); // own memory, 16 pages to start
  const exports = importMemory
    ? [[...str("mm"), 0x00, 0]]
    : [[...str("mm"), 0x00, 0], [...str("memory"), 0x02, 0]];
  const type = [0x60, ...vec(new Array(10).fill([I32])), ...vec([])]; // (10 × i32) → ()
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...(importMemory ? memory : []),
    ...section(3, vec([[0]])), // one function of type 0
    ...(importMemory ? [] : memory),
    ...section(7, vec(exports)),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Running it

type MmFn = (
  a: number,
  b: number,
  c: number,
  batch: number,
  m: number,
  k: number,
  np: number,
  rowStrideA: number,
  kStrideA: number,
  rowStrideC: number,
) => void;

interface Instance {
  readonly memory: WebAssembly.Memory;
  readonly mm: MmFn;
  /** Whether the multiply-adds are relaxed-SIMD (fused) ones. */
  readonly fma: boolean;
}

let instance: Instance | null | undefined;

/** The compiled kernel (with relaxed-SIMD FMA where it validates), or null without SIMD. */
function kernel(): Instance | null {
  if (instance !== undefined) return instance;
  instance = null;
  for (const fma of [true, false]) {
    const bytes = moduleBytes(fma, "own") as Uint8Array<ArrayBuffer>;
    if (!WebAssembly.validate(bytes)) continue;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    instance = {
      memory: inst.exports.memory as WebAssembly.Memory,
      mm: inst.exports.mm as MmFn,
      fma,
    };
    break;
  }
  return instance;
}

let onHeap: { memory: WebAssembly.Memory; mm: MmFn } | undefined;

/** The kernel instantiated on tfjs-wasm's memory (re-bound when tfjs-wasm was re-created). */
function kernelOn(memory: WebAssembly.Memory): MmFn {
  if (onHeap?.memory !== memory) {
    const bytes = moduleBytes(kernel()!.fma, "import") as Uint8Array<ArrayBuffer>;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    onHeap = { memory, mm: inst.exports.mm as MmFn };
  }
  return onHeap.mm;
}

/**
 * Whether the SIMD kernel compiled on this runtime (WebAssembly SIMD is needed).
 *
 * @example
 * ```ts
 * import { simdMatmulAvailable } from "./_simd_matmul.ts";
 * console.log(simdMatmulAvailable()); // true on Deno 2
 * ```
 */
export function simdMatmulAvailable(): boolean {
  return kernel() !== null;
}

/**
 * Whether the kernel uses relaxed-SIMD fused multiply-add (`f32x4.relaxed_madd`), or plain
 * multiply then add where relaxed SIMD does not validate.
 *
 * @example
 * ```ts
 * import { simdMatmulUsesFma } from "./_simd_matmul.ts";
 * console.log(simdMatmulUsesFma()); // true on Deno 2.9 (V8 ships relaxed SIMD)
 * ```
 */
export function simdMatmulUsesFma(): boolean {
  return kernel()?.fma ?? false;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Packs columns [c0, c1) of B ([batch, k, n], or [batch, n, k] transposed, from `src` at element
 * `from`) into column panels `dst[to + t·k·w + panel·k·8 + kk·8 + c]`, w = c1 − c0 rounded up to
 * 8, zero beyond column c1.
 */
function packB(
  src: Float32Array,
  from: number,
  dst: Float32Array,
  to: number,
  batch: number,
  k: number,
  n: number,
  c0: number,
  c1: number,
  transposeB: boolean,
): void {
  const w = roundUp(c1 - c0, 8);
  for (let t = 0; t < batch; t++) {
    const srcT = from + t * k * n, base = to + t * k * w;
    for (let j0 = 0; j0 < w; j0 += 8) {
      const panel = base + j0 * k, col = c0 + j0;
      const cols = Math.min(8, c1 - col);
      if (cols < 8) dst.fill(0, panel, panel + 8 * k);
      if (transposeB) {
        for (let c = 0; c < cols; c++) {
          const s = srcT + (col + c) * k;
          for (let kk = 0; kk < k; kk++) dst[panel + kk * 8 + c] = src[s + kk];
        }
      } else if (cols === 8) {
        for (let kk = 0; kk < k; kk++) {
          const s = srcT + kk * n + col, d = panel + kk * 8;
          dst[d] = src[s];
          dst[d + 1] = src[s + 1];
          dst[d + 2] = src[s + 2];
          dst[d + 3] = src[s + 3];
          dst[d + 4] = src[s + 4];
          dst[d + 5] = src[s + 5];
          dst[d + 6] = src[s + 6];
          dst[d + 7] = src[s + 7];
        }
      } else {
        for (let kk = 0; kk < k; kk++) {
          const s = srcT + kk * n + col, d = panel + kk * 8;
          for (let c = 0; c < cols; c++) dst[d + c] = src[s + c];
        }
      }
    }
  }
}

/** A's strides in bytes: row-major [m, k], or [k, m] read transposed. */
const strideA = (m: number, k: number, transposeA: boolean): [number, number] =>
  transposeA ? [4, 4 * m] : [4 * k, 4];

/**
 * C = op(A)·op(B) for `batch` matrices, op = transpose when asked; plain Float32Arrays in and out.
 * A is [batch, m, k] (or [batch, k, m] transposed), B is [batch, k, n] (or [batch, n, k]).
 *
 * @example
 * ```ts
 * import { simdBatchMatmul } from "./_simd_matmul.ts";
 * const out = new Float32Array(1);
 * simdBatchMatmul(new Float32Array([1, 2]), new Float32Array([3, 4]), out, {
 *   batch: 1, m: 1, k: 2, n: 1, transposeA: false, transposeB: false,
 * });
 * console.assert(out[0] === 11);
 * ```
 */
export function simdBatchMatmul(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  dims: {
    batch: number;
    m: number;
    k: number;
    n: number;
    transposeA: boolean;
    transposeB: boolean;
  },
): void {
  const inst = kernel();
  if (!inst) throw new Error("simdBatchMatmul: WebAssembly SIMD is not available");
  const { batch, m, k, n, transposeA, transposeB } = dims;
  if (batch * m * n === 0) return;
  if (k === 0) {
    out.fill(0, 0, batch * m * n);
    return;
  }
  const np = roundUp(n, 8);
  const aSize = batch * m * k, bSize = batch * k * np, cSize = batch * m * np;
  const bytes = 4 * (aSize + bSize + cSize);
  const have = inst.memory.buffer.byteLength;
  if (bytes > have) inst.memory.grow(Math.ceil((bytes - have) / 65536));
  const heap = new Float32Array(inst.memory.buffer);
  const aOff = 0, bOff = aSize, cOff = aSize + bSize;
  heap.set(a.subarray(0, aSize), aOff); // A is read where it lies, in either orientation
  packB(b, 0, heap, bOff, batch, k, n, 0, n, transposeB);
  inst.mm(4 * aOff, 4 * bOff, 4 * cOff, batch, m, k, np, ...strideA(m, k, transposeA), 4 * np);
  if (np === n) out.set(heap.subarray(cOff, cOff + batch * m * n));
  else {
    for (let i = 0; i < batch * m; i++) {
      out.set(heap.subarray(cOff + i * np, cOff + i * np + n), i * n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// As a tfjs kernel on the wasm backend, with its gradient: on tfjs-wasm's own memory, so A is
// read and C written in place (only B is packed, into a scratch block of tfjs-wasm's heap)

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  wasm: {
    asm: { memory: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(offset: number): void;
  };
}

/** The scratch block of each tfjs-wasm backend: byte offset and size. */
const scratchBlocks = new WeakMap<WasmBackendLike, { offset: number; bytes: number }>();

/** A scratch block of at least `bytes` in tfjs-wasm's heap (may grow, and so move, the heap). */
function scratch(be: WasmBackendLike, bytes: number): number {
  const have = scratchBlocks.get(be);
  if (have && have.bytes >= bytes) return have.offset;
  if (have) be.wasm._free(have.offset);
  const size = Math.ceil(bytes * 1.25 / 64) * 64;
  const offset = be.wasm._malloc(size) >>> 0;
  if (offset === 0) throw new Error(`simdMatmul: tfjs-wasm could not allocate ${size} bytes`);
  scratchBlocks.set(be, { offset, bytes: size });
  return offset;
}

function heapOffset(be: WasmBackendLike, t: tf.TensorInfo): number {
  const data = be.dataIdMap.get(t.dataId);
  if (!data) throw new Error("simdMatmul: tensor data not found on the wasm backend");
  return data.memoryOffset;
}

/** The product's sizes: C[batch, m, n] = op(A)[batch, m, k]·op(B)[batch, k, n]; np = n to 8. */
interface Dims {
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly np: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** On one thread, on tfjs-wasm's heap: B packed into scratch, A read and C written in place. */
function productHere(
  be: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  d: Dims,
): void {
  const { batch, m, k, n, np, transposeA, transposeB } = d;
  const direct = np === n; // C straight into the output; else rows of np, then copied
  const bBytes = 4 * batch * k * np;
  const block = scratch(be, bBytes + (direct ? 0 : 4 * batch * m * np));
  // Views and offsets after every allocation: allocating may grow (and move) the heap.
  const memory = be.wasm.asm.memory;
  const heap = new Float32Array(memory.buffer);
  const [aOff, bOff, outOff] = [a, b, out].map((t) => heapOffset(be, t));
  packB(heap, bOff / 4, heap, block / 4, batch, k, n, 0, n, transposeB);
  const cOff = direct ? outOff : block + bBytes;
  const rowStrideC = 4 * (direct ? n : np);
  kernelOn(memory)(aOff, block, cOff, batch, m, k, np, ...strideA(m, k, transposeA), rowStrideC);
  if (!direct) copyRows(heap, cOff / 4, np, heap, outOff / 4, n, batch * m, n);
}

/** `rows` rows of `width` from `src` (row length `srcRow`) to `dst` (row length `dstRow`). */
function copyRows(
  src: Float32Array,
  from: number,
  srcRow: number,
  dst: Float32Array,
  to: number,
  dstRow: number,
  rows: number,
  width: number,
): void {
  if (srcRow === width && dstRow === width) {
    dst.set(src.subarray(from, from + rows * width), to);
  } else if (src === dst) {
    for (let i = 0; i < rows; i++) {
      dst.copyWithin(to + i * dstRow, from + i * srcRow, from + i * srcRow + width);
    }
  } else {
    for (let i = 0; i < rows; i++) {
      dst.set(src.subarray(from + i * srcRow, from + i * srcRow + width), to + i * dstRow);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// On several threads. The output is cut into parts along the batch, the rows or the columns (whole
// register tiles or column panels); the main thread computes part 0 on tfjs-wasm's heap as above,
// helper threads the others on a shared memory into which the main thread copies what they read
// (their A, their B packed) and from which it copies their C back. Every element of C is still
// computed by the same instructions in the same order (a tile's lanes are independent), so the
// result is bit for bit the one-thread result, whichever thread computes which part.

/**
 * Products below this many multiply-adds (batch·m·k·n, 2^21 ≈ 2.1 M) stay on one thread.
 * Measured on 2 cores (2 against 1 thread, interleaved): a split costs some 25–35 µs (hand-off,
 * copies, operands moving between the cores' caches), so 0.2–0.6 M multiply-adds took 2–3 times
 * as long, 1–1.6 M 1.1–1.5 times, 2.1 M 0.86 and 4.2 M 0.82 times. Every product of the nano step
 * has 6.3 M or more.
 */
const SPLIT_MIN_MACS = 1 << 21;

/**
 * How many threads the SIMD matmul uses on tfjs-wasm: {@link wasmThreads} (initEngine's
 * `wasmThreads`, else ACTLAB_WASM_THREADS, else the cores, at most 2), or 1 without WebAssembly
 * SIMD (no kernel) or shared memory.
 *
 * @example
 * ```ts
 * import { simdMatmulThreads } from "./_simd_matmul.ts";
 * console.log(simdMatmulThreads()); // 2 on a machine with 2 or more cores
 * ```
 */
export function simdMatmulThreads(): number {
  if (kernel() === null || typeof SharedArrayBuffer === "undefined") return 1;
  return wasmThreads();
}

/** Options of {@link setSimdMatmulSplit}, for tests and benches. */
export interface SimdMatmulSplitOptions {
  /** Products below this many multiply-adds stay on one thread (default 2^21). */
  readonly minMacs?: number;
  /**
   * Post the helpers' chunks without waking them, so that the main thread computes every chunk
   * itself, on its own instance on the shared memory (a test of that path). Default false.
   */
  readonly holdHelpers?: boolean;
}

let splitMinMacs = SPLIT_MIN_MACS;
let holdHelpers = false;

/**
 * Sets when and how products are split over threads (for tests and benches); options not given
 * return to their defaults. The result is the same bit for bit either way.
 *
 * @example
 * ```ts
 * import { setSimdMatmulSplit } from "./_simd_matmul.ts";
 * setSimdMatmulSplit({ minMacs: 0 }); // split every product, however small
 * setSimdMatmulSplit(); // the defaults again
 * ```
 */
export function setSimdMatmulSplit(options: SimdMatmulSplitOptions = {}): void {
  splitMinMacs = options.minMacs ?? SPLIT_MIN_MACS;
  holdHelpers = options.holdHelpers ?? false;
}

/**
 * Starts the helper threads the SIMD matmul will use (they also start on the first large product)
 * and resolves when they are ready, with the number of threads products are now split over (1
 * when one thread is asked for, or when no helper started within `timeoutMs`). Until the helpers
 * are ready, products run on one thread.
 *
 * @example
 * ```ts
 * import { simdMatmulThreadsReady } from "./_simd_matmul.ts";
 * console.log(await simdMatmulThreadsReady()); // 2 on a machine with 2 or more cores
 * ```
 */
export async function simdMatmulThreadsReady(timeoutMs = 5000): Promise<number> {
  const threads = simdMatmulThreads();
  if (threads < 2) return 1;
  const p = helpers(threads);
  if (!p) return 1;
  const t0 = Date.now();
  while (p.ready() < threads - 1 && Date.now() - t0 < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return 1 + Math.min(p.ready(), threads - 1);
}

let pool: KernelThreads | undefined;
let poolFailed = false;

/** The helper threads for `threads` threads in all (started on first need), if any can start. */
function helpers(threads: number): KernelThreads | undefined {
  if (poolFailed) return undefined;
  // A pool with fewer helpers than now wanted is replaced (on the same memory) once no helper
  // is still finishing a stalled chunk in it.
  if (pool && (pool.helpers >= threads - 1 || pool.busy())) return pool;
  try {
    const memory = pool?.memory ??
      new WebAssembly.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true });
    const bytes = moduleBytes(kernel()!.fma, "shared") as Uint8Array<ArrayBuffer>;
    pool?.close();
    pool = startKernelThreads(new WebAssembly.Module(bytes), memory, threads - 1);
  } catch {
    [pool, poolFailed] = [undefined, true]; // no shared memory or workers here: one thread
  }
  return pool;
}

/**
 * Counters of the helper threads since they started (chunks the helpers computed, chunks the main
 * thread took because no helper had started them, chunks it computed again because their helper
 * stalled), or undefined before any helper started.
 *
 * @example
 * ```ts
 * import { simdMatmulThreadStats } from "./_simd_matmul.ts";
 * console.log(simdMatmulThreadStats() ?? "no helper threads yet");
 * ```
 */
export function simdMatmulThreadStats(): ThreadStats | undefined {
  return pool ? { ...pool.stats } : undefined;
}

/** How a product is cut: along which axis, part 0 (this thread's) and the helpers' chunks. */
interface Split {
  readonly along: "batch" | "rows" | "cols";
  /**
   * Units (batches, row tiles or column panels): [0, bounds[0]) is part 0, chunk c is
   * [bounds[c], bounds[c + 1]).
   */
  readonly bounds: readonly number[];
  readonly pool: KernelThreads;
}

/** Chunks hold at least this many multiply-adds (about 30 µs of work): hand-offs stay small. */
const CHUNK_MIN_MACS = 1 << 19;

/** The cut for this product, or undefined to compute it on one thread. */
function planSplit(d: Dims): Split | undefined {
  const threads = simdMatmulThreads();
  const macs = d.batch * d.m * d.k * d.n;
  if (threads < 2 || macs < splitMinMacs) return undefined;
  const p = helpers(threads);
  const ready = p ? Math.min(p.ready(), threads - 1) : 0;
  // Helpers still starting, or one still busy with a chunk it stalled on: one thread meanwhile.
  if (!p || ready === 0 || p.busy()) return undefined;
  const parts = 1 + ready;
  let along: Split["along"], units: number;
  if (d.batch >= 2) [along, units] = ["batch", d.batch];
  else {
    const tiles = Math.ceil(d.m / ROWS), panels = d.np / 8;
    // What the helpers need copied: by rows, their rows of A and all of B (packed, which this
    // thread then copies for itself); by columns, all of A.
    const byRows = (d.m * d.k * (parts - 1)) / parts + d.k * d.np, byCols = d.m * d.k;
    if (tiles >= 2 && (panels < 2 || byRows < byCols)) [along, units] = ["rows", tiles];
    else if (panels >= 2) [along, units] = ["cols", panels];
    else return undefined;
  }
  // Part 0 is a bit under an even share: this thread also prepares the chunks and copies their
  // results out, then takes the chunks still waiting. The chunks shrink as they go (guided
  // scheduling), so the threads end close together.
  const u0 = Math.min(units - 1, Math.max(1, Math.round((0.75 * units) / parts)));
  const minUnits = Math.max(1, Math.ceil((CHUNK_MIN_MACS * units) / macs));
  const bounds = [u0];
  for (let at = u0; at < units;) {
    const left = units - at;
    const size = bounds.length === MAX_CHUNKS
      ? left
      : Math.max(minUnits, Math.ceil(left / (2 * parts)));
    at = Math.min(units, at + size);
    bounds.push(at);
  }
  return { along, bounds, pool: p };
}

/** Grows the shared memory to at least `bytes`; false if it cannot. */
function sharedBytes(memory: WebAssembly.Memory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false;
  }
}

const align16 = (x: number) => roundUp(x, 16); // 64-byte alignment of f32 blocks

/**
 * The product on several threads as `split` says: part 0 here on tfjs-wasm's heap, the chunks on
 * the shared memory (their operands copied in as each is posted, their C copied out as each
 * finishes). False (nothing done) if the shared memory cannot hold the chunks' operands.
 */
function productSplit(
  be: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  d: Dims,
  split: Split,
): boolean {
  const { batch, m, k, n, np, transposeA: ta, transposeB: tb } = d;
  const { along, bounds, pool } = split;
  const u0 = bounds[0], direct = np === n;
  const r0 = Math.min(m, u0 * ROWS), c0 = 8 * u0, npw = np - c0; // part 0: rows or columns
  // Elements of this thread's scratch (packed B; C when not direct) and of the shared blocks.
  const [mainB, mainC, sA, sB, sC] = along === "batch"
    ? [
      u0 * k * np,
      direct ? 0 : u0 * m * np,
      (batch - u0) * m * k,
      (batch - u0) * k * np,
      (batch - u0) * m * np,
    ]
    : along === "rows"
    ? [k * np, direct ? 0 : r0 * np, (m - r0) * k, k * np, (m - r0) * np]
    : [k * c0, 0, m * k, k * npw, m * npw];
  const sa = 0, sb = align16(sA), sc = sb + align16(sB);
  if (!sharedBytes(pool.memory, 4 * (sc + sC))) return false;
  const block = scratch(be, 4 * (mainB + mainC));
  // Views and offsets after every allocation: allocating may grow (and move) the heap.
  const memory = be.wasm.asm.memory;
  const heap = new Float32Array(memory.buffer);
  const shared = new Float32Array(pool.memory.buffer);
  const [aOff, bOff, outOff] = [a, b, out].map((t) => heapOffset(be, t) / 4);
  const [rsa, ksa] = strideA(m, k, ta);
  const mm = kernelOn(memory);
  const cMain = direct ? 4 * outOff : block + 4 * mainB; // part 0's C (rows of n, or of np)
  const common = {
    chunks: bounds.length - 1,
    weight: (c: number) => (bounds[c + 1] - bounds[c]) / u0,
    hold: holdHelpers,
  };

  if (along === "batch") {
    pool.run({
      ...common,
      prepare: (c) => {
        const [t0, t1] = [bounds[c], bounds[c + 1]], t = t0 - u0;
        shared.set(heap.subarray(aOff + t0 * m * k, aOff + t1 * m * k), sa + t * m * k);
        packB(heap, bOff + t0 * k * n, shared, sb + t * k * np, t1 - t0, k, n, 0, n, tb);
        const at = [4 * (sa + t * m * k), 4 * (sb + t * k * np), 4 * (sc + t * m * np)];
        return [...at, t1 - t0, m, k, np, rsa, ksa, 4 * np];
      },
      here: () => {
        packB(heap, bOff, heap, block / 4, u0, k, n, 0, n, tb);
        mm(4 * aOff, block, cMain, u0, m, k, np, rsa, ksa, direct ? 4 * n : 4 * np);
        if (!direct) copyRows(heap, cMain / 4, np, heap, outOff, n, u0 * m, n);
      },
      done: (c) => {
        const [t0, t1] = [bounds[c], bounds[c + 1]], from = sc + (t0 - u0) * m * np;
        copyRows(shared, from, np, heap, outOff + t0 * m * n, n, (t1 - t0) * m, n);
      },
    });
  } else if (along === "rows") {
    // The chunks' A: rows r0.. of A, or (transposed) columns r0.. of each of A's k rows.
    const mw = m - r0;
    const [wsa, wsk] = ta ? [4, 4 * mw] : [4 * k, 4];
    const rows = (c: number) => [Math.min(m, bounds[c] * ROWS), Math.min(m, bounds[c + 1] * ROWS)];
    pool.run({
      ...common,
      prepare: (c) => {
        if (c === 0) {
          packB(heap, bOff, shared, sb, 1, k, n, 0, n, tb); // B, packed once for every chunk
          if (ta) copyRows(heap, aOff + r0, m, shared, sa, mw, k, mw);
        }
        const [ra, rb] = rows(c);
        if (!ta) shared.set(heap.subarray(aOff + ra * k, aOff + rb * k), sa + (ra - r0) * k);
        const at = [4 * sa + (ra - r0) * wsa, 4 * sb, 4 * (sc + (ra - r0) * np)];
        return [...at, 1, rb - ra, k, np, wsa, wsk, 4 * np];
      },
      here: () => {
        heap.set(shared.subarray(sb, sb + k * np), block / 4);
        mm(4 * aOff, block, cMain, 1, r0, k, np, rsa, ksa, direct ? 4 * n : 4 * np);
        if (!direct) copyRows(heap, cMain / 4, np, heap, outOff, n, r0, n);
      },
      done: (c) => {
        const [ra, rb] = rows(c);
        copyRows(shared, sc + (ra - r0) * np, np, heap, outOff + ra * n, n, rb - ra, n);
      },
    });
  } else {
    pool.run({
      ...common,
      prepare: (c) => {
        if (c === 0) shared.set(heap.subarray(aOff, aOff + m * k), sa);
        const j0 = 8 * bounds[c], j1 = 8 * bounds[c + 1], j = j0 - c0;
        packB(heap, bOff, shared, sb + j * k, 1, k, n, j0, Math.min(n, j1), tb);
        return [4 * sa, 4 * (sb + j * k), 4 * (sc + j), 1, m, k, j1 - j0, rsa, ksa, 4 * npw];
      },
      here: () => {
        // Part 0 is whole panels of real columns: written straight into the output.
        packB(heap, bOff, heap, block / 4, 1, k, n, 0, c0, tb);
        mm(4 * aOff, block, 4 * outOff, 1, m, k, c0, rsa, ksa, 4 * n);
      },
      done: () => {}, // copied out together below: a chunk's columns are m short pieces
    });
    copyRows(shared, sc, npw, heap, outOff + c0, n, m, n - c0);
  }
  return true;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: SIMD_MATMUL_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
      };
      const be = backend as unknown as WasmBackendLike;
      const r = a.shape.length;
      const m = transposeA ? a.shape[r - 1] : a.shape[r - 2];
      const k = transposeA ? a.shape[r - 2] : a.shape[r - 1];
      const n = transposeB ? b.shape[r - 2] : b.shape[r - 1];
      const lead = a.shape.slice(0, -2);
      const batch = lead.reduce((x, y) => x * y, 1);
      const out = be.makeOutput([...lead, m, n], "float32");
      if (batch * m * n === 0) return out;
      if (k === 0) {
        be.typedArrayFromHeap(out).fill(0);
        return out;
      }
      const d: Dims = { batch, m, k, n, np: roundUp(n, 8), transposeA, transposeB };
      const split = planSplit(d);
      if (!split || !productSplit(be, a, b, out, d, split)) productHere(be, a, b, out, d);
      return out;
    },
  });
  tf.registerGradient({
    kernelName: SIMD_MATMUL_KERNEL,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
      };
      const d = dy as tf.Tensor;
      // Transposes are folded into the kernel's reads and packing.
      const mm = (x: tf.Tensor, tx: boolean, y: tf.Tensor, ty: boolean) =>
        simdMatmul(x, y, { transposeA: tx, transposeB: ty });
      // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ, dop(B) = op(A)ᵀ·dC, then undo the op.
      return {
        a: () => transposeA ? mm(b, transposeB, d, true) : mm(d, false, b, !transposeB),
        b: () => transposeB ? mm(d, true, a, transposeA) : mm(a, !transposeA, d, false),
      };
    },
  });
}

/**
 * Batched product over the last two axes with optional transposes, on tfjs-wasm through the SIMD
 * kernel (differentiable). Both operands must have the same rank ≥ 2 and the same batch dims.
 *
 * @example
 * ```ts ignore
 * await tf.setBackend("wasm");
 * const scores = simdMatmul(q, k, { transposeB: true }); // [B, nh, T, hs] @ [B, nh, T, hs]ᵀ
 * ```
 */
export function simdMatmul(
  a: tf.Tensor,
  b: tf.Tensor,
  options: { transposeA?: boolean; transposeB?: boolean } = {},
): tf.Tensor {
  register();
  return tf.engine().runKernel(SIMD_MATMUL_KERNEL, { a, b }, {
    transposeA: options.transposeA ?? false,
    transposeB: options.transposeB ?? false,
  }) as tf.Tensor;
}
