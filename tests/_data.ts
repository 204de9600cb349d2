/**
 * Where the tests find Tiny Shakespeare without downloading it: where the CLIs and
 * `loadTinyShakespeare()` look — `$ACTLAB_DATA_DIR`, then the per-user cache
 * (`~/.cache/actlab/datasets`, `$XDG_CACHE_HOME/actlab/datasets`, …) — and last the shared copy
 * beside the clone (`../shared/datasets`, what CI uses). So a person who followed the README's
 * offline set-up (the file copied into the cache) runs every test. Tests that need the real text
 * skip, saying why, when `haveTinyShakespeare` is false.
 *
 * @module
 */
import { join } from "node:path";
import { userCacheDir } from "../datasets/files.ts";
import { TINY_SHAKESPEARE } from "../datasets/tinyshakespeare/loader.ts";

/** The shared copy beside the clone (CI points `ACTLAB_DATA_DIR` at it). */
const SHARED = new URL("../../shared/datasets", import.meta.url).pathname;

function holdsTinyShakespeare(dir: string): boolean {
  try {
    return Deno.statSync(join(dir, TINY_SHAKESPEARE.relativePath)).isFile;
  } catch {
    return false;
  }
}

/**
 * The folders the tests look in, in order: `envDir` (default `$ACTLAB_DATA_DIR`), the user cache
 * (default {@link userCacheDir}), the shared copy beside the clone.
 */
export function dataDirCandidates(
  envDir: string | undefined = Deno.env.get("ACTLAB_DATA_DIR") || undefined,
  cacheDir: string = userCacheDir(),
): string[] {
  return [...(envDir ? [envDir] : []), cacheDir, SHARED];
}

/** The first of {@link dataDirCandidates} that holds `tinyshakespeare/input.txt`, if any. */
export function findDataDir(
  candidates: readonly string[] = dataDirCandidates(),
): string | undefined {
  return candidates.find(holdsTinyShakespeare);
}

const found = findDataDir();

/**
 * The data folder the tests use: the one that holds `tinyshakespeare/input.txt`, else the first
 * candidate (for messages). Pass it on as `ACTLAB_DATA_DIR` to the processes a test starts.
 */
export const DATA_DIR: string = found ?? dataDirCandidates()[0];

/** Whether Tiny Shakespeare was found (in `DATA_DIR`). */
export const haveTinyShakespeare: boolean = found !== undefined;

/** Why tests with the real text skip: where the file was looked for. */
export const MISSING_DATA_NOTE: string = "Tiny Shakespeare not found in " +
  dataDirCandidates().map((d) => join(d, TINY_SHAKESPEARE.relativePath)).join(", ") +
  " — put input.txt in one of them (see datasets/tinyshakespeare/README.md)";
