/** Faults injected into the notebook runner: each asserts the error text or the preserved file. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { runNotebook, writeNotebook } from "@actlab/actlab/notebook";
import { cell, notebook, outputText, scratchDir } from "./_util.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "a notebook written for a Python kernel is refused, untouched, naming its kernelspec",
  ...options,
  fn: async () => {
    const dir = await scratchDir("fault-kernelspec-");
    const path = `${dir}/py.ipynb`;
    const nb = notebook([cell("print('hi')")]);
    nb.metadata = {
      kernelspec: { name: "python3", display_name: "Python 3", language: "python" },
      language_info: { name: "python" },
    };
    await writeNotebook(path, nb);
    const before = await Deno.readFile(path);
    const err = await assertRejects(
      () => runNotebook(path, { inPlace: true, html: false, images: "never" }),
      Error,
      `kernelspec "python3" ("Python 3", language python)`,
    );
    assertStringIncludes(err.message, "left the file untouched");
    assertEquals(await Deno.readFile(path), before);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "--in-place keeps the published outputs when a cell fails, and says where the run went",
  ...options,
  fn: async () => {
    const dir = await scratchDir("fault-inplace-");
    const path = `${dir}/pub.ipynb`;
    const published = notebook([
      cell("console.log('one')"),
      cell("throw new Error('broken now')"),
      cell("console.log('three')"),
    ]);
    // Outputs of an earlier, complete run: every cell has its published output.
    for (const [i, c] of published.cells.entries()) {
      c.outputs = [{ output_type: "stream", name: "stdout", text: `published ${i}\n` }];
      c.execution_count = i + 1;
    }
    await writeNotebook(path, published);
    const before = await Deno.readFile(path);
    const report = await runNotebook(path, {
      inPlace: true,
      outDir: `${dir}/out`,
      html: false,
      images: "never",
    });
    assert(!report.ok);
    assertEquals(report.failure?.cell, 2);
    assertEquals(await Deno.readFile(path), before, "the published notebook is byte-identical");
    assertEquals(report.outNotebook, `${dir}/out/pub.ipynb`);
    assert(report.warnings.some((w) => w.includes("was left unchanged because a cell failed")));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "a promise rejected without a handler fails its cell and stops the run",
  ...options,
  fn: async () => {
    const dir = await scratchDir("fault-rejection-");
    const path = `${dir}/rej.ipynb`;
    await writeNotebook(
      path,
      notebook([
        cell("Promise.reject(new Error('lost on the floor'));\nconsole.log('after');"),
        cell("console.log('never')"),
      ]),
    );
    const report = await runNotebook(path, { outDir: `${dir}/out`, html: false, images: "never" });
    assert(!report.ok);
    assertEquals(report.failure?.cell, 1);
    assertEquals(report.failure?.ename, "UnhandledRejection");
    assertStringIncludes(report.failure!.evalue, "lost on the floor");
    const out = JSON.parse(await Deno.readTextFile(report.outNotebook));
    assertStringIncludes(outputText(out.cells[0]), "nothing handled it: lost on the floor");
    assertEquals(out.cells[1].outputs, []);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "a handled rejection and an awaited promise do not fail a cell",
  ...options,
  fn: async () => {
    const dir = await scratchDir("fault-handled-");
    const path = `${dir}/ok.ipynb`;
    await writeNotebook(
      path,
      notebook([
        cell("Promise.reject(new Error('x')).catch(() => {});\nawait Promise.resolve(1);"),
        cell("console.log('second')"),
      ]),
    );
    const report = await runNotebook(path, { outDir: `${dir}/out`, html: false, images: "never" });
    assert(report.ok, report.failure?.evalue);
    await Deno.remove(dir, { recursive: true });
  },
});
