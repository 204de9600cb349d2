/**
 * What the two optimizers share across engines: which parameters Muon takes, the names and shapes
 * of every optimizer buffer, and the state a checkpoint carries so that a stopped run continues
 * bit for bit.
 *
 * Buffer names are those of the compiled step's graph inputs (`lib/onnx/train_graph.ts`):
 * `adam_m/<key>` and `adam_v/<key>` (AdamW's first and second moments), `muon_m/<key>` (Muon's
 * momentum), `<key>` a parameter's checkpoint key. Both engines use them, so a state saved on
 * one loads on the other.
 *
 * @module
 */
import type { RngState } from "../core/rng.ts";
import { type OptimizerName, optimizerSettings, type TrainConfig } from "./config.ts";

/** A parameter as far as the optimizer cares: its checkpoint key and shape. */
export interface OptimizerParam {
  /** Checkpoint key, e.g. `h.0.mlp.c_fc.weight`. */
  readonly name: string;
  /** Shape. */
  readonly shape: readonly number[];
}

/**
 * Whether Muon updates this parameter when the optimizer is `muon`: a 2-D weight inside a
 * transformer block (`h.<i>.…`: the attention and MLP projections). Embeddings, the untied head,
 * LayerNorm gains, biases and trainable activation parameters go to AdamW, as Keller Jordan's
 * `Muon` asks ("only for hidden weight layers", KellerJordan/Muon `muon.py`) and nanochat splits
 * them (`transformer.h` matrices to Muon, `gpt.py` `setup_optimizers`).
 *
 * @example
 * ```ts
 * import { isMuonParam } from "./optimizer.ts";
 * console.assert(isMuonParam({ name: "h.0.mlp.c_fc.weight", shape: [32, 128] }));
 * console.assert(!isMuonParam({ name: "wte.weight", shape: [65, 32] }));
 * console.assert(!isMuonParam({ name: "h.0.ln_1.weight", shape: [32] }));
 * ```
 */
export function isMuonParam(param: OptimizerParam): boolean {
  return param.name.startsWith("h.") && param.shape.length === 2;
}

/** One optimizer buffer: its name, the parameter it belongs to and its shape (the parameter's). */
export interface OptimizerBuffer {
  /** `adam_m/<key>`, `adam_v/<key>` or `muon_m/<key>`. */
  readonly name: string;
  /** The parameter's checkpoint key. */
  readonly param: string;
  /** Shape. */
  readonly shape: readonly number[];
}

/**
 * Names of the AdamW moments of parameter `name`.
 *
 * @example
 * ```ts
 * import { adamBufferNames } from "./optimizer.ts";
 * console.assert(adamBufferNames("wte.weight").v === "adam_v/wte.weight");
 * ```
 */
export const adamBufferNames = (name: string): { m: string; v: string } => ({
  m: `adam_m/${name}`,
  v: `adam_v/${name}`,
});

/**
 * Name of the Muon momentum buffer of parameter `name`.
 *
 * @example
 * ```ts
 * import { muonBufferName } from "./optimizer.ts";
 * console.assert(muonBufferName("h.0.attn.c_attn.weight") === "muon_m/h.0.attn.c_attn.weight");
 * ```
 */
export const muonBufferName = (name: string): string => `muon_m/${name}`;

/**
 * Every buffer the config's optimizer keeps for `params`, in parameter order: AdamW's two moments
 * per parameter, or with Muon one momentum per hidden matrix and AdamW's moments for the rest.
 *
 * @example
 * ```ts
 * import { optimizerBuffers } from "./optimizer.ts";
 * const params = [{ name: "wte.weight", shape: [10, 4] }, { name: "h.0.mlp.c_fc.weight", shape: [4, 16] }];
 * const names = optimizerBuffers(params, { optimizer: "muon" }).map((b) => b.name);
 * console.assert(names.join() === "adam_m/wte.weight,adam_v/wte.weight,muon_m/h.0.mlp.c_fc.weight");
 * ```
 */
export function optimizerBuffers(
  params: readonly OptimizerParam[],
  config: Pick<TrainConfig, "optimizer">,
): OptimizerBuffer[] {
  const muon = optimizerSettings(config).optimizer === "muon";
  return params.flatMap((p) => {
    const shape = [...p.shape];
    if (muon && isMuonParam(p)) return [{ name: muonBufferName(p.name), param: p.name, shape }];
    const { m, v } = adamBufferNames(p.name);
    return [{ name: m, param: p.name, shape }, { name: v, param: p.name, shape }];
  });
}

/** An optimizer's state: which optimizer, the steps it took and its buffers (host copies). */
export interface OptimizerState {
  /** The optimizer. */
  readonly optimizer: OptimizerName;
  /** Steps taken (AdamW's t: its bias corrections continue from here). */
  readonly step: number;
  /** Every buffer by name (see {@link optimizerBuffers}). */
  readonly buffers: ReadonlyMap<string, Float32Array>;
}

/**
 * Refuses a state that does not belong to this optimizer: another optimizer, a missing, extra or
 * misshapen buffer, a step count that is not a whole number. `expected` are the optimizer's
 * buffers ({@link optimizerBuffers}); `where` starts the message.
 *
 * @example
 * ```ts
 * import { checkOptimizerState, optimizerBuffers } from "./optimizer.ts";
 * const expected = optimizerBuffers([{ name: "b", shape: [2] }], {});
 * const buffers = new Map([["adam_m/b", new Float32Array(2)], ["adam_v/b", new Float32Array(2)]]);
 * checkOptimizerState({ optimizer: "adamw", step: 3, buffers }, "adamw", expected, "here"); // fine
 * let message = "";
 * try { checkOptimizerState({ optimizer: "muon", step: 3, buffers }, "adamw", expected, "here"); }
 * catch (e) { message = (e as Error).message; }
 * console.assert(message.startsWith("here: the state is muon's"));
 * ```
 */
export function checkOptimizerState(
  state: OptimizerState,
  optimizer: OptimizerName,
  expected: readonly OptimizerBuffer[],
  where: string,
): void {
  if (state.optimizer !== optimizer) {
    throw new Error(
      `${where}: the state is ${state.optimizer}'s but the optimizer is ${optimizer}; resume ` +
        `with the optimizer the run was started with`,
    );
  }
  if (!Number.isSafeInteger(state.step) || state.step < 0) {
    throw new Error(`${where}: the state's step count ${state.step} is not a whole number ≥ 0`);
  }
  const problems: string[] = [];
  for (const b of expected) {
    const data = state.buffers.get(b.name);
    const size = b.shape.reduce((x, y) => x * y, 1);
    if (!data) problems.push(`${b.name} is missing`);
    else if (data.length !== size) {
      problems.push(`${b.name} holds ${data.length} values, the parameter ${size}`);
    }
  }
  const known = new Set(expected.map((b) => b.name));
  for (const name of state.buffers.keys()) {
    if (!known.has(name)) problems.push(`${name} belongs to no parameter here`);
  }
  if (problems.length) {
    throw new Error(`${where}: the optimizer state does not fit: ${problems.join("; ")}`);
  }
}

/**
 * Everything a stopped run needs to continue as if it had not stopped, besides the weights: the
 * training config, where the schedule is, the optimizer's state and both generators' positions
 * (batches, and evaluation batches, so that evaluations after the restart see the batches an
 * uninterrupted run would). Taken between steps, before that step's evaluation.
 */
export interface TrainState {
  /** The complete training config (the schedule depends on all of it). */
  readonly config: TrainConfig;
  /** Steps taken: the run continues with step `iter` of the schedule. */
  readonly iter: number;
  /** The optimizer's state. */
  readonly optimizer: OptimizerState;
  /** The training-batch generator. */
  readonly batchRng: RngState;
  /** The evaluation-batch generator. */
  readonly evalRng: RngState;
  /** Tokens in the training and validation splits (a resumed run must read the same data). */
  readonly dataTokens: readonly [train: number, val: number];
}
