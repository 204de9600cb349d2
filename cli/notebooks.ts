/**
 * `deno task notebooks [paths…] [options]`: run notebooks headlessly through the Deno kernel.
 *
 * ```
 * deno task notebooks                       # every notebooks/*.ipynb → .out/notebooks/
 * deno task notebooks --fast                # CI-sized (ACTLAB_FAST=1)
 * deno task notebooks notebooks/00_quickstart.ipynb --in-place   # publish outputs
 * ```
 *
 * @module
 */
import {
  type CellEvent,
  formatFailure,
  runNotebook,
  type RunReport,
} from "../lib/notebook/runner.ts";

const USAGE = `Run Jupyter notebooks through Deno's kernel and write them with their outputs.

usage: deno task notebooks [paths…] [options]

  paths                notebooks or folders (default: notebooks/)
  --fast               set ACTLAB_FAST=1 in the kernel (CI-sized runs)
  --out DIR            where executed notebooks and HTML pages go (default .out/notebooks)
  --in-place           write outputs into the notebooks themselves (HTML still goes to --out)
  --timeout SECONDS    per-cell limit (default 600)
  --env KEY=VALUE      extra environment for the kernel (repeatable)
  --images MODE        static PNGs of figures via Chromium: auto (default), always, never
  --inline-plotly      put plotly.js inside each HTML page instead of beside it
  --no-html            write no HTML page
  --quiet              print only failures and the summary
  -h, --help           this text`;

/** Parsed command-line options of the notebook runner. */
export interface CliOptions {
  paths: string[];
  fast: boolean;
  outDir: string;
  inPlace: boolean;
  timeoutSeconds: number;
  env: Record<string, string>;
  images: "auto" | "always" | "never";
  inlinePlotly: boolean;
  html: boolean;
  quiet: boolean;
  help: boolean;
}

/**
 * Parses the runner's arguments; throws with a message naming the bad argument.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./notebooks.ts";
 * const o = parseArgs(["a.ipynb", "--fast", "--out", "out"]);
 * console.assert(o.fast && o.outDir === "out" && o.paths[0] === "a.ipynb");
 * ```
 */
export function parseArgs(args: readonly string[]): CliOptions {
  const o: CliOptions = {
    paths: [],
    fast: false,
    outDir: ".out/notebooks",
    inPlace: false,
    timeoutSeconds: 600,
    env: {},
    images: "auto",
    inlinePlotly: false,
    html: true,
    quiet: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const take = () => inline ?? value(i++, flag);
    switch (flag) {
      case "--fast":
        o.fast = true;
        break;
      case "--out":
        o.outDir = take();
        break;
      case "--in-place":
        o.inPlace = true;
        break;
      case "--timeout": {
        const v = take();
        o.timeoutSeconds = Number(v);
        if (!(o.timeoutSeconds > 0)) {
          throw new Error(`--timeout takes seconds (a positive number), got '${v}'`);
        }
        break;
      }
      case "--env": {
        const v = take();
        const eq = v.indexOf("=");
        if (eq <= 0) throw new Error(`--env takes KEY=VALUE, got '${v}'`);
        o.env[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case "--images": {
        const v = take();
        if (v !== "auto" && v !== "always" && v !== "never") {
          throw new Error(`--images takes auto, always or never, got '${v}'`);
        }
        o.images = v;
        break;
      }
      case "--inline-plotly":
        o.inlinePlotly = true;
        break;
      case "--no-html":
        o.html = false;
        break;
      case "--quiet":
        o.quiet = true;
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        if (a.startsWith("-")) throw new Error(`unknown option '${a}' (see --help)`);
        o.paths.push(a);
    }
  }
  return o;
}

/** Expands folders to the notebooks in them (sorted); keeps files as given. */
async function expand(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths.length ? paths : ["notebooks"]) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch {
      throw new Error(`no such notebook or folder: ${p}`);
    }
    if (info.isDirectory) {
      const found: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (e.isFile && e.name.endsWith(".ipynb")) found.push(`${p.replace(/\/+$/, "")}/${e.name}`);
      }
      if (found.length === 0) throw new Error(`no .ipynb files in ${p}`);
      out.push(...found.sort());
    } else out.push(p);
  }
  return out;
}

function kb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

/**
 * Runs the CLI and returns the exit code: 0 when every notebook ran, 1 when one failed, 2 on a
 * usage error.
 *
 * @example
 * ```ts ignore
 * import { main } from "./notebooks.ts";
 * Deno.exit(await main(["notebooks/00_quickstart.ipynb", "--fast"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let o: CliOptions;
  let paths: string[];
  try {
    o = parseArgs(args);
    if (o.help) {
      console.log(USAGE);
      return 0;
    }
    paths = await expand(o.paths);
  } catch (e) {
    console.error(`notebooks: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const reports: RunReport[] = [];
  for (const path of paths) {
    if (!o.quiet) console.error(`▶ ${path}${o.fast ? " (ACTLAB_FAST=1)" : ""}`);
    const onCell = o.quiet ? undefined : (e: CellEvent) => {
      if (e.phase === "end") {
        console.error(
          `  cell ${e.cell} (code ${e.codeCell}/${e.codeCells}) ${e.status} ` +
            `${e.seconds!.toFixed(2)} s`,
        );
      }
    };
    let report: RunReport;
    try {
      report = await runNotebook(path, {
        outDir: o.outDir,
        inPlace: o.inPlace,
        html: o.html,
        plotly: o.inlinePlotly ? "inline" : "beside",
        images: o.images,
        fast: o.fast,
        env: o.env,
        cellTimeoutMs: o.timeoutSeconds * 1000,
        onCell,
      });
    } catch (e) {
      console.error(`✗ ${path}: ${(e as Error).message}`);
      return 1;
    }
    reports.push(report);
    for (const w of report.warnings) console.error(`  note: ${w}`);
    if (report.ok) {
      const cells = Object.keys(report.cellSeconds).length;
      console.error(
        `✓ ${path}: ${cells} code cells in ${report.seconds.toFixed(1)} s ` +
          `(kernel start ${report.startSeconds.toFixed(1)} s, images ${
            report.imageSeconds.toFixed(1)
          } s) → ${report.outNotebook} (${kb(report.notebookBytes)})` +
          (report.outHtml ? `, ${report.outHtml} (${kb(report.htmlBytes!)})` : ""),
      );
    } else {
      console.error(`✗ ${formatFailure(report.failure!)}`);
      console.error(`  partial outputs: ${report.outNotebook}`);
    }
  }
  const failed = reports.filter((r) => !r.ok);
  console.error(
    `${reports.length - failed.length}/${reports.length} notebooks ran` +
      (failed.length ? `; failed: ${failed.map((r) => r.path).join(", ")}` : ""),
  );
  return failed.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
