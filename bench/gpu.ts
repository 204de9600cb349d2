/**
 * Training speed on GPUs: ms/step and tokens/s of the `nano` and `shakespeare_char` presets on
 * ONNX Runtime's WebGPU provider (Dawn over Vulkan, Metal or D3D12), ONNX Runtime's CUDA
 * provider (where its libraries are installed), tfjs on WebGPU (Deno's `navigator.gpu`), and
 * ONNX Runtime's CPU provider for reference; with the bytes each ONNX Runtime step moves between
 * host and device.
 *
 *   deno run -A bench/gpu.ts [--steps 20] [--warmup 2] [--presets nano,shakespeare_char]
 *     [--engines ort-webgpu,ort-cuda,ort-cuda-loop,tfjs-webgpu,ort-cpu] [--activation gelu]
 *     [--batch N] [--loop 10] [--json]
 *
 * `ort-cuda-loop` runs `--loop` steps per session call (`OrtTrainer.stepMany`, an ONNX `Loop`):
 * onnxruntime-node returns CUDA outputs to host memory only, so per-step calls move every
 * parameter and AdamW moment across the bus twice a step, and the loop shares that between its
 * steps. The byte columns show it.
 *
 * Each engine × preset runs in its own process (one ONNX Runtime WebGPU device per process; the
 * Vulkan driver is chosen when it starts). Without a hardware GPU the WebGPU rows run on a
 * software adapter — SwiftShader for ONNX Runtime (`VK_ICD_FILENAMES` is pointed at Debian
 * chromium's driver when nothing else is set), llvmpipe for Deno's own WebGPU — and the batch
 * drops to 2 and only `nano` runs unless `--batch` and `--presets` say otherwise (SwiftShader
 * takes over a minute per `shakespeare_char` step): the rows then prove the path works, not its
 * speed.
 * An engine that cannot start prints its reason instead of a time.
 */
import { parseArgs } from "node:util";
import { createGpt, createRng, gptConfig, initEngine, loadTinyShakespeare } from "../mod.ts";
import { type Batch, sampleBatch } from "../lib/core/mod.ts";
import { ortVersion, webgpuAdapter } from "../lib/engine/mod.ts";
import { type PresetName, trainConfig, Trainer } from "../lib/gpt/mod.ts";
import { OrtTrainer } from "../lib/onnx/mod.ts";
import { median } from "./_rounds.ts";

const ENGINES = ["ort-webgpu", "ort-cuda", "ort-cuda-loop", "tfjs-webgpu", "ort-cpu"] as const;
type Engine = typeof ENGINES[number];
const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "20" },
    warmup: { type: "string", default: "2" },
    presets: { type: "string" },
    engines: { type: "string", default: ENGINES.join(",") },
    activation: { type: "string", default: "gelu" },
    batch: { type: "string" },
    loop: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
    one: { type: "string" }, // internal: "<engine>:<preset>:<batch>"
  },
});

interface Row {
  engine: Engine;
  preset: string;
  batch: number;
  device: string;
  ms_per_step?: number;
  tokens_per_s?: number;
  host_to_device_bytes?: number | null;
  device_to_host_bytes?: number | null;
  skipped?: string;
}

/** One engine × preset, in this process: times `steps` steps after `warmup`. */
async function measure(engine: Engine, preset: PresetName, batch: number): Promise<Row> {
  const steps = Number(values.steps), warmup = Number(values.warmup);
  const row: Row = { engine, preset, batch, device: "" };
  const tfjs = engine === "tfjs-webgpu";
  const started = await initEngine({ backend: tfjs ? "webgpu" : "cpu" }).catch((e) => e as Error);
  if (started instanceof Error) return { ...row, skipped: started.message.split("\n")[0] };
  const data = await loadTinyShakespeare({ onProgress: () => {} });
  const config = gptConfig({
    preset,
    vocabSize: data.tokenizer.size,
    activation: values.activation,
  });
  const train = trainConfig({ preset, batchSize: batch });
  const model = createGpt(config, { seed: train.seed });
  let trainer: { step: Trainer["step"]; dispose(): unknown };
  if (tfjs) {
    trainer = new Trainer(model, train);
    row.device = `tfjs webgpu on ${started.device}`;
    row.host_to_device_bytes = row.device_to_host_bytes = null;
  } else {
    const provider = engine.split("-")[1] as "webgpu" | "cuda" | "cpu";
    try {
      const ort = await OrtTrainer.create(model, train, { provider, batchSize: batch });
      trainer = ort;
      row.device = provider === "webgpu"
        ? `ORT ${ortVersion()} webgpu on ${(await webgpuAdapter()).name}`
        : `ORT ${ortVersion()} ${provider}`;
      const perCall = engine.endsWith("-loop") ? Number(values.loop) : 1;
      const bytes = ort.transferBytesPerStep(perCall);
      row.host_to_device_bytes = Math.round(bytes.hostToDevice);
      row.device_to_host_bytes = Math.round(bytes.deviceToHost);
      if (perCall > 1) {
        row.device += `, ${perCall} steps per call (ONNX Loop)`;
        const many = (bs: Batch[], i: number) => ort.stepMany(bs, i);
        const calls = Math.max(1, Math.ceil(steps / perCall));
        const plan = { perCall, warmup: 1, calls };
        return await timeCalls(row, many, plan, data, config.blockSize, batch, model, ort);
      }
    } catch (e) {
      model.dispose();
      return { ...row, skipped: (e as Error).message.split("\n")[0] };
    }
  }
  const one = (bs: Batch[], i: number) => trainer.step(bs[0], i);
  return await timeCalls(
    row,
    one,
    { perCall: 1, warmup, calls: steps },
    data,
    config.blockSize,
    batch,
    model,
    trainer,
  );
}

/**
 * Times `calls` calls of `perCall` steps each after `warmup` untimed calls, sampling a fresh batch
 * per step; ms per step = median call time / perCall.
 */
async function timeCalls(
  row: Row,
  many: (batches: Batch[], iter: number) => Promise<unknown>,
  plan: { perCall: number; warmup: number; calls: number },
  data: { train: Int32Array },
  blockSize: number,
  batch: number,
  model: { dispose(): void },
  trainer: { dispose(): unknown },
): Promise<Row> {
  const { perCall, warmup, calls } = plan;
  const rng = createRng(1);
  const times: number[] = [];
  for (let c = 0; c < warmup + calls; c++) {
    const batches = Array.from(
      { length: perCall },
      () => sampleBatch(data.train, { batchSize: batch, blockSize }, rng),
    );
    const t0 = performance.now();
    await many(batches, c * perCall);
    if (c >= warmup) times.push((performance.now() - t0) / perCall);
  }
  await trainer.dispose();
  model.dispose();
  const ms = median(times);
  return {
    ...row,
    ms_per_step: Number(ms.toFixed(2)),
    tokens_per_s: Math.round((batch * blockSize * 1000) / ms),
  };
}

if (values.one) {
  const [engine, preset, batch] = values.one.split(":");
  console.log(JSON.stringify(await measure(engine as Engine, preset as PresetName, Number(batch))));
  Deno.exit(0);
}

// The driver: one child process per engine × preset.
const engines = values.engines.split(",").map((e) => e.trim()) as Engine[];
for (const e of engines) {
  if (!ENGINES.includes(e)) {
    throw new Error(`--engines: unknown ${e}; known: ${ENGINES.join(", ")}`);
  }
}
const adapter = await webgpuAdapter();
const env: Record<string, string> = {};
let note = "";
if (!adapter.hardware && !Deno.env.get("VK_ICD_FILENAMES")) {
  try {
    Deno.statSync(SWIFTSHADER_ICD);
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    note = `no hardware GPU (Deno's adapter: ${adapter.name}); ORT WebGPU runs on SwiftShader`;
  } catch {
    note = `no hardware GPU (Deno's adapter: ${adapter.name}) and no SwiftShader`;
  }
}
const software = !adapter.hardware;
if (software && values.batch === undefined) note += "; batch 2 (--batch overrides)";
if (software && values.presets === undefined) note += "; nano only (--presets overrides)";
const presetList = values.presets ?? (software ? "nano" : "nano,shakespeare_char");
if (!values.json) {
  console.log(
    `bench/gpu.ts: ${values.activation}, ${values.steps} steps after ${values.warmup} warm-ups`,
  );
  if (note) console.log(note);
}
const rows: Row[] = [];
for (const preset of presetList.split(",").map((p) => p.trim()) as PresetName[]) {
  const batch = values.batch !== undefined
    ? Number(values.batch)
    : software
    ? 2
    : trainConfig({ preset }).batchSize;
  for (const engine of engines) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        ...Deno.args,
        "--one",
        `${engine}:${preset}:${batch}`,
      ],
      env: engine === "ort-webgpu" ? env : {},
      stdout: "piped",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("{"));
    const row: Row = line ? JSON.parse(line) : {
      engine,
      preset,
      batch,
      device: "",
      skipped: new TextDecoder().decode(out.stderr).split("\n").filter((l) => /rror/.test(l))[0] ??
        `exit ${out.code}`,
    };
    rows.push(row);
    if (values.json) console.log(JSON.stringify(row));
    else {
      const bytes = row.host_to_device_bytes == null
        ? ""
        : `  ↑${row.host_to_device_bytes} B ↓${row.device_to_host_bytes} B per step`;
      console.log(
        row.skipped
          ? `${preset.padEnd(17)} ${engine.padEnd(12)} skipped: ${
            row.skipped.split(". To get it")[0]
          }`
          : `${preset.padEnd(17)} ${engine.padEnd(12)} ${
            String(row.ms_per_step).padStart(9)
          } ms/step ` +
            `${
              String(row.tokens_per_s).padStart(8)
            } tokens/s  batch ${row.batch}${bytes}  (${row.device})`,
      );
    }
  }
}
