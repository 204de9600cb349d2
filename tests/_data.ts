/**
 * Where the tests find Tiny Shakespeare without downloading it: `ACTLAB_DATA_DIR` (CI points it
 * at ../shared/datasets), else the shared copy beside the clone. Tests that need the real text
 * skip, saying why, when `haveTinyShakespeare` is false.
 */

/** The data folder the tests look in (it holds `tinyshakespeare/input.txt` when present). */
export const DATA_DIR: string = Deno.env.get("ACTLAB_DATA_DIR") ??
  new URL("../../shared/datasets", import.meta.url).pathname;

/** Whether `DATA_DIR` holds Tiny Shakespeare. */
export const haveTinyShakespeare: boolean = (() => {
  try {
    return Deno.statSync(`${DATA_DIR}/tinyshakespeare/input.txt`).isFile;
  } catch {
    return false;
  }
})();
