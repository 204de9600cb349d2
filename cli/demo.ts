/**
 * `deno task demo`: the activation table, the engine `auto` chooses and why, and a short
 * throughput benchmark on every backend present.
 *
 *   deno task demo [--backend auto|tensorflow|webgpu|wasm|cpu] [--size 262144]
 *
 * Run with `--help` for every flag and its default.
 *
 * @module
 */
import { activationThroughput, availableBackends, matmulThroughput } from "../lib/engine/mod.ts";
import { fusedBackends } from "../lib/activations/mod.ts";
import { getActivation, initEngine, listActivations } from "../mod.ts";
import { command, type Parsed, runMain } from "./_args.ts";
import { backendFlag } from "./_flags.ts";

const FLAGS = {
  backend: backendFlag,
  size: {
    kind: "int",
    default: 1 << 18,
    min: 1,
    description: "float32 elements per throughput measurement",
  },
} as const;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

const traits = (d: ReturnType<typeof getActivation>) =>
  [
    d.properties.smooth ? "smooth" : "kinked",
    d.properties.monotonic ? "monotonic" : "non-monotonic",
    d.properties.boundedAbove ? "bounded" : d.properties.boundedBelow ? "bounded below" : "",
    d.properties.selfGated ? "self-gated" : "",
    d.properties.sparse ? "sparse" : "",
  ].filter(Boolean).join(", ");

async function run({ values }: Parsed<typeof FLAGS>): Promise<number> {
  console.log("actlab: activation functions\n");
  // Every column as wide as its widest cell; numbers right-aligned with 6 decimals.
  const num = (x: number) =>
    x === 0 ? "0" : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(6) : x.toExponential(5);
  const head = ["name", "kind", "f(-1)", "f'(-1)", "fused on", "aliases", "properties"];
  const rows = listActivations().map((d) => {
    const f = d.kind === "unary" ? d.reference(-1) : d.reference(-1, 1);
    const df = d.kind === "unary" ? d.derivative(-1) : d.derivative(-1, 1)[0];
    return [
      d.name,
      d.kind,
      num(f),
      num(df),
      fusedBackends(d.name).join(",") || "-",
      (d.aliases ?? []).slice(0, 2).join(", "),
      traits(d),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([2, 3]);
  const line = (r: string[]) =>
    r.map((c, i) =>
      i === r.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])
    ).join("  ");
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log("(gated: f(gate = -1, value = 1) and ∂f/∂gate)\n");

  const engine = await initEngine({ backend: values.backend });
  console.log(`engine: tfjs ${engine.tfjsVersion} on '${engine.backend}' (${engine.device})`);
  for (const s of engine.skipped) console.log(`  skipped ${s.backend}: ${s.reason}`);
  console.log();

  const size = values.size;
  const names = ["relu", "gelu", "gelu_tanh", "silu", "relu2", "swiglu"];
  console.log(`throughput, ${size.toLocaleString("en")} float32 elements (forward, fwd+bwd GB/s):`);
  for (const b of await availableBackends()) {
    if (!b.ok) {
      console.log(`  ${pad(b.backend, 11)}unavailable: ${b.detail.slice(0, 120)}`);
      continue;
    }
    const info = await initEngine({ backend: b.backend });
    const cells: string[] = [];
    for (const name of names) {
      const def = getActivation(name);
      const f = await activationThroughput(def, { size, minMs: 60 });
      const fb = await activationThroughput(def, { size, minMs: 60, backward: true });
      cells.push(`${name} ${f.gbPerS.toFixed(2)}/${fb.gbPerS.toFixed(2)}`);
    }
    const mm = await matmulThroughput({ n: 256, minMs: 60 });
    console.log(`  ${pad(b.backend, 11)}${info.device}`);
    console.log(`             ${cells.join("  ")}  matmul-256 ${mm.gflops.toFixed(1)} GFLOP/s`);
  }
  return 0;
}

/**
 * `deno task demo`: its flags, help and run.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await demo.run(["--backend", "wasm"]));
 * ```
 */
export const demo = command({
  usage: "deno task demo",
  summary: "The activation table, the engine `auto` chooses and why, and a short throughput " +
    "benchmark of every backend present.",
  flags: FLAGS,
}, run);

if (import.meta.main) await runMain(demo);
