/**
 * The quickstart notebook, for real: executed by the runner through the Deno kernel (CI-sized,
 * ACTLAB_FAST=1), its HTML page opened in headless Chromium, and the same notebook executed by
 * the standard client, `jupyter nbconvert --execute`.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { formatFailure, runNotebook, type RunReport } from "../../lib/notebook/runner.ts";
import { joinText, type Notebook, readNotebook } from "../../lib/notebook/nbformat.ts";
import { findChromium, launchChromium } from "../../lib/display/chromium.ts";
import { denoKernelspec, hasNbconvert, outputText, ROOT, scratchDir } from "./_util.ts";

const QUICKSTART = `${ROOT}/notebooks/00_quickstart.ipynb`;
const PLOTLY = "application/vnd.plotly.v1+json";
const MAX_BYTES = 3_000_000;
const opts = { sanitizeResources: false, sanitizeOps: false };
const chromium = findChromium();
const nbconvert = await hasNbconvert();

let run: Promise<{ report: RunReport; nb: Notebook }> | undefined;

/** Runs the quickstart once per test file; later tests reuse the result. */
function quickstart(): Promise<{ report: RunReport; nb: Notebook }> {
  run ??= (async () => {
    // Outputs go to a temporary folder; the kernel still starts in notebooks/ (the notebook's).
    const dir = await Deno.makeTempDir({ prefix: "actlab-quickstart-" });
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const report = await runNotebook(QUICKSTART, {
      outDir: `${dir}/out`,
      fast: true,
      env: { ACTLAB_CACHE_DIR: `${dir}/cache` },
    });
    assert(report.ok, report.failure && formatFailure(report.failure));
    return { report, nb: await readNotebook(report.outNotebook) };
  })();
  return run;
}

function outputsWith(nb: Notebook, mime: string) {
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) =>
    (o.output_type === "display_data" || o.output_type === "execute_result") && mime in o.data
  ) as { data: Record<string, unknown> }[];
}

Deno.test({
  name: "the quickstart runs through the real kernel (ACTLAB_FAST=1) and shows every display type",
  ...opts,
  async fn() {
    const { report, nb } = await quickstart();
    console.log(
      `quickstart (fast): ${report.seconds.toFixed(1)} s, kernel start ` +
        `${report.startSeconds.toFixed(1)} s, images ${report.imageSeconds.toFixed(1)} s, ` +
        `${(report.notebookBytes / 1e6).toFixed(2)} MB notebook, ` +
        `${(report.htmlBytes! / 1e6).toFixed(2)} MB page`,
    );
    const code = nb.cells.filter((c) => c.cell_type === "code");
    assert(code.every((c) => c.execution_count !== null), "every code cell ran");
    const all = code.map(outputText).join("\n");
    for (const text of ["TensorFlow.js", "ONNX Runtime", "engine"]) assertStringIncludes(all, text);
    assertMatch(all, /ACTLAB_FAST +1 \(CI-sized run\)/);
    assertStringIncludes(all, "training 100%");
    assertStringIncludes(all, "[cached] quickstart-mlp: computed in");
    assertStringIncludes(all, "[timed] training sweep:");
    assertStringIncludes(all, "★");
    const figures = outputsWith(nb, PLOTLY);
    assert(figures.length >= 7, `${figures.length} figures`);
    assertEquals(outputsWith(nb, "text/markdown").length >= 3, true, "tables");
    if (chromium) {
      assertEquals(outputsWith(nb, "image/png").length, figures.length, "a PNG per figure");
    }
    assert(report.notebookBytes < MAX_BYTES, `${report.notebookBytes} bytes`);
    assert(!/<script[^>]+src=["']https?:/i.test(await Deno.readTextFile(report.outHtml!)));
  },
});

Deno.test({
  name: "the committed quickstart carries the outputs of a full run and stays under 3 MB",
  async fn() {
    const bytes = (await Deno.stat(QUICKSTART)).size;
    assert(bytes < MAX_BYTES, `${bytes} bytes`);
    const nb = await readNotebook(QUICKSTART);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    assert(code.every((c) => c.execution_count !== null), "a code cell has no output yet");
    assertEquals((nb.metadata.actlab as { fast?: boolean } | undefined)?.fast, false);
    assert(code.every((c) => !(c.outputs ?? []).some((o) => o.output_type === "error")));
    const first = joinText(nb.cells[0].source);
    assertStringIncludes(first, "Settings");
    const imports = code.map((c) => joinText(c.source)).join("\n");
    assertStringIncludes(imports, 'from "@actlab/actlab"');
    assert(!/from "\.\.?\//.test(imports), "cells import @actlab/actlab, never a relative path");
  },
});

Deno.test({
  name: "the runner's HTML page renders the Plotly charts and tables in headless Chromium",
  ignore: !chromium,
  ...opts,
  async fn() {
    const { report, nb } = await quickstart();
    const figures = outputsWith(nb, PLOTLY).length;
    const tables = nb.cells.flatMap((c) =>
      c.outputs ?? []
    ).filter((o) =>
      (o.output_type === "display_data" || o.output_type === "execute_result") &&
      joinText(o.data["text/html"] as string | undefined).includes('class="actlab-table"')
    ).length;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ width: 1200, height: 900 });
      await page.goto(new URL(`file://${report.outHtml}`).href);
      await page.waitFor(
        `document.querySelectorAll(".js-plotly-plot .main-svg").length >= ${figures}`,
        { timeoutMs: 60_000 },
      );
      const drawn = await page.evaluate<{ plots: number; traces: number[]; tables: number }>(`({
        plots: document.querySelectorAll(".js-plotly-plot").length,
        traces: [...document.querySelectorAll(".js-plotly-plot")].map((p) =>
          p.querySelectorAll(".scatterlayer .trace, .barlayer .trace").length),
        tables: document.querySelectorAll("table.actlab-table tbody tr").length > 0
          ? document.querySelectorAll("table.actlab-table").length : 0,
      })`);
      assertEquals(drawn.plots, figures, "every figure became a Plotly chart");
      assert(drawn.traces.every((n) => n > 0), `a chart without drawn traces: ${drawn.traces}`);
      assertEquals(drawn.tables, tables, "every table is on the page with rows");
      assertEquals(page.errors, [], "the page threw");
      const shot = `${await Deno.makeTempDir({ prefix: "actlab-screenshot-" })}/quickstart.png`;
      await Deno.writeFile(shot, await page.screenshot());
      assert((await Deno.stat(shot)).size > 50_000);
      console.log(`screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the quickstart also runs under jupyter nbconvert --execute without errors",
  ignore: !nbconvert,
  ...opts,
  async fn() {
    const dir = await scratchDir("nbconvert-");
    try {
      await denoKernelspec(`${dir}/jupyter`);
      const t0 = performance.now();
      const out = await new Deno.Command("jupyter", {
        args: [
          "nbconvert",
          "--to",
          "notebook",
          "--execute",
          "--ExecutePreprocessor.kernel_name=deno",
          "--ExecutePreprocessor.timeout=600",
          "--output-dir",
          dir,
          "--output",
          "quickstart_nbconvert.ipynb",
          QUICKSTART,
        ],
        env: {
          JUPYTER_PATH: `${dir}/jupyter`,
          ACTLAB_FAST: "1",
          ACTLAB_CACHE_DIR: `${dir}/cache`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr.slice(-3000));
      console.log(`nbconvert: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const nb = await readNotebook(`${dir}/quickstart_nbconvert.ipynb`);
      const errors = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) =>
        o.output_type === "error"
      );
      assertEquals(errors, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
