/**
 * The few path helpers the engine needs (JSR's @std/path cannot be reached here; node:path is
 * Deno's built-in Node compatibility layer).
 *
 * @module
 */
export { basename, dirname, join } from "node:path";
export { fileURLToPath as fromFileUrl } from "node:url";
