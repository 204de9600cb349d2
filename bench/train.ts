/**
 * Training-step speed of the nano preset on every available tfjs backend, next to the PyTorch
 * reference (`torch_minigpt.py --time-only`) run in the same session.
 *
 * Each measurement runs in its own process (`deno task train --time-only N`: 5 warm-up steps, then
 * the median of N steps), so backends do not share state. Prints a Markdown table and, with
 * `--json`, one JSON object per row.
 *
 * usage: deno run -A bench/train.ts [--steps 30] [--cpu-steps 3] [--activation gelu]
 *        [--backends wasm,cpu] [--torch PATH/torch_minigpt.py] [--data DIR] [--json]
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { availableBackends } from "../lib/engine/mod.ts";

interface Row {
  engine: string;
  backend: string;
  steps: number;
  median_ms_per_step: number | null;
  tokens_per_s: number | null;
  note: string;
}

function flag(name: string, fallback?: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  if (i >= 0) return Deno.args[i + 1];
  const eq = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

const steps = Number(flag("steps", "30"));
const cpuSteps = Number(flag("cpu-steps", "3"));
const activation = flag("activation", "gelu")!;
const json = Deno.args.includes("--json");
const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = flag("data") ?? Deno.env.get("ACTLAB_DATA_DIR") ??
  join(root, "..", "shared", "datasets");
const torchScript = flag("torch") ?? join(root, "..", "shared", "reference", "torch_minigpt.py");

async function run(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; last: string; err: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", cwd: root })
      .output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return {
      ok: out.success,
      last: lines.at(-1) ?? "",
      err: new TextDecoder().decode(out.stderr).trim(),
    };
  } catch (e) {
    return { ok: false, last: "", err: String(e) };
  }
}

const rows: Row[] = [];
const wanted = flag("backends")?.split(",");
for (const b of await availableBackends()) {
  if (wanted && !wanted.includes(b.backend)) continue;
  if (!b.ok) {
    rows.push({
      engine: "tfjs",
      backend: b.backend,
      steps: 0,
      median_ms_per_step: null,
      tokens_per_s: null,
      note: `unavailable: ${b.detail}`,
    });
    continue;
  }
  const n = b.backend === "cpu" ? cpuSteps : steps;
  const r = await run(Deno.execPath(), [
    "run",
    "-A",
    "cli/train.ts",
    "--preset",
    "nano",
    "--activation",
    activation,
    "--backend",
    b.backend,
    "--data",
    dataDir,
    "--time-only",
    String(n),
    "--json",
  ]);
  const t = r.ok ? JSON.parse(r.last) : undefined;
  rows.push({
    engine: "tfjs",
    backend: b.backend,
    steps: n,
    median_ms_per_step: t?.median_ms_per_step ?? null,
    tokens_per_s: t?.tokens_per_s ?? null,
    note: r.ok ? b.detail : `failed: ${r.err.split("\n").at(-1)}`,
  });
}
if (!Deno.args.includes("--skip-torch")) {
  const r = await run("/usr/bin/python3", [
    torchScript,
    "--data",
    join(dataDir, "tinyshakespeare", "input.txt"),
    "--act",
    activation,
    "--threads",
    "1",
    "--time-only",
    String(steps),
  ]);
  const t = r.ok ? JSON.parse(r.last) : undefined;
  rows.push({
    engine: "pytorch",
    backend: "cpu, 1 thread",
    steps,
    median_ms_per_step: t?.median_ms_per_step ?? null,
    tokens_per_s: t?.tokens_per_s ?? null,
    note: r.ok ? "torch_minigpt.py --time-only" : `failed: ${r.err.split("\n").at(-1)}`,
  });
}

const torchMs = rows.find((r) => r.engine === "pytorch")?.median_ms_per_step;
if (json) { for (const r of rows) console.log(JSON.stringify(r)); }
else {
  console.log(`nano preset (B=12, T=64, 4×128, ${activation}), training step incl. AdamW\n`);
  console.log("| engine | backend | steps | ms/step | tokens/s | × PyTorch | note |");
  console.log("|---|---|---:|---:|---:|---:|---|");
  for (const r of rows) {
    const ratio = r.median_ms_per_step && torchMs
      ? (r.median_ms_per_step / torchMs).toFixed(1)
      : "";
    console.log(
      `| ${r.engine} | ${r.backend} | ${r.steps} | ${r.median_ms_per_step ?? "—"} | ` +
        `${r.tokens_per_s ?? "—"} | ${ratio} | ${r.note} |`,
    );
  }
}
