/** `deno task notebooks NB -p NAME=VALUE`: values injected after the cell tagged parameters. */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { runNotebook, writeNotebook } from "@actlab/actlab/notebook";
import { cell, notebook, outputText, ROOT, scratchDir } from "./_util.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const SETTINGS = `const FAST = Deno.env.get("ACTLAB_FAST") === "1";
const SETTINGS = {
  iters: FAST ? 20 : 600,
  seeds: [1, 2, 3],
  label: "baseline",
  train: { learningRate: 1e-3 },
};`;

async function study(dir: string, tagged = true): Promise<string> {
  const path = `${dir}/study.ipynb`;
  await writeNotebook(
    path,
    notebook([
      cell(SETTINGS, tagged ? { tags: ["parameters"] } : {}),
      cell("console.log(JSON.stringify(SETTINGS))"),
    ]),
  );
  return path;
}

Deno.test({
  name: "parameters replace the tagged cell's values for the rest of the notebook",
  ...options,
  fn: async () => {
    const dir = await scratchDir("params-");
    const path = await study(dir);
    const report = await runNotebook(path, {
      outDir: `${dir}/out`,
      html: false,
      images: "never",
      parameters: { iters: 2000, seeds: [5] },
    });
    assertEquals(report.ok, true, report.failure?.evalue);
    const out = JSON.parse(await Deno.readTextFile(report.outNotebook));
    assertEquals(out.cells[1].metadata.tags, ["injected-parameters"]);
    const printed = JSON.parse(outputText(out.cells[2]));
    assertEquals(printed, {
      iters: 2000,
      seeds: [5],
      label: "baseline",
      train: { learningRate: 1e-3 },
    });
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "an unknown parameter or a notebook without a parameters cell is refused before running",
  ...options,
  fn: async () => {
    const dir = await scratchDir("params-bad-");
    const path = await study(dir);
    const err = await assertRejects(
      () => runNotebook(path, { outDir: `${dir}/out`, parameters: { iter: 5, learningRate: 1 } }),
      Error,
      "-p iter, learningRate: not among the parameters of SETTINGS (iters, seeds, label, train)",
    );
    assertStringIncludes(err.message, "study.ipynb");
    const untagged = await study(`${dir}`, false);
    await assertRejects(
      () => runNotebook(untagged, { outDir: `${dir}/out`, parameters: { iters: 5 } }),
      Error,
      `has no cell tagged "parameters"`,
    );
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "deno task notebooks -p parses JSON values and passes them through",
  ...options,
  fn: async () => {
    const dir = await scratchDir("params-cli-");
    const path = await study(dir);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}/cli/notebooks.ts`,
        path,
        "--out",
        `${dir}/out`,
        "--quiet",
        "--no-html",
        "--images",
        "never",
        "-p",
        "iters=2000",
        "-p",
        "label=gelu vs relu",
        "-p",
        "seeds=[1,2,3,4,5]",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const nb = JSON.parse(await Deno.readTextFile(`${dir}/out/study.ipynb`));
    const printed = JSON.parse(outputText(nb.cells[2]));
    assertEquals([printed.iters, printed.label, printed.seeds], [
      2000,
      "gelu vs relu",
      [1, 2, 3, 4, 5],
    ]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "only the object's own keys are parameters: not words from comments or expressions",
  ...options,
  fn: async () => {
    const dir = await scratchDir("params-keys-");
    const path = `${dir}/keys.ipynb`;
    await writeNotebook(
      path,
      notebook([
        cell(
          `const FAST = true;
const SETTINGS = {
  // The final loss (the sweep's default finalEval: "split"): nanoGPT's recipe: 2,000 steps
  preset: FAST ? "tiny" as const : "nano" as const,
  iters: FAST ? 20 : 2000, /* note: steps */
  "quoted-key": { inner: 1 },
  label: \`run-\${FAST}\`,
  count: Math.max(1, 2),
};`,
          { tags: ["parameters"] },
        ),
      ]),
    );
    for (const word of ["const", "finalEval", "recipe", "note", "inner"]) {
      await assertRejects(
        () => runNotebook(path, { outDir: `${dir}/out`, parameters: { [word]: 5 } }),
        Error,
        `-p ${word}: not among the parameters of SETTINGS (preset, iters, quoted-key, label, ` +
          "count)",
      );
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "a value of another type than the default is refused naming both types",
  ...options,
  fn: async () => {
    const dir = await scratchDir("params-types-");
    const path = await study(dir);
    await assertRejects(
      () => runNotebook(path, { outDir: `${dir}/out`, parameters: { seeds: 5, iters: "many" } }),
      TypeError,
      `-p seeds: the notebook's default is an array ([1, 2, 3]), got a number (5); -p iters: ` +
        `the notebook's default is a number (FAST ? 20 : 600), got a string ("many").`,
    );
    // A default whose type the source does not show is checked in the kernel, before assigning.
    const computed = `${dir}/computed.ipynb`;
    await writeNotebook(
      computed,
      notebook([
        cell("const SETTINGS = { count: Math.max(1, 2) };", { tags: ["parameters"] }),
        cell("console.log(JSON.stringify(SETTINGS))"),
      ]),
    );
    const report = await runNotebook(computed, {
      outDir: `${dir}/out`,
      html: false,
      images: "never",
      parameters: { count: "three" },
    });
    assertEquals(report.ok, false);
    assertEquals(report.failure?.ename, "TypeError");
    assertStringIncludes(
      report.failure!.evalue,
      "-p count: the notebook's value is of type number (Math.max(1, 2)), -p gave string",
    );
    const fine = await runNotebook(computed, {
      outDir: `${dir}/out`,
      html: false,
      images: "never",
      parameters: { count: 3 },
    });
    assertEquals(fine.ok, true, fine.failure?.evalue);
    await Deno.remove(dir, { recursive: true });
  },
});
