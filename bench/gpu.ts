/**
 * Training speed on GPUs: ms/step, tokens/s and MFU (model FLOPs utilisation: the step's matrix
 * FLOPs per second over the device's peak) of the `nano` and `shakespeare_char` presets on ONNX
 * Runtime's WebGPU provider (Dawn over Vulkan, Metal or D3D12), ONNX Runtime's CUDA provider
 * (where its libraries are installed), tfjs on WebGPU (Deno's `navigator.gpu`), and ONNX Runtime's
 * CPU provider for reference; with the bytes each ONNX Runtime step moves between host and device.
 *
 *   deno run -A bench/gpu.ts [--steps 20] [--warmup 3] [--presets nano,shakespeare_char]
 *     [--engines ort-webgpu,ort-cuda,ort-cuda-loop,tfjs-webgpu,ort-cpu] [--activation gelu]
 *     [--batch N] [--loop 10] [--cpu-presets nano] [--cpu-steps 5] [--timeout 300]
 *     [--budget 1800] [--peak-tflops N] [--cpu-peak-gflops N] [--json] [--jsonl FILE]
 *
 * Bounded: each engine × preset runs in its own child process (one ONNX Runtime WebGPU device per
 * process; the Vulkan driver is chosen when it starts), killed after `--timeout` seconds, and no
 * child starts once `--budget` seconds are spent; such rows say so instead of a time. An engine
 * that cannot start prints its reason.
 *
 * GPU-sized by default: on a hardware GPU both presets at their own batch sizes (12 and 64). The
 * CPU baseline (`ort-cpu`) runs only at `--cpu-presets` (nano) and for `--cpu-steps` steps, so it
 * does not spend the budget at GPU sizes. Without a hardware GPU the WebGPU rows run on SwiftShader
 * (`planWebgpuEnv`: only when no hardware adapter exists, or `ACTLAB_VULKAN=swiftshader`), at
 * batch 2, `nano` only and 5 steps unless `--batch`, `--presets` and `--steps` say otherwise: the
 * rows then prove the path works, not its speed.
 *
 * The device column names each provider's own adapter where it can be told: tfjs's is Deno's
 * `navigator.gpu` adapter; ONNX Runtime does not name the adapter its Dawn chose
 * (onnxruntime-node 1.30 has no such API), so its rows give the Vulkan driver(s) its process
 * loaded; CUDA rows give device 0 as nvidia-smi names it. MFU is against the dense FP32 peak of the
 * GPU (`bench/_peaks.ts`, or `--peak-tflops`); a CPU row has one only with `--cpu-peak-gflops`.
 *
 * `--json` prints JSON lines instead of the table; `--jsonl FILE` writes them to FILE as well.
 *
 * `ort-cuda-loop` runs `--loop` steps per session call (`OrtTrainer.stepMany`, an ONNX `Loop`):
 * onnxruntime-node returns CUDA outputs to host memory only, so per-step calls move every
 * parameter and AdamW moment across the bus twice a step, and the loop shares that between its
 * steps. The byte columns show it.
 */
import { parseArgs } from "node:util";
import { createGpt, createRng, gptConfig, initEngine, loadTinyShakespeare } from "../mod.ts";
import { type Batch, sampleBatch } from "../lib/core/mod.ts";
import {
  ortCudaStatus,
  ortVersion,
  ortWebgpuAdapter,
  planWebgpuEnv,
  webgpuAdapter,
} from "../lib/engine/mod.ts";
import { type PresetName, trainConfig, Trainer, trainingStepFlops } from "../lib/gpt/mod.ts";
import { OrtTrainer } from "../lib/onnx/mod.ts";
import { median } from "./_rounds.ts";
import { gpuPeak, type Peak } from "./_peaks.ts";

const ENGINES = ["ort-webgpu", "ort-cuda", "ort-cuda-loop", "tfjs-webgpu", "ort-cpu"] as const;
type Engine = typeof ENGINES[number];

const { values } = parseArgs({
  options: {
    steps: { type: "string" },
    warmup: { type: "string", default: "3" },
    presets: { type: "string" },
    engines: { type: "string", default: ENGINES.join(",") },
    activation: { type: "string", default: "gelu" },
    batch: { type: "string" },
    loop: { type: "string", default: "10" },
    "cpu-presets": { type: "string", default: "nano" },
    "cpu-steps": { type: "string", default: "5" },
    timeout: { type: "string", default: "300" },
    budget: { type: "string", default: "1800" },
    "peak-tflops": { type: "string" },
    "cpu-peak-gflops": { type: "string" },
    json: { type: "boolean", default: false },
    jsonl: { type: "string" },
    one: { type: "string" }, // internal: a child's Job, as JSON
  },
});

/** One child's work: an engine on a preset. */
interface Job {
  engine: Engine;
  preset: PresetName;
  batch: number;
  steps: number;
  warmup: number;
  loop: number;
  activation: string;
}

interface Row {
  engine: Engine;
  preset: string;
  batch: number;
  /** The device in words: the provider's own adapter where it can be told. */
  device: string;
  /** Whether the provider itself named its adapter (false for ONNX Runtime's WebGPU). */
  adapter_named?: boolean;
  /** The device runs on the CPU (a software adapter or the CPU provider). */
  software?: boolean;
  steps?: number;
  ms_per_step?: number;
  tokens_per_s?: number;
  /** Matrix FLOPs of one training step (`trainingStepFlops`). */
  flops_per_step?: number;
  achieved_tflops?: number;
  peak_tflops?: number | null;
  peak_basis?: string;
  mfu?: number | null;
  host_to_device_bytes?: number | null;
  device_to_host_bytes?: number | null;
  seconds?: number;
  skipped?: string;
}

/** One engine × preset, in this process: times `steps` steps after `warmup`. */
async function measure(job: Job): Promise<Row> {
  const { engine, preset, batch, steps, warmup } = job;
  const row: Row = { engine, preset, batch, device: "" };
  const tfjs = engine === "tfjs-webgpu";
  // ONNX Runtime's WebGPU drivers first, before anything in this process touches navigator.gpu.
  if (engine === "ort-webgpu") {
    const adapter = await ortWebgpuAdapter();
    if (!adapter.started) return { ...row, skipped: adapter.name };
    row.device = `ORT ${ortVersion()} webgpu on ${adapter.name}`;
    row.adapter_named = adapter.exposed;
    row.software = adapter.software;
  }
  const started = await initEngine({ backend: tfjs ? "webgpu" : "cpu" }).catch((e) => e as Error);
  if (started instanceof Error) return { ...row, skipped: started.message.split("\n")[0] };
  const data = await loadTinyShakespeare({ onProgress: () => {} });
  const config = gptConfig({ preset, vocabSize: data.tokenizer.size, activation: job.activation });
  const train = trainConfig({ preset, batchSize: batch });
  row.flops_per_step = trainingStepFlops(config, { batchSize: batch }).total;
  const model = createGpt(config, { seed: train.seed });
  let trainer: { step: Trainer["step"]; dispose(): unknown };
  if (tfjs) {
    trainer = new Trainer(model, train);
    row.device = `tfjs webgpu on ${started.device}`;
    row.adapter_named = true;
    row.software = /swiftshader|llvmpipe|lavapipe|fallback/i.test(started.device);
    row.host_to_device_bytes = row.device_to_host_bytes = null;
  } else {
    const provider = engine.split("-")[1] as "webgpu" | "cuda" | "cpu";
    try {
      const ort = await OrtTrainer.create(model, train, { provider, batchSize: batch });
      trainer = ort;
      if (provider === "cuda") {
        row.device = `ORT ${ortVersion()} cuda, device 0`;
        row.adapter_named = false;
      }
      if (provider === "cpu") {
        row.device = `ORT ${ortVersion()} cpu (${navigator.hardwareConcurrency} cores)`;
        row.software = true;
      }
      const perCall = engine.endsWith("-loop") ? job.loop : 1;
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
    steps: calls * perCall,
    ms_per_step: Number(ms.toFixed(2)),
    tokens_per_s: Math.round((batch * blockSize * 1000) / ms),
  };
}

if (values.one) {
  console.log(JSON.stringify(await measure(JSON.parse(values.one) as Job)));
  Deno.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The driver: one child process per engine × preset, each with a time limit, within a budget.

const number = (flag: string, value: string | undefined) => {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) {
    throw new Error(`--${flag}: expected a positive number, got ${value}`);
  }
  return n;
};
const engines = values.engines.split(",").map((e) => e.trim()) as Engine[];
for (const e of engines) {
  if (!ENGINES.includes(e)) {
    throw new Error(`--engines: unknown ${e}; known: ${ENGINES.join(", ")}`);
  }
}
const timeoutS = number("timeout", values.timeout);
const budgetS = number("budget", values.budget);
const started = performance.now();
const spentS = () => (performance.now() - started) / 1000;

/** The name of CUDA device 0 from nvidia-smi, or undefined (no driver, no tool, or too slow). */
async function nvidiaGpuName(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=name", "--format=csv,noheader", "--id=0"],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const name = new TextDecoder().decode(out.stdout).trim();
    return out.success && name ? name : undefined;
  } catch {
    return undefined;
  }
}

// Deno's adapter, given 60 s: a driver that hangs here must not hang the bench.
const adapter = await Promise.race([
  webgpuAdapter(),
  new Promise<{ hardware: boolean; name: string }>((resolve) => {
    const t = setTimeout(
      () => resolve({ hardware: false, name: "none (no answer in 60 s)" }),
      60e3,
    );
    Deno.unrefTimer(t);
  }),
]);
const nvidia = await nvidiaGpuName();
const cuda = ortCudaStatus();
const plan = planWebgpuEnv(adapter);
const hardware = adapter.hardware || nvidia !== undefined;
const software = !hardware;
const gpuName = nvidia ?? (adapter.hardware ? adapter.name : undefined);
const peak: Peak | undefined = values["peak-tflops"]
  ? { tflops: number("peak-tflops", values["peak-tflops"]), basis: "--peak-tflops" }
  : gpuName
  ? gpuPeak(gpuName)
  : undefined;
const cpuPeak: Peak | undefined = values["cpu-peak-gflops"]
  ? {
    tflops: number("cpu-peak-gflops", values["cpu-peak-gflops"]) / 1000,
    basis: "--cpu-peak-gflops",
  }
  : undefined;
const steps = values.steps !== undefined ? number("steps", values.steps) : software ? 5 : 20;
const warmup = Number(values.warmup);
const cpuSteps = number("cpu-steps", values["cpu-steps"]);
const cpuPresets = values["cpu-presets"].split(",").map((p) => p.trim());
const presetList = (values.presets ?? (software ? "nano" : "nano,shakespeare_char"))
  .split(",").map((p) => p.trim()) as PresetName[];

const notes: string[] = [
  `Deno's WebGPU adapter: ${adapter.name} (${adapter.hardware ? "hardware" : "software or none"})`,
  `GPU (nvidia-smi): ${nvidia ?? "none found"}`,
  `WebGPU rows run on: ${plan.reason}`,
  `ONNX Runtime CUDA provider: ${cuda.reason}`,
  `peak for MFU: ${
    peak ? `${peak.tflops} TFLOP/s (${peak.basis})` : "unknown (--peak-tflops sets it)"
  }`,
  `limits: ${timeoutS} s per row, ${budgetS} s in all`,
];
if (software) {
  if (values.batch === undefined) notes.push("no hardware GPU: batch 2 (--batch overrides)");
  if (values.presets === undefined) notes.push("no hardware GPU: nano only (--presets overrides)");
}
if (!values.json) {
  console.log(
    `bench/gpu.ts: ${values.activation}, ${steps} steps after ${warmup} warm-ups ` +
      `(CPU: ${cpuSteps} steps, at ${cpuPresets.join(", ")} only)`,
  );
  for (const n of notes) console.log(`  ${n}`);
}
const jsonl = values.jsonl ? await Deno.open(values.jsonl, { create: true, append: true }) : null;
const record = (o: unknown) => jsonl?.writeSync(new TextEncoder().encode(JSON.stringify(o) + "\n"));

const setup = { kind: "setup", notes, adapter, nvidia: nvidia ?? null, peak: peak ?? null };
record(setup);
if (values.json) console.log(JSON.stringify(setup));

/** Runs one job in a child process, killed after `limitS` seconds. */
async function runChild(job: Job, limitS: number): Promise<Row> {
  const webgpu = job.engine === "ort-webgpu" || job.engine === "tfjs-webgpu";
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--one", JSON.stringify(job)],
    env: webgpu ? { ...plan.env } : {},
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, limitS * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  const base = { engine: job.engine, preset: job.preset, batch: job.batch, device: "", seconds };
  if (timedOut) return { ...base, skipped: `timed out after ${limitS} s (killed)` };
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("{"));
  if (line) return { ...JSON.parse(line), seconds };
  const err = new TextDecoder().decode(out.stderr).split("\n").filter((l) => /rror/.test(l));
  return { ...base, skipped: err.at(-1)?.trim() ?? `exit ${out.code}` };
}

/** MFU and achieved TFLOP/s of a timed row. */
function withMfu(row: Row): Row {
  if (row.ms_per_step === undefined || row.flops_per_step === undefined) return row;
  const achieved = row.flops_per_step / (row.ms_per_step / 1000) / 1e12;
  const cpuRow = row.engine === "ort-cpu";
  const p = cpuRow ? cpuPeak : row.software ? undefined : peak;
  return {
    ...row,
    achieved_tflops: Number(achieved.toPrecision(3)),
    peak_tflops: p?.tflops ?? null,
    peak_basis: p?.basis ??
      (cpuRow
        ? "no CPU peak (--cpu-peak-gflops)"
        : row.software
        ? "software adapter"
        : "unknown device (--peak-tflops)"),
    mfu: p ? Number((achieved / p.tflops).toPrecision(3)) : null,
  };
}

function print(row: Row): void {
  record(row);
  if (values.json) return console.log(JSON.stringify(row));
  const head = `${row.preset.padEnd(17)} ${row.engine.padEnd(13)}`;
  if (row.skipped) return console.log(`${head} skipped: ${row.skipped.split(". To get it")[0]}`);
  const bytes = row.host_to_device_bytes == null
    ? ""
    : `  ↑${row.host_to_device_bytes} B ↓${row.device_to_host_bytes} B per step`;
  const mfu = row.mfu == null ? "MFU —" : `MFU ${(row.mfu * 100).toFixed(2)} %`;
  console.log(
    `${head} ${String(row.ms_per_step).padStart(9)} ms/step ${
      String(row.tokens_per_s).padStart(8)
    } tokens/s  ${String(row.achieved_tflops).padStart(7)} TFLOP/s  ${mfu}  batch ${row.batch}` +
      `${bytes}  (${row.device})`,
  );
}

for (const preset of presetList) {
  const batch = values.batch !== undefined
    ? number("batch", values.batch)
    : software
    ? 2
    : trainConfig({ preset }).batchSize;
  for (const engine of engines) {
    const cpuRow = engine === "ort-cpu";
    const base = { engine, preset, batch, device: "" };
    if (cpuRow && !cpuPresets.includes(preset)) {
      print({ ...base, skipped: `CPU baseline only at --cpu-presets ${cpuPresets.join(",")}` });
      continue;
    }
    const left = budgetS - spentS();
    if (left < 5) {
      print({ ...base, skipped: `budget of ${budgetS} s spent` });
      continue;
    }
    const job: Job = {
      engine,
      preset,
      batch,
      steps: cpuRow ? Math.min(steps, cpuSteps) : steps,
      warmup: cpuRow ? Math.min(warmup, 1) : warmup,
      loop: Number(values.loop),
      activation: values.activation,
    };
    const row = await runChild(job, Math.min(timeoutS, left));
    if (engine.startsWith("ort-cuda") && row.device && nvidia) {
      row.device += ` (nvidia-smi: ${nvidia})`;
    }
    print(withMfu(row));
  }
}
if (!values.json) console.log(`done in ${spentS().toFixed(0)} s`);
jsonl?.close();
Deno.exit(0); // a driver thread left behind must not keep the process alive
