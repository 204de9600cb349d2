/**
 * What produced a trial: actlab's version and commit, the engine and its version, the device, the
 * CPU, and a numerics fingerprint of the training step — a few steps of a small fixed model with
 * the trial's activation on the trial's engine, hashed. A folder's trials can then say whether
 * today's code would compute them again: bit for bit (same hash), to float32 rounding (same values
 * within 1e-5), or not at all (the step's math changed).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../core/hash.ts";
import { createRng } from "../core/rng.ts";
import { ACTLAB_VERSION } from "../core/version.ts";
import { ortVersion } from "../engine/ort.ts";
import { ensureEngine } from "../engine/tfjs.ts";
import { gptConfig } from "../gpt/config.ts";
import { createGpt } from "../gpt/model.ts";
import { TrainingDivergedError } from "../gpt/step.ts";
import { registeredTrainEngine, trainGpt } from "../train/train.ts";
import type { NumericsFingerprint, Provenance } from "./record.ts";

/** The parts of a trial's provenance that do not depend on its engine. */
export type CodeProvenance = Pick<Provenance, "actlab" | "commit" | "deno" | "cpu">;

let code: Promise<CodeProvenance> | undefined;

/** The checkout's commit (12 hex digits, `+dirty` with uncommitted changes), if it is one. */
async function gitCommit(): Promise<string | undefined> {
  const url = new URL("../..", import.meta.url);
  if (url.protocol !== "file:") return undefined;
  const git = (args: string[]) =>
    new Deno.Command("git", { args: ["-C", fileURLToPath(url), ...args], stderr: "null" }).output();
  try {
    const head = await git(["rev-parse", "HEAD"]);
    if (!head.success) return undefined;
    const sha = new TextDecoder().decode(head.stdout).trim().slice(0, 12);
    const status = await git(["status", "--porcelain", "--untracked-files=no"]);
    const dirty = status.success && new TextDecoder().decode(status.stdout).trim() !== "";
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return undefined; // no git, or no permission to run it
  }
}

/**
 * actlab's version and commit, Deno's version and the CPU model: the same for every trial this
 * process runs (computed once).
 *
 * @example
 * ```ts
 * import { codeProvenance } from "@actlab/actlab/sweep";
 * const p = await codeProvenance();
 * console.assert(p.actlab.length > 0 && p.deno === Deno.version.deno);
 * ```
 */
export function codeProvenance(): Promise<CodeProvenance> {
  code ??= (async () => {
    const commit = await gitCommit();
    const cpu = cpus()[0]?.model?.trim();
    return {
      actlab: ACTLAB_VERSION,
      ...(commit ? { commit } : {}),
      deno: Deno.version.deno,
      ...(cpu ? { cpu } : {}),
    };
  })();
  return code;
}

/**
 * The version of a training engine: onnxruntime-node's for `ort`, tfjs-core's for `tfjs`, what a
 * registered engine declared, else `unknown`.
 *
 * @example
 * ```ts
 * import { engineVersion } from "@actlab/actlab/sweep";
 * engineVersion("tfjs"); // "4.22.0"
 * ```
 */
export function engineVersion(engine: string): string {
  if (engine === "ort") return ortVersion();
  if (engine === "tfjs") return tf.version_core;
  return registeredTrainEngine(engine)?.version ?? "unknown";
}

/** Where and how a fingerprint is taken: the trial's engine, device and threads. */
export interface FingerprintTarget {
  /** The training engine. */
  readonly engine: string;
  /** The tfjs backend or ONNX Runtime provider. */
  readonly device: string;
  /** ONNX Runtime threads (null elsewhere). */
  readonly threads: number | null;
  /** The activation. */
  readonly activation: string;
}

const fingerprints = new Map<string, Promise<NumericsFingerprint>>();

/** The probe's data: 4,096 fixed tokens of a 16-symbol vocabulary. */
function probeData(): { train: Int32Array; val: Int32Array } {
  const rng = createRng(20261207);
  const ids = Int32Array.from({ length: 4096 }, () => rng.int(16));
  return { train: ids.subarray(0, 3584), val: ids.subarray(3584) };
}

/**
 * The numerics fingerprint of the training step for `target`: three steps of a one-layer GPT
 * (16 tokens, 32 wide, context 16, batch 4) with the activation, on the engine and device, from
 * fixed weights and batches; the step losses, gradient norms and final losses, hashed. Memoized
 * per target in this process. On tfjs the device must be the active backend.
 *
 * @example
 * ```ts ignore
 * import { stepFingerprint } from "@actlab/actlab/sweep";
 * const f = await stepFingerprint({ engine: "ort", device: "cpu", threads: 1, activation: "gelu" });
 * console.log(f.hash, f.values.length); // 12 hex digits, 8 values
 * ```
 */
export function stepFingerprint(target: FingerprintTarget): Promise<NumericsFingerprint> {
  const key = JSON.stringify(target);
  let found = fingerprints.get(key);
  if (!found) {
    found = probe(target);
    fingerprints.set(key, found);
    found.catch(() => fingerprints.delete(key));
  }
  return found;
}

async function probe(t: FingerprintTarget): Promise<NumericsFingerprint> {
  await ensureEngine(() => {}); // the model's weights live in tfjs, whatever engine trains them
  if (t.engine === "tfjs" && tf.getBackend() !== t.device) {
    throw new Error(
      `stepFingerprint: the trials ran on tfjs-${t.device}, but the active backend is ` +
        `${tf.getBackend()}; initEngine({ backend: "${t.device}" }) to compare them.`,
    );
  }
  const config = gptConfig({
    preset: "tiny",
    vocabSize: 16,
    activation: t.activation,
    nLayer: 1,
    nHead: 2,
    nEmbd: 32,
    blockSize: 16,
  });
  const model = createGpt(config, { seed: 1 });
  const values: number[] = [];
  try {
    const r = await trainGpt(model, probeData(), {
      preset: "tiny",
      iters: 3,
      batchSize: 4,
      warmupIters: 1,
      evalEvery: 0,
      evalIters: 1,
      seed: 1,
      engine: t.engine,
      engineOptions: t.engine === "ort"
        ? { provider: t.device, threads: t.threads ?? 1 }
        : undefined,
      onStep: (s) => {
        values.push(s.loss, s.gradNorm);
      },
      onNotice: () => {},
    });
    values.push(r.final.trainLoss, r.final.valLoss);
  } catch (e) {
    if (!(e instanceof TrainingDivergedError)) throw e;
    values.push(NaN, e.iter); // a diverging step is fingerprinted by where it diverged
  } finally {
    model.dispose();
  }
  const hash = (await sha256Hex(new Uint8Array(new Float64Array(values).buffer))).slice(0, 12);
  return { hash, values };
}

/**
 * How two fingerprints of one activation relate: `identical` (same hash: bit for bit), `rounding`
 * (every value within 1e-5 relative: the same math, rounded differently), or `different`.
 *
 * @example
 * ```ts
 * import { compareFingerprints } from "@actlab/actlab/sweep";
 * const a = { hash: "a", values: [2.0, 1.0] };
 * compareFingerprints(a, { hash: "b", values: [2.0000001, 1.0] }); // "rounding"
 * compareFingerprints(a, { hash: "c", values: [2.01, 1.0] }); // "different"
 * ```
 */
export function compareFingerprints(
  a: NumericsFingerprint,
  b: NumericsFingerprint,
): "identical" | "rounding" | "different" {
  if (a.hash === b.hash) return "identical";
  if (a.values.length !== b.values.length) return "different";
  const close = a.values.every((x, i) => {
    const y = b.values[i];
    return Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(x), Math.abs(y), 1e-12);
  });
  return close ? "rounding" : "different";
}
