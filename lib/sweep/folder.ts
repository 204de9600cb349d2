/**
 * The results folder: its format, written and read here and nowhere else. Every command (`sweep`,
 * `readSweep`, merge, grids, studies, reports) reads a folder through {@link readFolder}, so they
 * count the same trials, or fail on the same file with the same message.
 *
 * | path                              | what                                                        |
 * | --------------------------------- | ----------------------------------------------------------- |
 * | `sweep.json`                      | the listing: settings (with their key), activations, seeds  |
 * | `trials/<activation>__seed<k>.json` | one finished trial: the record the folder is read from    |
 * | `trials[.shard<i>of<n>].jsonl`    | derived: the finished trials, one per line, in sweep order  |
 * | `summary[.shard<i>of<n>].csv`     | derived: one row per activation, when every trial is done   |
 * | `summary[…].partial.csv`          | derived: the same while trials are missing                  |
 * | `.lock`                           | held by the process writing the folder                      |
 * | `<axis>=<value>[,…]/`             | a grid's other cells, each a folder of this format          |
 *
 * Reading checks every record: the listing's key against its settings; each trial file's name
 * against its content; each record's fields and physical ranges (`checkTrialRecord`); its steps
 * and parameter count against the settings. What cannot be trusted fails the read, naming every
 * file and the fix ({@link FolderError}); what is merely not this folder's (a stray file, a trial
 * of other settings, a trial the listing does not name) is left out and reported, never counted.
 *
 * @module
 */
import { resolve } from "node:path";
import { writeTextAtomic } from "../core/fs.ts";
import { getActivation } from "../activations/registry.ts";
import { gptConfig } from "../gpt/config.ts";
import { gptParamSpecs } from "../gpt/model.ts";
import {
  checkTrialRecord,
  type SweepSettings,
  type TrialResult,
  type TrialSpec,
} from "./record.ts";
import { describeSettings, settingsIters, settingsKey } from "./settings.ts";
import { inShard, type Shard, sweepTrials } from "./shard.ts";

/** The listing file of a sweep folder. */
export const LISTING_FILE = "sweep.json";
/** The folder of per-trial records. */
export const TRIALS_DIR = "trials";

/** What `sweep.json` holds: the settings, and which trials this folder was asked for. */
export interface Listing extends SweepSettings {
  /** The activations, in the order tables list them. */
  readonly activations: readonly string[];
  /** The seeds. */
  readonly seeds: readonly number[];
  /** Set when one shard of a sweep wrote the folder. */
  readonly shard?: Shard;
  /** Set in a merged folder: the folders it was merged from. */
  readonly mergedFrom?: readonly string[];
}

/** Something in a folder that was left out of the read, with the file and what to do. */
export interface FolderNotice {
  /** The file (or folder) concerned. */
  readonly file: string;
  /** `stray`, `other-settings`, `unlisted`, `other-shard` or `derived-stale`. */
  readonly kind: "stray" | "other-settings" | "unlisted" | "other-shard" | "derived-stale";
  /** One sentence: what is wrong and what to do. */
  readonly message: string;
}

/** A folder that cannot be read until the files it names are fixed; `problems` lists them all. */
export class FolderError extends Error {
  /** Every problem found, each naming its file and the fix. */
  readonly problems: readonly string[];
  /** Builds the error from its problems. */
  constructor(dir: string, problems: readonly string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `${dir}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "FolderError";
    this.problems = problems;
  }
}

/** What {@link readFolder} returns. */
export interface FolderView {
  /** The folder. */
  readonly dir: string;
  /** Its listing (settings, activations, seeds). */
  readonly listing: Listing;
  /** The trials the listing names and the folder holds, in listing order (activation-major). */
  readonly trials: readonly TrialResult[];
  /** Listed trials (of the folder's shard, if it has one) not finished here. */
  readonly missing: readonly TrialSpec[];
  /** Files left out of the read, each with a reason. */
  readonly notices: readonly FolderNotice[];
}

const TRIAL_NAME = /^(.+)__seed(-?\d+)\.json$/;

/**
 * The file name of a trial's record: the activation with characters outside `[a-z0-9_.=-]`
 * replaced by `_`, then `__seed<k>.json`.
 *
 * @example
 * ```ts
 * import { trialFileName } from "@actlab/actlab/sweep";
 * trialFileName({ activation: "leaky_relu(slope=0.2)", seed: 3 }); // "leaky_relu_slope=0.2___seed3.json"
 * ```
 */
export function trialFileName(t: TrialSpec): string {
  return `${t.activation.replace(/[^a-z0-9_.=-]/gi, "_")}__seed${t.seed}.json`;
}

/**
 * The path of a trial's record in folder `dir`.
 *
 * @example
 * ```ts
 * import { trialPath } from "@actlab/actlab/sweep";
 * trialPath("runs/a", { activation: "relu", seed: 1 }); // "runs/a/trials/relu__seed1.json"
 * ```
 */
export function trialPath(dir: string, t: TrialSpec): string {
  return `${dir}/${TRIALS_DIR}/${trialFileName(t)}`;
}

/**
 * The suffix of a shard's derived files: `.shard<i>of<n>`, or nothing without a shard.
 *
 * @example
 * ```ts
 * import { shardSuffix } from "@actlab/actlab/sweep";
 * shardSuffix({ index: 1, count: 4 }); // ".shard1of4"
 * ```
 */
export function shardSuffix(shard?: Shard): string {
  return shard ? `.shard${shard.index}of${shard.count}` : "";
}

/**
 * The path of a folder's summary table: `summary.csv` when every trial it covers is finished,
 * `summary.partial.csv` while some are missing (shards: `summary.shard<i>of<n>[.partial].csv`).
 *
 * @example
 * ```ts
 * import { summaryPath } from "@actlab/actlab/sweep";
 * summaryPath("runs/a", undefined, false); // "runs/a/summary.partial.csv"
 * ```
 */
export function summaryPath(dir: string, shard: Shard | undefined, complete: boolean): string {
  return `${dir}/summary${shardSuffix(shard)}${complete ? "" : ".partial"}.csv`;
}

/**
 * Checks a folder path a user gave (`--out`, a merge target, a notebook's `out`) before anything
 * is written: not empty, not the filesystem root, not an existing file, not below a file, no
 * symlink loop. Returns the path; throws an error naming it and the fix.
 *
 * @example
 * ```ts
 * import { checkFolderPath } from "@actlab/actlab/sweep";
 * await checkFolderPath("results/sweep"); // "results/sweep"
 * let message = "";
 * try { await checkFolderPath(""); } catch (e) { message = (e as Error).message; }
 * console.assert(message.includes("empty"));
 * ```
 */
export async function checkFolderPath(path: string, what = "--out"): Promise<string> {
  if (typeof path !== "string" || path.trim() === "") {
    throw new Error(`${what} is empty: give a folder for the results, e.g. results/sweep.`);
  }
  if (path.includes("\0")) throw new Error(`${what} ${JSON.stringify(path)} contains a NUL byte.`);
  if (resolve(path) === resolve("/")) {
    throw new Error(`${what} ${path} is the filesystem root: give a folder of its own.`);
  }
  try {
    const info = await Deno.stat(path);
    if (!info.isDirectory) {
      throw new Error(
        `${what} ${path} exists and is a file, not a folder: give a folder (or move the file).`,
      );
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return path;
    if (e instanceof Deno.errors.NotADirectory) {
      throw new Error(`${what} ${path}: a part of the path is a file, not a folder.`);
    }
    if (e instanceof Deno.errors.FilesystemLoop) {
      throw new Error(`${what} ${path}: the path has a symlink loop; fix or remove the link.`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`${what} ${path}: permission denied; choose a folder you can write.`);
    }
    throw e;
  }
  return path;
}

/** The text of a file, or undefined when it does not exist. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Writes `text` to `path` atomically, unless the file already holds exactly that text: reading
 * and re-running committed results leaves them untouched.
 *
 * @example
 * ```ts
 * import { writeIfChanged } from "@actlab/actlab/sweep";
 * const dir = await Deno.makeTempDir();
 * console.assert(await writeIfChanged(`${dir}/a.txt`, "x") === true);
 * console.assert(await writeIfChanged(`${dir}/a.txt`, "x") === false);
 * ```
 */
export async function writeIfChanged(path: string, text: string): Promise<boolean> {
  if ((await readText(path)) === text) return false;
  await writeTextAtomic(path, text);
  return true;
}

/**
 * Removes a file if it exists; true when there was one to remove.
 *
 * @example
 * ```ts
 * import { removeIfPresent } from "@actlab/actlab/sweep";
 * console.assert(!(await removeIfPresent("/tmp/no-such-file-here")));
 * ```
 */
export async function removeIfPresent(path: string): Promise<boolean> {
  return await Deno.remove(path).then(() => true, (e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return false;
  });
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((v) => typeof v === "string" && v !== "");
}

/**
 * Reads and checks `dir/sweep.json`: undefined when the folder has none; an error naming the file
 * when it is not JSON, lacks a field, or its key does not match its settings (edited by hand).
 *
 * @example
 * ```ts ignore
 * import { readListing } from "@actlab/actlab/sweep";
 * const listing = await readListing("notebooks/results/03_activation_sweep");
 * console.log(listing?.activations.length, listing?.key);
 * ```
 */
export async function readListing(dir: string): Promise<Listing | undefined> {
  const path = `${dir}/${LISTING_FILE}`;
  const text = await readText(path);
  if (text === undefined) return undefined;
  const fail = (what: string): never => {
    throw new FolderError(dir, [
      `${path}: ${what}. It is written by the sweep; restore it from version control, or ` +
      `delete the folder to start over.`,
    ]);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("not an object");
  const o = value as Record<string, unknown>;
  for (const k of ["preset", "dataset", "engine", "device", "key"]) {
    if (typeof o[k] !== "string") fail(`"${k}" is missing or not text`);
  }
  if (typeof o.train !== "object" || o.train === null) fail(`"train" is missing`);
  if (o.activations !== undefined && !isStringArray(o.activations)) {
    fail(`"activations" is not a list of names`);
  }
  if (
    o.seeds !== undefined &&
    !(Array.isArray(o.seeds) && o.seeds.every((s) => Number.isSafeInteger(s)))
  ) fail(`"seeds" is not a list of integers`);
  const key = await settingsKey(o);
  if (key !== o.key) {
    fail(
      `its key ${o.key} does not match its settings (they hash to ${key}): the file was edited, ` +
        `so its trials cannot be told apart from those of other settings`,
    );
  }
  return { activations: [], seeds: [], ...o } as unknown as Listing;
}

/**
 * Writes `dir/sweep.json` (pretty JSON, a final newline) unless it already says the same.
 *
 * @example
 * ```ts ignore
 * import { writeListing } from "@actlab/actlab/sweep";
 * await writeListing("runs/a", { ...settings, activations: ["relu"], seeds: [1, 2] });
 * ```
 */
export async function writeListing(dir: string, listing: Listing): Promise<void> {
  const path = `${dir}/${LISTING_FILE}`;
  const text = await readText(path);
  if (text !== undefined) {
    try {
      if (JSON.stringify(JSON.parse(text)) === JSON.stringify(listing)) return;
    } catch {
      // damaged: rewritten below
    }
  }
  await writeTextAtomic(path, JSON.stringify(listing, null, 2) + "\n");
}

/**
 * Writes a trial's record to `dir/trials/` (atomically).
 *
 * @example
 * ```ts ignore
 * import { writeTrial } from "@actlab/actlab/sweep";
 * await writeTrial("runs/a", result);
 * ```
 */
export async function writeTrial(dir: string, trial: TrialResult): Promise<void> {
  await writeTextAtomic(trialPath(dir, trial), JSON.stringify(trial));
}

/** Vocabulary sizes a parameter count allows for these settings and activation (tied or not). */
function vocabFromParams(listing: Listing, activation: string, params: number): number {
  const def = getActivation(activation);
  const count = (v: number) =>
    gptParamSpecs(
      gptConfig({
        preset: listing.preset,
        vocabSize: v,
        activation,
        ...((listing.model ?? {}) as Record<string, unknown>),
      }),
      def,
    ).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const p2 = count(2);
  return 2 + (params - p2) / (count(3) - p2);
}

/**
 * What a record contradicts in its folder's settings: a completed trial that stopped at another
 * step than the settings train, or a parameter count no vocabulary explains for the model the
 * settings describe. Undefined when it fits (or when its activation is not registered here, so
 * the model cannot be rebuilt).
 */
function contradiction(t: TrialResult, listing: Listing): string | undefined {
  const iters = settingsIters(listing);
  const last = t.evals.at(-1)?.iter;
  if (t.status === "completed" && last !== iters) {
    return `its last evaluation is at step ${last}, but these settings train ${iters} steps`;
  }
  let vocab: number;
  try {
    vocab = vocabFromParams(listing, t.activation, t.params);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(vocab) || vocab < 2) {
    return `its ${t.params} parameters do not fit the model these settings describe`;
  }
  return undefined;
}

/** Options of {@link readFolder}. */
export interface ReadFolderOptions {
  /** Read with this listing instead of the folder's own (a sweep about to run, its union). */
  readonly listing?: Listing;
  /** Also compare the derived `trials.jsonl` with the records (default true). */
  readonly checkDerived?: boolean;
}

/**
 * Reads a sweep folder through its listing, checking every record (see the module doc): the
 * trials the listing names, those listed but missing, and what was left out and why. Throws a
 * {@link FolderError} naming every file that cannot be trusted; throws when the folder has no
 * listing.
 *
 * @example
 * ```ts ignore
 * import { readFolder } from "@actlab/actlab/sweep";
 * const view = await readFolder("notebooks/results/03_activation_sweep");
 * console.log(view.trials.length, view.missing.length, view.notices.map((n) => n.message));
 * ```
 */
export async function readFolder(
  dir: string,
  options: ReadFolderOptions = {},
): Promise<FolderView> {
  const listing = options.listing ?? await readListing(dir);
  if (!listing) {
    throw new FolderError(dir, [
      `${dir} is not a sweep folder (no ${LISTING_FILE}): give the --out folder of a sweep, or ` +
      `run the sweep first (deno task sweep --out DIR).`,
    ]);
  }
  const errors: string[] = [];
  const notices: FolderNotice[] = [];
  const found = new Map<string, TrialResult>();
  const entries = await Array.fromAsync(Deno.readDir(`${dir}/${TRIALS_DIR}`)).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  });
  const names = entries.map((e) => e.name).sort();
  for (const name of names) {
    const file = `${dir}/${TRIALS_DIR}/${name}`;
    const m = TRIAL_NAME.exec(name);
    const entry = entries.find((e) => e.name === name)!;
    if (!entry.isFile || !m) {
      notices.push({
        file,
        kind: "stray",
        message: `${file} is not a trial record (${
          name.endsWith(".tmp")
            ? "a temporary file of an interrupted write"
            : entry.isFile
            ? "records are named <activation>__seed<k>.json"
            : "not a file"
        }): left out; delete it.`,
      });
      continue;
    }
    let record: TrialResult;
    try {
      const text = await Deno.readTextFile(file);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new Error(
          `${file}: not valid JSON (${e instanceof Error ? e.message : e}), e.g. a write cut ` +
            `short. Delete it to rerun that trial.`,
        );
      }
      record = checkTrialRecord(value, file);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    if (trialFileName(record) !== name) {
      errors.push(
        `${file}: holds ${record.activation} seed ${record.seed}, but its name says otherwise ` +
          `(a copy or a renamed file; that trial's record is ${trialFileName(record)}). Delete it.`,
      );
      continue;
    }
    if (record.settings !== listing.key) {
      notices.push({
        file,
        kind: "other-settings",
        message: `${file} was trained under other settings (key ${record.settings}, this ` +
          `folder's is ${listing.key}): left out; move it to its own folder or delete it.`,
      });
      continue;
    }
    const listed = listing.activations.includes(record.activation) &&
      listing.seeds.includes(record.seed);
    if (!listed) {
      notices.push({
        file,
        kind: "unlisted",
        message: `${file}: ${record.activation} seed ${record.seed} is not among the trials ` +
          `${LISTING_FILE} lists (${listing.activations.join(", ")} × seeds ` +
          `${listing.seeds.join(", ")}): left out of every table.`,
      });
      continue;
    }
    if (!inShard(record, listing.activations, listing.seeds, listing.shard)) {
      notices.push({
        file,
        kind: "other-shard",
        message: `${file} belongs to another shard than this folder's ` +
          `(${listing.shard?.index}/${listing.shard?.count}): left out; merge the shard folders ` +
          `instead of copying records between them.`,
      });
      continue;
    }
    const wrong = contradiction(record, listing);
    if (wrong) {
      errors.push(
        `${file}: ${wrong} (${describeSettings(listing)}): it was not trained under this ` +
          `folder's settings. Delete it to rerun that trial.`,
      );
      continue;
    }
    found.set(name, record);
  }
  if (errors.length) throw new FolderError(dir, errors);
  const wanted = sweepTrials(listing.activations, listing.seeds);
  const trials = wanted.flatMap((t) => found.get(trialFileName(t)) ?? []);
  const missing = sweepTrials(listing.activations, listing.seeds, listing.shard)
    .filter((t) => !found.has(trialFileName(t)));
  if (options.checkDerived !== false) {
    const stale = await staleJsonl(dir, listing.shard, trials);
    if (stale) notices.push(stale);
  }
  return { dir, listing, trials, missing, notices };
}

/**
 * The notice for a `trials.jsonl` that disagrees with the records (a damaged line, a trial too
 * many or too few); undefined when it agrees or does not exist.
 */
async function staleJsonl(
  dir: string,
  shard: Shard | undefined,
  trials: readonly TrialResult[],
): Promise<FolderNotice | undefined> {
  const file = `${dir}/trials${shardSuffix(shard)}.jsonl`;
  const text = await readText(file);
  if (text === undefined) return undefined;
  const expected = trials.map((t) => JSON.stringify(t));
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  let why: string | undefined;
  for (const [i, line] of lines.entries()) {
    try {
      const t = checkTrialRecord(JSON.parse(line), `${file}:${i + 1}`);
      if (!expected.includes(JSON.stringify(t))) why = `line ${i + 1} matches no record in trials/`;
    } catch (e) {
      why = `line ${i + 1} is damaged (${e instanceof Error ? e.message : e})`;
    }
    if (why) break;
  }
  if (!why && lines.length !== expected.length) {
    why = `it has ${lines.length} lines for ${expected.length} records`;
  }
  if (!why) return undefined;
  return {
    file,
    kind: "derived-stale",
    message: `${file} disagrees with trials/: ${why}. It is derived (the records in trials/ are ` +
      `what is read); the next sweep run rebuilds it.`,
  };
}

/**
 * Writes a folder's derived files from its records: `trials[…].jsonl` (the finished trials in
 * sweep order) and the summary CSV as `summary[…].csv` when nothing is missing, else as
 * `summary[…].partial.csv` (the other name removed, so a stale table never looks final). Files
 * that would not change are left alone.
 *
 * @example
 * ```ts ignore
 * import { writeDerived } from "@actlab/actlab/sweep";
 * await writeDerived("runs/a", undefined, view.trials, csv, view.missing.length === 0);
 * ```
 */
export async function writeDerived(
  dir: string,
  shard: Shard | undefined,
  trials: readonly TrialResult[],
  summaryCsv: string,
  complete: boolean,
): Promise<string> {
  const lines = trials.map((t) => JSON.stringify(t));
  await writeIfChanged(
    `${dir}/trials${shardSuffix(shard)}.jsonl`,
    lines.length ? lines.join("\n") + "\n" : "",
  );
  const path = summaryPath(dir, shard, complete);
  await writeIfChanged(path, summaryCsv);
  await removeIfPresent(summaryPath(dir, shard, !complete));
  return path;
}

/**
 * The sub-folders of `dir` that are sweep folders (hold a `sweep.json`): a grid's other cells.
 *
 * @example
 * ```ts ignore
 * import { cellFolders } from "@actlab/actlab/sweep";
 * await cellFolders("notebooks/results/03_activation_sweep"); // ["lr=0.0003", "lr=0.003", "lr=0.01"]
 * ```
 */
export async function cellFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory || e.name === TRIALS_DIR || e.name.startsWith(".")) continue;
    if ((await readText(`${dir}/${e.name}/${LISTING_FILE}`)) !== undefined) out.push(e.name);
  }
  return out.sort();
}
