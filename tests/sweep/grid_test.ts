import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { charDataset, initEngine, summarizeTrials, sweep, sweepGrid } from "@actlab/actlab";
import { equalComputeTable } from "@actlab/actlab/experiments";
import {
  bestLearningRates,
  gridCells,
  type GridCellTrials,
  gridTable,
  trialFlopsPerStep,
  trialsAtBestLr,
  trialsAtBestLrByGroup,
} from "@actlab/actlab/sweep";
import type { SweepSettings, TrialResult } from "@actlab/actlab/sweep";
import { gptConfig, trainingStepFlops } from "@actlab/actlab/gpt";
import { syntheticText } from "@actlab/actlab/datasets";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
// tiny: lr 3e-3 decaying to 3e-4, 10 warmup steps; 12 steps keep each trial to a second or so.
const small = {
  preset: "tiny" as const,
  iters: 12,
  evalEvery: 6,
  evalIters: 2,
  activations: ["relu", "swiglu"],
  seeds: 1,
  jobs: 1,
};
const options = { sanitizeOps: false, sanitizeResources: false };

async function files(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("gridCells() names each cell by what it changes; the base cell keeps the options", () => {
  const cells = gridCells({ preset: "nano", iters: 2000, lrs: [3e-3, 3e-4, 1e-3], out: "g" });
  assertEquals(cells.map((c) => [c.lr, c.iters, c.folder]), [
    [3e-4, 2000, "lr=0.0003"],
    [1e-3, 2000, ""],
    [3e-3, 2000, "lr=0.003"],
  ]);
  assertEquals(cells[1].options, { preset: "nano", iters: 2000, out: "g" });
  assertEquals(cells[2].options.out, "g/lr=0.003");
  // The decay floor keeps the preset's ratio (nano: 1e-4 / 1e-3), printed without float dust.
  assertEquals(cells[0].options.train, { learningRate: 3e-4, minLearningRate: 3e-5 });
  const both = gridCells({ preset: "tiny", iters: 12, lrs: [1e-3], budgets: [40], out: "g" });
  assertEquals(both.map((c) => c.folder), ["lr=0.001", "", "lr=0.001,iters=40", "iters=40"]);
  assertEquals(both[3].options.iters, 40);
  assertEquals(both[3].options.train, undefined);
  assertThrows(() => gridCells({ preset: "tiny", budgets: [10] }), Error, "10 warmup steps");
  assertThrows(() => gridCells({ lrs: [0] }), Error, "learning rate 0");
});

/** A cell of plain records: one activation's final losses by seed at a rate (no training). */
function fakeCell(lr: number, losses: Record<string, (number | null)[]>): GridCellTrials {
  const trials: TrialResult[] = Object.entries(losses).flatMap(([activation, xs]) =>
    xs.map((x, k) => ({
      activation,
      seed: k + 1,
      status: x === null ? "diverged" : "completed",
      finalValLoss: x ?? NaN,
      finalTrainLoss: x ?? NaN,
      evals: [{ iter: 100, trainLoss: x ?? NaN, valLoss: x ?? NaN, elapsedS: 10 }],
      msPerStep: 100,
      params: 1000,
      wallS: 10,
      settings: `k${lr}`,
      flopsPerStep: 1e6,
    }))
  );
  return { lr, iters: 100, folder: `lr=${lr}`, result: { trials, settings: {} as SweepSettings } };
}

Deno.test("bestLearningRates() picks the lowest mean, never a rate where a seed diverged", () => {
  const cells = [
    fakeCell(1e-4, { relu: [2.0, 2.1], gelu: [1.9, 1.9] }),
    fakeCell(1e-3, { relu: [1.8, 1.9], gelu: [1.7, null] }),
    fakeCell(1e-2, { relu: [1.85, 1.86], gelu: [2.5, 2.4] }),
  ];
  const best = bestLearningRates(cells).objects() as Record<string, unknown>[];
  assertEquals(best.map((r) => [r.activation, r.best_lr, r.at_edge]), [
    ["relu", 1e-3, false],
    ["gelu", 1e-4, true], // 1e-3 has the lower completed loss, but a seed diverged there
  ]);
  assertAlmostEquals(best[0].val_loss_mean as number, 1.85, 1e-12);
  assertEquals(best[0].lrs, "0.0001;0.001;0.01");
  assertEquals(best[0].train_flops, 1e8);
  const grid = gridTable(cells).objects() as Record<string, unknown>[];
  assertEquals(grid.length, 6);
  assertEquals(grid.filter((r) => r.best).map((r) => `${r.activation}@${r.lr}`), [
    "relu@0.001",
    "gelu@0.0001",
  ]);
  assertEquals(grid.find((r) => r.activation === "gelu" && r.lr === 1e-3)?.diverged, 1);
  const picked = trialsAtBestLr(cells);
  assertEquals(picked.map((t) => `${t.activation}${t.seed}:${t.settings}`), [
    "relu1:k0.001",
    "relu2:k0.001",
    "gelu1:k0.0001",
    "gelu2:k0.0001",
  ]);
  // Paired comparisons at the chosen rates go through the ordinary summary.
  const s = summarizeTrials(picked, { baseline: "gelu" });
  assertAlmostEquals(s[0].diffMean, -0.05, 1e-12);
});

Deno.test("trials at the best rate are never pooled across the values of another axis", () => {
  // Two tokenizers: each has its own best rate, and their losses are on other scales.
  const at = (tokenizer: string, lr: number, losses: Record<string, number[]>) => {
    const c = fakeCell(lr, losses);
    return { ...c, point: { tokenizer, lr }, folder: `tokenizer=${tokenizer},lr=${lr}` };
  };
  const cells = [
    at("char", 1e-3, { relu: [1.8, 1.9], gelu: [1.7, 1.8] }),
    at("char", 1e-2, { relu: [1.7, 1.8], gelu: [1.9, 2.0] }),
    at("bpe:2048", 1e-3, { relu: [4.1, 4.2], gelu: [4.3, 4.4] }),
    at("bpe:2048", 1e-2, { relu: [4.5, 4.6], gelu: [4.0, 4.1] }),
  ];
  assertThrows(() => trialsAtBestLr(cells), Error, "varies tokenizer besides the rate");
  const groups = trialsAtBestLrByGroup(cells);
  assertEquals(groups.map((g) => g.where), [{ tokenizer: "char" }, { tokenizer: "bpe:2048" }]);
  assertEquals(groups.map((g) => g.trials.map((t) => `${t.activation}@${t.settings}`)), [
    ["relu@k0.01", "relu@k0.01", "gelu@k0.001", "gelu@k0.001"],
    ["relu@k0.001", "relu@k0.001", "gelu@k0.01", "gelu@k0.01"],
  ]);
  const char = trialsAtBestLr(cells, { where: { tokenizer: "char" } });
  assertEquals(char.length, 4, "two activations × two seeds, one tokenizer");
});

Deno.test("equalComputeTable() interpolates each curve at the common FLOP budget", () => {
  const curve = (activation: string, fps: number, losses: number[]): TrialResult => ({
    activation,
    seed: 1,
    status: "completed",
    finalValLoss: losses.at(-1)!,
    finalTrainLoss: losses.at(-1)!,
    evals: losses.map((valLoss, k) => ({
      iter: 10 * k,
      trainLoss: valLoss,
      valLoss,
      elapsedS: k,
    })),
    msPerStep: 1,
    params: 1,
    wallS: 3,
    settings: "k",
    flopsPerStep: fps,
  });
  // a: 20 steps of 1 FLOP; b: 20 steps of 2 FLOPs. Common budget: 20 FLOPs = b's step 10.
  const rows = equalComputeTable([curve("a", 1, [4, 3, 2]), curve("b", 2, [4, 2.5, 1])])
    .objects() as Record<string, number>[];
  assertEquals(rows.map((r) => [r.budget_flops, r.steps_at_budget]), [[20, 20], [20, 10]]);
  assertEquals(rows.map((r) => r.loss_at_budget_mean), [2, 2.5]);
  assertEquals(rows.map((r) => r.final_loss_mean), [2, 1]);
  const at15 = equalComputeTable([curve("a", 1, [4, 3, 2])], { budget: 15 }).objects()[0];
  assertEquals((at15 as Record<string, number>).loss_at_budget_mean, 2.5, "halfway 3 → 2");
  assertEquals((at15 as Record<string, number>).seconds_at_budget, 1.5);
});

Deno.test({
  name:
    "sweepGrid() runs each cell as a sweep in its sub-folder, reuses the base sweep and resumes",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      // The plain sweep first: it becomes the grid's base cell.
      const plain = await sweep(data, { ...small, out });
      const grid1 = gridCells({ ...small, lrs: [1e-3], out });
      assertEquals(grid1.map((c) => c.folder), ["lr=0.001", ""]);

      // Interrupt the grid after the first trial of the lr=0.001 cell.
      const controller = new AbortController();
      const skipped: string[] = [];
      const first = await sweepGrid(data, {
        ...small,
        lrs: [1e-3],
        out,
        signal: controller.signal,
        onTrial: (t, wasSaved) => {
          if (wasSaved) skipped.push(`${t.activation}`);
          else controller.abort();
        },
      });
      assert(first.interrupted);
      assertEquals(first.cells.length, 1);
      assertEquals(first.cells[0].result.trials.length, 1);
      assertEquals(await files(`${out}/lr=0.001/trials`), ["relu__seed1.json"]);

      // Again: the lr cell resumes (one trial saved, one run), the base cell is all on disk.
      const ran: string[] = [];
      skipped.length = 0;
      const grid = await sweepGrid(data, {
        ...small,
        lrs: [1e-3],
        out,
        onTrial: (t, wasSaved) => {
          (wasSaved ? skipped : ran).push(t.activation);
        },
      });
      assert(!grid.interrupted);
      assertEquals(ran, ["swiglu"]);
      assertEquals(skipped, ["relu", "relu", "swiglu"]);
      const base = grid.cells.find((c) => c.folder === "")!;
      assertEquals(base.result.settings.key, plain.settings.key, "the base cell is the sweep");
      assertEquals(
        base.result.trials.map((t) => t.wallS),
        plain.trials.map((t) => t.wallS),
        "read from disk, not retrained",
      );
      const lrCell = grid.cells.find((c) => c.folder === "lr=0.001")!;
      assert(lrCell.result.settings.key !== plain.settings.key);
      assertEquals(lrCell.result.settings.train, { learningRate: 1e-3, minLearningRate: 1e-4 });
      assertEquals(await files(out), [
        "grid.csv",
        "grid.json",
        "grid_best.csv",
        "lr=0.001",
        "summary.csv",
        "sweep.json",
        "trials",
        "trials.jsonl",
      ]);
      assertEquals(await files(`${out}/lr=0.001/trials`), [
        "relu__seed1.json",
        "swiglu__seed1.json",
      ]);

      // Best rate per activation: the lower mean final loss of its two cells.
      const table = grid.table.objects() as Record<string, number | string | boolean>[];
      assertEquals(table.length, 4);
      for (const row of grid.best.objects() as Record<string, number | string>[]) {
        const mine = table.filter((r) => r.activation === row.activation);
        const lowest = Math.min(...mine.map((r) => r.val_loss_mean as number));
        assertEquals(row.val_loss_mean, lowest);
        assertEquals(mine.find((r) => r.best)?.lr, row.best_lr);
      }
      const csv = await Deno.readTextFile(`${out}/grid_best.csv`);
      assert(csv.startsWith("activation,iters,best_lr,"), csv);

      // FLOPs per step recorded with each trial, and computed alike for a trial without it.
      const t = plain.trials[1];
      const expected = trainingStepFlops(
        gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size, activation: "swiglu" }),
        { batchSize: 4 },
      ).total;
      assertEquals(t.flopsPerStep, expected);
      const { flopsPerStep: _, ...older } = t;
      assertEquals(trialFlopsPerStep(older, plain.settings), expected);
      assertEquals(table.find((r) => r.activation === "swiglu")?.train_flops, 12 * expected);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a grid over fewer activations than its base sweep keeps the base folder's files whole",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      await sweep(data, { ...small, out });
      const notices: string[] = [];
      const ran: string[] = [];
      const grid = await sweepGrid(data, {
        ...small,
        activations: ["relu"],
        out,
        onNotice: (m) => notices.push(m),
        onTrial: (t, saved) => {
          if (!saved) ran.push(t.activation);
        },
      });
      assertEquals(ran, [], "nothing retrained");
      assertEquals(notices, [], "a wider listing is kept without a word: nothing is wrong");
      assertEquals(grid.cells[0].result.trials.map((t) => t.activation), ["relu"]);
      assertEquals((grid.table.objects() as { activation: string }[]).length, 1);
      const jsonl = (await Deno.readTextFile(`${out}/trials.jsonl`)).trim().split("\n");
      assertEquals(jsonl.map((l) => JSON.parse(l).activation), ["relu", "swiglu"]);
      const listed = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
      assertEquals(listed.activations, ["relu", "swiglu"]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "sweepGrid() runs each step budget as a cell of its own length, iters=N",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const grid = await sweepGrid(data, {
        ...small,
        activations: ["relu"],
        budgets: [16],
        out,
      });
      assertEquals(grid.cells.map((c) => [c.folder, c.iters]), [["", 12], ["iters=16", 16]]);
      const cell = grid.cells[1].result;
      assertEquals(cell.settings.iters, 16);
      assertEquals(cell.trials[0].evals.at(-1)?.iter, 16);
      const best = grid.best.objects() as Record<string, number>[];
      assertEquals(best.map((r) => r.iters), [12, 16]);
      assertEquals(best[1].train_flops, 16 * cell.trials[0].flopsPerStep!);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
