/**
 * The study engine: sweeps over activations × seeds, grids over axes (learning rate, steps, model
 * size, any config field), studies with a tuning stage and one family of declared comparisons,
 * and the one owner of the results-folder format (paths, read, write, verify). Every command
 * reads a folder through it: `sweep`, `readSweep`, `mergeSweeps`, grids, studies and reports.
 *
 * | file              | job                                                              |
 * | ----------------- | ---------------------------------------------------------------- |
 * | `record.ts`       | the trial record, settings, provenance; the record check         |
 * | `folder.ts`       | the folder format: paths, the one checked reader, writers        |
 * | `settings.ts`     | settings and their key; the engine registry check                |
 * | `shard.ts`        | shards and the scheduler's environment                           |
 * | `trial.ts`        | one trial (`_trial_worker.ts` runs it in a worker)               |
 * | `schedule.ts`     | running trials in this thread or a pool of workers               |
 * | `sweep.ts`        | `sweep()`, `readSweep()`, plans shared with grids and studies    |
 * | `summary.ts`      | typed summary rows, paired comparisons, outliers                 |
 * | `format.ts`       | tables as text grids, drawn by every medium                      |
 * | `merge.ts`        | merging shards, every grid cell                                  |
 * | `axes.ts`         | axes as data                                                     |
 * | `grid.ts`         | grids of sweeps and their tables                                 |
 * | `study_file.ts`   | the study declaration                                            |
 * | `tune.ts`         | choosing a tuned value: best cell, fit, widening                 |
 * | `family.ts`       | a study's family of tests and its correction                     |
 * | `study.ts`        | running and reading a study                                      |
 * | `provenance.ts`   | what produced a trial; the numerics fingerprint                  |
 * | `cost.ts`         | FLOPs of a trial                                                 |
 * | `submission.ts`   | a study submitted to a scheduler: its folder, record, collect    |
 * | `study_submit.ts` | a study submitted round by round: shards, recording, next round  |
 * | `slurm.ts`        | Slurm: the job-array script, sbatch, the tasks' states           |
 * | `k8s.ts`          | Kubernetes: the Indexed Job manifest                             |
 * | `status.ts`       | where a study stands: per task, state and trials done/run/left   |
 *
 * @example
 * ```ts
 * import { parseAxis, parseShard } from "@actlab/actlab/sweep";
 * parseAxis("n_layer=2,4,6").values; // [2, 4, 6]
 * parseShard("1/4"); // { index: 1, count: 4 }
 * ```
 *
 * @module
 */
export {
  applyAxes,
  AXES,
  axisKind,
  axisPoints,
  axisValueText,
  cellFolder,
  checkAxes,
  DEPTH_WIDTH,
  parseAxis,
} from "./axes.ts";
export type { Axis, AxisKind, AxisPoint, AxisValue } from "./axes.ts";
export { trialFlopsPerStep } from "./cost.ts";
export { datasetId, resolveData, tokenizerId } from "./data.ts";
export type { DataOptions, SweepData } from "./data.ts";
export { familyCsv, familyTests, identicalActivations } from "./family.ts";
export type { FamilyCell, FamilyRow } from "./family.ts";
export {
  cellFolders,
  checkFolderPath,
  FolderError,
  LISTING_FILE,
  readFolder,
  readListing,
  removeIfPresent,
  shardSuffix,
  summaryPath,
  trialFileName,
  trialPath,
  TRIALS_DIR,
  writeDerived,
  writeIfChanged,
  writeListing,
  writeTrial,
} from "./folder.ts";
export type { FolderNotice, FolderView, Listing, ReadFolderOptions } from "./folder.ts";
export {
  familyGrid,
  flopsText,
  gridGrids,
  loss3,
  lossUnit,
  pValue,
  signed3,
  summaryGrid,
  tunedGrid,
  withInterval,
} from "./format.ts";
export type { StudyCellsView, SummaryGridOptions, TextGrid } from "./format.ts";
export {
  bestLearningRates,
  gridAxes,
  gridCells,
  gridTable,
  readGrid,
  sweepGrid,
  trialsAtBestLr,
  trialsAtBestLrByGroup,
} from "./grid.ts";
export type {
  BestLrGroup,
  GridCell,
  GridCellResult,
  GridCellTrials,
  GridListing,
  GridOptions,
  GridResult,
} from "./grid.ts";
export { mergeSweeps } from "./merge.ts";
export type { MergedCell, MergeOptions, MergeResult } from "./merge.ts";
export { DEFAULT_ACTIVATIONS, seedList } from "./options.ts";
export type {
  SweepModelOverrides,
  SweepObservers,
  SweepOptions,
  SweepTrainOverrides,
} from "./options.ts";
export {
  codeProvenance,
  compareFingerprints,
  engineVersion,
  stepFingerprint,
} from "./provenance.ts";
export type { CodeProvenance, FingerprintTarget } from "./provenance.ts";
export { checkTrialRecord } from "./record.ts";
export type { ScheduledTrial, ScheduleObservers } from "./schedule.ts";
export type {
  NumericsFingerprint,
  Provenance,
  SweepSettings,
  TrialResult,
  TrialSpec,
} from "./record.ts";
export {
  checkEngine,
  describeSettings,
  settingsIters,
  settingsKey,
  sweepSettings,
} from "./settings.ts";
export { inShard, parseShard, sweepTrials } from "./shard.ts";
export type { Shard } from "./shard.ts";
export { indexedJobManifest, k8sJobName, manifestYaml } from "./k8s.ts";
export type { IndexedJobSpec } from "./k8s.ts";
export { sbatch, shellWord, slurmAnswers, slurmScript, slurmTasks, stateKind } from "./slurm.ts";
export type { SchedulerTask, SchedulerView, SlurmScriptSpec } from "./slurm.ts";
export { statusGrid, studyStatus } from "./status.ts";
export type { StudyStatus, StudyStatusOptions, TaskStatus, TaskVerdict } from "./status.ts";
export {
  clearShardLocks,
  collectStudy,
  folderProgress,
  MERGED_DIR,
  readSubmitRecord,
  shardFolder,
  shardProgress,
  SHARDS_DIR,
  taskLogPath,
  writeSubmitRecord,
} from "./submission.ts";
export type {
  CellProgress,
  CollectOptions,
  CollectResult,
  ProgressPlan,
  ShardProgress,
  Submission,
  SubmitCell,
  SubmitRecord,
} from "./submission.ts";
export {
  cellName,
  cellTrials,
  claimStudyFolder,
  finishStudy,
  nextStudyRound,
  readStudy,
  runStudy,
  runStudyFolders,
  selectionRows,
} from "./study.ts";
export type {
  NextRoundOptions,
  ReadStudyOptions,
  StudyCell,
  StudyFolder,
  StudyOptions,
  StudyResult,
  StudyRound,
} from "./study.ts";
export {
  advanceStudy,
  clearRoundLocks,
  currentRound,
  planRoundRecord,
  recordRound,
  roundProgress,
  roundShardFolder,
  runStudyShard,
  submitRound,
  submittedStudy,
  unitShard,
} from "./study_submit.ts";
export type {
  AdvanceOptions,
  AdvanceResult,
  RoundUnit,
  StudyRoundRecord,
  StudyShardOptions,
  StudyShardResult,
  StudySubmission,
} from "./study_submit.ts";
export { loadStudy, parseStudy, studyDeclaration, studyHash } from "./study_file.ts";
export type { Comparison, Study, TuneSpec } from "./study_file.ts";
export {
  pairBySeed,
  seedOutlierNotice,
  seedOutliers,
  summarizeTrials,
  summaryCsv,
  summaryTable,
  trialBitsPerByte,
} from "./summary.ts";
export type { SeedOutlier, SummaryOptions, SummaryRow } from "./summary.ts";
export {
  canonicalActivations,
  finishPlan,
  planSweep,
  readSweep,
  recordTrials,
  runPlans,
  sweep,
} from "./sweep.ts";
export type {
  ReadSweepOptions,
  ReadSweepResult,
  RunPlansOptions,
  SweepPlan,
  SweepResult,
} from "./sweep.ts";
export { runTrial } from "./trial.ts";
export type { TrialHooks } from "./trial.ts";
export { selectValue, triedValues, widenedValue } from "./tune.ts";
export type { Selection, TriedValue, TuneFit } from "./tune.ts";
