/**
 * The accuracy figures: per activation, the max error of ONNX Runtime and of every tfjs backend
 * present (forward / gradient) against the float64 reference on the dense grid, plus the
 * reference derivative against a finite difference. Prints a markdown table.
 *
 *   deno run -A bench/accuracy.ts [--backends cpu,wasm,webgpu]
 */
import { parseArgs } from "node:util";
import type { BackendName } from "../lib/engine/mod.ts";
import { conformanceTable, getActivation } from "../mod.ts";
import { derivativeCheck } from "../lib/activations/mod.ts";

const { values } = parseArgs({ options: { backends: { type: "string" } } });
const backends = values.backends?.split(",") as BackendName[] | undefined;
const table = await conformanceTable({ backends });
const rows = table.objects() as Record<string, string | number>[];
const cols = Object.keys(rows[0]).filter((c) => c !== "activation" && c !== "kind" && c !== "ort");
const tfjs = [...new Set(cols.map((c) => c.replace(/_grad$/, "")))];
const e = (v: unknown) => (v === 0 ? "0" : (v as number).toExponential(1));
console.log(
  `| activation | ORT fwd | ${tfjs.map((b) => `${b} fwd / grad`).join(" | ")} | f' vs FD |`,
);
console.log(`|---|---:|${tfjs.map(() => "---:").join("|")}|---:|`);
for (const r of rows) {
  const fd = derivativeCheck(getActivation(r.activation as string)).maxError;
  console.log(
    `| ${r.activation} | ${e(r.ort)} | ${
      tfjs.map((b) => `${e(r[b])} / ${e(r[`${b}_grad`])}`).join(" | ")
    } | ${e(fd)} |`,
  );
}
console.log(
  "\nerror = max |got − want| / max(1, |want|) over 4,020 points in [-10, 10] plus 0, ±1e-3, " +
    "±1e-6, 6, ±20…±1000 (gated: × 6 values for tfjs, 4 for ORT).",
);
