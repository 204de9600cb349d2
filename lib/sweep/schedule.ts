/**
 * Scheduling trials: one at a time in this thread, or `jobs` workers side by side, each taking the
 * next trial when it finishes one. The trials may come from several folders of different settings
 * (a study runs every cell of a round in one pool). Each finished trial is handed to `record`
 * (which writes it) before `onTrial` hears of it, and a stop (`signal`) abandons the running
 * trials, which stay in `running` so the caller can say they were discarded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SweepData } from "./data.ts";
import type { BackendName } from "../engine/tfjs.ts";
import type { EvalInfo, StepInfo } from "../gpt/step.ts";
import type { SweepTrainOverrides } from "./options.ts";
import type { CodeProvenance } from "./provenance.ts";
import type { SweepSettings, TrialResult, TrialSpec } from "./record.ts";
import { runTrial } from "./trial.ts";
import type { WorkerInit, WorkerRun } from "./_trial_worker.ts";

/** One trial to run: what, under which settings and training overrides. */
export interface ScheduledTrial {
  /** The activation and seed. */
  readonly spec: TrialSpec;
  /** The data it trains on (the trials of one run may use several). */
  readonly data: SweepData;
  /** The settings of its folder. */
  readonly settings: SweepSettings;
  /** Its training overrides. */
  readonly train: SweepTrainOverrides;
  /** Its index among its folder's trials, and their number (for progress). */
  readonly index: number;
  /** Its folder's number of trials. */
  readonly total: number;
}

/** Who hears about running trials. */
export interface ScheduleObservers {
  /** A trial starts in worker `slot` (0 with one job). */
  readonly onTrialStart?: (trial: TrialSpec, index: number, total: number, slot: number) => void;
  /** A step of a running trial. */
  readonly onStep?: (trial: TrialSpec, info: StepInfo) => void | Promise<void>;
  /** An evaluation of a running trial. */
  readonly onEval?: (trial: TrialSpec, info: EvalInfo) => void | Promise<void>;
  /** A trial finished (and was recorded). */
  readonly onTrial?: (result: TrialResult, skipped: boolean) => void | Promise<void>;
  /** Stops the run: running trials are abandoned. */
  readonly signal?: AbortSignal;
}

/** What a scheduler needs: the trials (each with its data), how to run them, where results go. */
export interface Schedule {
  /** The trials to run, in order. */
  readonly trials: readonly ScheduledTrial[];
  /** Trials side by side. */
  readonly jobs: number;
  /** The code's provenance, recorded with each trial. */
  readonly code: CodeProvenance;
  /** Indexes into `trials` running now (left holding those abandoned at a stop). */
  readonly running: Set<number>;
  /** Records a finished trial (written before `onTrial` hears of it). */
  readonly record: (i: number, result: TrialResult) => Promise<void>;
  /** Notices of the running trials. */
  readonly notice: (message: string) => void;
  /** Observers and the stop signal. */
  readonly observers: ScheduleObservers;
}

/**
 * Runs the schedule's trials: in this thread when `jobs` is 1, else in `jobs` workers.
 *
 * @example
 * ```ts ignore
 * import { runSchedule } from "./schedule.ts";
 * await runSchedule({ data, trials, jobs: 2, code, running, record, notice, observers: {} });
 * ```
 */
export function runSchedule(s: Schedule): Promise<void> {
  return s.jobs === 1 ? runHere(s) : runInWorkers(s);
}

/** One trial at a time in this thread. */
async function runHere(s: Schedule): Promise<void> {
  const o = s.observers;
  for (const [i, t] of s.trials.entries()) {
    if (o.signal?.aborted) return;
    o.onTrialStart?.(t.spec, t.index, t.total, 0);
    s.running.add(i);
    const result = await runTrial(t.data, t.spec, t.settings, t.train, {
      signal: o.signal,
      onStep: (info) => o.onStep?.(t.spec, info),
      onEval: (info) => o.onEval?.(t.spec, info),
      onNotice: s.notice,
      code: s.code,
    });
    if (!result) return; // interrupted: not a result; `running` keeps it as discarded
    s.running.delete(i);
    await s.record(i, result);
    await o.onTrial?.(result, false);
  }
}

type Message = { type: string; [k: string]: unknown };

/** A trial worker: its messages, read in order. */
class TrialWorker {
  readonly #worker: Worker;
  readonly #inbox: Message[] = [];
  #wake: (() => void) | undefined;

  constructor(readonly index: number) {
    const url = new URL("./_trial_worker.ts", import.meta.url).href;
    this.#worker = new Worker(url, { type: "module", name: `trial-worker-${index}` });
    this.#worker.onmessage = (e) => this.#push(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#push({ type: "error", message: e.message });
    };
  }

  #push(m: Message): void {
    this.#inbox.push(m);
    this.#wake?.();
  }

  /** The next message, waiting for one if none is there. */
  async next(): Promise<Message> {
    while (this.#inbox.length === 0) await new Promise<void>((res) => (this.#wake = res));
    return this.#inbox.shift()!;
  }

  post(message: WorkerInit | WorkerRun): void {
    this.#worker.postMessage(message);
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/** Runs one trial in `worker`, relaying its steps, evaluations and notices; returns its result. */
async function runOne(
  worker: TrialWorker,
  s: Schedule,
  t: ScheduledTrial,
  dataset: number,
): Promise<TrialResult> {
  const o = s.observers;
  worker.post({ type: "run", spec: t.spec, dataset, settings: t.settings, train: t.train });
  for (;;) {
    const msg = await worker.next();
    if (msg.type === "step") await o.onStep?.(t.spec, msg.info as StepInfo);
    else if (msg.type === "eval") await o.onEval?.(t.spec, msg.info as EvalInfo);
    else if (msg.type === "notice") s.notice(msg.message as string);
    else if (msg.type === "error") {
      throw new Error(
        `Trial ${t.spec.activation} seed ${t.spec.seed} failed in worker ${worker.index}: ` +
          `${msg.message}`,
      );
    } else if (msg.type === "done") return msg.result as TrialResult;
  }
}

/** `jobs` workers, each taking the next trial when it finishes one. */
async function runInWorkers(s: Schedule): Promise<void> {
  const o = s.observers;
  const queue = [...s.trials.keys()];
  const workers: TrialWorker[] = [];
  // Every distinct dataset of the run, sent once to each worker; a trial names its index.
  const datasets = [...new Set(s.trials.map((t) => t.data))];
  const init: WorkerInit = {
    type: "init",
    datasets: datasets.map((d) => ({
      name: d.name,
      tokenizer: d.tokenizer.describe(),
      train: d.train,
      val: d.val,
    })),
    backend: tf.getBackend() as BackendName,
    code: s.code,
  };
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onAbort = () => stop!();
  o.signal?.addEventListener("abort", onAbort);
  const slot = async (index: number): Promise<void> => {
    const worker = new TrialWorker(index);
    workers.push(worker);
    worker.post(init);
    const ready = await worker.next();
    if (ready.type === "error") throw new Error(`trial worker ${index}: ${ready.message}`);
    while (queue.length > 0 && !o.signal?.aborted) {
      const i = queue.shift()!;
      const t = s.trials[i];
      o.onTrialStart?.(t.spec, t.index, t.total, index);
      s.running.add(i);
      const result = await runOne(worker, s, t, datasets.indexOf(t.data));
      s.running.delete(i);
      await s.record(i, result);
      await o.onTrial?.(result, false);
    }
  };
  try {
    if (o.signal?.aborted) return;
    const slots = Array.from({ length: s.jobs }, (_, i) => slot(i));
    await Promise.race([Promise.all(slots), stopped]);
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    for (const w of workers) w.terminate();
  }
}
