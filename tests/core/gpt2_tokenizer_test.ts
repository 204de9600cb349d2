import { assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { Tiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { createRng, gpt2Tokenizer, tokenizerFromDescription } from "../../lib/core/mod.ts";
import { DATA_DIR, haveTinyShakespeare } from "../_data.ts";

const tok = gpt2Tokenizer();

// The ids of tiktoken's own test (tests/test_encoding.py, test_simple): gpt2 encodes
// "hello world" as [31373, 995].
Deno.test("GPT-2's tokenizer encodes tiktoken's example to its documented ids", () => {
  assertEquals(tok.size, 50257);
  assertEquals([...tok.encode("hello world")], [31373, 995]);
  assertEquals(tok.decode([31373, 995]), "hello world");
  assertEquals([tok.tokenText(31373), tok.tokenText(995)], ["hello", " world"]);
});

Deno.test("GPT-2's tokenizer round-trips any text; <|endoftext|> in text is plain text", () => {
  for (
    const s of [
      "",
      "Héllo, wörld! 😀🇫🇷 日本語",
      "<|endoftext|>",
      "a\n\n\tb   c",
      "x".repeat(100_000),
    ]
  ) {
    const ids = tok.encode(s);
    assertEquals(tok.decode(ids), s);
    let bytes = 0;
    for (const id of ids) bytes += tok.tokenBytes(id).length;
    assertEquals(bytes, new TextEncoder().encode(s).length);
  }
  assertEquals(tok.encode("<|endoftext|>").includes(50256), false);
  assertEquals(tok.decode([50256]), "<|endoftext|>");
  assertEquals(tok.decode(tok.encode("a\uD800")), "a\uFFFD");
  assertThrows(() => tok.decode([50257]), RangeError, "outside the vocabulary [0, 50257)");
});

Deno.test("GPT-2's tokenizer is described by its kind and rebuilt as the shared instance", () => {
  assertEquals(tok.describe(), { kind: "gpt2" });
  assertEquals(tokenizerFromDescription({ kind: "gpt2" }), tok);
  assertEquals(tok.spec, "gpt2");
});

Deno.test("GPT-2's ids are js-tiktoken's own, on Tiny Shakespeare and on random text", async () => {
  const reference = new Tiktoken(gpt2Ranks);
  const rng = createRng(4);
  const pieces = ["the", " cat", "ing", "é", "日本", "😀", " ", "\n", "!!", "42", "'s", "Zq", "ﬁ"];
  for (let i = 0; i < 200; i++) {
    const s = Array.from({ length: rng.int(30) }, () => pieces[rng.int(pieces.length)]).join("");
    assertEquals([...tok.encode(s)], reference.encode(s, [], []), JSON.stringify(s));
  }
  if (haveTinyShakespeare) {
    const text = (await Deno.readTextFile(join(DATA_DIR, "tinyshakespeare/input.txt")))
      .slice(0, 200_000);
    assertEquals([...tok.encode(text)], reference.encode(text));
  }
});
