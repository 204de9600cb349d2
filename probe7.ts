import { initEngine, listActivations, measureAccuracy, derivativeCheck, getActivation } from "./mod.ts";
for (const b of ["cpu", "wasm", "webgpu"] as const) {
  await initEngine({ backend: b });
  for (const d of listActivations()) {
    const r = await measureAccuracy(d);
    const fd = b === "cpu" ? derivativeCheck(d) : undefined;
    const bad = r.forward.maxError > 1e-6 || r.gradient.maxError > 1e-5 || (fd && fd.maxError > 1e-6);
    console.log(b.padEnd(6), d.name.padEnd(14), r.forward.maxError.toExponential(2), JSON.stringify(r.forward.at), r.gradient.maxError.toExponential(2), JSON.stringify(r.gradient.at), fd ? fd.maxError.toExponential(2) + " " + JSON.stringify(fd.at) : "", bad ? "  <<<<<" : "");
  }
}
console.log(getActivation("gelu").reference(-1));
