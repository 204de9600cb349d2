/**
 * A study for a notebook cell: runs (or resumes) a study with one progress bar per stage, in a
 * folder you name (committed results) or in the project's cache keyed by the study's declaration,
 * so that re-running the cell, or another notebook with the same study, reads what is finished.
 *
 * @module
 */
import type { SweepData } from "../sweep/data.ts";
import { projectCacheDir } from "../display/cells.ts";
import { type Progress, progress } from "../display/progress.ts";
import { runStudy, type StudyResult } from "../sweep/study.ts";
import { type Study, studyHash } from "../sweep/study_file.ts";

/** Options of {@link cachedStudy}. */
export interface CachedStudyOptions {
  /** The study's folder (committed results); default a folder in the cache named by its hash. */
  readonly out?: string | null;
  /** Trials side by side (default `auto`). */
  readonly jobs?: number | "auto";
  /** Show a progress bar per stage (default true). */
  readonly progress?: boolean;
  /** Notices (files left out, outliers). Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/**
 * Runs `study` on `data` — or reads it, when every trial is already in its folder — and returns its
 * cells, selection and family (`readStudy`'s result). Each stage that trains shows a progress bar
 * over its trials. A finished study in its folder is read without training or writing anything.
 *
 * @example
 * ```ts ignore
 * import { cachedStudy, loadStudy, loadTinyShakespeare } from "@actlab/actlab";
 * const data = await loadTinyShakespeare();
 * const r = await cachedStudy(data, await loadStudy("../studies/tuned.json"), { out: "results/tuned" });
 * ```
 */
export async function cachedStudy(
  data: SweepData,
  study: Study,
  options: CachedStudyOptions = {},
): Promise<StudyResult> {
  const out = options.out ??
    `${await projectCacheDir()}/studies/${study.name}-${await studyHash(study)}`;
  let bar: Progress | undefined;
  try {
    return await runStudy(data, study, {
      out,
      jobs: options.jobs,
      onNotice: options.onNotice,
      onStage: (message) => {
        void bar?.done();
        const n = Number(/: (\d+) trial/.exec(message)?.[1] ?? 0);
        if (options.progress !== false && n > 0) {
          bar = progress(n, { label: message.replace(/: \d+ trial.*/, ""), unit: "trial" });
        }
      },
      onTrial: (_t, skipped) => {
        if (!skipped) bar?.increment(1);
      },
    });
  } finally {
    await bar?.done();
  }
}
