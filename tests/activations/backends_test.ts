/**
 * Every activation on every tfjs backend present (cpu, wasm, webgpu on any adapter including a
 * software one, tensorflow where its native addon loads): float32 forward within 1e-6 of the
 * float64 reference and gradients within 1e-5 of the reference derivative (both relative where
 * the value exceeds 1), NaN and ±∞ as the math says, no overflow at large |x|. fused_test.ts
 * checks each fused kernel by name against its entry's math, and that their sources are current.
 */
import { assert, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { availableBackends } from "@actlab/actlab/engine";
import { fusedBackends, measureAccuracy, setFusedKernels } from "@actlab/actlab/activations";
import { getActivation, initEngine, listActivations, type UnaryActivation } from "@actlab/actlab";

const backends = await availableBackends();
/** mpmath's f′ at ±∞ per unary built-in (tools/golden_activations.py). */
const golden: { unary: Record<string, { dlimits: [string, string] }> } = JSON.parse(
  await Deno.readTextFile(new URL("./golden.json", import.meta.url)),
);
const FORWARD_TOLERANCE = 1e-6;
const GRADIENT_TOLERANCE = 1e-5;

for (const { backend, ok, detail } of backends) {
  const ignore = !ok;
  if (ignore) console.warn(`skipping activation tests on ${backend}: ${detail}`);

  Deno.test({
    name: `on ${backend}: every activation's forward is within 1e-6 and gradient within 1e-5`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const failures: string[] = [];
      for (const def of listActivations()) {
        const r = await measureAccuracy(def);
        if (!(r.forward.maxError <= FORWARD_TOLERANCE)) {
          failures.push(
            `${def.name} forward at ${JSON.stringify(r.forward.at)}: ${r.forward.got} vs ` +
              `${r.forward.want} (error ${r.forward.maxError})`,
          );
        }
        if (!(r.gradient.maxError <= GRADIENT_TOLERANCE)) {
          failures.push(
            `${def.name} gradient at ${JSON.stringify(r.gradient.at)}: ${r.gradient.got} vs ` +
              `${r.gradient.want} (error ${r.gradient.maxError})`,
          );
        }
      }
      assertEquals(failures, [], failures.join("\n"));
    },
  });

  Deno.test({
    name: `on ${backend}: the composite (unfused) forms meet the same tolerances`,
    ignore: ignore || !listActivations().some((d) => fusedBackends(d.name).includes(backend)),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const failures: string[] = [];
      const before = setFusedKernels(false);
      try {
        for (const def of listActivations()) {
          if (!fusedBackends(def.name).includes(backend)) continue;
          const r = await measureAccuracy(def);
          if (
            !(r.forward.maxError <= FORWARD_TOLERANCE && r.gradient.maxError <= GRADIENT_TOLERANCE)
          ) {
            failures.push(
              `${def.name}: forward ${r.forward.maxError}, gradient ${r.gradient.maxError}`,
            );
          }
        }
      } finally {
        setFusedKernels(before);
      }
      assertEquals(failures, [], failures.join("\n"));
    },
  });

  Deno.test({
    name: `on ${backend}: NaN stays NaN and ±∞ give the limits the math says`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const xs = [NaN, Infinity, -Infinity];
      const failures: string[] = [];
      for (const def of listActivations({ kind: "unary" }) as UnaryActivation[]) {
        if (def.overChannels) continue; // normalises the row: ∞/∞ is NaN, as the row math says
        const x = tf.tensor1d(xs);
        const y = def.apply(x);
        const got = Array.from(await y.data());
        tf.dispose([x, y]);
        const want = xs.map((v) => Math.fround(def.reference(v)));
        for (let i = 0; i < xs.length; i++) {
          const same = Object.is(got[i], want[i]) || got[i] === want[i] ||
            (Number.isNaN(got[i]) && Number.isNaN(want[i]));
          if (!same) failures.push(`${def.name}(${xs[i]}): got ${got[i]}, want ${want[i]}`);
        }
      }
      assertEquals(failures, [], failures.join("\n"));
    },
  });

  Deno.test({
    name: `on ${backend}: gradients at ±∞ are mpmath's limits of f′ (0, not NaN, where f flattens)`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const xs = [-Infinity, Infinity];
      const failures: string[] = [];
      for (const fused of [true, false]) {
        const before = setFusedKernels(fused);
        try {
          for (const [name, { dlimits }] of Object.entries(golden.unary)) {
            const def = getActivation(name) as UnaryActivation;
            if (!fused && !fusedBackends(name).includes(backend)) continue; // measured above
            if (def.overChannels) continue; // not elementwise (see the test above)
            const x = tf.tensor1d(xs);
            const g = tf.grad((t: tf.Tensor) => def.apply(t))(x);
            const got = Array.from(await g.data());
            tf.dispose([x, g]);
            const want = dlimits.map((v) => Math.fround(Number(v)));
            for (let i = 0; i < xs.length; i++) {
              // a trainable parameter passes through float32 ops (xIELU: softplus of α_n_raw)
              const close = def.trainable !== undefined &&
                Math.abs(got[i] - want[i]) <= 1e-6 * Math.abs(want[i]);
              if (!(got[i] === want[i]) && !close) {
                const form = fused ? "" : " (composite)";
                failures.push(`${name}'(${xs[i]})${form}: got ${got[i]}, want ${want[i]}`);
              }
            }
          }
        } finally {
          setFusedKernels(before);
        }
      }
      assertEquals(failures, [], failures.join("\n"));
    },
  });

  Deno.test({
    name: `on ${backend}: no overflow at large |x| (softplus(100), gelu_tanh(±20), sigmoid(-100))`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const at = async (name: string, v: number) => {
        const def = getActivation(name) as UnaryActivation;
        const x = tf.tensor1d([v]);
        const y = def.apply(x);
        const [out] = await y.data();
        tf.dispose([x, y]);
        return out;
      };
      assertEquals(await at("softplus", 100), 100);
      assertEquals(await at("gelu_tanh", 20), 20);
      assertEquals(Math.abs(await at("gelu_tanh", -20)), 0);
      assert(Math.abs(await at("sigmoid", -100)) < 1e-30);
      assertEquals(await at("mish", 100), 100);
      assertEquals(await at("gelu", 1e4), 1e4);
      assertEquals(Math.abs(await at("silu", -1e4)), 0);
    },
  });

  Deno.test({
    name: `on ${backend}: gradients flow through apply() and leave no tensors behind`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initEngine({ backend });
      const before = tf.memory().numTensors;
      for (const def of listActivations()) {
        const x = tf.randomNormal([64]);
        const v = tf.randomNormal([64]);
        const loss = (a: tf.Tensor) =>
          tf.sum(def.kind === "unary" ? def.apply(a) : def.apply(a, v)) as tf.Scalar;
        const w = tf.variable(x);
        const { value, grads } = tf.variableGrads(() => loss(w), [w]);
        const g = tf.grad(loss)(x);
        assertEquals(g.shape, [64]);
        assertEquals(Array.from(await g.data()), Array.from(await grads[w.name].data()));
        tf.dispose([x, v, w, value, g, ...Object.values(grads)]);
      }
      assertEquals(tf.memory().numTensors, before);
    },
  });
}

Deno.test("the accuracy report names the backend and the worst point", async () => {
  await initEngine({ backend: "cpu" });
  const r = await measureAccuracy(getActivation("relu"));
  assertEquals(r.backend, "cpu");
  assertEquals(r.activation, "relu");
  assertEquals(r.forward.maxError, 0);
  assert(r.points > 4000);
});
