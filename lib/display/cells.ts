/**
 * Helpers for research-notebook cells: `versions()` for the first cell, `timed()` around a slow
 * step, and `cached()` to keep an expensive result on disk keyed by its inputs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import { createHash } from "node:crypto";
import { makeGrid, TableView } from "./table.ts";

/** What {@link versions} reports, as plain data. */
export interface VersionInfo {
  /** Deno's version. */
  deno: string;
  /** V8's version. */
  v8: string;
  /** The TypeScript version Deno bundles. */
  typescript: string;
  /** tfjs-core's version. */
  tfjs: string;
  /** The active tfjs backend, or "not initialised". */
  tfjsBackend: string;
  /** onnxruntime-node's version, or why it could not be loaded. */
  onnxRuntime: string;
  /** The engine actlab chose (backend and device), or "not initialised". */
  engine: string;
  /** Why the engine chose that backend, when known. */
  engineReasons: string[];
  /** Operating system and architecture, e.g. `linux-x86_64`. */
  platform: string;
  /** Logical CPUs. */
  cpus: number;
  /** Physical memory, GiB. */
  memoryGiB: number;
  /** Whether `ACTLAB_FAST` asks for a CI-sized run. */
  fast: boolean;
}

/** The table {@link versions} returns; `info` holds the same facts as data. */
export class VersionsView extends TableView {
  /** The facts shown. */
  readonly info: VersionInfo;

  /** Use {@link versions}. */
  constructor(info: VersionInfo) {
    const rows = [
      { component: "Deno", version: info.deno },
      { component: "V8 / TypeScript", version: `${info.v8} / ${info.typescript}` },
      { component: "TensorFlow.js", version: `${info.tfjs} (backend: ${info.tfjsBackend})` },
      { component: "ONNX Runtime", version: info.onnxRuntime },
      { component: "engine", version: info.engine },
      ...info.engineReasons.map((r) => ({
        component: "",
        version: r.length > 110 ? r.slice(0, 107) + "…" : r,
      })),
      {
        component: "machine",
        version: `${info.platform}, ${info.cpus} CPUs, ${info.memoryGiB} GiB`,
      },
      { component: "ACTLAB_FAST", version: info.fast ? "1 (CI-sized run)" : "off (full run)" },
    ];
    super(makeGrid(rows, { caption: "Environment" }));
    this.info = info;
  }
}

/** Whether the environment asks for a fast, CI-sized run (`ACTLAB_FAST=1`). */
export function isFast(): boolean {
  try {
    const v = Deno.env.get("ACTLAB_FAST");
    return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
  } catch {
    return false;
  }
}

/**
 * Versions of Deno, TensorFlow.js and ONNX Runtime, the engine and device in use, and the machine:
 * the first cell of a notebook, so a reader knows what produced the outputs. Nothing is
 * initialised by asking.
 *
 * @example
 * ```ts
 * import { versions } from "./cells.ts";
 * const v = await versions();
 * console.log(v.info.deno, v.info.tfjs);
 * ```
 */
export async function versions(): Promise<VersionsView> {
  let onnxRuntime: string;
  try {
    const ort = await import("onnxruntime-node");
    const v = (ort.env as { versions?: Record<string, string> }).versions ?? {};
    onnxRuntime = v.node ?? v.common ?? "unknown";
  } catch (e) {
    onnxRuntime = `not loaded (${(e as Error).message.split("\n")[0]})`;
  }
  let engine = "not initialised (call initEngine())";
  let engineReasons: string[] = [];
  let ortText: string | undefined;
  try {
    const mod = await import("../engine/mod.ts");
    const info = mod.engineInfo();
    if (info) {
      engine = `${info.backend} on ${info.device}`;
      engineReasons = info.skipped.map((s) => `${s.backend} skipped: ${s.reason}`);
    }
    ortText = mod.ortVersion();
  } catch {
    // engine module not loadable: keep the defaults
  }
  if (ortText && onnxRuntime.startsWith("not loaded")) onnxRuntime = ortText;
  let memoryGiB = 0;
  try {
    memoryGiB = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  } catch {
    // not permitted
  }
  return new VersionsView({
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tf.version_core,
    tfjsBackend: tf.getBackend() ?? "not initialised",
    onnxRuntime,
    engine,
    engineReasons,
    platform: `${Deno.build.os}-${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency,
    memoryGiB,
    fast: isFast(),
  });
}

/**
 * Runs `fn`, prints how long it took (`[timed] label: 1.23 s`, through `console.log` so it reaches
 * the notebook) and returns its result.
 *
 * @example
 * ```ts
 * import { timed } from "./cells.ts";
 * const sum = await timed("sum", () => [1, 2, 3].reduce((a, b) => a + b));
 * ```
 */
export async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const s = (performance.now() - t0) / 1000;
    console.log(`[timed] ${label}: ${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`);
  }
}

/** Options for {@link cached}. */
export interface CachedOptions {
  /** Folder of the cache (default `$ACTLAB_CACHE_DIR`, else `.cache/actlab` in the project). */
  dir?: string;
  /** Ignore a stored result and compute again (default: `ACTLAB_RECOMPUTE=1`). */
  recompute?: boolean;
  /** Print nothing (default false: one line saying whether the result was reused). */
  quiet?: boolean;
}

const FORMAT = 1;

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      return Array.from(v as unknown as ArrayLike<number>);
    }
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (typeof v === "bigint") return `${v}n`;
    return v;
  });
}

function isTable(v: unknown): v is aq.ColumnTable {
  const t = v as { columnNames?: unknown; objects?: unknown; numRows?: unknown };
  return typeof v === "object" && v !== null && typeof t.columnNames === "function" &&
    typeof t.objects === "function" && typeof t.numRows === "function";
}

const TYPED = {
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Uint8Array,
  Uint16Array,
  Uint32Array,
} as const;

/** JSON with NaN, ±Infinity, typed arrays and dates kept; anything else non-plain refused. */
function encodeValue(value: unknown, path = "value"): unknown {
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : { $num: String(value) };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name;
    if (!(name in TYPED)) {
      throw new TypeError(`cached(): cannot store a ${name} at ${path}`);
    }
    return { $typed: name, data: Array.from(value as unknown as ArrayLike<number>, encodeNum) };
  }
  if (Array.isArray(value)) return value.map((v, i) => encodeValue(v, `${path}[${i}]`));
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `cached(): cannot store a ${proto?.constructor?.name ?? "class instance"} at ${path}; ` +
          `return plain data (records, arrays, numbers, strings) or an arquero table`,
      );
    }
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, encodeValue(v, `${path}.${k}`)]),
    );
  }
  throw new TypeError(`cached(): cannot store a ${typeof value} at ${path}`);
}

function encodeNum(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o.$undefined === true) return undefined;
    if (typeof o.$num === "string") return Number(o.$num);
    if (typeof o.$date === "string") return new Date(o.$date);
    if (typeof o.$typed === "string" && Array.isArray(o.data)) {
      const ctor = TYPED[o.$typed as keyof typeof TYPED];
      return ctor.from((o.data as (number | string)[]).map(Number));
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeValue(v)]));
  }
  return value;
}

/**
 * The folder cached results live in: `$ACTLAB_CACHE_DIR`, else `.cache/actlab` in the project (the
 * nearest folder upward with a `deno.json`), else in the working folder.
 *
 * @example
 * ```ts
 * import { projectCacheDir } from "./cells.ts";
 * console.assert((await projectCacheDir()).length > 0);
 * ```
 */
export async function projectCacheDir(): Promise<string> {
  const env = Deno.env.get("ACTLAB_CACHE_DIR");
  if (env) return env;
  let dir = Deno.cwd();
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        await Deno.stat(`${dir}/${name}`);
        return `${dir}/.cache/actlab`;
      } catch {
        // keep looking upward
      }
    }
    const parent = dir.replace(/\/[^/]*$/, "") || "/";
    if (parent === dir) return `${Deno.cwd()}/.cache/actlab`;
    dir = parent;
  }
}

/** `path` relative to the working folder when that is shorter (`../.cache/actlab/x.json`). */
function shortPath(path: string): string {
  const cwd = Deno.cwd().split("/").filter(Boolean);
  const parts = path.split("/").filter(Boolean);
  let common = 0;
  while (common < cwd.length && common < parts.length && cwd[common] === parts[common]) common++;
  if (common === 0) return path;
  const rel = [...Array(cwd.length - common).fill(".."), ...parts.slice(common)].join("/");
  return rel.length < path.length ? rel : path;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

interface CacheMeta {
  format: number;
  key: unknown;
  created: string;
  seconds: number;
  kind: "json" | "arquero";
  value?: unknown;
}

/**
 * Returns the stored result for `key` if one exists, else runs `fn`, stores its result and
 * returns it. `key` names the result and carries every input that changes it (an object is hashed
 * in a stable order), so changing an input computes afresh. Results may be plain data (kept as
 * JSON, with NaN, typed arrays and dates preserved) or an arquero table (kept as Arrow IPC).
 * Files are written atomically under `.cache/actlab` in the project (see {@link CachedOptions}).
 *
 * @example
 * ```ts
 * import { cached } from "./cells.ts";
 * const dir = await Deno.makeTempDir();
 * const slow = () => ({ loss: [2.1, 1.9, 1.8] });
 * const a = await cached({ name: "demo", steps: 3 }, slow, { dir });
 * const b = await cached({ name: "demo", steps: 3 }, slow, { dir }); // read from disk
 * console.assert(a.loss[2] === b.loss[2]);
 * ```
 */
export async function cached<T>(
  key: string | Readonly<Record<string, unknown>>,
  fn: () => T | Promise<T>,
  options: CachedOptions = {},
): Promise<T> {
  const keyJson = stableJson(typeof key === "string" ? { name: key } : key);
  const name = typeof key === "string" ? key : String(key.name ?? "result");
  const slug = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "") ||
    "result";
  const hash = createHash("sha256").update(`v${FORMAT}:${keyJson}`).digest("hex").slice(0, 16);
  const dir = options.dir ?? await projectCacheDir();
  const base = `${dir}/${slug}-${hash}`;
  const recompute = options.recompute ??
    ["1", "true", "yes"].includes((Deno.env.get("ACTLAB_RECOMPUTE") ?? "").toLowerCase());
  const say = (text: string) => {
    if (!options.quiet) console.log(`[cached] ${name}: ${text}`);
  };
  if (!recompute) {
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${base}.json`)) as CacheMeta;
      if (meta.format === FORMAT) {
        const value = meta.kind === "arquero"
          ? aq.fromArrow(await Deno.readFile(`${base}.arrow`))
          : decodeValue(meta.value);
        say(
          `reused the result computed ${meta.created.slice(0, 16).replace("T", " ")} UTC ` +
            `(took ${meta.seconds.toFixed(1)} s); ACTLAB_RECOMPUTE=1 recomputes`,
        );
        return value as T;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        say(`stored result unreadable (${(e as Error).message}); computing again`);
      }
    }
  }
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const meta: CacheMeta = {
    format: FORMAT,
    key: JSON.parse(keyJson),
    created: new Date().toISOString(),
    seconds,
    kind: isTable(value) ? "arquero" : "json",
  };
  await Deno.mkdir(dir, { recursive: true });
  if (isTable(value)) {
    await writeAtomic(`${base}.arrow`, aq.toArrowIPC(value));
  } else {
    meta.value = encodeValue(value);
  }
  await writeAtomic(`${base}.json`, JSON.stringify(meta));
  say(`computed in ${seconds.toFixed(1)} s, saved to ${shortPath(`${base}.json`)}`);
  return value;
}
