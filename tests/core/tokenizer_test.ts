import { assertEquals, assertThrows } from "@std/assert";
import {
  ByteTokenizer,
  CharTokenizer,
  parseTokenizerSpec,
  tokenizerFromDescription,
  tokenizerHash,
} from "../../lib/core/mod.ts";

Deno.test("CharTokenizer.fromText() orders the vocabulary by code point, like sorted(set(text))", () => {
  const tok = CharTokenizer.fromText("hello, World!\n");
  assertEquals(tok.vocab.join(""), "\n !,Wdehlor");
  assertEquals(tok.size, 11);
});

Deno.test("encode() then decode() returns the original text", () => {
  const text = "First Citizen:\nBefore we proceed any further, hear me speak.";
  const tok = CharTokenizer.fromText(text);
  const ids = tok.encode(text);
  assertEquals(ids.length, text.length);
  assertEquals(tok.decode(ids), text);
});

Deno.test("encode() names an unknown character, its code point and its position", () => {
  const tok = CharTokenizer.fromText("abc");
  const err = assertThrows(() => tok.encode("ab€c"), RangeError);
  assertEquals(err.message.includes('"€" (U+20AC) at position 2'), true, err.message);
  assertEquals(err.message.includes("not in the vocabulary (3 characters)"), true);
});

Deno.test("decode() rejects an id outside the vocabulary", () => {
  const tok = CharTokenizer.fromText("ab");
  assertThrows(() => tok.decode([0, 2]), RangeError, "id 2 at position 1");
});

Deno.test("a vocabulary with a duplicate or a multi-character entry is rejected", () => {
  assertThrows(() => new CharTokenizer(["a", "b", "a"]), RangeError, "appears twice");
  assertThrows(() => new CharTokenizer(["ab"]), TypeError, "must be one character");
});

Deno.test("characters outside the BMP count as one token each", () => {
  const tok = CharTokenizer.fromText("a😀b");
  assertEquals(tok.size, 3);
  assertEquals([...tok.encode("😀a")], [2, 0]);
  assertEquals(tok.decode(tok.encode("b😀")), "b😀");
});

Deno.test("CharTokenizer implements Tokenizer: bytes, display text, description and hash", () => {
  const tok = CharTokenizer.fromText("aé😀");
  assertEquals([tok.kind, tok.spec], ["char", "char"]);
  assertEquals([0, 1, 2].map((id) => tok.tokenBytes(id).length), [1, 2, 4]);
  assertEquals(tok.tokenText(2), "😀");
  assertEquals(tok.describe(), { kind: "char", vocab: ["a", "é", "😀"] });
  assertEquals(tok.hash, tokenizerHash(tok.describe()));
  assertEquals(JSON.stringify(tok), '["a","é","😀"]', "toJSON is still the vocabulary");
  assertThrows(() => tok.tokenBytes(3), RangeError, "outside the vocabulary [0, 3)");
});

Deno.test("ByteTokenizer: 256 ids, UTF-8 bytes in and out, lone surrogates as U+FFFD", () => {
  const tok = new ByteTokenizer();
  assertEquals(tok.size, 256);
  assertEquals([...tok.encode("aé")], [97, 0xc3, 0xa9]);
  for (const s of ["", "hello", "héllo wörld", "😀🇫🇷", "\0\n\t", "日本語のテキスト"]) {
    assertEquals(tok.decode(tok.encode(s)), s);
  }
  assertEquals([...tok.encode("a\uD800b")], [97, 0xef, 0xbf, 0xbd, 98]);
  assertEquals(tok.decode([0xe2, 0x82]), "\uFFFD", "a cut character decodes as U+FFFD");
  assertEquals([tok.tokenText(104), tok.tokenText(0xe2)], ["h", "\\xe2"]);
  assertThrows(() => tok.decode([256]), RangeError, "id 256 at position 0");
  assertEquals(tok.describe(), { kind: "byte" });
  assertEquals(tokenizerFromDescription(tok.describe()).hash, tok.hash);
});

Deno.test("parseTokenizerSpec() accepts char, byte, bpe:N and gpt2 and names the forms otherwise", () => {
  assertEquals(parseTokenizerSpec("char"), { kind: "char" });
  assertEquals(parseTokenizerSpec(" BPE:2048 "), { kind: "bpe", vocabSize: 2048 });
  assertEquals(parseTokenizerSpec("gpt2"), { kind: "gpt2" });
  assertThrows(() => parseTokenizerSpec("bpe:256"), RangeError, "more than the 256 byte tokens");
  assertThrows(() => parseTokenizerSpec("bpe"), RangeError, "use one of char, byte, bpe:N");
  assertThrows(() => parseTokenizerSpec("wordpiece"), RangeError, 'Unknown tokenizer "wordpiece"');
});

Deno.test("tokenizerFromDescription() refuses unknown kinds and patterns", () => {
  assertThrows(
    () => tokenizerFromDescription({ kind: "sentencepiece" } as never),
    TypeError,
    'Unknown tokenizer kind "sentencepiece"',
  );
  assertThrows(
    () => tokenizerFromDescription({ kind: "bpe", pattern: "gpt4", merges: [] } as never),
    TypeError,
    '"gpt4" is not known here',
  );
});
