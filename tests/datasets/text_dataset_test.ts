import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { loadTinyShakespeare, splitBytes, textDataset } from "../../datasets/mod.ts";
import { charDataset } from "../../datasets/char_dataset.ts";
import type { BpeTokenizer } from "../../lib/core/mod.ts";
import { DATA_DIR, haveTinyShakespeare, MISSING_DATA_NOTE } from "../_data.ts";

const TEXT = "First Citizen:\nBefore we proceed any further, hear me speak. Héllo wörld 😀\n"
  .repeat(40);

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-text-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("textDataset() with char gives charDataset()'s ids and split for the same text", async () => {
  const ds = await textDataset({ text: TEXT });
  const ref = charDataset(TEXT);
  assertEquals(ds.tokenizer.describe(), ref.tokenizer.describe());
  assertEquals([...ds.train], [...ref.train]);
  assertEquals([...ds.val], [...ref.val]);
  assertEquals([ds.name, ds.tokenizerSpec, ds.tokenizerOrigin], ["text", "char", "built"]);
});

Deno.test(
  "textDataset() with char gives Tiny Shakespeare's ids and split exactly as loadTinyShakespeare()",
  { ignore: !haveTinyShakespeare },
  async () => {
    const ts = await loadTinyShakespeare({ dir: DATA_DIR, download: false });
    const file = await textDataset(ts.path, { tokenizer: "char" });
    for (const ds of [file, await textDataset({ text: ts.text })]) {
      assertEquals(ds.tokenizer.describe(), ts.tokenizer.describe());
      assertEquals(ds.train.length, 1_003_854);
      assertEquals(ds.val.length, 111_540);
      assert(ds.train.every((id, i) => id === ts.train[i]), "the same training ids");
      assert(ds.val.every((id, i) => id === ts.val[i]), "the same validation ids");
      assertEquals([ds.trainBytes, ds.valBytes], [1_003_854, 111_540]);
    }
    assertEquals(file.contentHash, ts.sha256);
    assertEquals(file.name, "input");
  },
);
if (!haveTinyShakespeare) console.warn(`skipped the Tiny Shakespeare test: ${MISSING_DATA_NOTE}`);

Deno.test("every tokenizer splits the same text at the same character, bytes counted exactly", async () => {
  await withTemp(async (cacheDir) => {
    const val = new Set<string>();
    for (const tokenizer of ["char", "byte", "bpe:300", "gpt2"]) {
      const ds = await textDataset({ text: TEXT }, { tokenizer, cacheDir, onNotice: () => {} });
      assertEquals(ds.tokenizer.decode(ds.train) + ds.tokenizer.decode(ds.val), TEXT, tokenizer);
      val.add(ds.tokenizer.decode(ds.val));
      assertEquals(splitBytes(ds), { train: ds.trainBytes, val: ds.valBytes }, tokenizer);
      assertEquals(ds.trainBytes + ds.valBytes, new TextEncoder().encode(TEXT).length);
      assertEquals(ds.tokenizerSpec, tokenizer);
      assertEquals(ds.tokenizerHash, ds.tokenizer.hash);
    }
    assertEquals(val.size, 1, "one validation text for every tokenizer");
    // 90 % of the characters (code points; the emoji counts once)
    const chars = [...TEXT].length;
    const ds = await textDataset({ text: TEXT }, { tokenizer: "byte" });
    assertEquals([...ds.tokenizer.decode(ds.train)].length, Math.floor(0.9 * chars));
  });
});

Deno.test("a trained BPE is cached under the text's hash and size, and reused without training", async () => {
  await withTemp(async (cacheDir) => {
    const notices: string[] = [];
    const onNotice = (m: string) => notices.push(m);
    const first = await textDataset({ text: TEXT }, { tokenizer: "bpe:320", cacheDir, onNotice });
    assertEquals(first.tokenizerOrigin, "trained");
    assert(first.tokenizerPath?.startsWith(cacheDir), first.tokenizerPath);
    assertEquals(notices.length, 2, notices.join("\n")); // training…, trained and saved
    assertStringIncludes(notices[1], "saved to");
    const again = await textDataset({ text: TEXT }, { tokenizer: "bpe:320", cacheDir, onNotice });
    assertEquals(again.tokenizerOrigin, "cache");
    assertEquals(notices.length, 2, "no training notice the second time");
    assertEquals(again.tokenizerHash, first.tokenizerHash);
    assertEquals([...again.train], [...first.train]);
    // another size or another training text trains again
    const other = await textDataset({ text: TEXT }, { tokenizer: "bpe:300", cacheDir, onNotice });
    assertEquals(other.tokenizerOrigin, "trained");
    const changed = await textDataset({ text: "x" + TEXT }, {
      tokenizer: "bpe:320",
      cacheDir,
      onNotice,
    });
    assertEquals(changed.tokenizerOrigin, "trained");
    assertEquals((await Array.fromAsync(Deno.readDir(cacheDir))).length, 3);
    // a damaged cache file is trained again and replaced
    await Deno.writeTextFile(first.tokenizerPath!, "{ not json");
    const repaired = await textDataset({ text: TEXT }, {
      tokenizer: "bpe:320",
      cacheDir,
      onNotice,
    });
    assertEquals(repaired.tokenizerOrigin, "trained");
    assertStringIncludes(notices.join("\n"), "is unusable");
    assertEquals(repaired.tokenizerHash, first.tokenizerHash);
    // cache: false trains and writes nothing
    const fresh = await Deno.makeTempDir();
    const off = await textDataset({ text: TEXT }, {
      tokenizer: "bpe:320",
      cacheDir: fresh,
      cache: false,
      onNotice,
    });
    assertEquals(off.tokenizerOrigin, "trained");
    assertEquals((await Array.fromAsync(Deno.readDir(fresh))).length, 0);
    await Deno.remove(fresh);
  });
});

Deno.test("the BPE is trained on the training text only: the validation text never shapes it", async () => {
  await withTemp(async (cacheDir) => {
    const a = await textDataset({ text: TEXT + "zzqq ".repeat(50) }, {
      tokenizer: "bpe:400",
      cacheDir,
      trainFraction: 0.5,
      onNotice: () => {},
    });
    const tok = a.tokenizer as BpeTokenizer;
    const texts = Array.from({ length: tok.size - 256 }, (_, k) => tok.tokenText(256 + k));
    assert(!texts.some((t) => t.includes("zq")), "no merge learned from the validation text");
  });
});

Deno.test("a folder's files are read sorted by path, hidden ones skipped, joined by newlines", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(join(dir, "b"));
    await Deno.writeTextFile(join(dir, "b", "two.txt"), "second file");
    await Deno.writeTextFile(join(dir, "a.txt"), "first file\n");
    await Deno.writeTextFile(join(dir, "c.md"), "third");
    await Deno.writeFile(join(dir, ".DS_Store"), new Uint8Array([0, 1, 2]));
    await Deno.writeFile(join(dir, ".hidden"), new Uint8Array([0, 0xff]));
    const ds = await textDataset(dir);
    assertEquals(ds.text, "first file\nsecond file\nthird\n");
    assertEquals(ds.source.kind, "folder");
    assertEquals(ds.source.files, ["a.txt", join("b", "two.txt"), "c.md"]);
    assertEquals(ds.name, dir.split("/").at(-1));
    const again = await textDataset(dir);
    assertEquals(again.contentHash, ds.contentHash);
    const file = await textDataset(join(dir, "a.txt"));
    assertEquals([file.name, file.source.kind, file.text], ["a", "file", "first file\n"]);
  });
});

Deno.test("binary, non-UTF-8, empty and missing input is refused with the path named", async () => {
  await withTemp(async (dir) => {
    const nul = join(dir, "model.bin");
    await Deno.writeFile(nul, new Uint8Array([104, 105, 0, 1]));
    await assertRejects(() => textDataset(nul), Error, `${nul} holds a NUL byte (at byte 2)`);
    const latin1 = join(dir, "latin1.txt");
    await Deno.writeFile(latin1, new Uint8Array([99, 97, 102, 0xe9])); // "café" in Latin-1
    await assertRejects(() => textDataset(latin1), Error, `${latin1} is not UTF-8 text`);
    const empty = join(dir, "empty.txt");
    await Deno.writeTextFile(empty, "");
    await assertRejects(() => textDataset(empty), Error, `${empty} is empty`);
    const missing = join(dir, "nope.txt");
    await assertRejects(() => textDataset(missing), Error, `${missing} does not exist`);
    const folder = join(dir, "folder");
    await Deno.mkdir(folder);
    await assertRejects(() => textDataset(folder), Error, `the folder ${folder} holds no files`);
    await Deno.writeFile(join(folder, "x.txt"), new Uint8Array([0xff, 0xfe, 0]));
    await assertRejects(() => textDataset(folder), Error, `${join(folder, "x.txt")} holds a NUL`);
    await assertRejects(() => textDataset({ text: "" }), Error, "the text is empty");
    await assertRejects(
      () => textDataset({ text: "abc" }, { tokenizer: "bpe" }),
      RangeError,
      "use one of char, byte, bpe:N",
    );
  });
});

Deno.test("a UTF-8 byte-order mark is dropped; the text is kept otherwise as is", async () => {
  await withTemp(async (dir) => {
    const path = join(dir, "bom.txt");
    await Deno.writeFile(path, new Uint8Array([0xef, 0xbb, 0xbf, 104, 105, 13, 10]));
    assertEquals((await textDataset(path)).text, "hi\r\n");
  });
});
