/**
 * The results behind a published notebook's tables, written beside it so that anyone can
 * recompute the tables: one CSV per table and the settings that produced them.
 *
 * @module
 */
import * as aq from "arquero";
import { writeTextAtomic } from "../core/fs.ts";

/**
 * Writes `files` (table name → rows) as `<out>/<name>.csv` and `settings` as
 * `<out>/settings.json`, each atomically, and returns the paths written. A folder whose
 * `settings.json` holds other settings is refused before anything is written (a run at another
 * budget never overwrites published results): pass another `out`. `out` null or undefined (a fast
 * or exploratory run) writes nothing and says so.
 *
 * @example
 * ```ts
 * import { saveResults } from "@actlab/actlab/cells";
 * const out = await Deno.makeTempDir();
 * const settings = { iters: 300, seed: 1 };
 * await saveResults(out, settings, { summary: [{ activation: "relu", zeros: 0.69 }] });
 * console.assert((await Deno.readTextFile(`${out}/summary.csv`)).startsWith("activation,zeros"));
 * ```
 */
export async function saveResults(
  out: string | null | undefined,
  settings: unknown,
  files: Readonly<Record<string, readonly object[]>>,
): Promise<string[]> {
  if (!out) {
    console.log("results not written (out: null)");
    return [];
  }
  const meta = `${out}/settings.json`;
  const mine = JSON.stringify(settings, null, 2) + "\n";
  const prior = await Deno.readTextFile(meta).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  if (prior !== null && prior !== mine) {
    throw new Error(
      `${meta} holds the results of other settings (${prior.replace(/\s+/g, " ").trim()}); ` +
        `these (${mine.replace(/\s+/g, " ").trim()}) would overwrite them. Pass another ` +
        "folder (-p out=<folder>, or out: null to write nothing).",
    );
  }
  await Deno.mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const [name, rows] of Object.entries(files)) {
    const path = `${out}/${name}.csv`;
    await writeTextAtomic(path, aq.from(rows as object[]).toCSV());
    written.push(path);
  }
  await writeTextAtomic(meta, mine);
  written.push(meta);
  console.log(`wrote ${Object.keys(files).join(", ")} and settings.json to ${out}/`);
  return written;
}
