/**
 * The runner loses no output: Deno's kernel sometimes publishes a cell's outputs after it reports
 * idle, and stock nbconvert drops a few percent of them. A 120-cell notebook (streams, displays,
 * display updates and results, 30 of each) runs 20 times; every output must be there every time.
 */
import { assertEquals } from "@std/assert";
import { executeNotebook, formatFailure } from "../../lib/notebook/runner.ts";
import type { Cell } from "../../lib/notebook/nbformat.ts";
import { cell, notebook, scratchDir } from "./_util.ts";

const CELLS = 120;
const RUNS = 20;

function sourceFor(i: number): string {
  switch (i % 4) {
    case 0:
      return `console.log("m-${i}")`;
    case 1:
      return `await Deno.jupyter.display({ "text/plain": "m-${i}" }, { raw: true })`;
    case 2:
      return `"m-${i}"`;
    default:
      return `await Deno.jupyter.display({ "text/plain": "old-${i}" }, ` +
        `{ raw: true, display_id: "d${i}" });\n` +
        `await Deno.jupyter.display({ "text/plain": "m-${i}" }, ` +
        `{ raw: true, display_id: "d${i}", update: true })`;
  }
}

function texts(c: Cell): string[] {
  return (c.outputs ?? []).map((o) => {
    if (o.output_type === "stream") return Array.isArray(o.text) ? o.text.join("") : o.text;
    if (o.output_type === "error") return `${o.ename}: ${o.evalue}`;
    const t = o.data["text/plain"];
    return Array.isArray(t) ? t.join("") : String(t);
  });
}

Deno.test({
  name: `executeNotebook() finds every output of a ${CELLS}-cell notebook in ${RUNS} runs`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await scratchDir("lost-");
    const nb = notebook(Array.from({ length: CELLS }, (_, i) => cell(sourceFor(i))));
    let late = 0;
    const missing: string[] = [];
    const t0 = performance.now();
    try {
      for (let run = 1; run <= RUNS; run++) {
        const result = await executeNotebook(nb, { cwd: dir, name: `run ${run}` });
        if (result.failure) throw new Error(`run ${run} failed: ${formatFailure(result.failure)}`);
        late += result.lateOutputs;
        result.notebook.cells.forEach((c, i) => {
          const got = texts(c);
          const want = i % 4 === 0 ? [`m-${i}\n`] : i % 4 === 2 ? [`"m-${i}"`] : [`m-${i}`];
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            missing.push(
              `run ${run}, cell ${i + 1}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
            );
          }
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${RUNS} runs × ${CELLS} cells in ${seconds.toFixed(1)} s ` +
        `(${(seconds / RUNS).toFixed(2)} s per run); ${late} outputs arrived after their cell ` +
        "reported idle and were kept",
    );
    assertEquals(missing, [], `${missing.length} outputs missing or wrong`);
  },
});
