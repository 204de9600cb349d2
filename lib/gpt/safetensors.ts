/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header (dtype, shape, byte range of each tensor, optional string
 * metadata under `__metadata__`), then the raw little-endian tensor bytes.
 *
 * @module
 */

/** Element types supported here. */
export type SafetensorsDtype = "F32" | "F64" | "I32" | "I64" | "U8" | "F16" | "BF16";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F32: 4,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
  F16: 2,
  BF16: 2,
};

/** One tensor: type, shape and its raw little-endian bytes (or a typed array). */
export interface SafetensorsTensor {
  /** Element type. */
  readonly dtype: SafetensorsDtype;
  /** Shape. */
  readonly shape: readonly number[];
  /** Data: Float32Array for F32, Int32Array for I32, otherwise raw bytes. */
  readonly data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

/** A decoded file. */
export interface SafetensorsFile {
  /** Tensors by name, in file order. */
  readonly tensors: Map<string, SafetensorsTensor>;
  /** The `__metadata__` strings. */
  readonly metadata: Record<string, string>;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(t: SafetensorsTensor): Uint8Array {
  if (!littleEndian) throw new Error("safetensors: big-endian hosts are not supported");
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Encodes tensors and metadata as a safetensors file (header padded to 8 bytes).
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(
 *   new Map([["w", { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) }]]),
 *   { note: "hi" },
 * );
 * const back = decodeSafetensors(bytes);
 * console.assert(back.tensors.get("w")!.data[1] === 2 && back.metadata.note === "hi");
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") {
      throw new Error("safetensors: a tensor cannot be named __metadata__");
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    const expected = n * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new RangeError(
        `safetensors: tensor ${name} [${t.shape}] ${t.dtype} needs ${expected} bytes, got ` +
          `${t.data.byteLength}`,
      );
    }
    header[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + expected],
    };
    offset += expected;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const b = bytesOf(t);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/**
 * Decodes a safetensors file, checking that it is complete and consistent: a truncated or
 * malformed file throws an error that says what is wrong (`source` names the file in messages).
 *
 * @example
 * ```ts
 * import { decodeSafetensors } from "./safetensors.ts";
 * try { decodeSafetensors(new Uint8Array(4), "x.safetensors"); }
 * catch (e) { console.assert(String(e).includes("truncated")); }
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, source = "the file"): SafetensorsFile {
  const bad = (why: string) => new Error(`${source} is not a valid safetensors file: ${why}`);
  const { header, dataStart } = readHeader(bytes, bad);
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  let maxEnd = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") throw bad(`metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const { tensor, end } = readTensor(name, entry, bytes.subarray(dataStart), bytes.length, bad);
    tensors.set(name, tensor);
    maxEnd = Math.max(maxEnd, end);
  }
  if (maxEnd !== dataLen) {
    throw bad(`${dataLen - maxEnd} bytes after the last tensor; the file may be damaged`);
  }
  return { tensors, metadata };
}

/** The JSON header and where the data starts, checking the file holds both. */
function readHeader(
  bytes: Uint8Array,
  bad: (why: string) => Error,
): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    throw bad(`it is truncated (${bytes.length} bytes; even the 8-byte header length is missing)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) {
    throw bad(
      `it is truncated: the header alone should be ${headerLen} bytes but only ` +
        `${bytes.length - 8} follow`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (err) {
    throw bad(`the header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("the header is not a JSON object");
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLen };
}

/** One tensor of the header, copied out of the data section `data` (aligned, owned). */
function readTensor(
  name: string,
  entry: unknown,
  data: Uint8Array,
  fileLength: number,
  bad: (why: string) => Error,
): { tensor: SafetensorsTensor; end: number } {
  const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
  if (
    !e || !(e.dtype! in DTYPE_BYTES) || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)
  ) {
    throw bad(`entry ${name} lacks a known dtype, a shape or data_offsets`);
  }
  const dtype = e.dtype as SafetensorsDtype;
  const [begin, end] = e.data_offsets;
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (end - begin !== n * DTYPE_BYTES[dtype] || begin < 0 || end < begin) {
    throw bad(`tensor ${name}: byte range [${begin}, ${end}) does not fit ${dtype} [${e.shape}]`);
  }
  if (end > data.length) {
    throw bad(
      `it is truncated: tensor ${name} ends at data byte ${end} but the file has only ` +
        `${data.length} data bytes (${fileLength} bytes in all)`,
    );
  }
  const raw = data.slice(begin, end);
  const typed = dtype === "F32"
    ? new Float32Array(raw.buffer)
    : dtype === "F64"
    ? new Float64Array(raw.buffer)
    : dtype === "I32"
    ? new Int32Array(raw.buffer)
    : raw;
  return { tensor: { dtype, shape: e.shape, data: typed }, end };
}
