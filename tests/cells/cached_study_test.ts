/**
 * A study in a notebook: `cachedStudy` runs a tiny tuned study once and reads it afterwards without
 * training or writing; `studyTables`, `cellTrials` and `selectionRows` show its stages, in the
 * unit its tokenizer implies.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  cachedStudy,
  cellTrials,
  charDataset,
  initEngine,
  parseStudy,
  selectionRows,
  studyTables,
} from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";

await initEngine({ backend: "wasm" });
const data = charDataset(syntheticText({ length: 8000, seed: 5 }), { name: "synthetic" });
const options = { sanitizeOps: false, sanitizeResources: false };

function tinyStudy(name: string, tokenizer?: string) {
  return parseStudy({
    name,
    base: {
      preset: "tiny",
      iters: 12,
      evalEvery: 6,
      evalIters: 2,
      engine: "ort",
      ...(tokenizer ? { tokenizer } : {}),
    },
    activations: ["relu", "gelu"],
    tune: { values: [0.002, 0.003, 0.0045], seeds: [101], widen: 0 },
    confirm: { seeds: [1, 2] },
    comparisons: [{ a: "relu", b: "gelu" }],
  }, name);
}

async function snapshot(dir: string): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else files.set(p, (await Deno.stat(p)).mtime!.getTime());
    }
  };
  await walk(dir);
  return files;
}

Deno.test({
  name: "cachedStudy runs a study once, then reads it without training or writing a file",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const study = tinyStudy("cells-char");
      const first = await cachedStudy(data, study, { out, progress: false, onNotice: () => {} });
      assert(first.complete);
      assertEquals(cellTrials(first).map((t) => `${t.activation}${t.seed}`), [
        "relu1",
        "relu2",
        "gelu1",
        "gelu2",
      ]);
      assertEquals(selectionRows(first).length, 2 * 3, "two activations × three rates");
      const before = await snapshot(out);
      const again = await cachedStudy(data, study, { out, progress: false, onNotice: () => {} });
      assertEquals(await snapshot(out), before, "reading a finished study writes nothing");
      assertEquals(
        cellTrials(again).map((t) => t.finalValLoss),
        cellTrials(first).map((t) => t.finalValLoss),
      );
      const tables = studyTables(again);
      assertStringIncludes(tables.tuned.toMarkdown(), "nats/char");
      assertStringIncludes(tables.family.toMarkdown(), "relu − gelu");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a study on BPE tokens labels its tables per token, not per character",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const r = await cachedStudy(data, tinyStudy("cells-bpe", "bpe:300"), {
        out,
        progress: false,
        onNotice: () => {},
      });
      const { tuned, family } = studyTables(r);
      for (const t of [tuned.toMarkdown(), family.toMarkdown()]) {
        assertStringIncludes(t, "nats/token");
        assert(!t.includes("nats/char"), t);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
