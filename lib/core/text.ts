/**
 * Text helpers for error messages that suggest the name the user meant.
 *
 * @module
 */

/**
 * Edit distance counting an adjacent transposition (`gleu` → `gelu`) as one edit (optimal string
 * alignment).
 *
 * @example
 * ```ts
 * import { editDistance } from "./text.ts";
 * console.assert(editDistance("gleu", "gelu") === 1);
 * console.assert(editDistance("relu", "gelu") === 1);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
