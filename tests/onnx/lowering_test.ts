/**
 * Every registry activation's ONNX lowering, run in ONNX Runtime (CPU here, CUDA where
 * installed), against the float64 reference on the dense accuracy grid.
 */
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import * as ort from "onnxruntime-node";
import { accuracyGrid, scaledError } from "@actlab/actlab/activations";
import { activationModel } from "@actlab/actlab/onnx";
import { createOrtSession } from "@actlab/actlab/engine";
import { getActivation, listActivations } from "@actlab/actlab";

const xs = accuracyGrid();
const values = [-3, -0.25, 2, 7].map(Math.fround);
const TOLERANCE = 1e-6;

Deno.test("every activation's ONNX lowering agrees with its reference within 1e-6", async () => {
  const failures: string[] = [];
  for (const def of listActivations()) {
    const { session } = await createOrtSession(activationModel(def), { provider: "cpu" });
    let worst = { e: 0, at: "", got: 0, want: 0 };
    if (def.kind === "unary" && def.overChannels) {
      // normalises over a row: rows of 60 hidden units against the float64 row math
      for (let r = 0; r < xs.length; r += 60) {
        const row = xs.slice(r, r + 60);
        const x = new ort.Tensor("float32", Float32Array.from(row), [row.length]);
        const y = (await session.run({ x })).y.data as Float32Array;
        const want = def.overChannels.reference(row);
        row.forEach((v, i) => {
          const e = scaledError(y[i], want[i]);
          if (e > worst.e) worst = { e, at: `${v} (row ${r / 60})`, got: y[i], want: want[i] };
        });
      }
    } else if (def.kind === "unary") {
      const x = new ort.Tensor("float32", Float32Array.from(xs), [xs.length]);
      const y = (await session.run({ x })).y.data as Float32Array;
      xs.forEach((v, i) => {
        const e = scaledError(y[i], def.reference(v));
        if (e > worst.e) worst = { e, at: `${v}`, got: y[i], want: def.reference(v) };
      });
    } else {
      const gates = values.flatMap(() => xs);
      const vals = values.flatMap((v) => xs.map(() => v));
      const n = gates.length;
      const out = await session.run({
        gate: new ort.Tensor("float32", Float32Array.from(gates), [n]),
        value: new ort.Tensor("float32", Float32Array.from(vals), [n]),
      });
      const y = out.y.data as Float32Array;
      gates.forEach((g, i) => {
        const want = def.reference(g, vals[i]);
        const e = scaledError(y[i], want);
        if (e > worst.e) worst = { e, at: `${g}, ${vals[i]}`, got: y[i], want };
      });
    }
    await session.release();
    if (!(worst.e <= TOLERANCE)) {
      failures.push(`${def.name} at (${worst.at}): ${worst.got} vs ${worst.want} (${worst.e})`);
    }
  }
  assertEquals(failures, [], failures.join("\n"));
});

Deno.test("an activation without an ONNX lowering gets an error that says what to add", () => {
  const def = { ...getActivation("relu"), onnx: undefined };
  assertStringIncludes(String(assertThrows(() => activationModel(def))), "Add an 'onnx' field");
});
