/**
 * The ONNX gradient rules against the registry's one definition of each derivative: every
 * activation's lowering is differentiated by `differentiateRecorded` (the path compiled training
 * takes), run in ONNX Runtime on the dense accuracy grid, and compared point by point with the
 * entry's float64 `derivative` (scaled error ≤ 1e-5, the tfjs gradient target). Trainable
 * activations at their initial parameters; their parameter gradients, and PolyNorm's row
 * gradients, are checked in trainable_test.ts.
 */
import { assertEquals } from "@std/assert";
import * as ort from "onnxruntime-node";
import { accuracyGrid, scaledError } from "@actlab/actlab/activations";
import { differentiateRecorded, GraphBuilder, RecordingBuilder } from "@actlab/actlab/onnx";
import { createOrtSession } from "@actlab/actlab/engine";
import { type ActivationDef, listActivations } from "@actlab/actlab";

const TOLERANCE = 1e-5;
const xs = accuracyGrid();
const VALUES = [-3, -0.25, 2, 7].map(Math.fround);

/** A model with inputs (x or gate, value) and dy, and outputs the lowering's input gradients. */
function gradientModel(def: ActivationDef): { bytes: Uint8Array; wrt: string[] } {
  const g = new GraphBuilder();
  const rec = new RecordingBuilder(g);
  const wrt = def.kind === "unary" ? ["x"] : ["gate", "value"];
  const y = def.kind === "unary" ? def.onnx!(rec, "x") : def.onnx!(rec, "gate", "value");
  const grads = differentiateRecorded(g, rec, { wrt, y, dy: "dy", what: def.name });
  const outputs: Record<string, string[]> = {};
  grads.forEach((d, i) => {
    g.output(d ?? g.op("Mul", ["dy", g.constant(0)]), `d_${wrt[i]}`);
    outputs[`d_${wrt[i]}`] = ["n"];
  });
  const inputs = Object.fromEntries([...wrt, "dy"].map((name) => [name, ["n"]]));
  return { bytes: g.model({ inputs, outputs, name: `${def.name}_grad` }), wrt };
}

const f32 = (values: number[]) =>
  new ort.Tensor("float32", Float32Array.from(values), [values.length]);

Deno.test("every activation's ONNX gradient agrees with its reference derivative within 1e-5", async () => {
  const failures: string[] = [];
  for (const def of listActivations()) {
    // PolyNorm normalises over a row: its gradients are checked by rows in trainable_test.ts
    if (def.kind === "unary" && def.overChannels) continue;
    const { bytes, wrt } = gradientModel(def);
    const { session } = await createOrtSession(bytes, { provider: "cpu" });
    const gates = def.kind === "unary" ? xs : VALUES.flatMap(() => xs);
    const values = def.kind === "unary" ? [] : VALUES.flatMap((v) => xs.map(() => v));
    const feeds: Record<string, ort.Tensor> = { dy: f32(gates.map(() => 1)) };
    feeds[wrt[0]] = f32(gates);
    if (def.kind === "gated") feeds.value = f32(values);
    const out = await session.run(feeds);
    await session.release();
    let worst = { e: 0, at: "", got: 0, want: 0 };
    gates.forEach((x, i) => {
      const want = def.kind === "unary" ? [def.derivative(x)] : def.derivative(x, values[i]);
      wrt.forEach((name, k) => {
        const got = (out[`d_${name}`].data as Float32Array)[i];
        const e = scaledError(got, want[k]);
        if (e > worst.e || Number.isNaN(e)) {
          worst = {
            e,
            at: `∂/∂${name} at ${x}${def.kind === "gated" ? `, ${values[i]}` : ""}`,
            got,
            want: want[k],
          };
        }
      });
    });
    if (!(worst.e <= TOLERANCE)) {
      failures.push(`${def.name} ${worst.at}: ${worst.got} vs ${worst.want} (${worst.e})`);
    }
  }
  assertEquals(failures, [], failures.join("\n"));
});
