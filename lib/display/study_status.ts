/**
 * A study's status as people see it: the table of `deno task sweep status` (a row per array task:
 * state, node, trials done / running / left, log) under a progress bar of the study's trials; in
 * a notebook one output that {@link watchStudy} updates in place until no task is pending or
 * running.
 *
 * @module
 */
import { interruptible } from "../core/interrupt.ts";
import { statusGrid, type StudyStatus } from "../sweep/status.ts";
import { DisplayObject, type MimeBundle } from "./display.ts";
import { LiveOutput } from "./_live.ts";
import { TableView } from "./table.ts";
import { escapeHtml } from "./_util.ts";

/** One line: the study's trials as a bar, and what is running or failed. */
function progressLine(s: StudyStatus): string {
  const width = 24;
  const filled = s.total ? Math.round((width * s.done) / s.total) : 0;
  const failed = s.tasks.filter((t) => t.verdict === "failed").length;
  return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${s.done}/${s.total} trials, ` +
    `${s.running} running, ${s.left} left` + (failed ? `, ${failed} task(s) failed` : "") +
    (s.ended ? (s.complete ? (s.merged ? " · merged" : " · complete") : " · stopped") : "");
}

/**
 * The status of a study as a display: a progress bar over its trials, then the status table
 * (HTML in a notebook, aligned text in a terminal).
 *
 * @example
 * ```ts ignore
 * import { studyStatus } from "@actlab/actlab/sweep";
 * import { studyStatusView } from "@actlab/actlab/display";
 * studyStatusView(await studyStatus("results/size-grid")); // a notebook cell's output
 * ```
 */
export function studyStatusView(status: StudyStatus): DisplayObject {
  const table = new TableView(statusGrid(status));
  return new DisplayObject((): MimeBundle => {
    const bar = `<div style="font-family:ui-monospace,Menlo,monospace;font-size:13px">` +
      `<progress value="${status.done}" max="${status.total || 1}" style="width:240px">` +
      `</progress> ${escapeHtml(progressLine(status).replace(/^[█░]+ /, ""))}</div>`;
    return {
      "text/plain": `${progressLine(status)}\n${table.toText()}`,
      "text/html": bar + table.toHtml(),
    };
  });
}

/** Options of {@link watchStudy}. */
export interface WatchStudyOptions {
  /** Seconds between two reads of the study (default 10). */
  readonly intervalS?: number;
  /** Stops watching (the display keeps its last state). */
  readonly signal?: AbortSignal;
}

/**
 * Shows a study's status and redraws it in place every `intervalS` seconds until no task is
 * pending or running (or the signal, or Stop in the kernel, ends the watch); returns the last
 * status. `read` reads it, e.g. `() => studyStatus(dir)`. In a terminal the first line (the bar)
 * is rewritten in place.
 *
 * @example
 * ```ts ignore
 * import { studyStatus } from "@actlab/actlab/sweep";
 * import { watchStudy } from "@actlab/actlab/display";
 * const status = await watchStudy(() => studyStatus("results/size-grid"), { intervalS: 15 });
 * ```
 */
export async function watchStudy(
  read: () => Promise<StudyStatus>,
  options: WatchStudyOptions = {},
): Promise<StudyStatus> {
  let status = await read();
  const live = new LiveOutput(() => studyStatusView(status).bundle(), 0);
  live.open();
  try {
    return await interruptible(async (scope) => {
      while (!status.ended && !scope.signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, (options.intervalS ?? 10) * 1000);
          scope.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        if (scope.signal.aborted) break;
        status = await read();
        live.request();
      }
      return status;
    }, { signal: options.signal });
  } finally {
    await live.close();
  }
}
