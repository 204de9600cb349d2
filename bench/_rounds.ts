/**
 * Timing on a shared machine, as the benches do it: every setting measured once per round, rounds
 * in alternating order (forwards, then backwards) so that slow drifts in load fall on all settings
 * alike.
 *
 * @module
 */

import { median } from "../lib/core/stats.ts";

export { median };

/**
 * Runs `run(i)` for each of `settings` settings, `rounds` times, interleaved and in alternating
 * order. `times[i][r]` is setting i's result in round r (NaN where it failed), `failures[i]` the
 * last reason setting i gave for failing ("" if none).
 *
 * @example
 * ```ts ignore
 * const { times } = await interleavedRounds(2, 5, (i) => timeSetting(i)); // ms, or why not
 * ```
 */
export async function interleavedRounds(
  settings: number,
  rounds: number,
  run: (i: number) => Promise<number | string>,
): Promise<{ times: number[][]; failures: string[] }> {
  const times = Array.from({ length: settings }, () => [] as number[]);
  const failures = Array.from({ length: settings }, () => "");
  for (let r = 0; r < rounds; r++) {
    const order = [...times.keys()];
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const t = await run(i);
      times[i][r] = typeof t === "number" ? t : NaN;
      if (typeof t !== "number") failures[i] = t;
    }
  }
  return { times, failures };
}
