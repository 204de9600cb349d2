/**
 * Muon in the compiled training step on ONNX Runtime's CPU provider: the update graph against the
 * PyTorch reference (`tools/muon_reference.py`) on the same gradients, whole training steps
 * against tfjs's Muon and against PyTorch's model and Muon (`tests/gpt/torch_parity.py`), `Loop`
 * calls against single steps, and the optimizer state carried from one trainer (or engine) to
 * another. Tiny models: each test takes about a second. PyTorch checks skip with a message where
 * torch is missing.
 */
import * as ort from "onnxruntime-node";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { createRng, sampleBatch } from "../../lib/core/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";
import {
  createGpt,
  type Gpt,
  gptConfig,
  isMuonParam,
  optimizerBuffers,
  trainConfig,
  Trainer,
} from "../../lib/gpt/mod.ts";
import {
  gptTrainingGraph,
  gptTrainingLoopGraph,
  nextName,
  optimizerStepGraph,
  OrtTrainer,
  stepScalarNames,
  stepScalarValues,
  unsupportedOps,
} from "../../lib/onnx/mod.ts";
import { getActivation } from "../../lib/activations/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/gpt/safetensors.ts";
import type { SafetensorsTensor } from "../../lib/gpt/safetensors.ts";
import {
  differences,
  muonCase,
  PYTHON,
  runMuonReference,
  torchMissing,
} from "../gpt/_muon_case.ts";

await initEngine({ backend: "wasm" });
const ds = syntheticDataset({ length: 20_000 });
const cpu = { provider: "cpu" as const, threads: 1 };
const options = { sanitizeOps: false, sanitizeResources: false };
const muonTiny = trainConfig({ preset: "tiny", optimizer: "muon" });

const missing = torchMissing();
if (missing !== null) {
  console.warn(
    `onnx/muon_test: PyTorch comparisons skipped — ${PYTHON} cannot import torch (${missing}). ` +
      `Install Debian python3-torch (CI does).`,
  );
}

const f32 = (data: Float32Array, dims: readonly number[]) =>
  new ort.Tensor("float32", data, [...dims]);

Deno.test({
  name: "ORT's Muon + AdamW update graph matches the PyTorch reference over five steps",
  ignore: missing !== null,
  permissions: { read: true, write: true, run: true, env: true, ffi: true, sys: true },
  ...options,
  async fn() {
    const c = muonCase(5);
    const want = await runMuonReference(c);
    const bytes = optimizerStepGraph(c.specs, c.train);
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      executionProviders: ["cpu"],
    });
    const buffers = optimizerBuffers(c.specs, c.train);
    const state = new Map<string, Float32Array>(c.params);
    for (const b of buffers) state.set(b.name, new Float32Array(state.get(b.param)!.length));
    const shapes = new Map<string, readonly number[]>(c.specs.map((s) => [s.name, s.shape]));
    for (const b of buffers) shapes.set(b.name, b.shape);
    const norms: number[] = [];
    for (let step = 0; step < c.lrs.length; step++) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, data] of state) feeds[name] = f32(data, shapes.get(name)!);
      for (const s of c.specs) feeds[`grad/${s.name}`] = f32(c.grads[step].get(s.name)!, s.shape);
      const scalars = stepScalarValues(step + 1, c.lrs[step], c.train);
      stepScalarNames(c.train).forEach((n, i) => feeds[n] = f32(Float32Array.of(scalars[i]), []));
      const out = await session.run(feeds);
      norms.push((out.grad_norm.data as Float32Array)[0]);
      for (const name of state.keys()) state.set(name, out[nextName(name)].data as Float32Array);
    }
    await session.release();
    const muonNames = c.specs.filter(isMuonParam).map((s) => s.name);
    const adamNames = c.specs.filter((s) => !isMuonParam(s)).map((s) => s.name);
    const m = differences(state, want.values, muonNames);
    const a = differences(state, want.values, adamNames);
    const b = differences(state, want.values, buffers.map((x) => x.name));
    console.log(
      `ORT vs PyTorch after 5 steps: Muon weights max |Δ| ${m.maxAbs.toExponential(2)} (rel ${
        m.maxRel.toExponential(2)
      }, ${m.worst}); AdamW weights ${a.maxAbs.toExponential(2)} (rel ${
        a.maxRel.toExponential(2)
      }); buffers rel ${b.maxRel.toExponential(2)} (${b.worst})`,
    );
    norms.forEach((n, i) => assert(Math.abs(n - want.gradNorms[i]) <= 1e-5 * n, `norm ${i}`));
    assert(m.maxRel <= 1e-5, `Muon weights differ by ${m.maxRel} relative (${m.worst})`);
    assert(a.maxRel <= 1e-5, `AdamW weights differ by ${a.maxRel} relative (${a.worst})`);
    assert(b.maxRel <= 1e-5, `buffers differ by ${b.maxRel} relative (${b.worst})`);
  },
});

/** `steps` Muon steps of a tiny model on tfjs or ORT: losses and final weights. */
async function train(engine: "tfjs" | "ort", steps: number, extra: Record<string, unknown> = {}) {
  const model = createGpt(
    gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, ...extra }),
    { seed: 3 },
  );
  const trainer = engine === "tfjs"
    ? new Trainer(model, muonTiny)
    : await OrtTrainer.create(model, muonTiny, cpu);
  const rng = createRng(1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const batch = sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng);
    losses.push((await trainer.step(batch, i)).loss);
  }
  if (trainer instanceof OrtTrainer) await trainer.syncModel();
  await trainer.dispose();
  const weights = await weightsOf(model);
  model.dispose();
  return { losses, weights };
}

async function weightsOf(model: Gpt): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const s of model.specs) {
    out.set(s.name, Float32Array.from(await model.variables.get(s.name)!.data() as Float32Array));
  }
  return out;
}

Deno.test({
  name: "Muon trains on ORT as on tfjs: 30 steps' losses within 1e-4, weights within 1e-4",
  ...options,
  async fn() {
    const [t, o] = [await train("tfjs", 30), await train("ort", 30)];
    const worstLoss = Math.max(...t.losses.map((l, i) => Math.abs(l - o.losses[i])));
    const w = differences(o.weights, t.weights, [...t.weights.keys()]);
    console.log(
      `ORT vs tfjs Muon, 30 steps: max |Δloss| ${worstLoss.toExponential(2)}, weights rel ${
        w.maxRel.toExponential(2)
      } (${w.worst})`,
    );
    assert(worstLoss <= 1e-4, `losses differ by ${worstLoss}`);
    assert(w.maxRel <= 1e-4, `weights differ by ${w.maxRel} (${w.worst})`);
    assert(
      t.losses[29] < t.losses[0] - 0.3,
      `Muon did not train: ${t.losses[0]} → ${t.losses[29]}`,
    );
  },
});

Deno.test({
  name: "Muon in a Loop call (stepMany) trains as single steps do, dropout included",
  ...options,
  async fn() {
    for (const dropout of [0, 0.1]) {
      const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size, dropout });
      const runs = [];
      for (const perCall of [1, 3]) {
        const model = createGpt(config, { seed: 4 });
        const trainer = await OrtTrainer.create(model, muonTiny, cpu);
        const rng = createRng(8);
        const batches = Array.from(
          { length: 6 },
          () => sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng),
        );
        const infos = [];
        for (let i = 0; i < 6; i += perCall) {
          infos.push(...await trainer.stepMany(batches.slice(i, i + perCall), i));
        }
        runs.push({
          infos,
          params: await trainer.parameters(),
          state: await trainer.optimizerState(),
        });
        await trainer.dispose();
        model.dispose();
      }
      const [one, three] = runs;
      three.infos.forEach((s, i) => {
        assert(Math.abs(s.loss - one.infos[i].loss) <= 1e-6, `step ${i}: ${s.loss}`);
      });
      const w = differences(three.params, one.params, [...one.params.keys()]);
      assert(w.maxRel <= 1e-6, `dropout ${dropout}: weights differ by ${w.maxRel} (${w.worst})`);
      const b = differences(three.state.buffers, one.state.buffers, [...one.state.buffers.keys()]);
      assert(b.maxRel <= 1e-6, `dropout ${dropout}: buffers differ by ${b.maxRel} (${b.worst})`);
      assertEquals(three.state.step, 6);
    }
  },
});

Deno.test({
  name: "an ORT trainer continues another's optimizer state bit for bit; a tfjs state too",
  ...options,
  async fn() {
    const config = gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size });
    const rng = createRng(2);
    const batches = Array.from(
      { length: 6 },
      () => sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng),
    );
    const straight = createGpt(config, { seed: 6 });
    const a = await OrtTrainer.create(straight, muonTiny, cpu);
    for (let i = 0; i < 6; i++) await a.step(batches[i], i);
    const want = await a.parameters();
    await a.dispose();
    straight.dispose();

    const model = createGpt(config, { seed: 6 });
    const first = await OrtTrainer.create(model, muonTiny, cpu);
    for (let i = 0; i < 3; i++) await first.step(batches[i], i);
    const state = await first.optimizerState();
    await first.syncModel();
    await first.dispose();
    assertEquals(state.optimizer, "muon");
    assertEquals(state.step, 3);
    const second = await OrtTrainer.create(model, muonTiny, cpu);
    await second.loadOptimizerState(state);
    for (let i = 3; i < 6; i++) await second.step(batches[i], i);
    const got = await second.parameters();
    for (const [name, data] of want) assertEquals(got.get(name), data, name);
    await assertRejects(
      () => second.loadOptimizerState({ ...state, optimizer: "adamw" }),
      Error,
      "the state is adamw's but the optimizer is muon",
    );
    await second.dispose();
    model.dispose();

    // tfjs's state, in the same names, continues on ORT (same numbers within float32 rounding).
    const t = createGpt(config, { seed: 6 });
    const tfjs = new Trainer(t, muonTiny);
    for (let i = 0; i < 3; i++) await tfjs.step(batches[i], i);
    const ort3 = await OrtTrainer.create(t, muonTiny, cpu);
    await ort3.loadOptimizerState(await tfjs.optimizerState());
    tfjs.dispose();
    for (let i = 3; i < 6; i++) await ort3.step(batches[i], i);
    const mixed = await ort3.parameters();
    await ort3.dispose();
    t.dispose();
    const d = differences(mixed, want, [...want.keys()]);
    assert(d.maxRel <= 1e-4, `tfjs state on ORT: weights differ by ${d.maxRel} (${d.worst})`);
  },
});

Deno.test({
  name: "five Muon training steps of the model match PyTorch's (torch_parity.py), on both engines",
  ignore: missing !== null,
  permissions: { read: true, write: true, run: true, env: true, ffi: true, sys: true },
  ...options,
  async fn() {
    const steps = 5;
    const config = gptConfig({
      preset: "tiny",
      vocabSize: ds.tokenizer.size,
      activation: "swiglu",
      bias: true,
      tiedEmbeddings: false,
    });
    const tcfg = trainConfig({
      preset: "tiny",
      optimizer: "muon",
      iters: steps,
      warmupIters: 2,
      learningRate: 2e-3,
      minLearningRate: 2e-4,
      muonWeightDecay: 0.02,
    });
    const rng = createRng(5);
    const batches = Array.from(
      { length: steps },
      () => sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng),
    );
    const model = createGpt(config, { seed: 11 });
    const initial = await weightsOf(model);
    const dir = await Deno.makeTempDir({ prefix: "actlab-muon-parity-" });
    try {
      const tensors = new Map<string, SafetensorsTensor>();
      for (const s of model.specs) {
        tensors.set(s.name, { dtype: "F32", shape: s.shape, data: initial.get(s.name)! });
      }
      const stack = (k: "x" | "y") => {
        const out = new Int32Array(steps * 64);
        batches.forEach((b, i) => out.set(b[k], i * 64));
        return out;
      };
      tensors.set("batch.x", { dtype: "I32", shape: [steps, 4, 16], data: stack("x") });
      tensors.set("batch.y", { dtype: "I32", shape: [steps, 4, 16], data: stack("y") });
      const path = `${dir}/muon.safetensors`;
      await Deno.writeFile(
        path,
        encodeSafetensors(tensors, { case: JSON.stringify({ model: config, train: tcfg }) }),
      );
      const script = fileURLToPath(new URL("../gpt/torch_parity.py", import.meta.url));
      const out = await new Deno.Command(PYTHON, { args: [script, path], stderr: "piped" })
        .output();
      assert(out.success, `torch_parity.py failed:\n${new TextDecoder().decode(out.stderr)}`);
      const res = decodeSafetensors(await Deno.readFile(`${dir}/muon.out.safetensors`));
      const lossesTorch = [...(res.tensors.get("losses")!.data as Float32Array)];
      const finalTorch = new Map(
        model.specs.map((s) => [s.name, res.tensors.get(`final/${s.name}`)!.data as Float32Array]),
      );
      for (const engine of ["tfjs", "ort"] as const) {
        const m = createGpt(config, { seed: 11 });
        const trainer = engine === "tfjs"
          ? new Trainer(m, tcfg)
          : await OrtTrainer.create(m, tcfg, cpu);
        const losses: number[] = [];
        for (let i = 0; i < steps; i++) losses.push((await trainer.step(batches[i], i)).loss);
        if (trainer instanceof OrtTrainer) await trainer.syncModel();
        await trainer.dispose();
        const weights = await weightsOf(m);
        const w = differences(weights, finalTorch, [...finalTorch.keys()]);
        const mw = differences(weights, finalTorch, m.specs.filter(isMuonParam).map((s) => s.name));
        m.dispose();
        const dLoss = Math.max(...losses.map((l, i) => Math.abs(l - lossesTorch[i])));
        console.log(
          `${engine} vs PyTorch, 5 Muon training steps: max |Δloss| ${dLoss.toExponential(2)}, ` +
            `weights max |Δ| ${w.maxAbs.toExponential(2)} (rel ${w.maxRel.toExponential(2)}, ` +
            `${w.worst}; Muon's matrices rel ${mw.maxRel.toExponential(2)})`,
        );
        assert(dLoss <= 1e-4, `${engine}: losses ${losses} vs torch ${lossesTorch}`);
        // Absolute: AdamW moves near-zero biases by ~lr whatever their gradients' last digits.
        assert(w.maxAbs <= 2e-5, `${engine}: weights differ by ${w.maxAbs} (${w.worst})`);
        assert(losses[steps - 1] < losses[0] - 0.05, `${engine}: the loss did not decrease`);
      }
    } finally {
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the Muon step graph, and its Loop, need no op the CUDA or WebGPU provider lacks", () => {
  const config = gptConfig({ preset: "tiny", vocabSize: 20, dropout: 0.1 });
  const train = trainConfig({ preset: "tiny", optimizer: "muon", muonWeightDecay: 0.1 });
  for (const provider of ["cuda", "webgpu"] as const) {
    const step = gptTrainingGraph(config, getActivation("gelu"), { batchSize: 2, train, provider });
    assertEquals(unsupportedOps(step.bytes, provider), [], provider);
  }
  const loop = gptTrainingLoopGraph(config, getActivation("gelu"), {
    batchSize: 2,
    train,
    provider: "cuda",
    steps: 3,
  });
  assertEquals(unsupportedOps(loop.bytes, "cuda"), []);
});
