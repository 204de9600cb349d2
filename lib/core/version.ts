/**
 * actlab's version, as `deno.json` states it (a test keeps the two equal). Recorded with every
 * trial, so results say which code produced them.
 *
 * @module
 */

/**
 * The version of this checkout of actlab.
 *
 * @example
 * ```ts
 * import { ACTLAB_VERSION } from "./version.ts";
 * console.assert(/^\d+\.\d+\.\d+/.test(ACTLAB_VERSION));
 * ```
 */
export const ACTLAB_VERSION = "0.1.0";
