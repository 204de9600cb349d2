/**
 * Byte-level BPE training and encoding time: Tiny Shakespeare (1.1 MB), the same text repeated to
 * 10 MB, and any files given with --file, at each vocabulary size. Prints a markdown table.
 *
 *   deno run -A bench/bpe.ts [--vocab 512,2048,8192] [--file corpus.txt …]
 */
import { parseArgs } from "node:util";
import { loadTinyShakespeare } from "../datasets/mod.ts";
import { trainBpe } from "../lib/core/mod.ts";

const { values } = parseArgs({
  options: {
    vocab: { type: "string", default: "512,2048,8192" },
    file: { type: "string", multiple: true, default: [] },
  },
});
const sizes = values.vocab.split(",").map(Number);
const ts = (await loadTinyShakespeare({ download: false })).text;
const corpora: [string, string][] = [
  ["Tiny Shakespeare", ts],
  ["Tiny Shakespeare ×9", ts.repeat(9)],
  ...values.file.map((f): [string, string] => [f, Deno.readTextFileSync(f)]),
];

console.log(
  `Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ` +
    `${navigator.hardwareConcurrency} cores\n`,
);
console.log("| corpus | MB | vocab | train s | encode s | tokens | bytes/token |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [name, text] of corpora) {
  const bytes = new TextEncoder().encode(text).length;
  for (const vocabSize of sizes) {
    let t0 = performance.now();
    const tok = trainBpe(text, { vocabSize });
    const train = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const ids = tok.encode(text);
    const encode = (performance.now() - t0) / 1000;
    console.log(
      `| ${name} | ${(bytes / 1e6).toFixed(1)} | ${tok.size} | ${train.toFixed(2)} | ` +
        `${encode.toFixed(2)} | ${ids.length} | ${(bytes / ids.length).toFixed(2)} |`,
    );
  }
}
