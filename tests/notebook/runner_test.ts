/**
 * The headless runner against the real Deno kernel: failures named with cell, source and error
 * (including the kernel's bare "Execution failed"), timeouts, parameters through the environment,
 * files written, and the command line.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { executeNotebook, formatFailure, runNotebook } from "../../lib/notebook/runner.ts";
import { readNotebook, writeNotebook } from "../../lib/notebook/nbformat.ts";
import { cell, DISPLAY_IMPORT, notebook, outputText, ROOT, scratchDir } from "./_util.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "executeNotebook() starts the kernel in the notebook's folder and passes the environment",
  ...opts,
  async fn() {
    const dir = await scratchDir("env-");
    try {
      const r = await executeNotebook(
        notebook([cell("Deno.cwd()"), cell(`Deno.env.get("ACTLAB_FAST") ?? "unset"`)]),
        { cwd: dir, env: { ACTLAB_FAST: "1" } },
      );
      assertEquals(r.failure, undefined);
      assertEquals(outputText(r.notebook.cells[0]), JSON.stringify(dir));
      assertEquals(outputText(r.notebook.cells[1]), '"1"');
      assertEquals(r.notebook.cells.map((c) => c.execution_count), [1, 2]);
      assertEquals(
        (r.notebook.metadata.language_info as { name: string }).name,
        "typescript",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a failing cell is named with its number, source and error, and later cells do not run",
  ...opts,
  async fn() {
    const dir = await scratchDir("fail-");
    try {
      const r = await executeNotebook(
        notebook([
          cell("# Title", { md: true }),
          cell("const a = 1;"),
          cell("const b = a + 1;\nthrow new RangeError(`b is ${b}`);"),
          cell("console.log('never')"),
        ]),
        { cwd: dir, name: "demo.ipynb" },
      );
      const f = r.failure!;
      assertEquals([f.cell, f.codeCell, f.kind, f.ename, f.evalue], [
        3,
        2,
        "error",
        "RangeError",
        "b is 2",
      ]);
      assertStringIncludes(f.source, "throw new RangeError");
      const text = formatFailure(f);
      assertStringIncludes(text, "demo.ipynb: cell 3 (code cell 2) failed");
      assertStringIncludes(text, "  2 │ throw new RangeError(`b is ${b}`);");
      assertStringIncludes(text, "RangeError: b is 2");
      assertEquals(r.notebook.cells[3].execution_count, null);
      assertEquals(r.notebook.cells[3].outputs, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a syntax error is explained although the kernel only answers 'Execution failed'",
  ...opts,
  async fn() {
    const dir = await scratchDir("syntax-");
    try {
      const r = await executeNotebook(
        notebook([cell("const ok = 1;"), cell("const a = 1;\nconst b = a +* 2;")]),
        { cwd: dir },
      );
      const f = r.failure!;
      assertEquals([f.cell, f.ename], [2, "SyntaxError"]);
      assertMatch(f.evalue, /at line 2, column \d+ of the cell/);
      // The saved notebook carries the explanation as the cell's error output.
      assertStringIncludes(outputText(r.notebook.cells[1]), "SyntaxError");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a failed npm import is explained although the kernel only answers 'Execution failed'",
  ...opts,
  async fn() {
    const dir = await scratchDir("import-");
    try {
      const spec = "npm:actlab-no-such-package-for-tests@1.0.0";
      const r = await executeNotebook(
        notebook([cell(`import { x } from "${spec}";\nx`)]),
        { cwd: dir },
      );
      const f = r.failure!;
      assertEquals(f.ename, "ImportError");
      assertStringIncludes(f.evalue, spec);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a cell over the per-cell timeout stops the run, kills the kernel and names the cell",
  ...opts,
  async fn() {
    const dir = await scratchDir("timeout-");
    try {
      const t0 = performance.now();
      const r = await executeNotebook(
        notebook([cell("1"), cell("await new Promise((r) => setTimeout(r, 60_000));"), cell("2")]),
        { cwd: dir, cellTimeoutMs: 1500 },
      );
      assert(performance.now() - t0 < 30_000, "the runner waited for the slow cell");
      const f = r.failure!;
      assertEquals([f.cell, f.kind, f.ename], [2, "timeout", "Timeout"]);
      assertStringIncludes(f.evalue, "did not finish within 1.5 s");
      assertEquals(r.notebook.cells[2].execution_count, null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a cell tagged raises-exception does not stop the run",
  ...opts,
  async fn() {
    const dir = await scratchDir("raises-");
    try {
      const r = await executeNotebook(
        notebook([
          cell("throw new Error('expected')", { tags: ["raises-exception"] }),
          cell("'after'"),
        ]),
        { cwd: dir },
      );
      assertEquals(r.failure, undefined);
      assertEquals(outputText(r.notebook.cells[0]), "Error: expected");
      assertEquals(outputText(r.notebook.cells[1]), '"after"');
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "display updates replace their output wherever they arrive, and streams merge",
  ...opts,
  async fn() {
    const dir = await scratchDir("updates-");
    try {
      const r = await executeNotebook(
        notebook([
          cell(
            `await Deno.jupyter.display({ "text/plain": "v1" }, { raw: true, display_id: "x" });`,
          ),
          cell("console.log('a'); console.log('b'); console.error('c');"),
          cell(
            `await Deno.jupyter.display({ "text/plain": "v2" }, ` +
              `{ raw: true, display_id: "x", update: true });`,
          ),
        ]),
        { cwd: dir },
      );
      assertEquals(r.failure, undefined);
      assertEquals(outputText(r.notebook.cells[0]), "v2");
      assertEquals(r.notebook.cells[1].outputs!.length, 2);
      assertEquals(outputText(r.notebook.cells[1]), "a\nb\n\nc\n");
      assertEquals(r.notebook.cells[2].outputs, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runNotebook() writes the executed notebook and an HTML page with plotly.js beside it",
  ...opts,
  async fn() {
    const dir = await scratchDir("files-");
    try {
      const path = `${dir}/figs.ipynb`;
      await writeNotebook(
        path,
        notebook([
          cell("# Figures", { md: true }),
          cell(`import * as D from "${DISPLAY_IMPORT}";`),
          cell(`D.figure([{ type: "bar", x: ["a", "b"], y: [1, 2] }], { title: { text: "t" } })`),
          cell(`Deno.env.get("ACTLAB_FAST")`),
        ]),
      );
      const out = `${dir}/out`;
      const report = await runNotebook(path, { outDir: out, fast: true, images: "never" });
      assert(report.ok, report.failure && formatFailure(report.failure));
      const nb = await readNotebook(`${out}/figs.ipynb`);
      const fig = nb.cells[2].outputs![0];
      if (fig.output_type !== "execute_result") throw new Error(`got ${fig.output_type}`);
      assert("application/vnd.plotly.v1+json" in fig.data);
      assertEquals(outputText(nb.cells[3]), '"1"');
      assertEquals((nb.metadata.actlab as { fast: boolean }).fast, true);
      const html = await Deno.readTextFile(`${out}/figs.html`);
      assertStringIncludes(html, '<script src="plotly.min.js" charset="utf-8"></script>');
      assertEquals(html.match(/plotly\.min\.js/g)!.length, 1);
      assert(!/https?:\/\/[^"' ]*plotly/i.test(html), "the page must not load plotly from a CDN");
      assert((await Deno.stat(`${out}/plotly.min.js`)).size > 1_000_000);
      assertEquals(
        [...Deno.readDirSync(out)].filter((e) => e.name.endsWith(".tmp")).length,
        0,
        "temporary files left behind",
      );
      // The source notebook is untouched without --in-place.
      assertEquals((await readNotebook(path)).cells[2].outputs, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task notebooks exits 1 and names the failing notebook, cell and error",
  ...opts,
  async fn() {
    const dir = await scratchDir("cli-");
    try {
      const path = `${dir}/bad.ipynb`;
      await writeNotebook(path, notebook([cell("1 + 1"), cell("undefinedName.foo")]));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}/cli/notebooks.ts`, path, "--out", `${dir}/out`, "--quiet"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, stderr);
      assertStringIncludes(stderr, "bad.ipynb: cell 2 (code cell 2) failed");
      assertStringIncludes(stderr, "1 │ undefinedName.foo");
      assertStringIncludes(stderr, "ReferenceError: undefinedName is not defined");
      const usage = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}/cli/notebooks.ts`, "--timeout", "soon"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(usage.code, 2);
      assertStringIncludes(new TextDecoder().decode(usage.stderr), "--timeout takes seconds");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
