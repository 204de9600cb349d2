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
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readNotebook, writeNotebook } from "../lib/notebook/nbformat.ts";
import { command, runMain } from "./_args.ts";

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
 * Creates the research folder `dir` (which must not exist, or be empty) wired to this clone.
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
  const entries = await Array.fromAsync(Deno.readDir(target)).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  });
  if (entries.length > 0) {
    throw new Error(
      `${dir} exists and is not empty: give a new folder (deno task init only creates folders, ` +
        `it never overwrites files).`,
    );
  }
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
  await Deno.mkdir(target, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    await Deno.writeTextFile(join(target, name), text);
    files.push(name);
  };
  await write("deno.json", JSON.stringify(config, null, 2) + "\n");
  await write("deno.lock", await Deno.readTextFile(join(ROOT, "deno.lock")));
  await write(".gitignore", "node_modules/\n.cache/\n.out/\nresults/\n");
  const template = await readNotebook(join(ROOT, "notebooks/09_template.ipynb"));
  for (const cell of template.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  delete template.metadata.actlab;
  const notebook = options.notebook ?? "activation_study.ipynb";
  await writeNotebook(join(target, notebook), template);
  files.push(notebook);
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
