import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import * as ort from "onnxruntime-node";
import * as aq from "arquero";
import { assertEquals } from "@std/assert";
console.log(tf.version_core, ort.env.versions, typeof aq.table, typeof assertEquals);
for (const b of ["cpu", "wasm", "webgpu"]) {
  try { const ok = await tf.setBackend(b); await tf.ready(); console.log(b, ok, tf.getBackend(), tf.tensor([1,2,3]).relu().dataSync()); } catch (e) { console.log(b, "ERR", String(e).slice(0,300)); }
}
console.log("gpu", typeof (navigator as any).gpu);
