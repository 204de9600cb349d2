/**
 * A folder lock for writers that must not run twice on one folder (a sweep's `--out`): a
 * `.lock` file created exclusively, holding the owner's pid, host and start time. A lock left by
 * a process that no longer runs on this host is taken over (and said so); a live one is refused
 * with a message naming its owner.
 *
 * @module
 */
import { hostname } from "node:os";

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  /** Process id. */
  readonly pid: number;
  /** Host name. */
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  /** What holds it, e.g. `sweep`. */
  readonly what: string;
}

/** A held lock; `release()` removes the lock file (idempotent). */
export interface FolderLock {
  /** The lock file's path. */
  readonly path: string;
  /** Set when a stale lock of a dead process was taken over: that process's record. */
  readonly tookOverFrom?: LockOwner;
  /** Removes the lock file. */
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // No /proc (macOS, Windows): treat the owner as alive; the message says how to clear it.
    try {
      Deno.statSync("/proc/self");
      return false;
    } catch {
      return true;
    }
  }
}

/**
 * Who holds a lock, in words, from the fields its file has: "another sweep (pid 12 on node1,
 * since 2026-01-01T10:00:00Z)"; fields it lacks are left out and said to be missing, never
 * written as "undefined".
 */
function describeOwner(owner: Partial<LockOwner>): string {
  const text = (v: unknown) => typeof v === "string" && v !== "" ? v : undefined;
  const pid = Number.isSafeInteger(owner.pid) ? `pid ${owner.pid}` : undefined;
  const host = text(owner.host) ? `on ${owner.host}` : undefined;
  const since = text(owner.since) ? `since ${owner.since}` : undefined;
  const facts = [[pid, host].filter(Boolean).join(" "), since].filter(Boolean);
  const missing = [
    pid ? "" : "pid",
    host ? "" : "host",
    since ? "" : "start time",
  ].filter(Boolean);
  const note = missing.length
    ? `${facts.length ? "; " : ""}its lock file records no ${missing.join(", ")}`
    : "";
  const what = text(owner.what) ?? "process";
  return `another ${what} (${facts.join(", ")}${note})`;
}

/**
 * Takes the lock of `dir` (creating the folder), or throws an error that names the process holding
 * it and the way out.
 *
 * @example
 * ```ts
 * import { lockFolder } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockFolder(dir, "sweep");
 * let refused = false;
 * try { await lockFolder(dir, "sweep"); } catch { refused = true; }
 * console.assert(refused);
 * await lock.release();
 * ```
 */
export async function lockFolder(dir: string, what: string): Promise<FolderLock> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/.lock`;
  const me: LockOwner = {
    pid: Deno.pid,
    host: hostname(),
    since: new Date().toISOString(),
    what,
  };
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
      file.close();
      let released = false;
      return {
        path,
        tookOverFrom,
        release: async () => {
          if (released) return;
          released = true;
          await Deno.remove(path).catch(() => {});
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    let owner: Partial<LockOwner> | undefined;
    try {
      const parsed = JSON.parse(await Deno.readTextFile(path));
      owner = typeof parsed === "object" && parsed !== null ? parsed : undefined;
    } catch {
      owner = undefined; // half-written or garbage: its writer died before finishing it
    }
    // Taken over only when its process is known to be gone: same host, a pid that runs no more.
    const gone = owner !== undefined && owner.host === me.host &&
      Number.isSafeInteger(owner.pid) && !alive(owner.pid!);
    if (owner && !gone) {
      throw new Error(
        `${dir} is in use by ${describeOwner(owner)}. Wait for it to finish, use another ` +
          `output folder, or delete ${path} if that process is gone.`,
      );
    }
    tookOverFrom = owner
      ? {
        pid: owner.pid!,
        host: owner.host!,
        since: String(owner.since ?? "?"),
        what: String(owner.what ?? "?"),
      }
      : { pid: NaN, host: "?", since: "?", what: "?" };
    await Deno.remove(path).catch(() => {});
  }
  throw new Error(`Could not take the lock ${path}: another process keeps recreating it.`);
}
