import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  bitsPerByte,
  CharTokenizer,
  countBytes,
  tokenByteLengths,
  wholeSplitText,
} from "../../lib/core/mod.ts";

Deno.test("bitsPerByte() matches a hand computation on a small text", () => {
  // "héé!" as characters: 4 tokens over 1 + 2 + 2 + 1 = 6 bytes. A loss of 2 nats per token is
  // 8 nats over the text = 8 / ln 2 = 11.5416 bits, over 6 bytes = 1.92360 bits per byte.
  const tok = CharTokenizer.fromText("héé!");
  const ids = tok.encode("héé!");
  const lengths = tokenByteLengths(tok);
  assertEquals(countBytes(ids, lengths), 6);
  assertAlmostEquals(bitsPerByte(2, { tokens: ids.length, bytes: 6 }), 8 / Math.LN2 / 6, 1e-12);
  assertAlmostEquals(bitsPerByte(2, { tokens: 4, bytes: 6 }), 1.9236, 1e-4);
  // one byte per token: bits per byte is nats per token / ln 2
  assertAlmostEquals(bitsPerByte(1.5, { tokens: 10, bytes: 10 }), 1.5 / Math.LN2, 1e-12);
  assertThrows(() => bitsPerByte(1, { tokens: 0, bytes: 0 }), RangeError, "needs tokens and bytes");
});

Deno.test("wholeSplitText() counts the bytes of exactly the targets of consecutive windows", () => {
  const tok = CharTokenizer.fromText("aé日");
  const lengths = tokenByteLengths(tok); // a 1, é 2, 日 3
  // ids: a é 日 a é 日 a (7): windows of 3 → targets ids[1..7) = é 日 a é 日 a = 2+3+1+2+3+1
  const ids = tok.encode("aé日aé日a");
  assertEquals(wholeSplitText(ids, lengths, 3), { tokens: 6, bytes: 12 });
  // windows of 4: one window, targets ids[1..5) = é 日 a é = 8 bytes; the remainder is left out
  assertEquals(wholeSplitText(ids, lengths, 4), { tokens: 4, bytes: 8 });
  assertEquals(wholeSplitText(ids, lengths, 7), { tokens: 0, bytes: 0 });
});
