/**
 * Fused kernels for tfjs's `cpu` backend: one JavaScript loop that evaluates the float64
 * reference per element and rounds once to float32 (so the result is the correctly rounded
 * reference up to the reference's own few-ulp error), and one loop for dy·f'(x).
 *
 * On `cpu` this is both more accurate and faster than a composite of tfjs ops, each of which is
 * its own loop over memory.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { registerFused } from "./_fused.ts";
import type { UnaryActivation } from "./types.ts";

interface CpuBackend {
  data: { get(id: tf.DataId): { values: Float32Array } };
  readSync(id: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

function valuesOf(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  return backend.readSync(t.dataId) as Float32Array;
}

/**
 * Registers a fused cpu kernel (and its gradient) for a unary activation whose `reference` and
 * `derivative` are the float64 math.
 */
export function registerCpuKernels(def: UnaryActivation): void {
  const forwardName = `Actlab_${def.name}`;
  const gradName = `${forwardName}_grad`;
  const { reference, derivative } = def;
  tf.registerKernel({
    kernelName: forwardName,
    backendName: "cpu",
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as unknown as CpuBackend;
      const x = valuesOf(cpu, inputs.x as tf.TensorInfo);
      const y = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = reference(x[i]);
      return cpu.makeTensorInfo((inputs.x as tf.TensorInfo).shape, "float32", y);
    },
  });
  tf.registerKernel({
    kernelName: gradName,
    backendName: "cpu",
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as unknown as CpuBackend;
      const x = valuesOf(cpu, inputs.x as tf.TensorInfo);
      const dy = valuesOf(cpu, inputs.dy as tf.TensorInfo);
      const dx = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) dx[i] = dy[i] * derivative(x[i]);
      return cpu.makeTensorInfo((inputs.x as tf.TensorInfo).shape, "float32", dx);
    },
  });
  tf.registerGradient({
    kernelName: forwardName,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({
      x: () => tf.engine().runKernel(gradName, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor,
    }),
  });
  registerFused(
    def.name,
    "cpu",
    (x) => tf.engine().runKernel(forwardName, { x }) as tf.Tensor,
  );
}
