/**
 * Content hashing: keys for sweeps, checksums for datasets and the kernel binary.
 *
 * @module
 */

/**
 * Lowercase hex SHA-256 of `bytes`.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * const h = await sha256Hex(new TextEncoder().encode("abc"));
 * console.assert(h.startsWith("ba7816bf"));
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
