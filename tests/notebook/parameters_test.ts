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
      parameters: { iters: 2000, seeds: 5 },
    });
    assertEquals(report.ok, true, report.failure?.evalue);
    const out = JSON.parse(await Deno.readTextFile(report.outNotebook));
    assertEquals(out.cells[1].metadata.tags, ["injected-parameters"]);
    const printed = JSON.parse(outputText(out.cells[2]));
    assertEquals(printed, {
      iters: 2000,
      seeds: 5,
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
