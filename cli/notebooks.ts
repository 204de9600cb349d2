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
import { command, type FlagSpecs, type Parsed, runMain, UsageError } from "./_args.ts";

const FLAGS = {
  fast: { kind: "bool", description: "set ACTLAB_FAST=1 in the kernel (CI-sized runs)" },
  out: {
    kind: "string",
    default: ".out/notebooks",
    arg: "DIR",
    description: "where executed notebooks and HTML pages go",
  },
  "in-place": {
    kind: "bool",
    description: "write outputs into the notebooks themselves (HTML still goes to --out)",
  },
  timeout: {
    kind: "number",
    default: 600,
    arg: "SECONDS",
    expects: "seconds (a positive number)",
    check: (s) => s > 0 ? undefined : `--timeout takes seconds (a positive number), got '${s}'`,
    description: "per-cell limit",
  },
  env: {
    kind: "list",
    split: false,
    arg: "KEY=VALUE",
    check: (kv) => kv.indexOf("=") > 0 ? undefined : `--env takes KEY=VALUE, got '${kv}'`,
    description: "extra environment for the kernel (repeatable)",
  },
  images: {
    kind: "string",
    default: "auto",
    choices: ["auto", "always", "never"],
    description: "static PNGs of figures via Chromium",
  },
  "inline-plotly": {
    kind: "bool",
    description: "put plotly.js inside each HTML page instead of beside it",
  },
  param: {
    kind: "list",
    split: false,
    short: "p",
    arg: "NAME=VALUE",
    check: (kv) =>
      /^[A-Za-z_$][\w$]*=/.test(kv)
        ? undefined
        : `-p takes NAME=VALUE (e.g. iters=2000), got '${kv}'`,
    description: "set a value of the notebook's cell tagged parameters (repeatable; JSON values, " +
      "else text)",
  },
  "no-html": { kind: "bool", description: "write no HTML page" },
  quiet: { kind: "bool", description: "print only failures and the summary" },
} as const satisfies FlagSpecs;

/** Parsed command-line options of the notebook runner. */
export interface CliOptions {
  /** Notebooks or folders; empty = `notebooks/`. */
  paths: string[];
  /** Values for each notebook's `parameters` cell (`-p NAME=VALUE`). */
  parameters: Record<string, unknown>;
  /** Set `ACTLAB_FAST=1` in the kernel. */
  fast: boolean;
  /** Where executed notebooks and HTML pages go. */
  outDir: string;
  /** Write outputs into the notebooks themselves. */
  inPlace: boolean;
  /** Per-cell limit in seconds. */
  timeoutSeconds: number;
  /** Extra environment for the kernel. */
  env: Record<string, string>;
  /** Static PNGs of figures via Chromium. */
  images: "auto" | "always" | "never";
  /** plotly.js inside each HTML page instead of beside it. */
  inlinePlotly: boolean;
  /** Write an HTML page. */
  html: boolean;
  /** Print only failures and the summary. */
  quiet: boolean;
  /** `--help` was given. */
  help: boolean;
}

function options({ values: v, positionals, help }: Parsed<typeof FLAGS>): CliOptions {
  return {
    paths: [...positionals],
    parameters: Object.fromEntries(v.param.map((kv) => {
      const name = kv.slice(0, kv.indexOf("=")), text = kv.slice(kv.indexOf("=") + 1);
      try {
        return [name, JSON.parse(text)];
      } catch {
        return [name, text]; // not JSON: a string
      }
    })),
    fast: v.fast,
    outDir: v.out,
    inPlace: v["in-place"],
    timeoutSeconds: v.timeout,
    env: Object.fromEntries(
      v.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
    images: v.images,
    inlinePlotly: v["inline-plotly"],
    html: !v["no-html"],
    quiet: v.quiet,
    help,
  };
}

/**
 * Parses the runner's arguments; throws a `UsageError` naming the bad argument.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./notebooks.ts";
 * const o = parseArgs(["a.ipynb", "--fast", "--out", "out"]);
 * console.assert(o.fast && o.outDir === "out" && o.paths[0] === "a.ipynb");
 * ```
 */
export function parseArgs(args: readonly string[]): CliOptions {
  return options(notebooks.parse(args));
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

async function run(parsed: Parsed<typeof FLAGS>): Promise<number> {
  const o = options(parsed);
  let paths: string[];
  try {
    paths = await expand(o.paths);
  } catch (e) {
    throw new UsageError((e as Error).message);
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
        parameters: o.parameters,
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

const notebooks = command({
  usage: "deno task notebooks",
  summary: "Runs Jupyter notebooks through Deno's kernel and writes them with their outputs (and " +
    "an HTML page of each).",
  flags: FLAGS,
  positionals: { name: "PATH…", description: "notebooks or folders", defaultText: "notebooks/" },
  notes: "Exit codes: 0 every notebook ran, 1 one failed, 2 bad arguments.",
}, run);

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
export function main(args: readonly string[]): Promise<number> {
  return notebooks.run(args);
}

if (import.meta.main) await runMain(notebooks);
