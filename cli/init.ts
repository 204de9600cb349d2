/**
 * `deno task init DIR`: makes DIR a research folder of its own that uses this actlab clone.
 *
 * DIR gets a `deno.json` whose import map sends `@actlab/actlab` (and its subpaths) to this
 * clone's files and pins every dependency exactly as actlab does, this clone's `deno.lock` (so
 * the same package versions install: an unpinned `@uwdata/flechette` drifts to a release whose
 * dependency is missing from the registry), a starter notebook made from
 * `notebooks/09_template.ipynb` without its outputs, and a `.gitignore`. Then it runs
 * `deno install` there, so the notebook opens in VS Code's Deno kernel or any Jupyter client.
 *
 * ```sh
 * deno task init ~/research/my-activation
 * ```
 *
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readNotebook, writeNotebook } from "../lib/notebook/nbformat.ts";
import { command, runMain } from "./_args.ts";
import { pathError } from "./_paths.ts";

/** The clone this file belongs to. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Options of {@link initResearchFolder}. */
export interface InitOptions {
  /** Run `deno install` in the new folder (default true). */
  readonly install?: boolean;
  /** Name of the starter notebook (default `activation_study.ipynb`). */
  readonly notebook?: string;
}

/** What {@link initResearchFolder} made. */
export interface InitResult {
  /** The folder, absolute. */
  readonly dir: string;
  /** Files written, relative to it. */
  readonly files: readonly string[];
  /** The starter notebook's path. */
  readonly notebook: string;
}

/**
 * Refuses a DIR that cannot become a research folder, in words and with the fix: a file, a
 * symbolic link loop, a path through a file, a folder that is not empty.
 */
async function checkTarget(dir: string, target: string): Promise<void> {
  const fix = "give a new folder (deno task init creates it, e.g. deno task init ../my-study)";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(target);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return; // made below
    throw pathError(e, "", dir, fix);
  }
  if (!info.isDirectory) throw new Error(`${dir} is a file, not a folder; ${fix}.`);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(target));
  } catch (e) {
    throw pathError(e, "", dir, fix);
  }
  if (entries.length > 0) {
    throw new Error(
      `${dir} exists and is not empty: give a new folder (deno task init only creates folders, ` +
        `it never overwrites files).`,
    );
  }
}

/**
 * Makes the missing folders above `target` and returns the topmost one it made (to remove again
 * if the rest fails), or undefined when they all existed.
 */
async function makeParents(dir: string, target: string): Promise<string | undefined> {
  let top: string | undefined;
  for (let p = dirname(target); p !== dirname(p); p = dirname(p)) {
    if (await Deno.stat(p).then(() => true, () => false)) break;
    top = p;
  }
  try {
    await Deno.mkdir(dirname(target), { recursive: true });
  } catch (e) {
    if (top) await Deno.remove(top, { recursive: true }).catch(() => {});
    throw pathError(e, "the folder above", dir, "give a folder you can create");
  }
  return top;
}

/**
 * Creates the research folder `dir` (which must not exist, or be empty) wired to this clone. The
 * files are written into a hidden folder beside it that is renamed to `dir` only when all are
 * written, so a failure (a full disk) leaves nothing behind — not even the folders above `dir`
 * that it made.
 *
 * @example
 * ```ts ignore
 * const r = await initResearchFolder("/tmp/my-study");
 * console.log(r.notebook); // open it in VS Code and pick the Deno kernel
 * ```
 */
export async function initResearchFolder(
  dir: string,
  options: InitOptions = {},
): Promise<InitResult> {
  const target = resolve(dir);
  await checkTarget(dir, target);
  const inside = relative(ROOT, target);
  if (inside === "" || (!inside.startsWith("..") && !inside.startsWith("/"))) {
    throw new Error(
      `${dir} is inside the actlab clone (${ROOT}): a research folder lives outside it, ` +
        `e.g. deno task init ../my-study.`,
    );
  }
  const project = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const imports: Record<string, string> = {};
  for (const [name, value] of Object.entries(project.imports as Record<string, string>)) {
    imports[name] = value.startsWith("./") ? new URL(value, `file://${ROOT}/`).href : value;
  }
  const config = {
    imports,
    nodeModulesDir: "auto",
    tasks: {
      notebook: `deno run -A ${join(ROOT, "cli/notebooks.ts")}`,
    },
  };
  const template = await readNotebook(join(ROOT, "notebooks/09_template.ipynb"));
  for (const cell of template.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  delete template.metadata.actlab;
  const notebook = options.notebook ?? "activation_study.ipynb";
  const madeAbove = await makeParents(dir, target);
  let staging: string | undefined;
  const files: string[] = [];
  try {
    staging = await Deno.makeTempDir({
      dir: dirname(target),
      prefix: `.${basename(target)}.init-`,
    });
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(join(staging!, name), text);
      files.push(name);
    };
    await write("deno.json", JSON.stringify(config, null, 2) + "\n");
    await write("deno.lock", await Deno.readTextFile(join(ROOT, "deno.lock")));
    await write(".gitignore", "node_modules/\n.cache/\n.out/\nresults/\n");
    await writeNotebook(join(staging, notebook), template);
    files.push(notebook);
    await Deno.chmod(staging, 0o755).catch(() => {}); // makeTempDir makes it 0700
    await Deno.remove(target).catch(() => {}); // an empty folder given as DIR
    await Deno.rename(staging, target);
  } catch (e) {
    if (staging) await Deno.remove(staging, { recursive: true }).catch(() => {});
    if (madeAbove) await Deno.remove(madeAbove, { recursive: true }).catch(() => {});
    throw pathError(
      e,
      "",
      dir,
      "nothing was left behind; free space or choose another place, then run it again",
    );
  }
  if (options.install ?? true) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install"],
      cwd: target,
      env: { ONNXRUNTIME_NODE_INSTALL: "skip", ONNXRUNTIME_NODE_INSTALL_CUDA: "skip" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno install in ${dir} failed (the folder is ready otherwise; run it there yourself):\n` +
          new TextDecoder().decode(out.stderr),
      );
    }
  }
  return { dir: target, files, notebook: join(target, notebook) };
}

/**
 * `deno task init DIR`: flags, help and run.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await initCli.run(["../my-study"]));
 * ```
 */
export const initCli = command({
  usage: "deno task init",
  summary: "Makes DIR (new or empty, outside this clone) a research folder that uses this actlab " +
    "clone: deno.json mapping @actlab/actlab and pinning every dependency as actlab does, its " +
    "deno.lock, a starter notebook (from notebooks/09_template.ipynb) and a .gitignore; then " +
    "runs deno install there.",
  flags: {
    "no-install": { kind: "bool", description: "skip deno install (run it in DIR yourself later)" },
  },
  positionals: { name: "DIR", description: "the new research folder", min: 1, max: 1 },
}, async ({ values, positionals: [dir] }) => {
  const r = await initResearchFolder(dir, { install: !values["no-install"] });
  console.log(`Made ${r.dir}: ${r.files.join(", ")}`);
  console.log(`Open ${r.notebook} in VS Code (kernel: Deno), or run it headless:`);
  console.log(`  cd ${r.dir} && deno task notebook ${r.notebook.split("/").at(-1)}`);
  return 0;
});

if (import.meta.main) await runMain(initCli);
