/**
 * A Muon check case shared by the tfjs and the ONNX Runtime tests: the parameters of a small GPT
 * (biases, an untied head and PReLU's trainable slopes, so every kind of parameter is in it),
 * gradients for a few steps and each step's learning rate, written for `tools/muon_reference.py`
 * (PyTorch, float32), whose results come back for comparison.
 */
import { fileURLToPath } from "node:url";
import { getActivation } from "../../lib/activations/mod.ts";
import { createRng } from "../../lib/core/mod.ts";
import {
  gptConfig,
  gptParamSpecs,
  initParamValues,
  isMuonParam,
  type ParamSpec,
  type TrainConfig,
  trainConfig,
} from "../../lib/gpt/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/gpt/safetensors.ts";
import type { SafetensorsTensor } from "../../lib/gpt/safetensors.ts";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../../tools/muon_reference.py", import.meta.url));

/** Why PyTorch cannot run here (a message), or null when `/usr/bin/python3` imports torch. */
export function torchMissing(): string | null {
  try {
    const out = new Deno.Command(PYTHON, { args: ["-c", "import torch"], stderr: "piped" })
      .outputSync();
    return out.success ? null : new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!;
  } catch (err) {
    return String(err);
  }
}

/** The case: parameters, per-step gradients and learning rates, and the config. */
export interface MuonCase {
  readonly specs: readonly ParamSpec[];
  readonly params: Map<string, Float32Array>;
  /** Gradients by step, then by parameter. */
  readonly grads: Map<string, Float32Array>[];
  /** The schedule's learning rate (AdamW's) at each step. */
  readonly lrs: readonly number[];
  readonly train: TrainConfig;
}

/**
 * A 1-layer GPT's parameters (wide, square and tall matrices) and `steps` steps of gradients,
 * some steps large enough that clipping scales them.
 */
export function muonCase(steps = 5): MuonCase {
  const config = gptConfig({
    preset: "tiny",
    vocabSize: 24,
    nLayer: 1,
    nEmbd: 16,
    nHead: 2,
    blockSize: 8,
    activation: "prelu",
    bias: true,
    tiedEmbeddings: false,
  });
  const specs = gptParamSpecs(config, getActivation("prelu"));
  const params = initParamValues(specs, 3);
  const rng = createRng(11);
  const grads = Array.from({ length: steps }, (_, step) =>
    new Map(specs.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const scale = step % 2 === 0 ? 0.05 : 0.5; // odd steps: a global norm above the clip
      return [s.name, Float32Array.from({ length: n }, () => rng.normal() * scale)];
    })));
  const lrs = [1e-3, 2e-3, 3e-3, 2.5e-3, 2e-3, 1.5e-3, 1e-3].slice(0, steps);
  const train = trainConfig({
    preset: "tiny",
    optimizer: "muon",
    muonWeightDecay: 0.05,
    weightDecay: 0.1,
    gradClip: 1,
  });
  return { specs, params, grads, lrs, train };
}

/** What the reference gives back: parameters and buffers by name, and the gradient norms. */
export interface ReferenceResult {
  readonly values: Map<string, Float32Array>;
  readonly gradNorms: Float32Array;
}

/** Runs `tools/muon_reference.py` on the case (in a temporary folder) and reads its result. */
export async function runMuonReference(c: MuonCase): Promise<ReferenceResult> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-muon-" });
  try {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const s of c.specs) {
      tensors.set(s.name, { dtype: "F32", shape: s.shape, data: c.params.get(s.name)! });
      c.grads.forEach((g, step) => {
        tensors.set(`grad.${step}/${s.name}`, {
          dtype: "F32",
          shape: s.shape,
          data: g.get(s.name)!,
        });
      });
    }
    const meta = {
      train: c.train,
      lrs: c.lrs,
      muon: c.specs.filter(isMuonParam).map((s) => s.name),
      decay: c.specs.filter((s) => s.decay).map((s) => s.name),
    };
    const path = `${dir}/case.safetensors`;
    await Deno.writeFile(path, encodeSafetensors(tensors, { case: JSON.stringify(meta) }));
    const out = await new Deno.Command(PYTHON, {
      args: [SCRIPT, path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`muon_reference.py failed:\n${new TextDecoder().decode(out.stderr)}`);
    }
    const res = decodeSafetensors(await Deno.readFile(`${dir}/case.out.safetensors`));
    const values = new Map<string, Float32Array>();
    for (const [name, t] of res.tensors) values.set(name, t.data as Float32Array);
    return { values, gradNorms: values.get("grad_norms")! };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The largest |a − b| and the largest |a − b| / max|b| over the named tensors of both maps. */
export function differences(
  got: ReadonlyMap<string, Float32Array>,
  want: ReadonlyMap<string, Float32Array>,
  names: readonly string[],
): { maxAbs: number; maxRel: number; worst: string } {
  let maxAbs = 0, maxRel = 0, worst = "";
  for (const name of names) {
    const a = got.get(name), b = want.get(name);
    if (!a || !b || a.length !== b.length) throw new Error(`${name}: missing or misshapen`);
    let d = 0, m = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    const rel = d / Math.max(m, 1e-30);
    maxAbs = Math.max(maxAbs, d);
    if (rel > maxRel) [maxRel, worst] = [rel, name];
  }
  return { maxAbs, maxRel, worst };
}
