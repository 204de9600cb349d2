/**
 * The conformance table: for every activation, the largest error of each implementation (ONNX
 * Runtime through the registry lowering, and each tfjs backend present) against the float64
 * reference on the dense accuracy grid.
 *
 * @module
 */
import * as aq from "arquero";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { accuracyGrid, measureAccuracy, scaledError } from "../activations/accuracy.ts";
import { listActivations } from "../activations/registry.ts";
import type { ActivationDef } from "../activations/types.ts";
import { createOrtSession, type OrtProviderChoice, resolveOrtProvider } from "../engine/ort.ts";
import { availableBackends, type BackendName, initEngine } from "../engine/tfjs.ts";
import { activationModel } from "./builder.ts";

/** Values paired with every gate when checking gated activations. */
const VALUES = [-3, -0.25, 2, 7].map(Math.fround);

/**
 * Largest error of an activation's ONNX lowering in ONNX Runtime against its reference,
 * |got − want| / max(1, |want|) over the accuracy grid (gated: every gate × 4 values).
 *
 * @example
 * ```ts
 * import { getActivation } from "@actlab/actlab";
 * import { ortActivationError } from "@actlab/actlab/onnx";
 * (await ortActivationError(getActivation("gelu"))) < 1e-6; // true
 * ```
 */
export async function ortActivationError(
  def: ActivationDef,
  options: { grid?: number[]; provider?: OrtProviderChoice } = {},
): Promise<number> {
  const xs = (options.grid ?? accuracyGrid()).map(Math.fround);
  const { provider } = await resolveOrtProvider(options.provider ?? "auto");
  const { session } = await createOrtSession(activationModel(def, { provider }), { provider });
  try {
    const tensor = (a: number[]) => new ort.Tensor("float32", Float32Array.from(a), [a.length]);
    let worst = 0;
    if (def.kind === "unary" && def.overChannels) {
      // normalises over a row: rows of 60 against the float64 row math
      for (let r = 0; r < xs.length; r += 60) {
        const row = xs.slice(r, r + 60);
        const y = (await session.run({ x: tensor(row) })).y.data as Float32Array;
        const want = def.overChannels.reference(row);
        row.forEach((_, i) => worst = Math.max(worst, scaledError(y[i], want[i])));
      }
    } else if (def.kind === "unary") {
      const y = (await session.run({ x: tensor(xs) })).y.data as Float32Array;
      xs.forEach((x, i) => worst = Math.max(worst, scaledError(y[i], def.reference(x))));
    } else {
      const gates = VALUES.flatMap(() => xs);
      const values = VALUES.flatMap((v) => xs.map(() => v));
      const y = (await session.run({ gate: tensor(gates), value: tensor(values) })).y
        .data as Float32Array;
      gates.forEach((g, i) =>
        worst = Math.max(worst, scaledError(y[i], def.reference(g, values[i])))
      );
    }
    return worst;
  } finally {
    await session.release();
  }
}

/** One row of {@link conformanceTable}. */
export interface ConformanceRow {
  /** The activation's name. */
  activation: string;
  /** `unary` or `gated`. */
  kind: string;
  /** ONNX Runtime forward error. */
  ort: number;
  /** Per tfjs backend: forward error (`<backend>`) and gradient error (`<backend>_grad`). */
  [column: string]: string | number;
}

/**
 * Per activation, the max error of the ONNX Runtime op and of each tfjs backend present
 * (forward and gradient) against the float64 reference, as an arquero table. Leaves the tfjs
 * backend it started with active.
 *
 * @example
 * ```ts
 * import { conformanceTable } from "@actlab/actlab";
 * const table = await conformanceTable({ backends: ["cpu"], activations: ["gelu", "relu"] });
 * table.print();
 * ```
 */
export async function conformanceTable(
  options: { backends?: BackendName[]; activations?: string[] } = {},
): Promise<aq.ColumnTable> {
  const before = tf.getBackend();
  const present = (await availableBackends()).filter((b) => b.ok).map((b) => b.backend);
  const backends = options.backends ?? present;
  const defs = options.activations
    ? listActivations().filter((d) => options.activations?.includes(d.name))
    : listActivations();
  const rows: ConformanceRow[] = [];
  for (const def of defs) {
    rows.push({ activation: def.name, kind: def.kind, ort: await ortActivationError(def) });
  }
  for (const backend of backends) {
    await initEngine({ backend });
    for (const [i, def] of defs.entries()) {
      const r = await measureAccuracy(def);
      rows[i][backend] = r.forward.maxError;
      rows[i][`${backend}_grad`] = r.gradient.maxError;
    }
  }
  if (before && before !== tf.getBackend()) await initEngine({ backend: before as BackendName });
  return aq.from(rows);
}
