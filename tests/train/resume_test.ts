/**
 * A stopped run, saved to a checkpoint and resumed, equals the run that was never stopped: the
 * same step losses, evaluations and final weights, bit for bit on the same engine — for AdamW and
 * Muon, on tfjs and ONNX Runtime, with dropout. Resuming another run's state is refused.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import { createGpt, type Gpt, gptConfig, type TrainState } from "../../lib/gpt/mod.ts";
import { checkpointBytes, checkpointFromBytes } from "../../lib/gpt/checkpoint.ts";
import { trainGpt, type TrainOptions, type TrainResult } from "../../lib/train/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 20_000 });
const options = { sanitizeOps: false, sanitizeResources: false };

async function weightsOf(model: Gpt): Promise<Float32Array[]> {
  const out = [];
  for (const s of model.specs) out.push(await model.variables.get(s.name)!.data() as Float32Array);
  return out;
}

const CASES = [
  { engine: "tfjs", optimizer: "adamw", dropout: 0 },
  { engine: "tfjs", optimizer: "muon", dropout: 0.1 },
  { engine: "ort", optimizer: "adamw", dropout: 0.1 },
  { engine: "ort", optimizer: "muon", dropout: 0 },
] as const;

for (const c of CASES) {
  Deno.test({
    name: `${c.engine}, ${c.optimizer}, dropout ${c.dropout}: stopped at step 7, saved and ` +
      `resumed (also from step 5) equals the uninterrupted run bit for bit`,
    ...options,
    async fn() {
      const config = gptConfig({
        preset: "tiny",
        vocabSize: ds.tokenizer.size,
        dropout: c.dropout,
      });
      const train: TrainOptions = {
        preset: "tiny",
        iters: 16,
        evalEvery: 4,
        evalIters: 2,
        optimizer: c.optimizer,
        engine: c.engine,
        engineOptions: c.engine === "ort" ? { provider: "cpu", threads: 1 } : undefined,
        onNotice: () => {},
      };
      const straightModel = createGpt(config, { seed: 2 });
      const straight = await trainGpt(straightModel, ds, train);
      const want = await weightsOf(straightModel);
      straightModel.dispose();

      // Stopped after 7 steps, with a checkpoint every 5 steps and at the stop.
      const stopper = new AbortController();
      const saved = new Map<number, Uint8Array>();
      const stoppedModel = createGpt(config, { seed: 2 });
      const stopped = await trainGpt(stoppedModel, ds, {
        ...train,
        signal: stopper.signal,
        stateEvery: 5,
        onStep: (s) => {
          if (s.iter === 6) stopper.abort();
        },
        onState: async (state) => {
          saved.set(state.iter, await checkpointBytes(stoppedModel, { state }));
        },
      });
      stoppedModel.dispose();
      assertEquals(stopped.stopped, "aborted");
      assertEquals([...saved.keys()], [5, 7]);

      for (const [at, bytes] of saved) {
        const { model, state } = checkpointFromBytes(bytes);
        if (!state) throw new Error("the checkpoint holds no state");
        assertEquals(state.iter, at);
        assertEquals(state.optimizer.optimizer, c.optimizer);
        const resumed = await trainGpt(model, ds, { ...train, resume: state });
        const got = await weightsOf(model);
        model.dispose();
        assertEquals(stepLosses(resumed), stepLosses(straight).slice(at), `steps after ${at}`);
        const evals = (r: TrainResult) => r.evals.map((e) => [e.iter, e.trainLoss, e.valLoss]);
        assertEquals(evals(resumed), evals(straight).filter(([iter]) => iter >= at));
        got.forEach((w, i) => assertEquals(w, want[i], `weights ${i} resumed from ${at}`));
      }
    },
  });
}

function stepLosses(r: TrainResult): number[] {
  return r.steps.array("loss") as number[];
}

Deno.test({
  name: "a run is not resumed from another run's state: config, data and optimizer are checked",
  ...options,
  async fn() {
    const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size });
    const model = createGpt(config, { seed: 2 });
    let state: TrainState | undefined;
    const train: TrainOptions = { preset: "tiny", iters: 4, evalEvery: 0, evalIters: 1 };
    await trainGpt(model, ds, { ...train, onState: (s) => void (state = s) });
    if (!state) throw new Error("no state given");
    assertEquals(state.iter, 4);
    await assertRejects(
      () => trainGpt(model, ds, { ...train, learningRate: 1e-2, resume: state }),
      Error,
      "learningRate: saved 0.003, now 0.01",
    );
    await assertRejects(
      () =>
        trainGpt(model, { train: ds.train.subarray(1), val: ds.val }, { ...train, resume: state }),
      Error,
      "data: saved 18000 + 2000 tokens, now 17999 + 2000",
    );
    await assertRejects(
      () =>
        trainGpt(model, ds, {
          ...train,
          optimizer: "muon",
          resume: { ...state!, config: { ...state!.config, optimizer: "muon" } },
        }),
      Error,
      "the state is adamw's but the optimizer is muon",
    );
    // A completed run's state resumes to nothing more than its final evaluation.
    const again = await trainGpt(model, ds, { ...train, resume: state });
    assertEquals(again.steps.numRows(), 0);
    assertEquals(again.evals.map((e) => e.iter), [4]);
    model.dispose();
  },
});
