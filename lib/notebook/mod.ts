/**
 * Running notebooks headlessly through the real Deno kernel (`deno jupyter --kernel`) over the
 * Jupyter protocol: a kernel client, a runner that loses no output and names failing cells, and
 * an HTML page writer.
 *
 * @example
 * ```ts ignore
 * import { formatFailure, runNotebook } from "@actlab/actlab/notebook";
 * const report = await runNotebook("notebooks/00_quickstart.ipynb", { fast: true });
 * console.log(report.ok ? `ran in ${report.seconds} s` : formatFailure(report.failure!));
 * ```
 *
 * @module
 */
export { Kernel, KernelDiedError, KernelTimeoutError, startKernel } from "./kernel.ts";
export type {
  ExecuteOptions,
  ExecuteReply,
  KernelInfo,
  KernelOptions,
  Message as KernelMessage,
  MessageHeader as KernelMessageHeader,
} from "./kernel.ts";
export {
  checkInPlace,
  executeNotebook,
  formatFailure,
  MAX_CELL_TIMEOUT_MS,
  runNotebook,
} from "./runner.ts";
export { checkParameters, injectParameters, parametersCell, parameterType } from "./parameters.ts";
export type { ParameterInfo, ParametersCell, ParameterType } from "./parameters.ts";
export type {
  CellEvent,
  CellFailure,
  ExecuteNotebookOptions,
  ExecutionResult,
  RunOptions,
  RunReport,
} from "./runner.ts";
export { notebookToJson, readNotebook, writeNotebook } from "./nbformat.ts";
export type {
  Cell as NotebookCell,
  Notebook,
  Output as NotebookOutput,
  OutputData as NotebookOutputData,
} from "./nbformat.ts";
export { notebookToHtml } from "./html.ts";
export type { HtmlOptions } from "./html.ts";
