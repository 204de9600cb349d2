/**
 * The files the GPU bundle carries come from the module graph: the literal imports of npm code,
 * this platform's native binding (and the libraries beside it), the `package.json` that makes a
 * folder CommonJS, and no other platform's binaries.
 */
import { assert, assertEquals } from "@std/assert";
import { moduleFiles, specifiersOf } from "../../tools/_module_files.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("specifiersOf() reads require, import, export-from and platform templates, not comments", () => {
  const source = [
    `const a = require("./a");`,
    `import b from 'b';`,
    `export { c } from "./c.js";`,
    `import "./side.js";`,
    `const d = await import("d");`,
    "const native = require(`../bin/${process.platform}/${process.arch}/x.node`);",
    "const other = require(`./${name}.js`);",
    ` * import { e } from "mod.js";`,
    ` * @typedef {import('./types.js').T} T`,
  ].join("\n");
  const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  assertEquals(
    specifiersOf(source).sort(),
    [
      "./a",
      "./c.js",
      "./side.js",
      `../bin/${os}/${arch}/x.node`,
      "b",
      "d",
    ].sort(),
  );
});

Deno.test({
  name:
    "moduleFiles() of bench/gpu.ts carries ONNX Runtime's native binding for this platform only",
  ignore: Deno.build.os !== "linux" || Deno.build.arch !== "x86_64",
  sanitizeResources: false,
  fn: async () => {
    const found = await moduleFiles(["bench/gpu.ts"], { root: ROOT });
    const ort = found.npmFiles.filter((f) => f.includes("/onnxruntime-node/bin/"));
    assert(ort.some((f) => f.endsWith("linux/x64/onnxruntime_binding.node")), ort.join("\n"));
    assert(ort.some((f) => f.endsWith("linux/x64/libonnxruntime.so.1")), "the library beside it");
    assertEquals(ort.filter((f) => !f.includes("/linux/x64/")), []);
    // the nearest package.json makes onnxruntime-common's dist/cjs CommonJS
    assert(found.npmFiles.some((f) => f.endsWith("onnxruntime-common/dist/cjs/package.json")));
    assert(found.local.includes(`${ROOT}/bench/gpu.ts`));
    assert(found.local.includes(`${ROOT}/lib/onnx/train.ts`));
    // no type declarations, maps or other platforms' files
    assertEquals(found.npmFiles.filter((f) => /\.d\.ts$|\.map$|darwin|win32/.test(f)), []);
    const names = [...found.packages.values()].map((p) => p.name);
    assert(names.includes("onnxruntime-node") && !names.includes("plotly.js-dist"));
  },
});
