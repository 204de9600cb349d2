/**
 * Matrix products for tfjs-wasm written directly in WebAssembly SIMD.
 *
 * tfjs-wasm sends every batched product (`[..., m, k] @ [..., k, n]` with a batch > 1) and every
 * product with transpose flags to a scalar triple loop (about 1 GMAC/s here); only plain 2-D
 * products reach XNNPACK (about 25 GFLOP/s here, without fused multiply-add). This kernel packs
 * the operands (transposing them if asked) into panels in a private WebAssembly memory and
 * multiplies them with a 6 × 8 register tile of f32x4 multiply-adds — fused (`relaxed_madd`)
 * where relaxed SIMD validates, as in Deno 2.9 — reaching about 30–35 GFLOP/s on one core here,
 * then copies the result into the tfjs output. The mini-GPT uses it for every product on wasm:
 * weights, their gradients and attention.
 *
 * The module is assembled here from its instructions (no binary blob): `moduleBytes` below is the
 * whole program. Registered as the tfjs kernel `ActlabBatchMatMul` on the wasm backend with its
 * gradient (`dA = dC·Bᵀ`, `dB = Aᵀ·dC`, computed by the same kernel with transpose flags).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

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
const add = [0x6a], mul = [0x6c], ltU = [0x49];
const loop = [0x03, VOID], end = [0x0b];
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

/**
 * `mm(a, b, c, batch, mp, k, np)`: for each batch, C[mp, np] = A·B with A packed in row panels
 * ([mp/ROWS][k][ROWS]) and B in column panels ([np/8][k][8]), C row-major; byte addresses,
 * consecutive batches packed. Each k step loads 8 values of B (two f32x4) and broadcasts ROWS
 * values of A (`v128.load32_splat`), then does 2·ROWS vector multiply-adds (fused with relaxed
 * SIMD when `fma`).
 */
// deno-fmt-ignore
function moduleBytes(fma: boolean): Uint8Array {
  // params 0..6; i32 locals 7..15; v128 locals: accumulators, then b0, b1, av
  const [A, B, C, BATCH, M, K, N] = [0, 1, 2, 3, 4, 5, 6];
  const [BT, I, J, KK, PA, PB, PC, CROW, PANEL] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const ACC = (r: number, h: number) => 16 + 2 * r + h;
  const B0 = 16 + 2 * ROWS, B1 = B0 + 1, AV = B0 + 2;
  const madd = (acc: number, b: number) =>
    fma
      ? [...get(AV), ...get(b), ...get(acc), ...relaxedMadd, ...set(acc)]
      : [...get(acc), ...get(AV), ...get(b), ...fMul, ...fAdd, ...set(acc)];
  const body: number[] = [
    ...get(N), ...i32(4), ...mul, ...set(CROW), // bytes per row of C
    ...get(K), ...i32(4), ...mul, ...set(PANEL), // k·4: panel offset per row or column
    ...i32(0), ...set(BT),
    ...loop, // batch
    ...i32(0), ...set(J),
    ...loop, // column panels of 8
    ...i32(0), ...set(I),
    ...loop, // row panels of ROWS
  ];
  for (let r = 0; r < ROWS; r++) for (let h = 0; h < 2; h++) body.push(...zero, ...set(ACC(r, h)));
  body.push(
    ...get(A), ...get(I), ...get(PANEL), ...mul, ...add, ...set(PA), // a + i·k·4
    ...get(B), ...get(J), ...get(PANEL), ...mul, ...add, ...set(PB), // b + j·k·4
    ...i32(0), ...set(KK),
    ...loop, // inner dimension
    ...get(PB), ...v128Load(0), ...set(B0),
    ...get(PB), ...v128Load(16), ...set(B1),
  );
  for (let r = 0; r < ROWS; r++) {
    body.push(...get(PA), ...load32Splat(4 * r), ...set(AV));
    body.push(...madd(ACC(r, 0), B0), ...madd(ACC(r, 1), B1));
  }
  body.push(
    ...inc(PA, i32(4 * ROWS)),
    ...inc(PB, i32(32)),
    ...inc(KK, i32(1)),
    ...get(KK), ...get(K), ...ltU, ...brIf(0),
    ...end, // inner dimension
    // pc = c + (i·np + j)·4, then one row of the tile after another
    ...get(C), ...get(I), ...get(CROW), ...mul, ...add, ...get(J), ...i32(4), ...mul, ...add,
    ...set(PC),
  );
  for (let r = 0; r < ROWS; r++) {
    body.push(...get(PC), ...get(ACC(r, 0)), ...v128Store(0));
    body.push(...get(PC), ...get(ACC(r, 1)), ...v128Store(16));
    if (r < ROWS - 1) body.push(...inc(PC, get(CROW)));
  }
  body.push(
    ...inc(I, i32(ROWS)),
    ...get(I), ...get(M), ...ltU, ...brIf(0),
    ...end, // row panels
    ...inc(J, i32(8)),
    ...get(J), ...get(N), ...ltU, ...brIf(0),
    ...end, // column panels
    // next batch: a += mp·k·4, b += k·np·4, c += mp·np·4
    ...get(A), ...get(M), ...get(PANEL), ...mul, ...add, ...set(A),
    ...get(B), ...get(N), ...get(PANEL), ...mul, ...add, ...set(B),
    ...get(C), ...get(M), ...get(CROW), ...mul, ...add, ...set(C),
    ...inc(BT, i32(1)),
    ...get(BT), ...get(BATCH), ...ltU, ...brIf(0),
    ...end, // batch
    ...end, // function
  );
  const locals = vec([[...uleb(9), I32], [...uleb(2 * ROWS + 3), V128]]);
  const code = [...locals, ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(7).fill([I32])), ...vec([])]])), // (7 × i32) → ()
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, ...uleb(16)]])), // memory, 16 pages to start
    ...section(7, vec([[...str("mm"), 0x00, 0], [...str("memory"), 0x02, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Running it

interface Instance {
  readonly memory: WebAssembly.Memory;
  readonly mm: (
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
  ) => void;
  /** Whether the multiply-adds are relaxed-SIMD (fused) ones. */
  readonly fma: boolean;
}

let instance: Instance | null | undefined;

/** The compiled kernel (with relaxed-SIMD FMA where it validates), or null without SIMD. */
function kernel(): Instance | null {
  if (instance !== undefined) return instance;
  instance = null;
  for (const fma of [true, false]) {
    const bytes = moduleBytes(fma) as Uint8Array<ArrayBuffer>;
    if (!WebAssembly.validate(bytes)) continue;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    instance = {
      memory: inst.exports.memory as WebAssembly.Memory,
      mm: inst.exports.mm as Instance["mm"],
      fma,
    };
    break;
  }
  return instance;
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
  const mp = roundUp(m, ROWS), np = roundUp(n, 8);
  const aSize = batch * mp * k, bSize = batch * k * np, cSize = batch * mp * np;
  const bytes = 4 * (aSize + bSize + cSize);
  const have = inst.memory.buffer.byteLength;
  if (bytes > have) inst.memory.grow(Math.ceil((bytes - have) / 65536));
  const heap = new Float32Array(inst.memory.buffer);
  const aOff = 0, bOff = aSize, cOff = aSize + bSize;
  // A in row panels: heap[panel][kk][r] = A[panel·ROWS + r, kk], zero beyond row m.
  for (let t = 0; t < batch; t++) {
    const src = t * m * k, base = aOff + t * mp * k;
    for (let i0 = 0; i0 < mp; i0 += ROWS) {
      const panel = base + i0 * k;
      const rows = Math.min(ROWS, m - i0);
      if (rows < ROWS) heap.fill(0, panel, panel + ROWS * k);
      if (transposeA) {
        for (let kk = 0; kk < k; kk++) {
          const s = src + kk * m + i0, d = panel + kk * ROWS;
          for (let r = 0; r < rows; r++) heap[d + r] = a[s + r];
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const s = src + (i0 + r) * k;
          for (let kk = 0; kk < k; kk++) heap[panel + kk * ROWS + r] = a[s + kk];
        }
      }
    }
  }
  // B in column panels: heap[panel][kk][c] = B[kk, panel·8 + c], zero beyond column n.
  for (let t = 0; t < batch; t++) {
    const src = t * k * n, base = bOff + t * k * np;
    for (let j0 = 0; j0 < np; j0 += 8) {
      const panel = base + j0 * k;
      const cols = Math.min(8, n - j0);
      if (cols < 8) heap.fill(0, panel, panel + 8 * k);
      if (transposeB) {
        for (let c = 0; c < cols; c++) {
          const s = src + (j0 + c) * k;
          for (let kk = 0; kk < k; kk++) heap[panel + kk * 8 + c] = b[s + kk];
        }
      } else {
        for (let kk = 0; kk < k; kk++) {
          const s = src + kk * n + j0, d = panel + kk * 8;
          for (let c = 0; c < cols; c++) heap[d + c] = b[s + c];
        }
      }
    }
  }
  inst.mm(4 * aOff, 4 * bOff, 4 * cOff, batch, mp, k, np);
  for (let t = 0; t < batch; t++) {
    const src = cOff + t * mp * np, dst = t * m * n;
    if (np === n) out.set(heap.subarray(src, src + m * n), dst);
    else {
      for (let i = 0; i < m; i++) {
        out.set(heap.subarray(src + i * np, src + i * np + n), dst + i * n);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// As a tfjs kernel on the wasm backend, with its gradient

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
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
      // Views after makeOutput: allocating may grow (and move) the wasm heap.
      simdBatchMatmul(
        be.typedArrayFromHeap(a),
        be.typedArrayFromHeap(b),
        be.typedArrayFromHeap(out),
        {
          batch,
          m,
          k,
          n,
          transposeA,
          transposeB,
        },
      );
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
      // Transposes are folded into the packing (measured: as fast as tfjs-wasm Transpose ops).
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
