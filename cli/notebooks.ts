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
import { lockFolder } from "../lib/core/lock.ts";
import { readNotebook } from "../lib/notebook/nbformat.ts";
import { checkParameters } from "../lib/notebook/parameters.ts";
import {
  type CellEvent,
  checkInPlace,
  formatFailure,
  MAX_CELL_TIMEOUT_MS,
  runNotebook,
  type RunReport,
} from "../lib/notebook/runner.ts";
import { command, type FlagSpecs, type Parsed, runMain, UsageError } from "./_args.ts";
import { pathError } from "./_paths.ts";

/** The longest --timeout, in seconds: what a timer can keep (24.8 days). */
const MAX_TIMEOUT_S = Math.floor(MAX_CELL_TIMEOUT_MS / 1000);

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
    expects: `seconds (a positive number, at most ${MAX_TIMEOUT_S}: 24.8 days)`,
    check: (s) =>
      s > 0 && s <= MAX_TIMEOUT_S ? undefined : `--timeout takes seconds, more than 0 and at ` +
        `most ${MAX_TIMEOUT_S} (24.8 days: a longer timer would fire at once), got '${s}'`,
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
    } catch (e) {
      throw e instanceof Deno.errors.NotFound
        ? new Error(`no such notebook or folder: ${p}`)
        : pathError(e, "notebook", p, "give a notebook file or a folder of notebooks");
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
 * Everything that can be refused before a kernel starts, for every notebook: the output folder
 * (a file there, a path that cannot be a folder), each notebook's parameters (names and types),
 * and with --in-place each notebook's writability.
 */
async function preflight(o: CliOptions, paths: readonly string[]): Promise<void> {
  try {
    if (!(await Deno.stat(o.outDir)).isDirectory) {
      throw new UsageError(
        `--out ${o.outDir} is a file, not a folder: give a folder for the executed notebooks ` +
          `and HTML pages (it is created if missing), e.g. --out .out/notebooks`,
      );
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UsageError(pathError(e, "--out", o.outDir, "give another folder").message);
    }
  }
  for (const path of paths) {
    if (Object.keys(o.parameters).length > 0) {
      try {
        checkParameters(await readNotebook(path), o.parameters, path);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (o.inPlace) {
      try {
        await checkInPlace(path);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
  }
}

/**
 * Aborts the returned signal on SIGINT or SIGTERM (the runner then kills its kernel and removes
 * the kernel's connection folder before it exits); `done()` removes the listeners.
 */
function stopOnSignals(): {
  signal: AbortSignal;
  received: () => Deno.Signal | undefined;
  done(): void;
} {
  const controller = new AbortController();
  let received: Deno.Signal | undefined;
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => {
    const handler = () => {
      if (received) return;
      received = sig;
      console.error(`\n${sig}: stopping the kernel…`);
      controller.abort(new Error(sig));
    };
    Deno.addSignalListener(sig, handler);
    return [sig, handler] as const;
  });
  return {
    signal: controller.signal,
    received: () => received,
    done: () => handlers.forEach(([sig, h]) => Deno.removeSignalListener(sig, h)),
  };
}

async function run(parsed: Parsed<typeof FLAGS>): Promise<number> {
  const o = options(parsed);
  let paths: string[];
  try {
    paths = await expand(o.paths);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await preflight(o, paths);
  // One runner per output folder: a second one on the same --out is refused, naming the first.
  let lock;
  try {
    lock = await lockFolder(o.outDir, "deno task notebooks");
  } catch (e) {
    const os = typeof (e as { code?: unknown }).code === "string";
    console.error(
      `notebooks: ${
        os
          ? pathError(e, "--out", o.outDir, "give a folder you can write to").message
          : (e as Error).message
      }`,
    );
    return 1;
  }
  if (lock.tookOverFrom && !o.quiet) {
    console.error(
      `  note: took over the lock of a runner that is gone (pid ${lock.tookOverFrom.pid})`,
    );
  }
  const stop = stopOnSignals();
  try {
    return await runAll(o, paths, stop.signal, stop.received);
  } finally {
    stop.done();
    await lock.release();
  }
}

async function runAll(
  o: CliOptions,
  paths: readonly string[],
  signal: AbortSignal,
  received: () => Deno.Signal | undefined,
): Promise<number> {
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
        signal,
      });
    } catch (e) {
      console.error(`✗ ${path}: ${(e as Error).message}`);
      return 1;
    }
    reports.push(report);
    for (const w of report.warnings) console.error(`  note: ${w}`);
    const sig = received();
    if (sig) {
      console.error(
        `✗ ${path}: stopped by ${sig}; the kernel was shut down. Partial outputs: ` +
          report.outNotebook,
      );
      return sig === "SIGINT" ? 130 : 143;
    }
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
  notes: "Exit codes: 0 every notebook ran, 1 one failed (or another runner uses --out), 2 bad " +
    "arguments, 130/143 stopped by SIGINT/SIGTERM (the kernel is shut down first).",
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
