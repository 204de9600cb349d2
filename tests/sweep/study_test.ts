/**
 * Studies: the declaration and its checks; a tuned study run end to end on the tiny preset
 * (selection widened at the edge, confirmation on fresh seeds, one family); duplicates counted
 * once; the family's correction against a hand computation.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { charDataset, holmAdjust, initEngine, pairedTTest } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import {
  familyTests,
  parseStudy,
  readStudy,
  runStudy,
  selectValue,
  studyDeclaration,
  type TrialResult,
  widenedValue,
} from "@actlab/actlab/sweep";

const options = { sanitizeOps: false, sanitizeResources: false };
const base = { preset: "tiny", iters: 8, evalEvery: 4, evalIters: 2, engine: "tfjs" };

Deno.test("parseStudy() checks a declaration and names the file and the field", () => {
  const ok = { name: "s", base, activations: ["relu", "gelu"], seeds: [1, 2] };
  assertEquals(parseStudy(ok, "s.json").seeds, [1, 2]);
  const bad: [Record<string, unknown>, string][] = [
    [{ ...ok, name: "a b" }, `"name" must be`],
    [{ ...ok, colour: 1 }, "unknown field(s) colour"],
    [{ ...ok, base: { ...base, out: "x" } }, `"base" cannot set out`],
    [{ ...ok, activations: ["relu", "relu"] }, "names one twice"],
    [{ ...ok, comparisons: [{ a: "relu", b: "silu" }] }, "not one of the study's activations"],
    [{ ...ok, comparisons: [{ a: "relu", b: "relu" }] }, "with itself"],
    [{ ...ok, axes: [{ name: "depth", values: [2] }], cells: [{ depth: 2 }] }, "not both"],
    [{ ...ok, confirm: { seeds: [3] } }, 'needs a "tune" stage'],
    [
      {
        ...ok,
        seeds: undefined,
        tune: { values: [1e-3, 2e-3, 4e-3], seeds: [7] },
        confirm: { seeds: [8] },
      },
      "at most 1.6× apart",
    ],
    [
      {
        ...ok,
        seeds: undefined,
        tune: { values: [1e-3, 1.5e-3, 2.2e-3], seeds: [7, 8] },
        confirm: { seeds: [8, 9] },
      },
      "both selection and confirmation seeds",
    ],
  ];
  for (const [study, message] of bad) {
    assertThrows(() => parseStudy(study, "s.json"), Error, message);
  }
  assertThrows(() => parseStudy({ ...ok, name: "a b" }, "studies/x.json"), Error, "studies/x.json");
});

Deno.test("a study's declaration reads back to the same study", () => {
  const s = parseStudy({
    name: "s",
    base,
    activations: ["relu", "gelu", "swiglu"],
    cells: [{ depth: 2, activations: ["relu", "gelu"] }, { depth: 4 }],
    tune: { values: [1e-3, 1.5e-3, 2.2e-3], seeds: [7, 8] },
    confirm: { seeds: [1, 2, 3] },
    comparisons: [{ baseline: "gelu" }],
    exploratory: [{ a: "swiglu", b: "relu", where: { depth: 4 } }],
  }, "s.json");
  assertEquals(parseStudy(studyDeclaration(s), "study.json"), s);
});

/** A completed trial with a final loss and a one-point curve. */
function trial(activation: string, seed: number, loss: number): TrialResult {
  return {
    activation,
    seed,
    status: "completed",
    finalValLoss: loss,
    finalTrainLoss: loss,
    evals: [{ iter: 10, trainLoss: loss, valLoss: loss, elapsedS: 1 }],
    msPerStep: 1,
    params: 10,
    wallS: 1,
    settings: "k",
  };
}

Deno.test("the family: one Holm over every declared test, duplicates once, exploratory apart", () => {
  const losses: Record<string, number[]> = {
    gelu: [1.90, 1.93, 1.91, 1.95],
    relu: [1.85, 1.90, 1.87, 1.92],
    relu2: [1.84, 1.86, 1.85, 1.90],
    relu6_2: [1.84, 1.86, 1.85, 1.90], // identical to relu2 in every seed
    silu: [1.93, 1.95, 1.92, 1.99],
  };
  const trials = new Map(
    Object.entries(losses).map(([a, xs]) => [a, xs.map((x, i) => trial(a, i + 1, x))]),
  );
  const cells = [{ label: "(base)", point: {}, trials }];
  const rows = familyTests(
    cells,
    [{ baseline: "gelu" }, { a: "relu2", b: "relu" }, { a: "relu6_2", b: "relu2" }],
    [{ a: "silu", b: "relu" }],
  );
  const tested = rows.filter((r) => r.role === "declared" && !r.note);
  assertEquals(tested.map((r) => `${r.a}-${r.b}`), [
    "relu-gelu",
    "relu2-gelu",
    "silu-gelu",
    "relu2-relu",
  ]);
  const dup = rows.find((r) => r.a === "relu6_2" && r.b === "gelu")!;
  assertEquals(dup.note, "the same test as relu2 − gelu ((base)) (identical trials)");
  assert(Number.isNaN(dup.pFamily));
  assertEquals(
    rows.find((r) => r.a === "relu6_2" && r.b === "relu2")!.note,
    "relu6_2 and relu2 have identical trials: no test",
  );
  // By hand: the paired tests, then Holm over the four.
  const p = (a: string, b: string) => pairedTTest(losses[a], losses[b]).p;
  const expected = holmAdjust([
    p("relu", "gelu"),
    p("relu2", "gelu"),
    p("silu", "gelu"),
    p("relu2", "relu"),
  ]);
  tested.forEach((r, i) => assertAlmostEquals(r.pFamily, expected[i], 1e-15));
  assert(tested.every((r) => r.familySize === 4));
  const exploratory = rows.find((r) => r.role === "exploratory")!;
  assert(Number.isNaN(exploratory.pFamily) && Number.isFinite(exploratory.pPaired));
});

Deno.test("selectValue() fits log-lr, picks the tried value nearest the optimum; widenedValue() steps out", () => {
  const t = (lr: number, seed: number) =>
    trial("gelu", seed, 1.8 + Math.log(lr / 2.7e-3) ** 2 / 10 + seed * 1e-3);
  const lrs = [1e-3, 1.5e-3, 2.25e-3, 3.375e-3, 5.0625e-3];
  const s = selectValue("gelu", new Map(lrs.map((lr) => [lr, [t(lr, 1), t(lr, 2)]])), {
    choose: "fit",
  });
  assertAlmostEquals(s.fit!.optimum, 2.7e-3, 1e-9);
  assertEquals(s.chosen, 2.25e-3);
  assertEquals(s.atEdge, false);
  assert(s.fit!.low <= 2.7e-3 && s.fit!.high >= 2.7e-3);
  const edge = selectValue("gelu", new Map(lrs.slice(0, 3).map((lr) => [lr, [t(lr, 1)]])), {
    choose: "fit",
  });
  assertEquals([edge.best, edge.atEdge], [2.25e-3, true]);
  assertEquals(widenedValue(lrs.slice(0, 3), 2.25e-3, lrs.slice(0, 3), 1), 3.4e-3);
  assertEquals(widenedValue([...lrs.slice(0, 3), 3.4e-3], 3.4e-3, lrs.slice(0, 3), 1), undefined);
  assertEquals(widenedValue([1.6e-3, 2.5e-3, 4e-3], 1.6e-3, [1.6e-3, 2.5e-3, 4e-3], 3), 1e-3);
  const diverged = { ...t(5e-3, 1), status: "diverged" as const, finalValLoss: NaN };
  const d = selectValue("gelu", new Map([[3e-3, [t(3e-3, 1)]], [5e-3, [diverged]]]), {
    choose: "best",
  });
  assertEquals(d.best, 3e-3, "a value where a seed diverged never wins");
});

Deno.test({
  name:
    "a tuned study runs selection (widened at the edge), confirms on fresh seeds, and reads back",
  ...options,
  fn: async () => {
    await initEngine({ backend: "wasm" });
    const data = charDataset(syntheticText({ length: 6000, seed: 3 }), { name: "synthetic" });
    const out = await Deno.makeTempDir({ prefix: "actlab-study-" });
    const declaration = {
      name: "tiny-tuned",
      base,
      activations: ["relu", "gelu"],
      tune: { values: [1e-3, 1.5e-3, 2.25e-3], seeds: [11, 12], widen: 2 },
      confirm: { seeds: [1, 2, 3] },
      comparisons: [{ a: "relu", b: "gelu" }],
    };
    const study = parseStudy(declaration, "tiny-tuned.json");
    try {
      const stages: string[] = [];
      const r = await runStudy(data, study, {
        out,
        jobs: 1,
        onStage: (m) => stages.push(m),
        onNotice: () => {},
      });
      assert(r.complete && r.selected, JSON.stringify(stages));
      // At 8 steps the highest rate is best: the grid widens twice upward, then flags the edge.
      const grids = JSON.parse(await Deno.readTextFile(`${out}/select/grids.json`))["(base)"];
      for (const a of ["relu", "gelu"]) {
        assertEquals(grids[a], [1e-3, 1.5e-3, 2.25e-3, 3.4e-3, 5.1e-3]);
      }
      assert(stages[0].startsWith("selection, round 1: 12 trial(s)"), stages[0]);
      assert(stages.some((s) => s.startsWith("confirmation: 6 trial(s)")), stages.join(" | "));
      const cell = r.cells[0];
      for (const a of ["relu", "gelu"]) {
        const sel = cell.selection.get(a)!;
        assert(sel.atEdge, `${a} is flagged at the edge`);
        const confirm = cell.trials.get(a)!;
        assertEquals(confirm.map((t) => t.seed), [1, 2, 3], "confirmation seeds only");
        const folder = `${out}/confirm/lr=${sel.chosen}`;
        const listing = JSON.parse(await Deno.readTextFile(`${folder}/sweep.json`));
        assertEquals(listing.train.learningRate, sel.chosen);
        assertEquals(confirm[0].settings, listing.key, "confirmed at the chosen rate");
      }
      assertEquals(r.family.length, 1);
      assertEquals(r.family[0].pairs, 3);
      const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      assertEquals(files, [
        "confirm",
        "family.csv",
        "select",
        "selection.json",
        "study.json",
        "tuned.csv",
      ]);
      // Read back without running: the same family.
      const read = await readStudy(out);
      assertEquals(read.family, r.family);
      // Run again: nothing to do.
      const again: string[] = [];
      await runStudy(data, study, {
        out,
        jobs: 1,
        onStage: (m) => again.push(m),
        onNotice: () => {},
      });
      assertEquals(again, []);
      // A changed declaration is refused in this folder.
      const changed = parseStudy({ ...declaration, comparisons: [] }, "x.json");
      await assertRejects(
        () => runStudy(data, changed, { out, jobs: 1 }),
        Error,
        "another declaration",
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
