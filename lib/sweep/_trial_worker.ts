/**
 * Worker entry of parallel sweeps (`sweep({ jobs })`, studies): receives the dataset, the tfjs
 * backend and the code's provenance once, then runs the trials it is sent (each with its own
 * settings), one at a time, with the same `runTrial` as the sweep's own thread, and posts each
 * step, evaluation and result back.
 *
 * @module
 */
import type { Tokenizer, TokenizerDescription } from "../core/tokenizer.ts";
import { tokenizerFromDescription } from "../core/tokenizers.ts";
import { type BackendName, initEngine } from "../engine/tfjs.ts";
import type { SweepTrainOverrides } from "./options.ts";
import type { CodeProvenance } from "./provenance.ts";
import type { SweepSettings, TrialSpec } from "./record.ts";
import { runTrial } from "./trial.ts";

/** The first message: everything the trials share, and every dataset they train on. */
export interface WorkerInit {
  readonly type: "init";
  readonly datasets: readonly {
    readonly name: string;
    readonly tokenizer: TokenizerDescription;
    readonly train: Int32Array;
    readonly val: Int32Array;
  }[];
  readonly backend: BackendName;
  readonly code: CodeProvenance;
}

/** Then one message per trial: which, on which dataset (an index), under which settings. */
export interface WorkerRun {
  readonly type: "run";
  readonly spec: TrialSpec;
  readonly dataset: number;
  readonly settings: SweepSettings;
  readonly train: SweepTrainOverrides;
}

const scope = self as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent<WorkerInit | WorkerRun>) => void) | null;
};

let init: WorkerInit | undefined;
const built = new Map<number, Tokenizer>(); // a dataset's tokenizer, rebuilt once per worker
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
      const d = init.datasets[msg.dataset];
      const data = {
        name: d.name,
        tokenizer: built.get(msg.dataset) ??
          built.set(msg.dataset, tokenizerFromDescription(d.tokenizer)).get(msg.dataset)!,
        train: d.train,
        val: d.val,
      };
      const result = await runTrial(data, msg.spec, msg.settings, msg.train, {
        onStep: (info) => scope.postMessage({ type: "step", info }),
        onEval: (info) => scope.postMessage({ type: "eval", info }),
        onNotice: (message) => scope.postMessage({ type: "notice", message }),
        code: init.code,
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
