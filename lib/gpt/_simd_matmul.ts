/**
 * A batched matrix product for tfjs-wasm written directly in WebAssembly SIMD.
 *
 * tfjs-wasm sends every batched product (`[..., m, k] @ [..., k, n]` with a batch > 1) and every
 * product with transpose flags to a scalar triple loop (about 1 GMAC/s here); only plain 2-D
 * products reach XNNPACK. Attention is made of batched products ([B, nh, T, hs] @ [B, nh, hs, T]),
 * so this module supplies a kernel for them: operands are packed (transposed if asked, padded to
 * 4 × 8 tiles) into a private WebAssembly memory, multiplied by a 4 × 8 register-tiled f32x4
 * loop, and copied back into the tfjs output.
 *
 * The module is assembled here from its instructions (no binary blob): {@link moduleBytes} below
 * is the whole program. Registered as the tfjs kernel `ActlabBatchMatMul` on the wasm backend with
 * its gradient (`dA = dC·Bᵀ`, `dB = Aᵀ·dC`, computed by the same kernel).
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
const f32Load = (offset: number) => [0x2a, 2, ...uleb(offset)];
const v128Load = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const v128Store = (offset: number) => [...simd(0x0b), 0, ...uleb(offset)];
const splat = simd(0x13), fAdd = simd(0xe4), fMul = simd(0xe6);
const zero = [...simd(0x0c), ...new Array(16).fill(0)];

/**
 * `mm(a, b, c, batch, m, k, n)`: for each batch, C[m, n] = A[m, k] · B[k, n]; row-major f32 at
 * byte addresses a, b, c, consecutive batches packed; m a multiple of 4, n of 8.
 */
function moduleBytes(): Uint8Array {
  // params 0..6: a b c batch m k n; locals: 7 bt, 8 i, 9 j, 10 kk, 11 pa, 12 pb, 13 pc,
  // 14 k4 (row stride of A), 15 n4 (row stride of B and C), 16..23 accumulators, 24 b0, 25 b1
  const [A, B, C, BATCH, M, K, N] = [0, 1, 2, 3, 4, 5, 6];
  const [BT, I, J, KK, PA, PB, PC, K4, N4] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const ACC = (r: number, h: number) => 16 + 2 * r + h;
  const B0 = 24, B1 = 25;
  const body: number[] = [
    ...get(K),
    ...i32(4),
    ...mul,
    ...set(K4),
    ...get(N),
    ...i32(4),
    ...mul,
    ...set(N4),
    ...i32(0),
    ...set(BT),
    ...loop, // batch
    ...i32(0),
    ...set(I),
    ...loop, // rows, 4 at a time
    ...i32(0),
    ...set(J),
    ...loop, // columns, 8 at a time
  ];
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) body.push(...zero, ...set(ACC(r, h)));
  body.push(
    // pa = a + i·k·4 ; pb = b + j·4
    ...get(A),
    ...get(I),
    ...get(K4),
    ...mul,
    ...add,
    ...set(PA),
    ...get(B),
    ...get(J),
    ...i32(4),
    ...mul,
    ...add,
    ...set(PB),
    ...i32(0),
    ...set(KK),
    ...loop, // inner dimension
    ...get(PB),
    ...v128Load(0),
    ...set(B0),
    ...get(PB),
    ...v128Load(16),
    ...set(B1),
  );
  for (let r = 0; r < 4; r++) {
    // a_r = splat(A[i + r, kk]) at pa + r·k4
    const loadA = r === 0 ? [...get(PA), ...f32Load(0), ...splat] : [
      ...get(PA),
      ...get(K4),
      ...i32(r),
      ...mul,
      ...add,
      ...f32Load(0),
      ...splat,
    ];
    for (let h = 0; h < 2; h++) {
      body.push(
        ...get(ACC(r, h)),
        ...loadA,
        ...get(h === 0 ? B0 : B1),
        ...fMul,
        ...fAdd,
        ...set(ACC(r, h)),
      );
    }
  }
  body.push(
    ...get(PA),
    ...i32(4),
    ...add,
    ...set(PA),
    ...get(PB),
    ...get(N4),
    ...add,
    ...set(PB),
    ...get(KK),
    ...i32(1),
    ...add,
    ...set(KK),
    ...get(KK),
    ...get(K),
    ...ltU,
    ...brIf(0),
    ...end, // inner dimension
    // pc = c + (i·n + j)·4
    ...get(C),
    ...get(I),
    ...get(N4),
    ...mul,
    ...add,
    ...get(J),
    ...i32(4),
    ...mul,
    ...add,
    ...set(PC),
  );
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      const addr = r === 0 ? get(PC) : [...get(PC), ...get(N4), ...i32(r), ...mul, ...add];
      body.push(...addr, ...get(ACC(r, h)), ...v128Store(16 * h));
    }
  }
  body.push(
    ...get(J),
    ...i32(8),
    ...add,
    ...set(J),
    ...get(J),
    ...get(N),
    ...ltU,
    ...brIf(0),
    ...end, // columns
    ...get(I),
    ...i32(4),
    ...add,
    ...set(I),
    ...get(I),
    ...get(M),
    ...ltU,
    ...brIf(0),
    ...end, // rows
    // next batch: a += m·k·4, b += k·n·4, c += m·n·4
    ...get(A),
    ...get(M),
    ...get(K4),
    ...mul,
    ...add,
    ...set(A),
    ...get(B),
    ...get(K),
    ...get(N4),
    ...mul,
    ...add,
    ...set(B),
    ...get(C),
    ...get(M),
    ...get(N4),
    ...mul,
    ...add,
    ...set(C),
    ...get(BT),
    ...i32(1),
    ...add,
    ...set(BT),
    ...get(BT),
    ...get(BATCH),
    ...ltU,
    ...brIf(0),
    ...end, // batch
    ...end, // function
  );
  const locals = vec([[...uleb(9), I32], [...uleb(10), V128]]);
  const code = [...locals, ...body];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec(new Array(7).fill([I32])), ...vec([])]])), // type: 7 × i32 → ()
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
}

let instance: Instance | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is unavailable. */
function kernel(): Instance | null {
  if (instance !== undefined) return instance;
  try {
    const mod = new WebAssembly.Module(moduleBytes() as Uint8Array<ArrayBuffer>);
    const inst = new WebAssembly.Instance(mod, {});
    instance = {
      memory: inst.exports.memory as WebAssembly.Memory,
      mm: inst.exports.mm as Instance["mm"],
    };
  } catch {
    instance = null;
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
  const mp = roundUp(m, 4), np = roundUp(n, 8);
  const aSize = batch * mp * k, bSize = batch * k * np, cSize = batch * mp * np;
  const bytes = 4 * (aSize + bSize + cSize);
  const have = inst.memory.buffer.byteLength;
  if (bytes > have) inst.memory.grow(Math.ceil((bytes - have) / 65536));
  const heap = new Float32Array(inst.memory.buffer);
  const aOff = 0, bOff = aSize, cOff = aSize + bSize;
  // Pack A as [batch, mp, k], zero rows beyond m.
  for (let t = 0; t < batch; t++) {
    const src = t * m * k, dst = aOff + t * mp * k;
    if (!transposeA) heap.set(a.subarray(src, src + m * k), dst);
    else {
      for (let i = 0; i < m; i++) {
        for (let kk = 0; kk < k; kk++) heap[dst + i * k + kk] = a[src + kk * m + i];
      }
    }
    if (mp > m) heap.fill(0, dst + m * k, dst + mp * k);
  }
  // Pack B as [batch, k, np], zero columns beyond n.
  for (let t = 0; t < batch; t++) {
    const src = t * k * n, dst = bOff + t * k * np;
    if (!transposeB && np === n) heap.set(b.subarray(src, src + k * n), dst);
    else {
      for (let kk = 0; kk < k; kk++) {
        const row = dst + kk * np;
        if (transposeB) { for (let j = 0; j < n; j++) heap[row + j] = b[src + j * k + kk]; }
        else heap.set(b.subarray(src + kk * n, src + kk * n + n), row);
        if (np > n) heap.fill(0, row + n, row + np);
      }
    }
  }
  inst.mm(4 * aOff, 4 * bOff, 4 * cOff, batch, mp, k, np);
  for (let t = 0; t < batch; t++) {
    const src = cOff + t * mp * np, dst = t * m * n;
    if (np === n) out.set(heap.subarray(src, src + m * n), dst);
    else {for (let i = 0; i < m; i++) {
        out.set(heap.subarray(src + i * np, src + i * np + n), dst + i * n);
      }}
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
 * kernel (differentiable). Both operands must have the same rank ≥ 3 and the same batch dims.
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
