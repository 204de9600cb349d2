import { assert, assertEquals } from "@std/assert";
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
    assertEquals(Object.keys(o), ["iter", "train_loss", "val_loss", "elapsed_s", "provider"]);
    assert(o.val_loss > 0 && o.val_loss < 5);
  }
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
