/** Data in sweeps: tokenizers and corpora as settings and axes, bits per byte in the summaries. */
import { assert, assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { charDataset, initEngine } from "@actlab/actlab";
import { syntheticText } from "@actlab/actlab/datasets";
import { datasetId, readGrid, sweep, sweepGrid, tokenizerId } from "@actlab/actlab/sweep";

await initEngine({ backend: "wasm" });
const text = syntheticText({ length: 8000, seed: 3 });
const data = charDataset(text, { name: "synthetic" });
const small = {
  preset: "tiny" as const,
  iters: 6,
  evalEvery: 3,
  evalIters: 1,
  jobs: 1,
  engine: "tfjs",
};
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test("a character dataset keeps its historical id and no tokenizer field", () => {
  assertEquals(datasetId(data), `synthetic:${data.train.length + data.val.length}`);
  assertEquals(tokenizerId(data.tokenizer), undefined);
});

Deno.test({
  name: "a sweep with another tokenizer keys its settings by the text's hash and the tokenizer",
  ...options,
  fn: async () => {
    const chars = await sweep(data, {
      ...small,
      activations: ["relu"],
      seeds: 1,
      onNotice: () => {},
    });
    const bytes = await sweep(data, {
      ...small,
      activations: ["relu"],
      seeds: 1,
      tokenizer: "byte",
      onNotice: () => {},
    });
    assertMatch(bytes.settings.dataset, /^synthetic@[0-9a-f]{12}:\d+$/);
    assertMatch(bytes.settings.tokenizer!, /^byte@[0-9a-f]{12}$/);
    assertNotEquals(bytes.settings.key, chars.settings.key);
    assertEquals(chars.settings.tokenizer, undefined);
    // Bits per byte are recorded and summarised; on ASCII text a byte is a character, so the two
    // tokenizers predict the same text and their bits per byte are comparable.
    for (const r of [chars, bytes]) {
      assert(Number.isFinite(r.summary[0].bpbMean), JSON.stringify(r.summary[0]));
      assertEquals(r.trials[0].evals.at(-1)!.valBytes, r.trials[0].evalTokens);
    }
  },
});

Deno.test({
  name: "a tokenizer axis runs each cell on its own tokenization, workers included",
  ...options,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "actlab-data-" });
    try {
      const grid = await sweepGrid(data, {
        ...small,
        jobs: 2,
        activations: ["relu", "gelu"],
        seeds: 1,
        axes: [{ name: "tokenizer", values: ["char", "byte", "bpe:300"] }],
        out,
        onNotice: () => {},
      });
      assertEquals(grid.cells.map((c) => c.folder), ["", "tokenizer=byte", "tokenizer=bpe:300"]);
      const vocab = grid.cells.map((c) => c.result.trials[0].params);
      assert(vocab[2] > vocab[1], "a 300-token BPE has a larger embedding than 256 bytes");
      const read = await readGrid(out, { onNotice: () => {} });
      assertEquals(read.cells.length, 3);
      const csv = await Deno.readTextFile(`${out}/tokenizer=bpe:300/summary.csv`);
      assert(csv.split("\n")[0].endsWith("val_bpb_mean,val_bpb_ci95_low,val_bpb_ci95_high"), csv);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
