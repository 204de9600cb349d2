import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { activationModel } from "@actlab/actlab/onnx";
import {
  availableBackends,
  createOrtSession,
  engineInfo,
  ortCudaStatus,
} from "@actlab/actlab/engine";
import { getActivation, getUnary, initEngine } from "@actlab/actlab";

const backends = Object.fromEntries((await availableBackends()).map((b) => [b.backend, b]));
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "initEngine() starts cpu and wasm when asked and says what runs",
  ...options,
  fn: async () => {
    const cpu = await initEngine({ backend: "cpu" });
    assertEquals([cpu.backend, tf.getBackend(), engineInfo()?.backend], ["cpu", "cpu", "cpu"]);
    assertEquals(cpu.skipped, []);
    const wasm = await initEngine({ backend: "wasm" });
    assertEquals(tf.getBackend(), "wasm");
    assertStringIncludes(wasm.device, "WebAssembly");
    const y = tf.relu(tf.tensor1d([-1, 2]));
    assertEquals(Array.from(await y.data()), [0, 2]);
  },
});

Deno.test({
  name:
    "initEngine({ backend: 'auto' }) takes the first usable backend and says why it skipped others",
  ...options,
  fn: async () => {
    const e = await initEngine({ backend: "auto" });
    const order = ["tensorflow", "webgpu", "wasm", "cpu"];
    assertEquals(e.requested, "auto");
    assertEquals(e.skipped.map((s) => s.backend), order.slice(0, order.indexOf(e.backend)));
    for (const s of e.skipped) assert(s.reason.length > 10, `${s.backend}: '${s.reason}'`);
    if (!backends.tensorflow.ok) assertStringIncludes(e.skipped[0].reason, "native addon");
    if (backends.webgpu.ok && backends.webgpu.detail.includes("fallback")) {
      assertStringIncludes(e.skipped[1].reason, "software fallback adapter");
    }
  },
});

Deno.test({
  name: "asking for an unknown backend lists the choices",
  ...options,
  fn: async () => {
    await assertRejects(
      () => initEngine({ backend: "cuda" as never }),
      Error,
      "auto, tensorflow, webgpu, wasm, cpu",
    );
  },
});

Deno.test({
  name: "asking for tensorflow without its native addon says why and how to get it",
  ignore: backends.tensorflow.ok,
  ...options,
  fn: async () => {
    const e = await assertRejects(() => initEngine({ backend: "tensorflow" }), Error);
    assertStringIncludes(e.message, "cannot start");
    assertStringIncludes(e.message, "--allow-scripts=npm:@tensorflow/tfjs-node-gpu");
  },
});

if (!backends.tensorflow.ok) {
  console.warn(
    "skipping the tfjs-node-gpu test: its native addon is not installed here " +
      `(${backends.tensorflow.detail}); it needs libtensorflow, which its install script ` +
      "downloads on a machine with internet",
  );
}

Deno.test({
  name: "the tensorflow backend (tfjs-node-gpu) computes GELU within 1e-6 where installed",
  ignore: !backends.tensorflow.ok,
  ...options,
  fn: async () => {
    const e = await initEngine({ backend: "tensorflow" });
    assertEquals(e.backend, "tensorflow");
    const gelu = getUnary("gelu");
    const y = await gelu.apply(tf.tensor1d([-1])).data();
    assert(Math.abs(y[0] - gelu.reference(-1)) < 1e-6);
  },
});

if (!backends.webgpu.ok) console.warn(`skipping the webgpu test: ${backends.webgpu.detail}`);

Deno.test({
  name: "webgpu starts on the adapter present when asked, software adapters included",
  ignore: !backends.webgpu.ok,
  ...options,
  fn: async () => {
    const e = await initEngine({ backend: "webgpu" });
    assertEquals(tf.getBackend(), "webgpu");
    assert(e.device.length > 0);
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const out = await tf.matMul(a, a).data();
    assertEquals(Array.from(out), [7, 10, 15, 22]);
  },
});

Deno.test({
  name: "createOrtSession() runs a model on CPU here and gives the reason it is not CUDA",
  ...options,
  fn: async () => {
    const { session, provider, reason } = await createOrtSession(
      activationModel(getActivation("relu")),
    );
    const cuda = ortCudaStatus();
    assertEquals(provider, cuda.available ? "cuda" : "cpu");
    if (!cuda.available) assertStringIncludes(reason, "no CUDA provider library");
    const out = await session.run({
      x: new ort.Tensor("float32", Float32Array.from([-1, 3]), [2]),
    });
    assertEquals(Array.from(out.y.data as Float32Array), [0, 3]);
    await session.release();
  },
});

Deno.test({
  name: "asking ONNX Runtime for CUDA where it is missing says how to install it",
  ignore: ortCudaStatus().available,
  ...options,
  fn: async () => {
    const e = await assertRejects(
      () => createOrtSession(activationModel(getActivation("relu")), { provider: "cuda" }),
      Error,
    );
    assertStringIncludes(e.message, "ONNXRUNTIME_NODE_INSTALL=cuda12");
  },
});
