/**
 * ONNX Runtime's profiler over steps of the compiled training step, read back into where the time
 * goes: kernel time per op type and per node, the matrix products' share and the FLOPs they did
 * (from the shapes the profiler records), and the session's own time between kernels. Shared by
 * `bench/profile_ort.ts` (the table by op) and `bench/train_ort.ts` (the roofline).
 *
 * @module
 */
import type { TrainData } from "../lib/train/mod.ts";
import { createRng, sampleBatch } from "../lib/core/mod.ts";
import type { Gpt, TrainConfig } from "../lib/gpt/mod.ts";
import { OrtTrainer } from "../lib/onnx/mod.ts";

/** The op types that are matrix products (MLAS GEMMs on the CPU provider). */
export const MATMUL_OPS: ReadonlySet<string> = new Set([
  "Gemm",
  "MatMul",
  "FusedMatMul",
  "FusedGemm",
]);

/** Kernel time per step of one op type or node. */
export interface ProfileRow {
  /** Milliseconds per step. */
  readonly ms: number;
  /** Nodes (or runs of the node) per step. */
  readonly count: number;
  /** The op type. */
  readonly op: string;
  /** Output shapes as the profiler records them (nodes only). */
  readonly shape: string;
}

/** Where one step's time goes, per step, averaged over the profiled steps. */
export interface StepProfile {
  /** Profiled steps (after the warm-ups). */
  readonly steps: number;
  /** Median wall time of a step as the trainer measured it (ms). */
  readonly wallMs: number;
  /** ONNX Runtime's own time for the session call (ms). */
  readonly runMs: number;
  /** Sum of every kernel's time (ms). */
  readonly kernelMs: number;
  /** Kernel time of the matrix products ({@link MATMUL_OPS}, ms). */
  readonly matmulMs: number;
  /** FLOPs the matrix products did: 2·size(A)·N per node, from the recorded shapes. */
  readonly matmulFlops: number;
  /** Kernel time by op type. */
  readonly byOp: ReadonlyMap<string, ProfileRow>;
  /** Kernel time by node name. */
  readonly byNode: ReadonlyMap<string, ProfileRow>;
}

interface TraceEvent {
  readonly cat: string;
  readonly name: string;
  readonly ts: number;
  readonly dur: number;
  readonly args?: {
    readonly op_name?: string;
    readonly input_type_shape?: readonly Record<string, number[]>[];
    readonly output_type_shape?: readonly Record<string, number[]>[];
  };
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * FLOPs of a matrix-product node: 2·M·N·K per batch = 2·size(A)·N, with A its first input and N
 * the last axis of its output (whatever the transpose flags: A holds M·K values per batch).
 */
function matmulFlops(e: TraceEvent): number {
  const a = Object.values(e.args?.input_type_shape?.[0] ?? {})[0];
  const y = Object.values(e.args?.output_type_shape?.[0] ?? {})[0];
  return a && y ? 2 * size(a) * y[y.length - 1] : 0;
}

/**
 * Runs `warmup + steps` steps of `model` on ONNX Runtime's CPU provider at `threads` with the
 * profiler on, and reads the trace (written into a temporary directory, removed after).
 *
 * @example
 * ```ts ignore
 * const p = await profileOrtStep(model, trainConfig({ preset: "nano" }), data, { threads: 1 });
 * const rate = p.matmulFlops / p.matmulMs / 1e6;
 * console.log(`Gemms ${p.matmulMs.toFixed(1)} ms at ${rate.toFixed(0)} GFLOP/s`);
 * ```
 */
export async function profileOrtStep(
  model: Gpt,
  config: TrainConfig,
  data: TrainData,
  options: { readonly threads?: number; readonly steps?: number; readonly warmup?: number } = {},
): Promise<StepProfile> {
  const steps = options.steps ?? 20, warmup = options.warmup ?? 5;
  const dir = await Deno.makeTempDir({ prefix: "actlab-profile-" });
  const cwd = Deno.cwd();
  Deno.chdir(dir); // ONNX Runtime writes the trace into the working directory
  const wall: number[] = [];
  try {
    const trainer = await OrtTrainer.create(model, config, {
      provider: "cpu",
      threads: options.threads,
      profilePrefix: "step",
    });
    const rng = createRng(1);
    const shape = { batchSize: config.batchSize, blockSize: model.config.blockSize };
    try {
      for (let i = 0; i < warmup + steps; i++) {
        const info = await trainer.step(sampleBatch(data.train, shape, rng), i);
        if (i >= warmup) wall.push(info.ms);
      }
    } finally {
      await trainer.dispose();
    }
  } finally {
    Deno.chdir(cwd);
  }
  try {
    const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".json"));
    if (!file) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
    const events = JSON.parse(await Deno.readTextFile(`${dir}/${file.name}`)) as TraceEvent[];
    return readTrace(events, warmup, wall);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The per-step summary of a trace whose first `warmup` session runs are left out. */
function readTrace(events: readonly TraceEvent[], warmup: number, wall: readonly number[]) {
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const kept = runs.slice(warmup);
  const from = kept.length ? kept[0].ts : 0;
  const n = kept.length || wall.length;
  const byOp = new Map<string, { us: number; count: number; shape: string }>();
  const byNode = new Map<string, { us: number; count: number; op: string; shape: string }>();
  let flops = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < from) continue;
    const op = e.args?.op_name ?? "?";
    const row = byOp.get(op) ?? { us: 0, count: 0, shape: "" };
    row.us += e.dur;
    row.count++;
    byOp.set(op, row);
    const node = e.name.slice(0, -"_kernel_time".length);
    const shape = JSON.stringify(e.args?.output_type_shape ?? []).replaceAll('"', "");
    const nodeRow = byNode.get(node) ?? { us: 0, count: 0, op, shape };
    nodeRow.us += e.dur;
    nodeRow.count++;
    byNode.set(node, nodeRow);
    if (MATMUL_OPS.has(op)) flops += matmulFlops(e);
  }
  const perStep = <R extends { us: number; count: number; shape: string }>(
    rows: Map<string, R>,
    opOf: (key: string, r: R) => string,
  ) =>
    new Map(
      [...rows].map(([key, r]) => [
        key,
        { ms: r.us / n / 1000, count: r.count / n, op: opOf(key, r), shape: r.shape },
      ]),
    );
  const ops = perStep(byOp, (key) => key);
  const sum = (rows: Iterable<ProfileRow>) => [...rows].reduce((a, r) => a + r.ms, 0);
  const sorted = [...wall].sort((a, b) => a - b);
  return {
    steps: n,
    wallMs: sorted[sorted.length >> 1] ?? NaN,
    runMs: kept.reduce((a, e) => a + e.dur, 0) / n / 1000,
    kernelMs: sum(ops.values()),
    matmulMs: sum([...ops.values()].filter((r) => MATMUL_OPS.has(r.op))),
    matmulFlops: flops / n,
    byOp: ops,
    byNode: perStep(byNode, (_, r) => r.op),
  };
}
