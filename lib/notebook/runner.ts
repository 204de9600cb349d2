/**
 * The headless notebook runner: executes `.ipynb` files through the real Deno kernel over the
 * Jupyter protocol and writes the executed notebook and an HTML page of it.
 *
 * It loses no output. Deno's kernel sometimes publishes a cell's outputs after it reported idle;
 * the runner files every IOPub message under the cell whose request it answers
 * (`parent_header.msg_id`) for the whole run, applies display updates by `display_id` wherever
 * they arrive, and after the last cell waits for the kernel to fall quiet before it shuts down.
 *
 * @module
 */
import {
  type ExecuteReply,
  type Kernel,
  KernelDiedError,
  KernelTimeoutError,
  type Message,
  startKernel,
} from "./kernel.ts";
import {
  type Cell,
  joinText,
  type Notebook,
  type Output,
  type OutputData,
  readNotebook,
  sourceOf,
  writeNotebook,
  writeTextAtomic,
} from "./nbformat.ts";
import { diagnoseBareFailure, isBareFailure, stripAnsi } from "./_diagnose.ts";
import { hasPlotly, notebookToHtml } from "./html.ts";
import { injectParameters } from "./parameters.ts";
import { findChromium } from "../display/chromium.ts";
import { plotlyScriptPath, renderFigureImages } from "../display/static_image.ts";
import type { FigureJson } from "../display/figure.ts";

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Why a notebook run stopped. */
export interface CellFailure {
  /** The notebook file. */
  notebook: string;
  /** 1-based position of the cell among all cells (markdown included), as editors count. */
  cell: number;
  /** 1-based position among code cells. */
  codeCell: number;
  /** The cell's source. */
  source: string;
  /**
   * "error" (the cell threw or did not compile), "timeout", "kernel-died", or "interrupted" (the
   * run was stopped: {@link ExecuteNotebookOptions.signal}).
   */
  kind: "error" | "timeout" | "kernel-died" | "interrupted";
  /** Error class name (`SyntaxError`, `ImportError`, `Timeout`, …). */
  ename: string;
  /** Error message. */
  evalue: string;
  /** Traceback lines without ANSI colours. */
  traceback: string[];
}

/**
 * A failure as text: notebook, cell number, the cell's source and the error.
 *
 * @example
 * ```ts
 * import { formatFailure } from "./runner.ts";
 * console.log(formatFailure({
 *   notebook: "notebooks/a.ipynb", cell: 3, codeCell: 2, source: "throw new Error('x')",
 *   kind: "error", ename: "Error", evalue: "x", traceback: ["Error: x"],
 * }));
 * ```
 */
export function formatFailure(f: CellFailure): string {
  const what = f.kind === "timeout"
    ? "timed out"
    : f.kind === "kernel-died"
    ? "killed the kernel"
    : f.kind === "interrupted"
    ? "was stopped"
    : "failed";
  const numbered = f.source.split("\n").map((l, i) => `  ${String(i + 1).padStart(3)} │ ${l}`);
  const trace = f.traceback.filter((l, i) => i > 0 || l !== `${f.ename}: ${f.evalue}`);
  return [
    `${f.notebook}: cell ${f.cell} (code cell ${f.codeCell}) ${what}`,
    ...numbered,
    `${f.ename}: ${f.evalue}`,
    ...trace.map((l) => `  ${l}`),
  ].join("\n");
}

/** Options for {@link executeNotebook}. */
export interface ExecuteNotebookOptions {
  /** Folder the kernel starts in (where it finds deno.json); default: the current folder. */
  cwd?: string;
  /** Extra environment for the kernel, e.g. `{ ACTLAB_FAST: "1" }`. */
  env?: Record<string, string>;
  /**
   * Per-cell time limit in ms (default 600 000, at most {@link MAX_CELL_TIMEOUT_MS}). The kernel
   * is killed when it is exceeded.
   */
  cellTimeoutMs?: number;
  /** Time limit for the kernel to start, in ms (default 60 000). */
  startTimeoutMs?: number;
  /** Name used in failure messages (default "notebook"). */
  name?: string;
  /** The `deno` executable that runs the kernel (default: this one). */
  denoPath?: string;
  /** Called before and after each code cell. */
  onCell?: (event: CellEvent) => void;
  /**
   * Values for the notebook's cell tagged `parameters` (papermill's convention): that cell
   * declares one object, e.g. `const SETTINGS = { iters: 600, seeds: 3 };`, and a cell tagged
   * `injected-parameters` is inserted after it that assigns these values into that object
   * (`Object.assign(SETTINGS, {...})`), so the rest of the notebook sees them. A name the object
   * does not declare is an error listing the ones it does; so is a value of another type than
   * the name's default (see `parameters.ts`).
   */
  parameters?: Record<string, unknown>;
  /**
   * Stops the run when aborted (the CLI aborts it on SIGINT and SIGTERM): the kernel is killed,
   * its connection folder removed, and the result's failure has kind `"interrupted"`.
   */
  signal?: AbortSignal;
}

/** Progress of a run, one event before and one after each code cell. */
export interface CellEvent {
  /** Before ("start") or after ("end") the cell. */
  phase: "start" | "end";
  /** 1-based cell position. */
  cell: number;
  /** 1-based code-cell position and how many code cells there are. */
  codeCell: number;
  /** How many code cells the notebook has. */
  codeCells: number;
  /** Seconds the cell took (on "end"). */
  seconds?: number;
  /** How the cell ended (on "end"). */
  status?: "ok" | "error";
}

/** The outcome of {@link executeNotebook}. */
export interface ExecutionResult {
  /** The executed notebook (a copy; the input is not changed). */
  notebook: Notebook;
  /** The first failure, if the run stopped on one. */
  failure?: CellFailure;
  /** Seconds per executed code cell, by 1-based cell position. */
  cellSeconds: Record<number, number>;
  /** Seconds for the kernel to start. */
  startSeconds: number;
  /** Seconds in total, start-up and shut-down included. */
  seconds: number;
  /** Outputs that arrived after their cell had finished (kept in their cell). */
  lateOutputs: number;
  /** Notes about the run (e.g. outputs whose cell could not be identified). */
  warnings: string[];
}

/** Builds cell outputs from IOPub messages, as Jupyter frontends do. */
class OutputCollector {
  #cells = new Map<string, Cell>();
  #done = new Set<string>();
  #pendingClear = new Set<Cell>();
  #displays = new Map<string, Set<Output>>();
  current: Cell | undefined;
  sawError = new Set<string>();
  late = 0;
  orphans = 0;

  register(msgId: string, cell: Cell): void {
    this.#cells.set(msgId, cell);
  }

  finished(msgId: string): void {
    this.#done.add(msgId);
  }

  handle(msg: Message): void {
    const type = msg.header.msg_type;
    const content = msg.content as Record<string, unknown>;
    if (type === "update_display_data") {
      if (this.#done.has(msg.parent_header.msg_id ?? "")) this.late++;
      const id = (content.transient as { display_id?: string } | undefined)?.display_id;
      for (const o of (id && this.#displays.get(id)) || []) {
        if (o.output_type === "display_data" || o.output_type === "execute_result") {
          o.data = content.data as OutputData;
          o.metadata = (content.metadata ?? {}) as Record<string, unknown>;
        }
      }
      return;
    }
    if (!["stream", "display_data", "execute_result", "error", "clear_output"].includes(type)) {
      return;
    }
    const parent = msg.parent_header.msg_id ?? "";
    let cell = this.#cells.get(parent);
    if (!cell) {
      this.orphans++;
      cell = this.current;
      if (!cell) return;
    } else if (this.#done.has(parent)) {
      this.late++;
    }
    cell.outputs ??= [];
    if (type === "clear_output") {
      if (content.wait) this.#pendingClear.add(cell);
      else cell.outputs.length = 0;
      return;
    }
    if (this.#pendingClear.has(cell)) {
      this.#pendingClear.delete(cell);
      cell.outputs.length = 0;
    }
    if (type === "stream") {
      const name = content.name as "stdout" | "stderr";
      const last = cell.outputs[cell.outputs.length - 1];
      if (last?.output_type === "stream" && last.name === name) {
        last.text = joinText(last.text) + String(content.text);
      } else {
        cell.outputs.push({ output_type: "stream", name, text: String(content.text) });
      }
      return;
    }
    if (type === "error") {
      this.sawError.add(parent);
      cell.outputs.push({
        output_type: "error",
        ename: String(content.ename),
        evalue: String(content.evalue),
        traceback: (content.traceback as string[] | undefined) ?? [],
      });
      return;
    }
    const out: Output = type === "execute_result"
      ? {
        output_type: "execute_result",
        data: content.data as OutputData,
        metadata: (content.metadata ?? {}) as Record<string, unknown>,
        execution_count: (content.execution_count as number | undefined) ?? null,
      }
      : {
        output_type: "display_data",
        data: content.data as OutputData,
        metadata: (content.metadata ?? {}) as Record<string, unknown>,
      };
    cell.outputs.push(out);
    const id = (content.transient as { display_id?: string } | undefined)?.display_id;
    if (id) {
      if (!this.#displays.has(id)) this.#displays.set(id, new Set());
      this.#displays.get(id)!.add(out);
    }
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function tagsOf(cell: Cell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.map(String) : [];
}

/** Run once in each kernel: records promise rejections that nothing handles. */
const WATCH_REJECTIONS = `globalThis.__actlabRejections = [];
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  globalThis.__actlabRejections.push(e.reason);
});`;

/** Run after each cell: fails with the first rejection recorded since the last check. */
const CHECK_REJECTIONS = `await new Promise((r) => setTimeout(r, 0));
{
  const seen = globalThis.__actlabRejections?.splice(0) ?? [];
  if (seen.length) throw seen[0] instanceof Error ? seen[0] : new Error(String(seen[0]));
}`;

/** The longest timer `setTimeout` keeps (2³¹ − 1 ms, 24.8 days); longer ones fire at once. */
export const MAX_CELL_TIMEOUT_MS = 2 ** 31 - 1;

/** What a failure says about itself; where it happened comes from the cell. */
type FailureCause = Pick<CellFailure, "kind" | "ename" | "evalue" | "traceback">;

/** Where a failure happened: the cell's 1-based positions and source (0 and "" before any). */
interface CellPlace {
  /** 1-based position among all cells. */
  cell: number;
  /** 1-based position among code cells. */
  codeCell: number;
  /** The cell's source. */
  source: string;
}

/** The one place a {@link CellFailure} is built. */
function failureAt(name: string, place: CellPlace, cause: FailureCause): CellFailure {
  return {
    notebook: name,
    ...place,
    ...cause,
    traceback: cause.traceback.map(stripAnsi),
  };
}

/** What a failed request (timeout, dead kernel, stop, transport error) says about its cell. */
function requestFailure(e: unknown, cellTimeoutMs: number, signal?: AbortSignal): FailureCause {
  if (signal?.aborted) {
    return {
      kind: "interrupted",
      ename: "Interrupted",
      evalue: `the run was stopped (${stopReason(signal)}) and its kernel shut down`,
      traceback: [],
    };
  }
  if (e instanceof KernelTimeoutError) {
    return {
      kind: "timeout",
      ename: "Timeout",
      evalue: `the cell did not finish within ${cellTimeoutMs / 1000} s, so the kernel was ` +
        "stopped (an interrupt kills Deno's kernel anyway); raise the per-cell timeout " +
        "or make the cell faster (ACTLAB_FAST=1 for CI-sized runs)",
      traceback: [],
    };
  }
  return {
    kind: e instanceof KernelDiedError ? "kernel-died" : "error",
    ename: (e as Error).name,
    evalue: (e as Error).message,
    traceback: [],
  };
}

/** Why `signal` aborted, in words: its reason's message, or "aborted". */
function stopReason(signal: AbortSignal): string {
  const r = signal.reason;
  return r instanceof Error && r.name !== "AbortError" ? r.message : String(r ?? "aborted");
}

/**
 * After a cell that succeeded: a promise it left rejected without a handler (the kernel drops
 * those silently) turns it into a failure, with an error output that says so.
 */
async function unhandledRejection(
  kernel: Kernel,
  cell: Cell,
): Promise<Pick<ExecuteReply, "status" | "ename" | "evalue" | "traceback"> | undefined> {
  const before = cell.outputs!.length;
  const check = await kernel.execute(CHECK_REJECTIONS, { silent: true, timeoutMs: 30_000 })
    .catch(() => undefined);
  if (!check || check.status === "ok") return undefined;
  cell.outputs!.splice(before); // the check's own raw error: replaced by the one below
  const ename = "UnhandledRejection";
  const evalue = `a promise of this cell rejected and nothing handled it: ${
    stripAnsi(check.evalue ?? "")
  } (await it, or add .catch())`;
  cell.outputs!.push({ output_type: "error", ename, evalue, traceback: [`${ename}: ${evalue}`] });
  return { status: "error", ename, evalue, traceback: check.traceback ?? [] };
}

/**
 * Refuses a notebook written for another kernel (Python, R, …) before anything runs or is
 * written, naming its kernelspec.
 */
function checkKernelspec(nb: Notebook, name: string): void {
  const spec = nb.metadata?.kernelspec as {
    name?: string;
    language?: string;
    display_name?: string;
  } | undefined;
  const lang = (nb.metadata?.language_info as { name?: string } | undefined)?.name ??
    spec?.language;
  const isDeno = spec?.name === "deno" ||
    (spec === undefined && (lang === undefined || lang === "typescript"));
  if (isDeno && (lang === undefined || lang === "typescript")) return;
  throw new Error(
    `${name} is written for another kernel: kernelspec "${spec?.name ?? "?"}" ` +
      `("${spec?.display_name ?? "?"}", language ${
        lang ?? "?"
      }). actlab runs notebooks in Deno's ` +
      `kernel only, and left the file untouched. Run it with its own kernel (jupyter nbconvert ` +
      `--execute), or set its kernelspec to Deno if its cells are TypeScript.`,
  );
}

/** The per-cell limit in ms: default 600 000; a value `setTimeout` cannot keep is refused. */
function cellTimeout(ms: number | undefined): number {
  const value = ms ?? 600_000;
  if (!(value > 0 && value <= MAX_CELL_TIMEOUT_MS)) {
    throw new RangeError(
      `cellTimeoutMs must be in (0, ${MAX_CELL_TIMEOUT_MS}] (24.8 days; a longer timer fires at ` +
        `once), got ${value}`,
    );
  }
  return value;
}

/**
 * Step 1: the notebook to run — checked for its kernel, copied, parameters injected, code cells
 * cleared.
 */
function prepareNotebook(
  input: Notebook,
  name: string,
  parameters: Record<string, unknown> | undefined,
): Notebook {
  checkKernelspec(input, name);
  const nb = clone(input);
  if (parameters && Object.keys(parameters).length > 0) injectParameters(nb, parameters, name);
  for (const cell of nb.cells) {
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
  }
  return nb;
}

/** What every step of one run shares. */
interface Run {
  /** The notebook being filled with outputs. */
  readonly nb: Notebook;
  /** Its name in failure messages. */
  readonly name: string;
  /** The kernel's folder. */
  readonly cwd: string;
  /** The caller's options. */
  readonly options: ExecuteNotebookOptions;
  /** Per-cell limit in ms. */
  readonly cellTimeoutMs: number;
  /** How many code cells the notebook has. */
  readonly codeCells: number;
  /** Seconds per executed code cell. */
  readonly cellSeconds: Record<number, number>;
  /** Notes about the run. */
  readonly warnings: string[];
  /** Outputs filed under their cells. */
  readonly collector: OutputCollector;
}

/**
 * Step 2: a kernel started in the run's folder, watching for unhandled rejections, with the
 * notebook's metadata set from it; or the failure that says why none started. A stop requested
 * while it started shuts it down again.
 */
async function startRunKernel(run: Run): Promise<{ kernel: Kernel } | { failure: CellFailure }> {
  const { options, cwd } = run;
  const nowhere: CellPlace = { cell: 0, codeCell: 0, source: "" };
  let kernel: Kernel;
  try {
    kernel = await startKernel({
      cwd,
      env: options.env,
      denoPath: options.denoPath,
      startTimeoutMs: options.startTimeoutMs,
    });
  } catch (e) {
    const cause = requestFailure(e, run.cellTimeoutMs, options.signal);
    if (cause.kind !== "interrupted") {
      cause.kind = "kernel-died";
      cause.evalue = `the Deno kernel did not start in ${cwd}: ${(e as Error).message}`;
    }
    return { failure: failureAt(run.name, nowhere, cause) };
  }
  if (options.signal?.aborted) {
    await kernel.shutdown();
    return { failure: failureAt(run.name, nowhere, requestFailure(undefined, 0, options.signal)) };
  }
  await kernel.execute(WATCH_REJECTIONS, { silent: true, timeoutMs: 30_000 }).catch(() => {});
  run.nb.metadata = {
    ...run.nb.metadata,
    kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
    ...(kernel.info.language_info ? { language_info: kernel.info.language_info } : {}),
  };
  return { kernel };
}

/**
 * Step 3, once per code cell: executes it, files its outputs, and returns the failure that
 * stops the run, if any (a cell tagged `raises-exception` may fail). A request that fails (a
 * timeout, the kernel gone, a stop) kills the kernel.
 */
async function runCell(
  run: Run,
  kernel: Kernel,
  place: CellPlace,
): Promise<CellFailure | undefined> {
  const { options, collector } = run;
  const cell = run.nb.cells[place.cell - 1];
  const event = { cell: place.cell, codeCell: place.codeCell, codeCells: run.codeCells };
  options.onCell?.({ phase: "start", ...event });
  collector.current = cell;
  const started = performance.now();
  let msgId = "";
  let reply: (ExecuteReply & { msgId: string }) | undefined;
  let failure: CellFailure | undefined;
  try {
    reply = await kernel.execute(place.source, {
      timeoutMs: run.cellTimeoutMs,
      onSent: (id) => {
        msgId = id;
        collector.register(id, cell);
      },
    });
  } catch (e) {
    kernel.kill();
    failure = failureAt(run.name, place, requestFailure(e, run.cellTimeoutMs, options.signal));
    cell.outputs!.push({
      output_type: "error",
      ename: failure.ename,
      evalue: failure.evalue,
      traceback: [`${failure.ename}: ${failure.evalue}`],
    });
  }
  run.cellSeconds[place.cell] = (performance.now() - started) / 1000;
  if (reply) {
    collector.finished(msgId);
    cell.execution_count = reply.execution_count ?? null;
    for (const o of cell.outputs ?? []) {
      if (o.output_type === "execute_result") o.execution_count = cell.execution_count;
    }
    if (reply.status === "ok") {
      const rejected = await unhandledRejection(kernel, cell);
      if (rejected) {
        reply = { ...reply, ...rejected };
        collector.sawError.add(msgId);
      }
    }
  }
  const ok = reply?.status === "ok";
  options.onCell?.({
    phase: "end",
    ...event,
    seconds: run.cellSeconds[place.cell],
    status: ok ? "ok" : "error",
  });
  if (failure || ok || !reply) return failure;
  let cause: FailureCause = {
    kind: "error",
    ename: reply.ename ?? "Error",
    evalue: reply.evalue ?? "",
    traceback: reply.traceback ?? [],
  };
  if (isBareFailure(reply, collector.sawError.has(msgId))) {
    const d = await diagnoseBareFailure(place.source, { cwd: run.cwd, denoPath: options.denoPath });
    cause = { kind: "error", ...d };
    cell.outputs!.push({ output_type: "error", ...d });
  }
  return tagsOf(cell).includes("raises-exception") ? undefined : failureAt(run.name, place, cause);
}

/**
 * Executes a notebook's code cells in order in a fresh Deno kernel started in `options.cwd`,
 * collecting every output, and shuts the kernel down. Stops at the first failing cell (unless it
 * is tagged `raises-exception`); cells after it are left unexecuted. Never throws for a failing
 * cell: see {@link ExecutionResult.failure}. Aborting `options.signal` kills the kernel, removes
 * its connection folder and ends the run with a failure of kind `"interrupted"`.
 *
 * The steps: prepare the notebook (kernel check, parameters, cleared outputs), start the kernel,
 * run each code cell, let late outputs arrive, shut the kernel down.
 *
 * @example
 * ```ts ignore
 * import { executeNotebook } from "./runner.ts";
 * import { readNotebook } from "./nbformat.ts";
 * const nb = await readNotebook("notebooks/00_quickstart.ipynb");
 * const run = await executeNotebook(nb, { cwd: "notebooks", env: { ACTLAB_FAST: "1" } });
 * if (run.failure) console.error(run.failure.evalue);
 * ```
 */
export async function executeNotebook(
  input: Notebook,
  options: ExecuteNotebookOptions = {},
): Promise<ExecutionResult> {
  const t0 = performance.now();
  const name = options.name ?? "notebook";
  const nb = prepareNotebook(input, name, options.parameters);
  const run: Run = {
    nb,
    name,
    cwd: options.cwd ?? Deno.cwd(),
    options,
    cellTimeoutMs: cellTimeout(options.cellTimeoutMs),
    codeCells: nb.cells.filter((c) => c.cell_type === "code").length,
    cellSeconds: {},
    warnings: [],
    collector: new OutputCollector(),
  };
  const result = (failure: CellFailure | undefined, startSeconds: number): ExecutionResult => ({
    notebook: nb,
    failure,
    cellSeconds: run.cellSeconds,
    startSeconds,
    seconds: (performance.now() - t0) / 1000,
    lateOutputs: run.collector.late,
    warnings: run.warnings,
  });
  const started = await startRunKernel(run);
  const startSeconds = (performance.now() - t0) / 1000;
  if ("failure" in started) return result(started.failure, startSeconds);
  const { kernel } = started;
  const stopListening = kernel.onIopub((msg) => run.collector.handle(msg));
  const stop = () => kernel.kill();
  options.signal?.addEventListener("abort", stop);
  let failure: CellFailure | undefined;
  try {
    let codeCell = 0;
    for (let i = 0; i < nb.cells.length && !failure; i++) {
      if (nb.cells[i].cell_type !== "code") continue;
      codeCell++;
      const place = { cell: i + 1, codeCell, source: sourceOf(nb.cells[i]) };
      if (place.source.trim() === "" || tagsOf(nb.cells[i]).includes("skip-execution")) continue;
      failure = await runCell(run, kernel, place);
    }
    if (!kernel.exited) {
      // A last round trip, then quiet: outputs published after the final idle still land.
      await kernel.request("kernel_info_request", {}, { timeoutMs: 10_000 }).catch(() => {});
      await kernel.settle({ quietMs: 200, maxMs: 5000 });
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    stopListening();
    await kernel.shutdown();
  }
  if (run.collector.orphans > 0) {
    run.warnings.push(
      `${run.collector.orphans} output(s) came without a known parent request and were kept in ` +
        "the cell running at the time",
    );
  }
  return result(failure, startSeconds);
}

/** Options for {@link runNotebook}. */
export interface RunOptions {
  /** Folder for the executed notebook and its HTML page (default ".out/notebooks"). */
  outDir?: string;
  /** Overwrite the source notebook with the executed one (the HTML page still goes to outDir). */
  inPlace?: boolean;
  /** Write the HTML page (default true). */
  html?: boolean;
  /** How the page gets plotly.js: a copy beside it (default) or inlined into it. */
  plotly?: "beside" | "inline";
  /**
   * Static PNG images of Plotly figures, rendered in headless Chromium: "auto" (default: when
   * Chromium is installed), "always" (fail without it), "never".
   */
  images?: "auto" | "always" | "never";
  /** Sets `ACTLAB_FAST=1` for the kernel: CI-sized runs. */
  fast?: boolean;
  /** Extra environment variables for the kernel. */
  env?: Record<string, string>;
  /** Per-cell time limit in ms (default 600 000). */
  cellTimeoutMs?: number;
  /** The `deno` executable that runs the kernel. */
  denoPath?: string;
  /** Called before and after each code cell. */
  onCell?: (event: CellEvent) => void;
  /** Values for the cell tagged `parameters` (see {@link ExecuteNotebookOptions.parameters}). */
  parameters?: Record<string, unknown>;
  /** Stops the run (see {@link ExecuteNotebookOptions.signal}); no images are rendered then. */
  signal?: AbortSignal;
}

/** What {@link runNotebook} did. */
export interface RunReport extends Omit<ExecutionResult, "notebook"> {
  /** The notebook that was run. */
  path: string;
  /** Where the executed notebook was written. */
  outNotebook: string;
  /** Where the HTML page was written, if it was. */
  outHtml?: string;
  /** Size of the executed notebook in bytes. */
  notebookBytes: number;
  /** Size of the HTML page in bytes (plotly.js not counted when it sits beside the page). */
  htmlBytes?: number;
  /** How many static figure images were added. */
  images: number;
  /** Seconds spent rendering static images. */
  imageSeconds: number;
  /** Whether every cell ran without error. */
  ok: boolean;
}

function basename(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop()!;
}

function dirname(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/**
 * Refuses, before anything runs, to write a notebook in place that is read-only (no write
 * permission for its owner) or whose folder takes no new file (the write is atomic: a temporary
 * file beside it, renamed over it). Names the path and the fix.
 *
 * @example
 * ```ts
 * import { checkInPlace } from "./runner.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.ipynb`, "{}");
 * await Deno.chmod(`${dir}/a.ipynb`, 0o444);
 * let message = "";
 * try { await checkInPlace(`${dir}/a.ipynb`); } catch (e) { message = String(e); }
 * console.assert(message.includes("is read-only"));
 * ```
 */
export async function checkInPlace(path: string): Promise<void> {
  const info = await Deno.stat(path);
  if (info.mode !== null && (info.mode & 0o200) === 0) {
    throw new Error(
      `--in-place: ${path} is read-only (mode ${(info.mode & 0o777).toString(8)}), so its ` +
        `outputs were not written and nothing ran. Make it writable (chmod u+w ${path}) or ` +
        `drop --in-place to write the executed copy to --out.`,
    );
  }
  try {
    const probe = await Deno.makeTempFile({ dir: dirname(absolute(path)), prefix: ".actlab-" });
    await Deno.remove(probe);
  } catch (e) {
    throw new Error(
      `--in-place: the folder of ${path} takes no new file (${(e as Error).message}), and the ` +
        `notebook is written through one; nothing ran. Make the folder writable or drop ` +
        `--in-place.`,
    );
  }
}

/** Adds a static PNG to every Plotly output that lacks one; returns how many were added. */
async function addStaticImages(nb: Notebook): Promise<number> {
  const targets: { data: OutputData }[] = [];
  for (const cell of nb.cells) {
    for (const o of cell.outputs ?? []) {
      if (
        (o.output_type === "display_data" || o.output_type === "execute_result") &&
        PLOTLY_MIME in o.data && !("image/png" in o.data)
      ) targets.push(o);
    }
  }
  if (targets.length === 0) return 0;
  const images = await renderFigureImages(targets.map((o) => o.data[PLOTLY_MIME] as FigureJson));
  targets.forEach((o, i) => {
    o.data["image/png"] = images[i];
    const html = o.data["text/html"];
    if (html !== undefined) {
      // Static viewers that prefer HTML (and strip its script) then show the image too.
      o.data["text/html"] = joinText(html as string).replace(
        /<div class="actlab-fallback">[\s\S]*?<\/pre><\/div>/,
        `<div class="actlab-fallback"><img alt="figure" style="max-width:100%" ` +
          `src="data:image/png;base64,${images[i]}"></div>`,
      );
    }
  });
  return images.length;
}

/**
 * Runs one notebook file: executes it in a fresh kernel started in the notebook's folder, adds
 * static figure images, writes the executed notebook (to `outDir`, or in place) and an HTML page
 * of it, all atomically. A failing cell does not throw: the report says `ok: false` and names the
 * cell; the partial notebook and page are still written for inspection.
 *
 * @example
 * ```ts ignore
 * import { formatFailure, runNotebook } from "./runner.ts";
 * const report = await runNotebook("notebooks/00_quickstart.ipynb", { fast: true });
 * if (!report.ok) console.error(formatFailure(report.failure!));
 * ```
 */
export async function runNotebook(path: string, options: RunOptions = {}): Promise<RunReport> {
  const nbPath = absolute(path);
  if (options.inPlace) await checkInPlace(path);
  const source = await readNotebook(nbPath);
  const env = { ...options.env, ...(options.fast ? { ACTLAB_FAST: "1" } : {}) };
  const result = await executeNotebook(source, {
    cwd: dirname(nbPath),
    env,
    cellTimeoutMs: options.cellTimeoutMs,
    name: path,
    denoPath: options.denoPath,
    onCell: options.onCell,
    parameters: options.parameters,
    signal: options.signal,
  });
  const nb = result.notebook;
  nb.metadata.actlab = { fast: Boolean(options.fast || env.ACTLAB_FAST === "1") };
  const warnings = [...result.warnings];
  let images = 0;
  const ti = performance.now();
  const mode = result.failure?.kind === "interrupted" ? "never" : options.images ?? "auto";
  if (mode !== "never") {
    if (!findChromium()) {
      if (mode === "always") {
        throw new Error(
          "static images need Chromium: install it (apt-get install chromium) or set " +
            "ACTLAB_CHROMIUM, or run with images: 'never'",
        );
      }
      warnings.push("no static figure images: Chromium not found (apt-get install chromium)");
    } else {
      try {
        images = await addStaticImages(nb);
      } catch (e) {
        if (mode === "always") throw e;
        warnings.push(`no static figure images: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }
  const imageSeconds = (performance.now() - ti) / 1000;
  const outDir = absolute(options.outDir ?? ".out/notebooks");
  await Deno.mkdir(outDir, { recursive: true });
  const stem = basename(nbPath).replace(/\.ipynb$/, "");
  // In place only when every cell ran: a failed run never replaces published outputs (of the
  // failed cell nor of the cells after it); its executed copy goes to the output folder instead.
  const inPlace = options.inPlace && !result.failure;
  if (options.inPlace && result.failure) {
    warnings.push(
      `${path} was left unchanged because a cell failed; the partial run is in ${outDir}`,
    );
  }
  const outNotebook = inPlace ? nbPath : `${outDir}/${stem}.ipynb`;
  await writeNotebook(outNotebook, nb);
  const notebookBytes = (await Deno.stat(outNotebook)).size;
  let outHtml: string | undefined, htmlBytes: number | undefined;
  if (options.html ?? true) {
    outHtml = `${outDir}/${stem}.html`;
    let plotly: { src: string } | { inline: string } | undefined;
    if (hasPlotly(nb)) {
      const lib = plotlyScriptPath();
      if (options.plotly === "inline") {
        plotly = { inline: await Deno.readTextFile(lib) };
      } else {
        const file = basename(lib);
        const target = `${outDir}/${file}`;
        const size = (await Deno.stat(lib)).size;
        const existing = await Deno.stat(target).then((s) => s.size, () => -1);
        if (existing !== size) {
          const tmp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
          await Deno.copyFile(lib, tmp);
          await Deno.rename(tmp, target);
        }
        plotly = { src: file };
      }
    }
    const html = notebookToHtml(nb, { plotly });
    await writeTextAtomic(outHtml, html);
    htmlBytes = new TextEncoder().encode(html).length;
  }
  const { notebook: _nb, ...rest } = result;
  return {
    ...rest,
    warnings,
    path,
    outNotebook,
    outHtml,
    notebookBytes,
    htmlBytes,
    images,
    imageSeconds,
    ok: !result.failure,
  };
}
