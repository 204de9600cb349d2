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

Deno.test("deno task init names a file, a link loop or a path through a file, with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "actlab-init-paths-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.symlink(`${dir}/b`, `${dir}/a`);
    await Deno.symlink(`${dir}/a`, `${dir}/b`);
    const cases: [string, string][] = [
      [`${dir}/file`, `${dir}/file is a file, not a folder; give a new folder`],
      [`${dir}/a`, `${dir}/a: is a symbolic link loop (a link that leads back to itself)`],
      [`${dir}/file/study`, `${dir}/file/study: has a file where a folder is expected`],
    ];
    for (const [path, message] of cases) {
      const err = await assertRejects(() => initResearchFolder(path, { install: false }), Error);
      assertStringIncludes(err.message, message);
      assert(!err.message.includes("os error"), err.message);
    }
    assertEquals(await Deno.readTextFile(`${dir}/file`), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether this machine lets a process mount a small tmpfs in a namespace of its own. */
async function canMountTmpfs(): Promise<boolean> {
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /tmp"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "deno task init on a full disk fails naming it and leaves no half folder behind",
  ignore: !(await canMountTmpfs()), // unshare: a disk of 24 kB, in a mount namespace of its own
  ...options,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "actlab-init-full-disk-" });
    try {
      // deno.lock (34 kB) does not fit; parents/study's missing parent must go too.
      const script = `mount -t tmpfs -o size=24k tmpfs "$1" || exit 90
"$2" run -A "$3" "$1/parents/study" --no-install
echo "rc=$?"
echo "left:$(ls -A "$1" | tr '\\n' ' ')"`;
      const out = await new Deno.Command("unshare", {
        args: ["-rm", "sh", "-c", script, "sh", dir, Deno.execPath(), `${ROOT}/cli/init.ts`],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assertStringIncludes(stdout, "rc=1", stderr);
      assertStringIncludes(
        stderr,
        `init: ${dir}/parents/study: is on a full disk (no space left on the device); nothing ` +
          "was left behind",
      );
      assertStringIncludes(stdout, "left:\n", "the disk is empty again");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
