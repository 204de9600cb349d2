import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_DIR, haveTinyShakespeare } from "../_data.ts";
import { trainCli } from "./_cli.ts";

const cli = trainCli;

Deno.test("the CLI prints a header and one JSON object per evaluation, like the reference", async () => {
  const { code, lines, stderr } = await cli(
    "--preset=tiny",
    "--dataset",
    "synthetic",
    "--iters",
    "10",
    "--eval-every",
    "5",
    "--eval-iters",
    "2",
    "--backend",
    "wasm",
    "--json",
  );
  assertEquals(code, 0, stderr);
  const objs = lines.map((l) => JSON.parse(l));
  assertEquals(objs[0].backend, "wasm");
  assertEquals(objs[0].act, "gelu");
  assertEquals(objs.slice(1).map((o) => o.iter), [0, 5, 10]);
  for (const o of objs.slice(1)) {
    assertEquals(Object.keys(o), [
      "iter",
      "train_loss",
      "val_loss",
      "val_bpb",
      "elapsed_s",
      "provider",
    ]);
    assert(o.val_loss > 0 && o.val_loss < 5);
    // synthetic text is ASCII: one byte per character, so bits per byte = nats per char / ln 2
    assert(Math.abs(o.val_bpb - o.val_loss / Math.LN2) < 1e-3, `${o.val_bpb} vs ${o.val_loss}`);
  }
});

Deno.test("--data FILE --tokenizer bpe:N trains on the file and reports bits per byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "actlab-cli-data-" });
  try {
    const file = join(dir, "my.txt");
    await Deno.writeTextFile(
      file,
      "To be, or not to be, that is the question. Héllo 😀\n".repeat(200),
    );
    // The trained BPE goes to $XDG_CACHE_HOME/actlab/datasets/tokenizers: a temporary one here
    // (DENO_DIR kept where it is: a new XDG_CACHE_HOME would move Deno's own cache too).
    const denoDir = Deno.env.get("DENO_DIR") ??
      join(
        Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"),
        "deno",
      );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        fileURLToPath(new URL("../../cli/train.ts", import.meta.url)),
        "--data",
        file,
        "--tokenizer",
        "bpe:300",
        "--preset=tiny",
        "--iters=4",
        "--eval-every=2",
        "--eval-iters=1",
        "--final-eval=split",
        "--backend=wasm",
        "--json",
      ],
      env: { XDG_CACHE_HOME: join(dir, "cache"), DENO_DIR: denoDir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const [header, ...evals] = lines.map((l) => JSON.parse(l));
    assertEquals([header.data, header.tokenizer], ["my", "bpe:300"]);
    assert(header.vocab > 256 && header.vocab <= 300, "the BPE's size (short text: fewer merges)");
    assert(header.train_tokens + header.val_tokens < 200 * 30, "fewer tokens than bytes");
    assertEquals(evals.map((o) => o.iter), [0, 2, 4]);
    const last = evals.at(-1);
    assert(last.val_bpb > 0 && last.val_tokens > 0 && last.val_bytes > last.val_tokens, lines[3]);
    const expected = last.val_loss * last.val_tokens / last.val_bytes / Math.LN2;
    assert(Math.abs(last.val_bpb - expected) < 1e-3, `${last.val_bpb} vs ${expected}`);
    const cached = join(dir, "cache", "actlab", "datasets", "tokenizers");
    assertEquals((await Array.fromAsync(Deno.readDir(cached))).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "--data keeps meaning Tiny Shakespeare for its folder; its file is a text like any other",
  ignore: !haveTinyShakespeare,
  fn: async () => {
    const folder = join(DATA_DIR, "tinyshakespeare");
    const cases: [string, string][] = [
      [DATA_DIR, "tinyshakespeare"],
      [folder, "tinyshakespeare"],
      [join(folder, "input.txt"), "input"],
    ];
    for (const [path, name] of cases) {
      const args = ["--data", path, "--preset=tiny", "--iters=0", "--eval-iters=1", "--json"];
      const { code, lines, stderr } = await cli(...args, "--backend=wasm");
      assertEquals(code, 0, stderr);
      const header = JSON.parse(lines[0]);
      assertEquals([header.data, header.vocab, header.train_tokens], [name, 65, 1_003_854], path);
    }
  },
});

Deno.test("--tokenizer and --data are checked before anything runs", async () => {
  const bad = await cli("--tokenizer", "bpe", "--dataset", "synthetic");
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, '--tokenizer: Unknown tokenizer "bpe": use one of char, byte');
  const both = await cli("--dataset", "synthetic", "--data", ".");
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "--data names the text to train on, --dataset synthetic");
});

Deno.test("--time-only N prints median_ms_per_step and tokens_per_s", async () => {
  const { code, lines, stderr } = await cli(
    "--preset",
    "tiny",
    "--dataset",
    "synthetic",
    "--time-only",
    "3",
    "--backend",
    "wasm",
    "--json",
  );
  assertEquals(code, 0, stderr);
  const t = JSON.parse(lines.at(-1)!);
  assert(t.median_ms_per_step > 0);
  // tokens/s = B·T / median, from the unrounded median (as the reference): ±0.1 % after rounding
  const expected = (4 * 16 * 1000) / t.median_ms_per_step;
  assert(
    Math.abs(t.tokens_per_s - expected) <= expected * 1e-3 + 1,
    `${t.tokens_per_s} vs ${expected}`,
  );
});

Deno.test("an unknown flag exits with code 2 and suggests the right one", async () => {
  const { code, stderr } = await cli("--evalevery", "5");
  assertEquals(code, 2);
  assert(stderr.includes("unknown flag --evalevery (did you mean --eval-every?)"), stderr);
});

/**
 * Engine parity of the trainable activations: `deno task train --activation A --engine tfjs|ort`
 * with one seed on the tiny preset reach the same losses within 1e-4 relative over 40 steps
 * (both engines train the activation's own parameters; evaluations at 0, 20 and 40).
 */
for (const activation of ["prelu", "xielu", "polynorm"]) {
  Deno.test(`--activation ${activation} trains to the same loss on tfjs and ORT (1e-4 relative, 40 steps)`, async () => {
    const args = [
      "--preset=tiny",
      "--dataset=synthetic",
      `--activation=${activation}`,
      "--iters=40",
      "--eval-every=20",
      "--eval-iters=2",
      "--backend=wasm",
      "--seed=7",
      "--json",
    ];
    const tfjs = await cli(...args, "--engine=tfjs");
    const ort = await cli(...args, "--engine=ort", "--provider=cpu", "--threads=1");
    assertEquals(tfjs.code, 0, tfjs.stderr);
    assertEquals(ort.code, 0, ort.stderr);
    const a = tfjs.lines.map((l) => JSON.parse(l)), b = ort.lines.map((l) => JSON.parse(l));
    assertEquals([a[0].act, b[0].act, b[0].engine], [activation, activation, "ort"]);
    assertEquals(b.slice(1).map((o) => o.iter), [0, 20, 40]);
    for (let i = 1; i < a.length; i++) {
      for (const key of ["train_loss", "val_loss"]) {
        const rel = Math.abs(a[i][key] - b[i][key]) / Math.abs(a[i][key]);
        assert(rel <= 1e-4, `${key} at ${a[i].iter}: tfjs ${a[i][key]}, ORT ${b[i][key]} (${rel})`);
      }
    }
    assert(a.at(-1).train_loss < a[1].train_loss, "the loss went down");
  });
}
