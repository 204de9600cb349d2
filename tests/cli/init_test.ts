/**
 * `deno task init DIR`: a research folder outside the clone whose starter notebook runs under the
 * real Deno kernel (our runner) and under the standard Jupyter client (nbconvert).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { initResearchFolder } from "../../cli/init.ts";
import { readNotebook, runNotebook } from "@actlab/actlab/notebook";
import { denoKernelspec, hasNbconvert } from "../notebook/_util.ts";
import { DATA_DIR, haveTinyShakespeare } from "../_data.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const options = { sanitizeOps: false, sanitizeResources: false };
const nbconvert = await hasNbconvert();
// The starter notebook trains on Tiny Shakespeare; without it (tests/_data.ts) its half is skipped.

Deno.test({
  name:
    "deno task init makes a folder whose starter notebook runs in the Deno kernel and nbconvert",
  ...options,
  fn: async () => {
    const dir = `${await Deno.makeTempDir({ prefix: "actlab-init-" })}/study`;
    try {
      const made = await initResearchFolder(dir);
      assertEquals([...made.files].sort(), [
        ".gitignore",
        "activation_study.ipynb",
        "deno.json",
        "deno.lock",
      ]);
      const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
      const project = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
      assertEquals(config.imports["@actlab/actlab"], `file://${ROOT}/mod.ts`);
      for (const [name, spec] of Object.entries(project.imports as Record<string, string>)) {
        if (!name.startsWith("@actlab/")) assertEquals(config.imports[name], spec, name);
      }
      const lock = JSON.parse(await Deno.readTextFile(`${dir}/deno.lock`));
      assert("@uwdata/flechette@2.6.0" in lock.npm, "flechette stays at the pinned 2.6.0");
      const starter = await readNotebook(made.notebook);
      assert(starter.cells.every((c) => c.cell_type !== "code" || c.outputs?.length === 0));

      if (!haveTinyShakespeare) {
        console.log(`skipped running the starter notebook: no Tiny Shakespeare under ${DATA_DIR}`);
        return;
      }
      const report = await runNotebook(made.notebook, {
        env: { ACTLAB_DATA_DIR: DATA_DIR },
        fast: true,
        outDir: `${dir}/.out`,
        images: "never",
        html: false,
      });
      assert(report.ok, report.failure?.evalue);

      if (!nbconvert) {
        console.log("skipped the nbconvert half: jupyter nbconvert is not installed");
        return;
      }
      await denoKernelspec(`${dir}/jupyter`);
      const out = await new Deno.Command("jupyter", {
        args: [
          "nbconvert",
          "--to",
          "notebook",
          "--execute",
          "--ExecutePreprocessor.kernel_name=deno",
          "--ExecutePreprocessor.timeout=600",
          "--output",
          "executed.ipynb",
          made.notebook,
        ],
        cwd: dir,
        env: { JUPYTER_PATH: `${dir}/jupyter`, ACTLAB_FAST: "1", ACTLAB_DATA_DIR: DATA_DIR },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr).slice(-3000));
      const executed = await readNotebook(`${dir}/executed.ipynb`);
      const errors = executed.cells.flatMap((c) => c.outputs ?? []).filter((o) =>
        o.output_type === "error"
      );
      assertEquals(errors, []);
    } finally {
      await Deno.remove(dir.replace(/\/study$/, ""), { recursive: true });
    }
  },
});

Deno.test("deno task init refuses a non-empty folder and a folder inside the clone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "actlab-init-full-" });
  await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
  try {
    await assertRejects(
      () => initResearchFolder(dir, { install: false }),
      Error,
      "exists and is not empty",
    );
    assertEquals(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const err = await assertRejects(
    () => initResearchFolder(`${ROOT}/.out/study-inside`, { install: false }),
    Error,
    "is inside the actlab clone",
  );
  assertStringIncludes(err.message, "deno task init ../my-study");
});
