/**
 * Worker entry of parallel sweeps (`sweep({ jobs })`): receives the dataset, the tfjs backend and
 * the sweep's settings once, then runs the trials it is sent, one at a time, with the same
 * `runTrial` as the sweep's own thread, and posts each step, evaluation and result back.
 *
 * @module
 */
import { CharTokenizer } from "../core/tokenizer.ts";
import { type BackendName, initEngine } from "../engine/tfjs.ts";
import {
  runTrial,
  type SweepSettings,
  type SweepTrainOverrides,
  type TrialSpec,
} from "./_trial.ts";

/** The first message: everything the trials share. */
export interface WorkerInit {
  readonly type: "init";
  readonly data: {
    readonly name: string;
    readonly vocab: readonly string[];
    readonly train: Int32Array;
    readonly val: Int32Array;
  };
  readonly backend: BackendName;
  readonly settings: SweepSettings;
  readonly train: SweepTrainOverrides;
}

/** Then one message per trial. */
export interface WorkerRun {
  readonly type: "run";
  readonly spec: TrialSpec;
}

const scope = self as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent<WorkerInit | WorkerRun>) => void) | null;
};

let init: WorkerInit | undefined;
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(async () => {
    try {
      if (msg.type === "init") {
        init = msg;
        await initEngine({ backend: msg.backend });
        scope.postMessage({ type: "ready" });
        return;
      }
      if (!init) throw new Error("trial worker: run before init");
      const d = init.data;
      const data = {
        name: d.name,
        text: "",
        tokenizer: new CharTokenizer(d.vocab),
        train: d.train,
        val: d.val,
      };
      const result = await runTrial(data, msg.spec, init.settings, init.train, {
        onStep: (info) => scope.postMessage({ type: "step", info }),
        onEval: (info) => scope.postMessage({ type: "eval", info }),
        onNotice: (message) => scope.postMessage({ type: "notice", message }),
      });
      scope.postMessage({ type: "done", result });
    } catch (err) {
      scope.postMessage({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
  });
};
