/** Notebook files, HTML pages, failure diagnosis helpers and command-line parsing. */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { notebookToJson, readNotebook, writeNotebook } from "../../lib/notebook/nbformat.ts";
import { hasPlotly, notebookToHtml } from "../../lib/notebook/html.ts";
import { importSpecifiers, stripAnsi } from "../../lib/notebook/_diagnose.ts";
import { parseArgs } from "../../cli/notebooks.ts";
import { cell, notebook } from "./_util.ts";

Deno.test("notebooks are written as Jupyter writes them: sorted keys, lines split, atomic", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nb = notebook([cell("const a = 1;\na")]);
    nb.cells[0].outputs = [{ output_type: "stream", name: "stdout", text: "x\ny\n" }];
    const path = `${dir}/a.ipynb`;
    await writeNotebook(path, nb);
    const text = await Deno.readTextFile(path);
    assertStringIncludes(text, '"source": [\n    "const a = 1;\\n",\n    "a"\n   ]');
    assertStringIncludes(text, '"text": [\n      "x\\n",\n      "y\\n"\n     ]');
    assert(text.indexOf('"cell_type"') < text.indexOf('"metadata"'), "keys sorted");
    assertEquals(notebookToJson(await readNotebook(path)), text, "stable round trip");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a.ipynb"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readNotebook() names the file and the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ipynb`, "{ not json");
    await assertRejects(
      () => readNotebook(`${dir}/bad.ipynb`),
      Error,
      "bad.ipynb is not valid JSON",
    );
    await Deno.writeTextFile(`${dir}/old.ipynb`, JSON.stringify({ nbformat: 3, cells: [] }));
    await assertRejects(() => readNotebook(`${dir}/old.ipynb`), Error, "nbformat 3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("notebookToHtml() renders markdown, code, streams, errors, images and Plotly JSON", () => {
  const nb = notebook([
    cell("# Title\n\nSome *text*.", { md: true }),
    cell("x < 1"),
    cell("y"),
  ]);
  nb.cells[1].execution_count = 1;
  nb.cells[1].outputs = [
    { output_type: "stream", name: "stdout", text: "\x1b[31mred\x1b[0m\n" },
    { output_type: "error", ename: "Error", evalue: "boom", traceback: ["Error: boom", "  at x"] },
  ];
  nb.cells[2].outputs = [
    {
      output_type: "display_data",
      data: { "image/png": "iVBORw0K", "text/plain": "img" },
      metadata: {},
    },
    {
      output_type: "display_data",
      data: { "application/vnd.plotly.v1+json": { data: [], layout: {} }, "text/plain": "fig" },
      metadata: {},
    },
  ];
  const html = notebookToHtml(nb, { plotly: { src: "plotly.min.js" } });
  assertStringIncludes(html, "<title>Title</title>");
  assertStringIncludes(html, "<em>text</em>");
  assertStringIncludes(html, "In [1]:");
  assertStringIncludes(html, "x &lt; 1");
  assertStringIncludes(html, '<pre class="stream stdout">red\n</pre>');
  assertStringIncludes(html, "Error: boom\n  at x");
  assertStringIncludes(html, 'src="data:image/png;base64,iVBORw0K"');
  assertStringIncludes(html, "window.Plotly.newPlot");
  assertEquals(html.match(/<script src=/g)!.length, 1);
  assert(hasPlotly(nb));
  assert(!hasPlotly(notebook([cell("1")])));
});

Deno.test("importSpecifiers() finds static, type, re-export and dynamic imports", () => {
  const src = `import * as tf from "@tensorflow/tfjs";
import type { X } from './types.ts';
import "npm:side-effect@1";
export { a } from "jsr:@std/a";
const m = await import("npm:lazy@2");`;
  assertEquals(importSpecifiers(src), [
    "@tensorflow/tfjs",
    "./types.ts",
    "npm:side-effect@1",
    "jsr:@std/a",
    "npm:lazy@2",
  ]);
  assertEquals(stripAnsi("\x1b[1m\x1b[31merror\x1b[0m"), "error");
});

Deno.test("parseArgs() reads the runner's options and rejects bad ones by name", () => {
  const o = parseArgs([
    "a.ipynb",
    "--fast",
    "--out=o",
    "--timeout",
    "30",
    "--env",
    "K=V=W",
    "--images",
    "never",
    "--in-place",
  ]);
  assertEquals(
    [o.paths, o.fast, o.outDir, o.timeoutSeconds, o.env, o.images, o.inPlace],
    [["a.ipynb"], true, "o", 30, { K: "V=W" }, "never", true],
  );
  assertThrows(() => parseArgs(["--frobnicate"]), Error, "unknown flag --frobnicate");
  assertThrows(() => parseArgs(["--in_place"]), Error, "(did you mean --in-place?)");
  assertThrows(() => parseArgs(["--images", "sometimes"]), Error, "--images takes");
  assertThrows(() => parseArgs(["--out"]), Error, "--out needs a value");
});

Deno.test("notebookToHtml() shows no empty In [ ] prompt and turns comment-only cells into captions", () => {
  const shown = { output_type: "stream" as const, name: "stdout" as const, text: "42\n" };
  const html = notebookToHtml({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      {
        cell_type: "code",
        metadata: {},
        source: "// final loss per activation",
        execution_count: null,
        outputs: [shown],
      },
      {
        cell_type: "code",
        metadata: {},
        source: "/* the learning\n * rate grid */",
        execution_count: null,
        outputs: [shown],
      },
      {
        cell_type: "code",
        metadata: {},
        source: "const x = 1; // not a caption",
        execution_count: null,
        outputs: [],
      },
      {
        cell_type: "code",
        metadata: {},
        source: "console.log(42)",
        execution_count: 3,
        outputs: [shown],
      },
    ],
  });
  assert(!html.includes("In [ ]"), "no empty prompt");
  assert(!html.includes("In [null]"));
  assertStringIncludes(html, `<p class="caption">final loss per activation</p>`);
  assertStringIncludes(html, `<p class="caption">the learning rate grid</p>`);
  assert(!html.includes("<code>// final loss"), "the comment is not shown as code");
  assertStringIncludes(html, "<code>const x = 1; // not a caption</code>");
  assertStringIncludes(html, "In [3]:");
});
