/**
 * The same test body on every tfjs backend that starts here (tfjs's ALL_ENVS idea): training steps
 * from the same seed must agree with tfjs-wasm. This caught tfjs-webgpu's AddN summing only four
 * inputs (the gradient norm was wrong there).
 */
import { assert } from "@std/assert";
import { availableBackends, initEngine } from "../../lib/engine/mod.ts";
import { createGpt, gptConfig, trainConfig, Trainer } from "../../lib/gpt/mod.ts";
import { createRng, sampleBatch } from "../../lib/core/mod.ts";
import { syntheticDataset } from "../../datasets/mod.ts";

const ds = syntheticDataset({ length: 5000 });
const available = (await availableBackends()).filter((b) => b.ok).map((b) => b.backend);

async function fourSteps(backend: string): Promise<number[]> {
  await initEngine({ backend: backend as "wasm" });
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: ds.tokenizer.size }), { seed: 1 });
  const trainer = new Trainer(model, trainConfig({ preset: "tiny" }));
  const rng = createRng(1);
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    const s = await trainer.step(sampleBatch(ds.train, { batchSize: 4, blockSize: 16 }, rng), i);
    out.push(s.loss, s.gradNorm);
  }
  out.push(...(await model.variables.get("h.1.mlp.c_fc.weight")!.data()).slice(0, 64));
  trainer.dispose();
  model.dispose();
  return out;
}

for (const backend of available.filter((b) => b !== "wasm")) {
  Deno.test({
    name: `training steps on ${backend} match tfjs-wasm (losses, grad norms, weights within 1e-4)`,
    sanitizeResources: false, // WebGPU devices keep handles open
    sanitizeOps: false,
    async fn() {
      try {
        const ref = await fourSteps("wasm");
        const got = await fourSteps(backend);
        const worst = Math.max(...ref.map((r, i) => Math.abs(r - got[i])));
        assert(worst <= 1e-4, `${backend} differs from wasm by ${worst}`);
      } finally {
        await initEngine({ backend: "wasm" });
      }
    },
  });
}
