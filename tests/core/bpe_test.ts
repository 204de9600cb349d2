import { assert, assertEquals, assertThrows } from "@std/assert";
import { fileURLToPath } from "node:url";
import {
  BpeTokenizer,
  createRng,
  GPT2_SPLIT_PATTERN,
  type Rng,
  tokenizerFromDescription,
  trainBpe,
} from "../../lib/core/mod.ts";

const utf8 = new TextEncoder();

/** Characters of every UTF-8 length, emoji (surrogate pairs, ZWJ), combining marks, controls. */
const ALPHABET = [
  ..."abcdefghij ABC  \n\t.,;!?'-0123456789",
  ..."éüßñø", // 2 bytes
  ..."日本語中文ह", // 3 bytes
  "😀",
  "🇫🇷",
  "👩‍💻",
  "\u0301", // combining acute
  "\0",
  "\uFFFF",
  "\u00A0",
];

/** A random string of up to `max` code units, with lone surrogates when asked. */
function randomString(rng: Rng, max: number, loneSurrogates = false): string {
  let s = "";
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) {
    if (loneSurrogates && rng.int(20) === 0) {
      s += String.fromCharCode(rng.int(2) ? 0xd800 + rng.int(1024) : 0xdc00 + rng.int(1024));
    } else if (rng.int(10) === 0) {
      const cp = rng.int(0x10ffff + 1 - 2048); // any code point but a surrogate
      s += String.fromCodePoint(cp < 0xd800 ? cp : cp + 2048);
    } else s += ALPHABET[rng.int(ALPHABET.length)];
  }
  return s;
}

/** Words from a small vocabulary: frequent pairs and many ties between them. */
function wordyText(rng: Rng, words: number): string {
  const vocab = ["the", "then", "than", "cat", "cats", "at", "a", "é", "日本", "ab", "ba", "aaaa"];
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(vocab[rng.int(vocab.length)] + (rng.int(8) === 0 ? "\n" : " "));
  }
  return out.join("");
}

/**
 * The textbook BPE trainer, recounting every pair before each merge: the most frequent pair,
 * ties to the smaller (left, right); returns the merges and the final pieces' ids.
 */
function naiveBpe(text: string, vocabSize: number): { merges: number[]; ids: number[] } {
  const pieces = text.toWellFormed().match(new RegExp(GPT2_SPLIT_PATTERN, "gu")) ?? [];
  let words = pieces.map((p) => [...utf8.encode(p)]);
  const merges: number[] = [];
  for (let m = 0; m < vocabSize - 256; m++) {
    const counts = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        const k = `${w[i]},${w[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    let best: [number, number, number] | undefined; // count, a, b
    for (const [k, c] of counts) {
      const [a, b] = k.split(",").map(Number);
      if (
        !best || c > best[0] || (c === best[0] && (a < best[1] || (a === best[1] && b < best[2])))
      ) best = [c, a, b];
    }
    if (!best) break;
    const [, a, b] = best;
    merges.push(a, b);
    words = words.map((w) => {
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(256 + m);
          i++;
        } else out.push(w[i]);
      }
      return out;
    });
  }
  return { merges, ids: words.flat() };
}

Deno.test("trainBpe() learns the same merges as the textbook recount-every-merge trainer", () => {
  const rng = createRng(11);
  for (let trial = 0; trial < 12; trial++) {
    const text = trial % 3 === 2 ? randomString(rng, 400) : wordyText(rng, 20 + rng.int(200));
    const vocabSize = 256 + 1 + rng.int(80);
    const naive = naiveBpe(text, vocabSize);
    const tok = trainBpe(text, { vocabSize });
    assertEquals([...tok.merges], naive.merges, `trial ${trial}`);
    assertEquals([...tok.encode(text)], naive.ids, `trial ${trial}: encode = training's pieces`);
  }
});

Deno.test("BPE round-trips random UTF-8 text: every length of character, emoji, controls, empty", () => {
  const rng = createRng(5);
  const corpus = Array.from({ length: 40 }, () => randomString(rng, 300)).join("") +
    wordyText(rng, 500);
  const tok = trainBpe(corpus, { vocabSize: 400 });
  assertEquals(tok.decode(tok.encode(corpus)), corpus);
  assertEquals([...tok.encode("")], []);
  assertEquals(tok.decode([]), "");
  for (let i = 0; i < 300; i++) {
    const s = randomString(rng, 120);
    const ids = tok.encode(s);
    assertEquals(tok.decode(ids), s, JSON.stringify(s));
    let bytes = 0;
    for (const id of ids) bytes += tok.tokenBytes(id).length;
    assertEquals(bytes, utf8.encode(s).length, "the tokens' bytes are the text's UTF-8");
  }
});

Deno.test("BPE encodes lone surrogates as U+FFFD, as TextEncoder does; the rest round-trips", () => {
  const rng = createRng(9);
  const tok = trainBpe(wordyText(rng, 300), { vocabSize: 300 });
  for (let i = 0; i < 200; i++) {
    const s = randomString(rng, 60, true);
    assertEquals(tok.decode(tok.encode(s)), s.toWellFormed(), JSON.stringify(s));
  }
  assertEquals(tok.decode(tok.encode("a\uD83Db")), "a\uFFFDb");
});

Deno.test("trainBpe() is deterministic: the same merges twice, and in another process", async () => {
  const text = wordyText(createRng(3), 3000);
  const a = trainBpe(text, { vocabSize: 320 }), b = trainBpe(text, { vocabSize: 320 });
  assertEquals([...a.merges], [...b.merges]);
  assertEquals(a.hash, b.hash);
  const bpe = fileURLToPath(new URL("../../lib/core/bpe.ts", import.meta.url));
  const rng = fileURLToPath(new URL("../../lib/core/rng.ts", import.meta.url));
  // The same text built and trained in a fresh Deno process.
  const code = `
    import { trainBpe } from ${JSON.stringify(bpe)};
    import { createRng } from ${JSON.stringify(rng)};
    const words = ${JSON.stringify(wordyText.toString())};
    const wordyText = new Function("return " + words)();
    console.log(trainBpe(wordyText(createRng(3), 3000), { vocabSize: 320 }).hash);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(new TextDecoder().decode(out.stdout).trim(), a.hash);
});

/** Random words of random letters: many distinct pairs. */
function randomWords(rng: Rng, words: number): string {
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  return Array.from(
    { length: words },
    () => " " + Array.from({ length: 1 + rng.int(8) }, () => letters[rng.int(26)]).join(""),
  ).join("");
}

Deno.test("trainBpe() gives the vocabulary size asked for, or stops when no pair is left", () => {
  const text = randomWords(createRng(1), 2000);
  for (const vocabSize of [257, 300, 350]) {
    const tok = trainBpe(text, { vocabSize });
    assertEquals(tok.size, vocabSize);
    assertEquals(tok.merges.length, 2 * (vocabSize - 256));
    assert(Math.max(...tok.encode(text)) < vocabSize);
  }
  // "ab ab ab" (pieces "ab", " ab", " ab"): a+b, then " "+ab, then nothing is left to merge
  const small = trainBpe("ab ab ab", { vocabSize: 1000 });
  assertEquals(small.size, 256 + 2);
  assertEquals([...small.encode("ab ab")], [256, 257]);
  assertThrows(() => trainBpe("x", { vocabSize: 100 }), RangeError, "vocabSize must be");
});

Deno.test("the merges round-trip through the description; bad merges are refused", () => {
  const tok = trainBpe(wordyText(createRng(2), 500), { vocabSize: 280 });
  const back = tokenizerFromDescription(JSON.parse(JSON.stringify(tok.describe())));
  assertEquals(back.hash, tok.hash);
  assertEquals([...back.encode("the cats")], [...tok.encode("the cats")]);
  assertEquals(back.spec, "bpe:280");
  assertThrows(() => new BpeTokenizer([1, 256]), RangeError, "does not exist yet");
  assertThrows(() => new BpeTokenizer([1, 2, 1, 2]), RangeError, "repeats merge 0");
  assertThrows(() => new BpeTokenizer([1]), RangeError, "odd");
});

Deno.test("a piece of 200,000 equal bytes encodes in O(n log n) and round-trips", () => {
  const tok = trainBpe("== ==== ======== ".repeat(20), { vocabSize: 270 });
  const long = "=".repeat(200_000);
  const ids = tok.encode(long);
  assertEquals(tok.decode(ids), long);
  assert(ids.length <= 200_000 / 4, `${ids.length} tokens`);
});

Deno.test("tokenText() shows a token's text, and bytes of a cut character as \\xNN", () => {
  const tok = trainBpe("日日日日 the the", { vocabSize: 262 });
  const texts = Array.from({ length: tok.size - 256 }, (_, k) => tok.tokenText(256 + k));
  assert(texts.includes(" the"), texts.join("|"));
  assertEquals(tok.tokenText(0xe6), "\\xe6");
});
