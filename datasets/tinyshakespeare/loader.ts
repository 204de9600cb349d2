/**
 * Tiny Shakespeare: about 40,000 lines of Shakespeare, 1,115,394 bytes, 65 distinct characters —
 * the character-level corpus of char-rnn and nanoGPT's `shakespeare_char`.
 *
 * @module
 */
import { join } from "node:path";
import { type CharDataset, charDataset } from "../char_dataset.ts";
import { atomicWriteFile } from "../../lib/core/fs.ts";
import { sha256Hex } from "../../lib/core/hash.ts";
import { download, type DownloadProgress, stderrProgress, userCacheDir } from "../files.ts";

/**
 * Where Tiny Shakespeare comes from and how to recognise it.
 *
 * @example
 * ```ts
 * import { TINY_SHAKESPEARE } from "./loader.ts";
 * console.assert(TINY_SHAKESPEARE.bytes === 1_115_394);
 * ```
 */
export const TINY_SHAKESPEARE: Readonly<{
  name: string;
  url: string;
  sha256: string;
  bytes: number;
  relativePath: string;
}> = Object.freeze({
  /** Dataset name. */
  name: "tinyshakespeare",
  /** Canonical public location. */
  url: "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
  /** SHA-256 of the file. */
  sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
  /** Size in bytes. */
  bytes: 1_115_394,
  /** Path of the file below a data folder (`ACTLAB_DATA_DIR`, the cache). */
  relativePath: "tinyshakespeare/input.txt",
});

/** Options of {@link loadTinyShakespeare}. */
export interface LoadTinyShakespeareOptions {
  /**
   * A data folder holding `tinyshakespeare/input.txt`, or the `tinyshakespeare` folder itself
   * (holding `input.txt`). Looked in first.
   */
  readonly dir?: string;
  /**
   * Used instead of the `ACTLAB_DATA_DIR` environment variable; `null` ignores the variable.
   * Default: the variable's value.
   */
  readonly envDir?: string | null;
  /** The per-user cache folder. Default {@link userCacheDir}(). */
  readonly cacheDir?: string;
  /** Download into the cache when the file is nowhere else. Default true. */
  readonly download?: boolean;
  /** Download from this mirror instead of the canonical URL (the checksum still applies). */
  readonly url?: string;
  /** Progress of a download. Default: a line on stderr at every quarter. */
  readonly onProgress?: (p: DownloadProgress) => void;
  /** The fetch to download with (tests inject one). */
  readonly fetch?: typeof fetch;
  /** Fraction of the text used for training. Default 0.9. */
  readonly trainFraction?: number;
}

/** Tiny Shakespeare, tokenized and split, with where it came from. */
export interface TinyShakespeare extends CharDataset {
  /** The file that was read. */
  readonly path: string;
  /** How it was found. */
  readonly source: "dir" | "env" | "cache" | "download";
  /** Its verified SHA-256. */
  readonly sha256: string;
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) return null;
    throw err;
  }
}

function envDataDir(): string | undefined {
  try {
    return Deno.env.get("ACTLAB_DATA_DIR") || undefined;
  } catch {
    return undefined;
  }
}

function wrongChecksum(path: string, actual: string, origin: string): Error {
  return new Error(
    `Tiny Shakespeare at ${path} (${origin}) has sha256 ${actual}, expected ` +
      `${TINY_SHAKESPEARE.sha256} (${TINY_SHAKESPEARE.bytes} bytes). The file is rejected: it is ` +
      `damaged or a different text. Replace it with a fresh copy of ${TINY_SHAKESPEARE.url}` +
      (origin === "user cache" ? ", or delete it and run again to re-download it." : "."),
  );
}

/**
 * Loads Tiny Shakespeare. Looks in `options.dir`, then `ACTLAB_DATA_DIR`, then the per-user cache;
 * if the file is in none of them it downloads it from the canonical URL (with progress), verifies
 * the SHA-256 and writes it atomically into the cache. A file with the wrong checksum is rejected
 * with an error. Offline, the error says where it looked and how to supply the file.
 *
 * @example
 * ```ts ignore
 * import { loadTinyShakespeare } from "./loader.ts";
 * const ds = await loadTinyShakespeare();           // or { dir: "../shared/datasets" }
 * console.log(ds.tokenizer.size, ds.train.length);  // 65 1003854
 * ```
 */
export async function loadTinyShakespeare(
  options: LoadTinyShakespeareOptions = {},
): Promise<TinyShakespeare> {
  const rel = TINY_SHAKESPEARE.relativePath;
  const candidates: { path: string; source: TinyShakespeare["source"]; origin: string }[] = [];
  if (options.dir !== undefined) {
    candidates.push({ path: join(options.dir, rel), source: "dir", origin: "options.dir" });
    candidates.push({ path: join(options.dir, "input.txt"), source: "dir", origin: "options.dir" });
  }
  const envDir = options.envDir === undefined ? envDataDir() : options.envDir ?? undefined;
  if (envDir !== undefined) {
    candidates.push({ path: join(envDir, rel), source: "env", origin: "ACTLAB_DATA_DIR" });
  }
  const cachePath = join(options.cacheDir ?? userCacheDir(), rel);
  candidates.push({ path: cachePath, source: "cache", origin: "user cache" });

  const finish = (
    bytes: Uint8Array,
    path: string,
    source: TinyShakespeare["source"],
  ): TinyShakespeare => {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const ds = charDataset(text, {
      name: TINY_SHAKESPEARE.name,
      trainFraction: options.trainFraction,
    });
    return { ...ds, path, source, sha256: TINY_SHAKESPEARE.sha256 };
  };

  for (const c of candidates) {
    const bytes = await readIfExists(c.path);
    if (bytes === null) continue;
    const actual = await sha256Hex(bytes);
    if (actual !== TINY_SHAKESPEARE.sha256) throw wrongChecksum(c.path, actual, c.origin);
    return finish(bytes, c.path, c.source);
  }

  const looked = candidates.map((c) => `  - ${c.path} (${c.origin})`).join("\n") +
    (envDir === undefined && options.envDir === undefined
      ? "\n  (ACTLAB_DATA_DIR is not set)"
      : "");
  const howTo = `To supply the file, fetch ${TINY_SHAKESPEARE.url} on a machine with internet ` +
    `(sha256 ${TINY_SHAKESPEARE.sha256}) and put it at ${cachePath}, or pass ` +
    `loadTinyShakespeare({ dir }) / set ACTLAB_DATA_DIR to a folder that holds ${rel}.`;
  if (options.download === false) {
    throw new Error(
      `Tiny Shakespeare was not found (downloads are off). Looked in:\n${looked}\n${howTo}`,
    );
  }
  const url = options.url ?? TINY_SHAKESPEARE.url;
  let bytes: Uint8Array;
  try {
    bytes = await download(url, {
      onProgress: options.onProgress ?? stderrProgress("tinyshakespeare"),
      fetch: options.fetch,
    });
  } catch (err) {
    throw new Error(
      `Tiny Shakespeare was not found and the download from ${url} failed ` +
        `(${err instanceof Error ? err.message : String(err)}). Looked in:\n${looked}\n${howTo}`,
      { cause: err },
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== TINY_SHAKESPEARE.sha256) {
    throw new Error(
      `The download from ${url} has sha256 ${actual} (${bytes.length} bytes), expected ` +
        `${TINY_SHAKESPEARE.sha256} (${TINY_SHAKESPEARE.bytes} bytes); it was not saved. ` +
        `Check the URL or the network (a proxy or captive portal may have answered).`,
    );
  }
  await atomicWriteFile(cachePath, bytes);
  return finish(bytes, cachePath, "download");
}
