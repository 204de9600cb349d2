/**
 * Helpers for tests that run notebooks through the real Deno kernel.
 *
 * @module
 */
import type { Cell, Notebook } from "../../lib/notebook/nbformat.ts";

/** The repository root (where deno.json is). */
export const ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** `import * as D from …` for notebook cells: the display module by absolute file URL. */
export const DISPLAY_IMPORT: string = new URL("../../lib/display/mod.ts", import.meta.url).href;

/**
 * A scratch folder inside the repository (under the git-ignored `.out/`), so a kernel started
 * there finds the project's deno.json, import map and node_modules.
 */
export async function scratchDir(prefix: string): Promise<string> {
  const base = `${ROOT}/.out/test`;
  await Deno.mkdir(base, { recursive: true });
  return await Deno.makeTempDir({ dir: base, prefix });
}

/** A code cell (or a markdown cell when `md` is set), optionally with tags. */
export function cell(source: string, options: { md?: boolean; tags?: string[] } = {}): Cell {
  const metadata = options.tags ? { tags: options.tags } : {};
  return options.md
    ? { cell_type: "markdown", source, metadata }
    : { cell_type: "code", source, metadata, outputs: [], execution_count: null };
}

/** A notebook of the given cells. */
export function notebook(cells: Cell[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells,
  };
}

/** All text of a cell's outputs (plain text, streams, errors), for assertions. */
export function outputText(c: Cell): string {
  return (c.outputs ?? []).map((o) => {
    if (o.output_type === "stream") return Array.isArray(o.text) ? o.text.join("") : o.text;
    if (o.output_type === "error") return `${o.ename}: ${o.evalue}`;
    const t = o.data["text/plain"];
    return Array.isArray(t) ? t.join("") : String(t ?? "");
  }).join("\n");
}

/** Whether `jupyter nbconvert` with nbclient is installed. */
export async function hasNbconvert(): Promise<boolean> {
  try {
    const out = await new Deno.Command("jupyter", {
      args: ["nbconvert", "--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * A Deno kernelspec in a private Jupyter folder (pass it as `JUPYTER_PATH`), so the standard
 * Jupyter client can start this Deno without anything installed into the user's home.
 */
export async function denoKernelspec(jupyterPath: string): Promise<void> {
  await Deno.mkdir(`${jupyterPath}/kernels/deno`, { recursive: true });
  await Deno.writeTextFile(
    `${jupyterPath}/kernels/deno/kernel.json`,
    JSON.stringify({
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno",
      language: "typescript",
    }),
  );
}
