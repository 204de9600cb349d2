import { assert, assertEquals, assertThrows } from "@std/assert";
import { initEngine } from "../../lib/engine/mod.ts";
import {
  ByteTokenizer,
  CharTokenizer,
  gpt2Tokenizer,
  type Tokenizer,
  trainBpe,
} from "../../lib/core/mod.ts";
import {
  checkpointBytes,
  checkpointFromBytes,
  createGpt,
  decodeSafetensors,
  encodeSafetensors,
  generate,
  gptConfig,
} from "../../lib/gpt/mod.ts";

await initEngine({ backend: "wasm" });

const TEXT = "To be, or not to be, that is the question: Héllo wörld 😀\n".repeat(30);

const tokenizers: [string, () => Tokenizer][] = [
  ["char", () => CharTokenizer.fromText(TEXT)],
  ["byte", () => new ByteTokenizer()],
  ["bpe", () => trainBpe(TEXT, { vocabSize: 300 })],
  ["gpt2", () => gpt2Tokenizer()],
];

for (const [kind, make] of tokenizers) {
  Deno.test(`a checkpoint keeps a ${kind} tokenizer: same ids, same hash, same samples`, async () => {
    const tokenizer = make();
    const config = gptConfig({ preset: "tiny", vocabSize: tokenizer.size });
    const model = createGpt(config, { seed: 2, tokenizer });
    const bytes = await checkpointBytes(model);
    const meta = decodeSafetensors(bytes).metadata;
    // characters as before (readable by older versions); others as their description
    assertEquals(meta["actlab.vocab"] !== undefined, kind === "char");
    assertEquals(meta["actlab.tokenizer"] !== undefined, kind !== "char");
    const loaded = checkpointFromBytes(bytes);
    try {
      const back = loaded.tokenizer!;
      assertEquals([back.kind, back.size, back.hash], [kind, tokenizer.size, tokenizer.hash]);
      assertEquals([...back.encode(TEXT.slice(0, 80))], [...tokenizer.encode(TEXT.slice(0, 80))]);
      const opts = { maxTokens: 8, seed: 1 };
      const text = await generate(model, "To be", opts);
      assertEquals(await generate(loaded.model, "To be", opts), text);
      assert(text.startsWith("To be"), text);
    } finally {
      model.dispose();
      loaded.model.dispose();
    }
  });
}

Deno.test("a checkpoint whose tokenizer disagrees with vocabSize, or is unreadable, is refused", async () => {
  const model = createGpt(gptConfig({ preset: "tiny", vocabSize: 256 }), {
    tokenizer: new ByteTokenizer(),
  });
  try {
    const file = decodeSafetensors(await checkpointBytes(model));
    const withTokenizer = (value: string) =>
      encodeSafetensors(file.tensors, { ...file.metadata, "actlab.tokenizer": value });
    const bpe = JSON.stringify(trainBpe(TEXT, { vocabSize: 260 }).describe());
    assertThrows(
      () => checkpointFromBytes(withTokenizer(bpe), "m.safetensors"),
      Error,
      "m.safetensors: the stored bpe tokenizer has 260 tokens but the config says vocabSize 256",
    );
    assertThrows(
      () => checkpointFromBytes(withTokenizer('{"kind":"wordpiece"}'), "m.safetensors"),
      Error,
      'm.safetensors: the stored tokenizer is unusable: Unknown tokenizer kind "wordpiece"',
    );
  } finally {
    model.dispose();
  }
});
