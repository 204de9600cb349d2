/** Axes as data: names, values, folders and cells; a model-size grid trained on the tiny preset. */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import {
  applyAxes,
  AXES,
  axisKind,
  axisPoints,
  cellFolder,
  checkAxes,
  gridCells,
  parseAxis,
  readGrid,
  sweepGrid,
} from "@actlab/actlab/sweep";

Deno.test("axisKind() knows an axis under its snake_case, camelCase and flag names", () => {
  assertEquals(axisKind("n_layer").name, "n_layer");
  assertEquals(axisKind("nLayer").name, "n_layer");
  assertEquals(axisKind("n-layer").name, "n_layer");
  assertEquals(axisKind("learning_rate").name, "lr");
  assertEquals(axisKind("weightDecay").name, "weight_decay");
  assertEquals(axisKind("warmupIters").name, "warmup");
  assertThrows(() => axisKind("activation"), Error, "unknown axis");
  assertThrows(() => axisKind("seed"), Error, "unknown axis");
  assertThrows(() => axisKind("nlayers"), Error, "axes: lr, iters, depth");
  // Every config field with a preset value is an axis, except the sweep's own dimensions.
  assert(AXES.length >= 18, `${AXES.length} axes`);
});

Deno.test("parseAxis() reads NAME=V1,V2 with the axis's kind and names a bad value", () => {
  assertEquals(parseAxis("n_layer=2,4,6"), { name: "n_layer", values: [2, 4, 6] });
  assertEquals(parseAxis("lr = 1e-3, 3e-3"), { name: "lr", values: [0.001, 0.003] });
  assertEquals(parseAxis("bias=true,false"), { name: "bias", values: [true, false] });
  assertThrows(() => parseAxis("n_layer"), Error, "NAME=V1,V2");
  assertThrows(() => parseAxis("lr=fast"), Error, "'fast' is not a number");
  assertThrows(() => parseAxis("bias=yes"), Error, "not true or false");
});

Deno.test("checkAxes() refuses a bad value with the config's own message, and an axis twice", () => {
  const base = { preset: "nano" as const };
  assertThrows(() => checkAxes([{ name: "n_layer", values: [2, 0] }], base), Error, "nLayer");
  assertThrows(
    () => checkAxes([{ name: "n_head", values: [3] }], base),
    Error,
    "must divide nEmbd",
  );
  assertThrows(() => checkAxes([{ name: "lr", values: [0] }], base), Error, "learning rate 0");
  assertThrows(() => checkAxes([{ name: "iters", values: [50] }], base), Error, "100 warmup");
  assertThrows(
    () =>
      checkAxes([{ name: "lr", values: [1e-3] }, { name: "learningRate", values: [2e-3] }], base),
    Error,
    "given twice",
  );
  assertEquals(checkAxes([{ name: "n_embd", values: [256, 64, 256] }], base), [
    { name: "n_embd", values: [64, 256] },
  ]);
});

Deno.test("cells are the product of the axes; a folder names only what differs from the base", () => {
  const points = axisPoints([{ name: "depth", values: [2, 4] }, {
    name: "lr",
    values: [1e-3, 3e-3],
  }]);
  assertEquals(points, [
    { depth: 2, lr: 1e-3 },
    { depth: 4, lr: 1e-3 },
    { depth: 2, lr: 3e-3 },
    { depth: 4, lr: 3e-3 },
  ]);
  const base = { preset: "nano" as const };
  // nano is depth 4 (4 layers, 4 heads, 128 wide) at lr 1e-3: that cell is the base folder.
  assertEquals(points.map((p) => cellFolder(base, p)), [
    "depth=2",
    "",
    "depth=2,lr=0.003",
    "lr=0.003",
  ]);
  assertEquals(applyAxes(base, { depth: 6 }).model, { nLayer: 6, nHead: 6, nEmbd: 192 });
  assertEquals(applyAxes(base, { weight_decay: 0 }).train, { weightDecay: 0 });
  const cells = gridCells({ ...base, iters: 2000, axes: [{ name: "n_layer", values: [2, 4] }] });
  assertEquals(cells.map((c) => [c.folder, c.options.model]), [
    ["n_layer=2", { nLayer: 2 }],
    ["", undefined],
  ]);
});

Deno.test({
  name: "a model-size grid on the tiny preset trains each size, and its folders read back",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await initEngine({ backend: "wasm" });
    const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
    const out = await Deno.makeTempDir({ prefix: "actlab-axes-" });
    try {
      const grid = await sweepGrid(data, {
        preset: "tiny",
        iters: 8,
        evalEvery: 4,
        evalIters: 2,
        jobs: 1,
        activations: ["relu", "gelu"],
        seeds: 1,
        axes: [{ name: "n_layer", values: [1, 2, 3] }, { name: "n_embd", values: [16, 32] }],
        out,
        onNotice: () => {},
      });
      assertEquals(grid.cells.length, 6);
      const byFolder = new Map(grid.cells.map((c) => [c.folder, c.result]));
      // tiny is 2 layers × 32 wide: that cell is the base folder; the others are named.
      assertEquals([...byFolder.keys()].sort(), [
        "",
        "n_embd=16",
        "n_layer=1",
        "n_layer=1,n_embd=16",
        "n_layer=3",
        "n_layer=3,n_embd=16",
      ]);
      const params = (folder: string) => byFolder.get(folder)!.trials[0].params;
      assert(params("n_layer=1") < params("") && params("") < params("n_layer=3"));
      assert(params("n_layer=3,n_embd=16") < params("n_layer=3"));
      assertEquals(byFolder.get("n_layer=3")!.settings.model, { nLayer: 3 });
      const best = grid.best.objects() as Record<string, unknown>[];
      assertEquals(best.length, 12, "one row per activation × size (a single learning rate)");
      assert(best.every((r) => "n_layer" in r && "n_embd" in r));
      const read = await readGrid(out, { onNotice: () => {} });
      assertEquals(read.table.toCSV(), grid.table.toCSV(), "the grid reads back as it ran");
      const csv = await Deno.readTextFile(`${out}/grid.csv`);
      assert(csv.startsWith("activation,lr,iters,n_layer,n_embd,folder,"), csv.split("\n")[0]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
