import { assertEquals, assertThrows } from "@std/assert";
import { CharTokenizer } from "../../lib/core/mod.ts";

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
