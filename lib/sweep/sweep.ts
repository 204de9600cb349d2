/**
 * Sweeps over activations × seeds on the mini-GPT. Each trial trains one model and is written to
 * the results folder as soon as it finishes; a re-run skips finished trials; trials split
 * deterministically into shards. The folder's format, and every read of it, belong to
 * `folder.ts`; the scheduling of trials to `schedule.ts`; the summary to `summary.ts`.
 *
 * @module
 */
import { datasetId, resolveData, type SweepData, tokenizerId } from "./data.ts";
import { interruptible } from "../core/interrupt.ts";
import { type FolderLock, lockFolder } from "../core/lock.ts";
import { getActivation, isBuiltinActivation } from "../activations/registry.ts";
import { ensureEngine } from "../engine/tfjs.ts";
import { registeredTrainEngine } from "../train/train.ts";
import {
  checkFolderPath,
  type Listing,
  readFolder,
  readListing,
  writeDerived,
  writeListing,
  writeTrial,
} from "./folder.ts";
import {
  DEFAULT_ACTIVATIONS,
  seedList,
  type SweepOptions,
  type SweepTrainOverrides,
} from "./options.ts";
import { codeProvenance, compareFingerprints, stepFingerprint } from "./provenance.ts";
import type { SweepSettings, TrialResult, TrialSpec } from "./record.ts";
import { runSchedule, type ScheduleObservers } from "./schedule.ts";
import { describeSettings, sweepSettings } from "./settings.ts";
import { type Shard, sweepTrials } from "./shard.ts";
import {
  seedOutlierNotice,
  seedOutliers,
  summarizeTrials,
  summaryCsv,
  type SummaryRow,
} from "./summary.ts";

/** What {@link sweep} returns. */
export interface SweepResult {
  /** The finished trials this sweep asked for (of its shard), now or earlier, in sweep order. */
  readonly trials: TrialResult[];
  /** One row per activation: counts, final loss and its CI, paired comparison with the baseline. */
  readonly summary: SummaryRow[];
  /** The settings every trial shares (preset, iters, engine, device, …) and their key. */
  readonly settings: SweepSettings;
  /** True when the signal stopped the sweep before every trial finished. */
  readonly interrupted: boolean;
  /** Trials that were running when the sweep stopped: not recorded, a re-run redoes them. */
  readonly discarded: readonly TrialSpec[];
  /** How many trials ran side by side. */
  readonly jobs: number;
}

/**
 * Canonical activation names, refusing an empty list and an activation listed twice under two of
 * its names; every name is checked before any training.
 *
 * @example
 * ```ts
 * import { canonicalActivations } from "@actlab/actlab/sweep";
 * canonicalActivations(["relu", "swish"]); // ["relu", "silu"]
 * ```
 */
export function canonicalActivations(names: readonly string[]): string[] {
  if (names.length === 0) {
    throw new Error("sweep: no activations given; name at least one, e.g. relu,gelu.");
  }
  const seen = new Map<string, string>();
  for (const given of names) {
    const name = getActivation(given).name;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new Error(
        earlier === given
          ? `sweep: activation "${given}" is listed twice; list each activation once.`
          : `sweep: "${earlier}" and "${given}" are the same activation (${name}); list it once.`,
      );
    }
    seen.set(name, given);
  }
  return [...seen.keys()];
}

function resolveJobs(jobs: SweepOptions["jobs"], trials: number): number {
  if (jobs === undefined || jobs === "auto") {
    return Math.max(1, Math.min(trials, navigator.hardwareConcurrency || 1));
  }
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new Error(`sweep: jobs must be a whole number ≥ 1 or "auto", got ${jobs}.`);
  }
  return Math.max(1, Math.min(jobs, trials));
}

/**
 * The jobs that can really run: one when an activation or the engine lives only in this process
 * (registered in a notebook), said when a number was asked for.
 */
function workableJobs(
  jobs: number,
  asked: SweepOptions["jobs"],
  activations: readonly string[],
  engine: string,
  notice: (m: string) => void,
): number {
  const local = activations.filter((a) => !isBuiltinActivation(a));
  const localEngine = registeredTrainEngine(engine) !== undefined;
  if (jobs === 1 || (local.length === 0 && !localEngine)) return jobs;
  if (typeof asked === "number") {
    const what = localEngine
      ? `engine "${engine}" is`
      : `${local.join(", ")} ${local.length > 1 ? "are" : "is"}`;
    notice(
      `sweep: ${what} registered in this process, not built in, so workers cannot run it: ` +
        `running one trial at a time.`,
    );
  }
  return 1;
}

/** The folder's listing after this run: the one there (same settings), grown by what is asked. */
async function nextListing(
  out: string,
  settings: SweepSettings,
  activations: readonly string[],
  seeds: readonly number[],
  options: SweepOptions,
): Promise<Listing> {
  const existing = await readListing(out);
  if (existing && existing.key !== settings.key) {
    const redefined = Object.keys(settings.custom ?? {}).filter((a) =>
      existing.custom?.[a] !== undefined && existing.custom[a] !== settings.custom?.[a]
    );
    throw new Error(
      redefined.length
        ? `${out} holds trials of another definition of ${redefined.join(", ")} (its ` +
          `values differ from the one registered now). Use another output folder for the ` +
          `new definition (or another name), or delete ${out} to start over.`
        : `${out} holds a sweep with other settings (${describeSettings(existing)}; this one: ` +
          `${
            describeSettings(settings)
          }). Use another output folder, or delete ${out} to start over.`,
    );
  }
  const union = <T>(a: readonly T[], b: readonly T[]) => [...new Set([...a, ...b])];
  // The file's own settings object when there is one: same key, and the file stays byte-identical.
  const { activations: _a, seeds: _s, shard: _h, mergedFrom: _m, ...kept } = existing ?? {
    ...settings,
    activations: [],
    seeds: [],
  };
  return {
    ...kept,
    activations: union(existing?.activations ?? [], activations),
    seeds: union(existing?.seeds ?? [], seeds),
    ...(options.shard ? { shard: options.shard } : {}),
  };
}

/** A folder's part of a run: its settings, the trials asked, those found, those left to run. */
export interface SweepPlan {
  /** The folder (undefined: nothing is written). */
  readonly out?: string;
  /** The data its trials train on (as its options asked: tokenizer, corpus). */
  readonly data: SweepData;
  /** The folder's settings. */
  readonly settings: SweepSettings;
  /** The activations asked for (canonical), in row order. */
  readonly activations: readonly string[];
  /** The trials asked for (of the shard), in sweep order. */
  readonly specs: readonly TrialSpec[];
  /** The training overrides of every trial. */
  readonly train: SweepTrainOverrides;
  /** The shard this process runs. */
  readonly shard?: Shard;
  /** Finished trials by index into `specs` (found on disk, then run). */
  readonly done: Map<number, TrialResult>;
  /** Indexes into `specs` still to run. */
  readonly todo: readonly number[];
  /** The folder's lock, held until {@link finishPlan}. */
  readonly lock?: FolderLock;
}

/**
 * Prepares a sweep's folder for a run: checks the options and the folder path, takes the folder's
 * lock, reads what is there through the checked reader (its notices said), grows the listing by
 * what is asked, and says which trials are finished and which are left. Release with
 * {@link finishPlan} (or `plan.lock?.release()` on an error).
 *
 * @example
 * ```ts ignore
 * import { finishPlan, planSweep, runPlans } from "@actlab/actlab/sweep";
 * const plan = await planSweep(data, { activations: ["relu"], seeds: 2, out: "runs/a" });
 * await runPlans([plan], { jobs: 2 });
 * const result = await finishPlan(plan, {});
 * ```
 */
export async function planSweep(
  given: SweepData,
  options: SweepOptions,
  notice: (m: string) => void = options.onNotice ?? console.warn,
): Promise<SweepPlan> {
  const activations = canonicalActivations(options.activations ?? DEFAULT_ACTIVATIONS);
  const seeds = seedList(options.seeds);
  const out = options.out !== undefined ? await checkFolderPath(options.out) : undefined;
  await ensureEngine(notice);
  const data = await resolveData(given, options, notice);
  const settings = await sweepSettings(
    datasetId(data),
    options,
    activations,
    tokenizerId(data.tokenizer),
  );
  const specs = sweepTrials(activations, seeds, options.shard);
  const lock = out ? await lockFolder(out, "sweep") : undefined;
  try {
    if (lock?.tookOverFrom) {
      notice(
        `${out}: took over the lock of a sweep that is no longer running (pid ${lock.tookOverFrom.pid}).`,
      );
    }
    let onDisk = new Map<string, TrialResult>();
    if (out) {
      const listing = await nextListing(out, settings, activations, seeds, options);
      const view = await readFolder(out, { listing });
      for (const n of view.notices) notice(n.message);
      await Deno.mkdir(`${out}/trials`, { recursive: true });
      await writeListing(out, listing);
      onDisk = new Map(view.trials.map((t) => [`${t.activation}\0${t.seed}`, t]));
    }
    const done = new Map<number, TrialResult>();
    const todo: number[] = [];
    for (const [k, spec] of specs.entries()) {
      const found = onDisk.get(`${spec.activation}\0${spec.seed}`);
      if (found) done.set(k, found);
      else todo.push(k);
    }
    return {
      out,
      data,
      settings,
      activations,
      specs,
      train: options.train ?? {},
      shard: options.shard,
      done,
      todo,
      lock,
    };
  } catch (e) {
    await lock?.release();
    throw e;
  }
}

/**
 * Records in a sweep folder trials that ran elsewhere (the shard folders of a study's array
 * tasks), as a run asking for `asked` would have recorded them: the folder locked, its listing
 * grown by the activations and seeds asked exactly as {@link planSweep} grows it, every trial not
 * there yet written (atomically, one file each), then the derived files. Each trial must be of
 * `settings` and listed; one already there is kept as it is. Returns the trials written.
 *
 * @example
 * ```ts ignore
 * import { readFolder, recordTrials } from "@actlab/actlab/sweep";
 * const shard = await readFolder("results/s/shards/1/0/select/lr=0.004");
 * const { activations, seeds, shard: _s, mergedFrom: _m, ...settings } = shard.listing;
 * await recordTrials("results/s/select/lr=0.004", settings, { activations, seeds }, shard.trials);
 * ```
 */
export async function recordTrials(
  out: string,
  settings: SweepSettings,
  asked: { readonly activations: readonly string[]; readonly seeds: readonly number[] },
  trials: readonly TrialResult[],
  notice: (m: string) => void = console.warn,
): Promise<TrialResult[]> {
  await checkFolderPath(out);
  const lock = await lockFolder(out, "sweep");
  try {
    const listing = await nextListing(out, settings, asked.activations, asked.seeds, {});
    const key = (t: TrialSpec) => `${t.activation}\0${t.seed}`;
    const listed = new Set(sweepTrials(listing.activations, listing.seeds).map(key));
    for (const t of trials) {
      if (t.settings !== settings.key || !listed.has(key(t))) {
        throw new Error(
          `${out}: ${t.activation} seed ${t.seed} (settings ${t.settings}) is not a trial of ` +
            `this folder (settings ${settings.key}, ${listing.activations.join(", ")} × seeds ` +
            `${listing.seeds.join(", ")}); nothing was recorded.`,
        );
      }
    }
    const view = await readFolder(out, { listing });
    for (const n of view.notices) notice(n.message);
    await Deno.mkdir(`${out}/trials`, { recursive: true });
    await writeListing(out, listing);
    const have = new Set(view.trials.map(key));
    const written: TrialResult[] = [];
    for (const t of trials.filter((t) => !have.has(key(t)))) {
      await writeTrial(out, t);
      written.push(t);
    }
    await writeFolderSummary(out, undefined, {});
    return written;
  } finally {
    await lock.release();
  }
}

/** Options of {@link runPlans}: how many trials side by side, who hears, and the stop. */
export interface RunPlansOptions extends ScheduleObservers {
  /** Trials side by side (`auto`: one per core). Default `auto`. */
  readonly jobs?: number | "auto";
  /** Notices (fewer jobs than asked, a running trial's warnings). Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/**
 * Runs the trials left in several prepared folders in one pool of workers (the folders' settings
 * may differ: a study's cells), writing each finished trial to its folder. Tells `onTrial` first
 * of the trials found finished (`skipped` true). Returns the trials abandoned at a stop, per plan.
 *
 * @example
 * ```ts ignore
 * import { planSweep, runPlans } from "@actlab/actlab/sweep";
 * const plans = [await planSweep(data, a), await planSweep(data, b)];
 * await runPlans(plans, { jobs: 2 });
 * ```
 */
export async function runPlans(
  plans: readonly SweepPlan[],
  options: RunPlansOptions = {},
): Promise<{ discarded: TrialSpec[][]; jobs: number }> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  for (const plan of plans) {
    for (const k of [...plan.done.keys()].sort((a, b) => a - b)) {
      await options.onTrial?.(plan.done.get(k)!, true);
    }
  }
  const items = plans.flatMap((plan, p) =>
    plan.todo.map((k) => ({
      plan: p,
      k,
      trial: {
        spec: plan.specs[k],
        data: plan.data,
        settings: plan.settings,
        train: plan.train,
        index: k,
        total: plan.specs.length,
      },
    }))
  );
  const jobs = plans.reduce(
    (j, plan) => workableJobs(j, options.jobs, plan.activations, plan.settings.engine, notice),
    resolveJobs(options.jobs, items.length),
  );
  let writes = Promise.resolve();
  const record = (i: number, result: TrialResult) => {
    const { plan, k } = items[i];
    plans[plan].done.set(k, result);
    const out = plans[plan].out;
    if (out) writes = writes.then(() => writeTrial(out, result));
    return writes;
  };
  const running = new Set<number>();
  const code = await codeProvenance();
  await runSchedule({
    trials: items.map((x) => x.trial),
    jobs,
    code,
    running,
    record,
    notice,
    observers: options,
  });
  await writes;
  const discarded = plans.map(() => [] as TrialSpec[]);
  for (const i of [...running].sort((a, b) => a - b)) {
    discarded[items[i].plan].push(items[i].trial.spec);
  }
  return { discarded, jobs };
}

/**
 * Ends a plan's run: its trials in sweep order and their summary, the folder's derived files
 * rewritten from every listed trial (the summary partial while some are missing), outliers said,
 * and the lock released.
 *
 * @example
 * ```ts ignore
 * import { finishPlan } from "@actlab/actlab/sweep";
 * const result = await finishPlan(plan, { baseline: "gelu" }, discarded, jobs);
 * ```
 */
export async function finishPlan(
  plan: SweepPlan,
  options: Pick<SweepOptions, "baseline" | "targetLoss" | "onNotice" | "signal">,
  discarded: readonly TrialSpec[] = [],
  jobs = 1,
): Promise<SweepResult> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  try {
    const trials = [...plan.done.keys()].sort((a, b) => a - b).map((k) => plan.done.get(k)!);
    const interrupted = trials.length < plan.specs.length && (options.signal?.aborted ?? false);
    const summary = summarizeTrials(trials, {
      activations: plan.activations,
      baseline: options.baseline,
      targetLoss: options.targetLoss,
    });
    if (plan.out) await writeFolderSummary(plan.out, plan.shard, options);
    for (const o of seedOutliers(trials)) notice(seedOutlierNotice(o, plan.out));
    return { trials, summary, settings: plan.settings, interrupted, discarded, jobs };
  } finally {
    await plan.lock?.release();
  }
}

/**
 * Runs a sweep: trains the mini-GPT for every activation × seed (of this shard), `jobs` trials
 * side by side in workers, writing each trial to `out/trials/` when it finishes and skipping
 * trials already there, then summarizes. The output folder is locked while the sweep runs; an
 * interrupted trial is never written; trials whose settings differ (engine, device, threads,
 * steps, …) never share a folder. A folder that lists more activations or seeds than asked keeps
 * its listing (its files stay whole); the result holds the trials asked for. In a Jupyter kernel,
 * Stop ends the sweep with an `InterruptedError` (the running trials discarded, the finished ones
 * kept: re-run the cell to resume) and the kernel keeps its state.
 *
 * @example
 * ```ts ignore
 * import { loadTinyShakespeare, sweep } from "@actlab/actlab";
 * const data = await loadTinyShakespeare();
 * const r = await sweep(data, { activations: ["relu", "gelu", "swiglu"], seeds: 3, iters: 500 });
 * console.table(r.summary);
 * ```
 */
export function sweep(data: SweepData, options: SweepOptions = {}): Promise<SweepResult> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  // In a notebook, Stop ends the sweep here (finished trials kept on disk) and keeps the kernel.
  return interruptible(async (scope) => {
    const plan = await planSweep(data, options, notice);
    const opts = { ...options, signal: scope.signal, onNotice: notice };
    let ran: { discarded: TrialSpec[][]; jobs: number } | undefined;
    try {
      ran = await runPlans([plan], opts);
    } finally {
      if (!ran) await plan.lock?.release();
    }
    return await finishPlan(plan, opts, ran.discarded[0], ran.jobs);
  }, { signal: options.signal });
}

/**
 * Re-reads a folder after a run and writes its derived files (`trials.jsonl`, the summary CSV,
 * partial while listed trials are missing) from every listed trial, not only this run's.
 */
async function writeFolderSummary(
  out: string,
  shard: Shard | undefined,
  options: Pick<SweepOptions, "baseline" | "targetLoss">,
): Promise<void> {
  const view = await readFolder(out, { checkDerived: false });
  const present = view.listing.activations.filter((a) =>
    view.trials.some((t) => t.activation === a)
  );
  const rows = summarizeTrials(view.trials, {
    activations: present,
    baseline: options.baseline !== undefined && present.includes(options.baseline)
      ? options.baseline
      : undefined,
    targetLoss: options.targetLoss,
  });
  await writeDerived(out, shard, view.trials, summaryCsv(rows), view.missing.length === 0);
}

/** Options of {@link readSweep}. */
export interface ReadSweepOptions
  extends Pick<SweepOptions, "baseline" | "targetLoss" | "onNotice"> {
  /**
   * Compare the trials' numerics fingerprints with this code's, on their engine and device
   * (default true; needs that engine here: the tfjs backend active, or the ONNX Runtime provider).
   */
  readonly checkNumerics?: boolean;
}

/** What {@link readSweep} returns. */
export interface ReadSweepResult {
  /** The listed trials the folder holds, in listing order. */
  readonly trials: TrialResult[];
  /** One row per activation that has trials. */
  readonly summary: SummaryRow[];
  /** The folder's settings. */
  readonly settings: SweepSettings;
  /** Listed trials not finished there. */
  readonly missing: readonly TrialSpec[];
}

/**
 * Reads a finished (or partly finished) sweep folder without running or writing anything: its
 * settings, its trials in the folder's listing order and their summary, through the same checked
 * reader as `sweep()` (see `readFolder`). This is how a notebook reads committed results; to
 * re-run them, call `sweep()` with the same settings and folder (it skips what is there). Says
 * through `onNotice` which listed trials are missing, what was left out and why, and whether this
 * code's training step computes what the trials' code computed (their provenance).
 *
 * @example
 * ```ts ignore
 * import { readSweep } from "@actlab/actlab";
 * const { trials, settings } = await readSweep("notebooks/results/03_activation_sweep");
 * console.log(settings.iters, trials.length);
 * ```
 */
export async function readSweep(
  dir: string,
  options: ReadSweepOptions = {},
): Promise<ReadSweepResult> {
  const notice = options.onNotice ?? ((m: string) => console.warn(m));
  const view = await readFolder(dir);
  for (const n of view.notices) notice(n.message);
  if (view.missing.length > 0) {
    notice(
      `${dir}: ${view.missing.length} listed trial(s) not finished: ` +
        `${view.missing.map((t) => `${t.activation} seed ${t.seed}`).join(", ")}; ` +
        `its tables are partial.`,
    );
  }
  const { activations, seeds: _s, shard: _h, mergedFrom: _m, ...settings } = view.listing;
  const trials = [...view.trials];
  const summary = summarizeTrials(trials, {
    activations: activations.filter((a) => trials.some((t) => t.activation === a)),
    baseline: options.baseline,
    targetLoss: options.targetLoss,
  });
  for (const o of seedOutliers(trials)) notice(seedOutlierNotice(o, dir));
  if (options.checkNumerics !== false) await checkNumerics(dir, trials, settings, notice);
  return { trials, summary, settings, missing: view.missing };
}

/**
 * Says whether this code's training step computes what the trials' code did: per activation, the
 * trials' recorded numerics fingerprint against one taken now on their engine and device.
 */
async function checkNumerics(
  dir: string,
  trials: readonly TrialResult[],
  settings: SweepSettings,
  notice: (m: string) => void,
): Promise<void> {
  const bare = trials.filter((t) => !t.provenance?.numerics);
  if (bare.length > 0) {
    notice(
      `${dir}: ${bare.length} of ${trials.length} trials were written before trials recorded ` +
        `their provenance: whether this code reproduces them is not known (re-run one to check).`,
    );
  }
  const byActivation = new Map<string, TrialResult[]>();
  for (const t of trials.filter((t) => t.provenance?.numerics)) {
    byActivation.set(t.activation, [...(byActivation.get(t.activation) ?? []), t]);
  }
  for (const [activation, mine] of byActivation) {
    let now;
    try {
      now = await stepFingerprint({ ...settings, activation });
    } catch (e) {
      notice(
        `${dir}: cannot check ${activation}'s numerics here (${(e as Error).message}).`,
      );
      continue;
    }
    const verdicts = mine.map((t) => compareFingerprints(t.provenance!.numerics!, now));
    const worst = verdicts.includes("different")
      ? "different"
      : verdicts.includes("rounding")
      ? "rounding"
      : "identical";
    if (worst === "identical") continue;
    const where = [...new Set(mine.map((t) => t.provenance!.commit ?? "an unknown commit"))];
    notice(
      worst === "different"
        ? `${dir}: ${activation}'s trials were trained by code whose training step differs from ` +
          `this code's (${where.join(", ")}; step fingerprint ${
            mine[0].provenance!.numerics!.hash
          } ` +
          `vs ${now.hash} now): re-running them gives other numbers.`
        : `${dir}: ${activation}'s trials were trained by a step that agrees with this code's only ` +
          `to float32 rounding (${where.join(", ")}; another CPU or summation order): re-running ` +
          `them gives numbers close to these but not bit for bit (rounding differences grow ` +
          `over training).`,
    );
  }
}
