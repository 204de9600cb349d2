/**
 * Errors on paths a person typed, as messages: what is wrong with the path, in words, and the fix
 * — instead of the operating system's raw error (`Not a directory (os error 20): mkdir '…'`).
 *
 * @module
 */

/** The operating system's error code of `e` (`ENOENT`, `ELOOP`, …), if it has one. */
function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * What is wrong with `path`, in words, from the error an operation on it threw: "does not
 * exist", "is a symbolic link loop", "has a file where a folder is expected", "is not writable
 * for you", "is on a full disk", …; the raw message for anything else.
 *
 * @example
 * ```ts
 * import { pathProblem } from "./_paths.ts";
 * let problem = "";
 * try { await Deno.stat("/nonexistent/x"); } catch (e) { problem = pathProblem(e); }
 * console.assert(problem === "does not exist");
 * ```
 */
export function pathProblem(e: unknown): string {
  const code = codeOf(e);
  if (e instanceof Deno.errors.NotFound || code === "ENOENT") return "does not exist";
  if (e instanceof Deno.errors.FilesystemLoop || code === "ELOOP") {
    return "is a symbolic link loop (a link that leads back to itself)";
  }
  if (e instanceof Deno.errors.NotADirectory || code === "ENOTDIR") {
    return "has a file where a folder is expected (a part of the path is a file)";
  }
  if (e instanceof Deno.errors.AlreadyExists || code === "EEXIST") {
    return "is a file, not a folder";
  }
  if (e instanceof Deno.errors.IsADirectory || code === "EISDIR") {
    return "is a folder, not a file";
  }
  if (e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return "is not accessible to you (permission denied)";
  }
  if (code === "ENOSPC") return "is on a full disk (no space left on the device)";
  if (code === "EROFS") return "is on a read-only file system";
  if (code === "ENAMETOOLONG") return "has a name too long for the file system";
  return `cannot be used (${e instanceof Error ? e.message : String(e)})`;
}

/**
 * An error saying `what` (a flag, or "" for none) at `path` is unusable and why
 * ({@link pathProblem}), then `fix`; the original error is its cause.
 *
 * @example
 * ```ts
 * import { pathError } from "./_paths.ts";
 * let message = "";
 * try { await Deno.mkdir("/nonexistent/a/b"); } catch (e) {
 *   message = pathError(e, "--out", "/nonexistent/a/b", "give a folder you can write to").message;
 * }
 * console.assert(message.startsWith("--out /nonexistent/a/b: "));
 * ```
 */
export function pathError(e: unknown, what: string, path: string, fix: string): Error {
  return new Error(`${what ? `${what} ` : ""}${path}: ${pathProblem(e)}; ${fix}.`, { cause: e });
}
