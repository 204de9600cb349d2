import { assert, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { conformanceTable, initEngine } from "@actlab/actlab";

Deno.test({
  name: "conformanceTable() gives per-activation errors of ORT and each backend, all within 1e-6",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await initEngine({ backend: "wasm" });
    const table = await conformanceTable({
      backends: ["cpu", "wasm"],
      activations: ["gelu", "gelu_tanh", "silu", "swiglu", "relu2"],
    });
    assertEquals(tf.getBackend(), "wasm", "the caller's backend is restored");
    assertEquals(table.columnNames(), [
      "activation",
      "kind",
      "ort",
      "cpu",
      "cpu_grad",
      "wasm",
      "wasm_grad",
    ]);
    assertEquals(table.numRows(), 5);
    for (const row of table.objects() as Record<string, number | string>[]) {
      for (const col of ["ort", "cpu", "wasm"]) {
        assert((row[col] as number) <= 1e-6, `${row.activation} ${col}: ${row[col]}`);
      }
      for (const col of ["cpu_grad", "wasm_grad"]) {
        assert((row[col] as number) <= 1e-5, `${row.activation} ${col}: ${row[col]}`);
      }
    }
  },
});
