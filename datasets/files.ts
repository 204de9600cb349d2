/**
 * Finding, downloading, verifying and atomically writing dataset files.
 *
 * @module
 */
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The per-user cache folder for datasets: `$XDG_CACHE_HOME/actlab/datasets`, else
 * `~/.cache/actlab/datasets` (Linux), `~/Library/Caches/actlab/datasets` (macOS),
 * `%LOCALAPPDATA%\actlab\datasets` (Windows).
 *
 * @example
 * ```ts
 * import { userCacheDir } from "./files.ts";
 * console.assert(userCacheDir().includes("actlab"));
 * ```
 */
export function userCacheDir(): string {
  const env = (name: string): string | undefined => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // no --allow-env: fall back to the home folder
    }
  };
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "actlab", "datasets");
  if (Deno.build.os === "windows") {
    const local = env("LOCALAPPDATA") ?? join(homedir(), "AppData", "Local");
    return join(local, "actlab", "datasets");
  }
  if (Deno.build.os === "darwin") return join(homedir(), "Library", "Caches", "actlab", "datasets");
  return join(homedir(), ".cache", "actlab", "datasets");
}

/** Progress of a download, reported as chunks arrive. */
export interface DownloadProgress {
  /** Where from. */
  readonly url: string;
  /** Bytes received so far. */
  readonly receivedBytes: number;
  /** Expected size (Content-Length), when the server says. */
  readonly totalBytes: number | undefined;
  /** True on the last report. */
  readonly done: boolean;
}

/**
 * Downloads `url` into memory, reporting progress. Throws on an HTTP error status.
 *
 * @example
 * ```ts ignore
 * import { download } from "./files.ts";
 * const bytes = await download("https://example.com/", { onProgress: (p) => console.log(p) });
 * ```
 */
export async function download(
  url: string,
  options: {
    readonly onProgress?: (p: DownloadProgress) => void;
    readonly fetch?: typeof fetch;
  } = {},
): Promise<Uint8Array> {
  const res = await (options.fetch ?? fetch)(url);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText} from ${url}`);
  }
  const header = res.headers.get("content-length");
  const totalBytes = header ? Number(header) : undefined;
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    receivedBytes += chunk.length;
    options.onProgress?.({ url, receivedBytes, totalBytes, done: false });
  }
  const out = new Uint8Array(receivedBytes);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  options.onProgress?.({ url, receivedBytes, totalBytes, done: true });
  return out;
}

/**
 * A progress reporter that prints a line to stderr at every 25 % (or every 256 KiB if unsized).
 *
 * @example
 * ```ts
 * import { stderrProgress } from "./files.ts";
 * const report = stderrProgress("demo");
 * report({ url: "x", receivedBytes: 10, totalBytes: 10, done: true });
 * // stderr: "demo: downloaded 10 bytes (100 %)"
 * ```
 */
export function stderrProgress(label: string): (p: DownloadProgress) => void {
  let lastMark = -1;
  return (p) => {
    const mark = p.totalBytes
      ? Math.floor((p.receivedBytes / p.totalBytes) * 4)
      : Math.floor(p.receivedBytes / 262144);
    if (mark === lastMark && !p.done) return;
    lastMark = mark;
    const pct = p.totalBytes ? ` (${Math.round((100 * p.receivedBytes) / p.totalBytes)} %)` : "";
    console.error(
      `${label}: ${p.done ? "downloaded" : "downloading"} ${p.receivedBytes} bytes${pct}`,
    );
  };
}
