/**
 * `deno task train --optimizer muon`, and a run stopped by SIGTERM (as a Slurm time limit stops
 * it) that `--resume` continues: its final checkpoint equals, byte for byte, that of the run that
 * was never stopped, wherever the stop fell.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fileURLToPath } from "node:url";
import { trainCli } from "./_cli.ts";

const CLI = fileURLToPath(new URL("../../cli/train.ts", import.meta.url));
const RUN = [
  "--preset=tiny",
  "--dataset",
  "synthetic",
  "--backend",
  "wasm",
  "--optimizer",
  "muon",
  "--iters",
  "150",
  "--eval-every",
  "50",
  "--eval-iters",
  "2",
  "--json",
];

Deno.test("--optimizer muon trains and says so in the header", async () => {
  const { code, lines, stderr } = await trainCli(...RUN.map((a) => a === "150" ? "40" : a));
  assertEquals(code, 0, stderr);
  const objs = lines.map((l) => JSON.parse(l));
  assertEquals(objs[0].optimizer, "muon");
  const evals = objs.filter((o) => o.val_loss !== undefined);
  assert(evals.at(-1).train_loss < evals[0].train_loss - 0.3, JSON.stringify(evals));
});

Deno.test({
  name: "a run stopped by SIGTERM and continued with --resume ends byte for byte as an " +
    "uninterrupted one",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "actlab-resume-" });
    try {
      const full = await trainCli(
        ...RUN,
        "--save",
        `${dir}/full.safetensors`,
        "--save-every",
        "50",
      );
      assertEquals(full.code, 0, full.stderr);
      // The same run, stopped by SIGTERM once it has saved its state at step 50.
      const part = `${dir}/part.safetensors`;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, ...RUN, "--save", part, "--save-every", "50"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines: string[] = [];
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (!lines.some((l) => l.includes('"saved"'))) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const parts = buffer.split("\n");
        buffer = parts.pop()!;
        lines.push(...parts);
      }
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
      }
      lines.push(...buffer.split("\n").filter((l) => l));
      const status = await child.status;
      const stderr = await new Response(child.stderr).text();
      const last = JSON.parse(lines.at(-1)!);
      if (status.code === 0) {
        console.warn("the run ended before SIGTERM arrived; resuming a finished run instead");
      } else {
        assertEquals(status.code, 143, stderr);
        assertEquals(last.stopped, "SIGTERM");
        assert(last.iter >= 50 && last.iter < 150, JSON.stringify(last));
      }
      const resumed = await trainCli("--resume", part, "--dataset", "synthetic", "--json");
      assertEquals(resumed.code, 0, resumed.stderr);
      const header = JSON.parse(resumed.lines[0]);
      assertEquals([header.optimizer, header.resumed_from], ["muon", part]);
      const evals = (ls: string[]) =>
        ls.map((l) => JSON.parse(l)).filter((o) => o.val_loss !== undefined && o.iter >= 100)
          .map((o) => [o.iter, o.train_loss, o.val_loss]);
      assertEquals(evals(resumed.lines).at(-1), evals(full.lines).at(-1));
      assertEquals(
        await Deno.readFile(part),
        await Deno.readFile(`${dir}/full.safetensors`),
        "the resumed run's final checkpoint differs from the uninterrupted run's",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--resume refuses a flag that asks for another run, and a weights-only checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "actlab-resume-" });
  try {
    const short = RUN.map((a) => a === "150" ? "4" : a);
    const saved = await trainCli(...short, "--save", `${dir}/a.safetensors`, "--save-every", "2");
    assertEquals(saved.code, 0, saved.stderr);
    const other = await trainCli(
      "--resume",
      `${dir}/a.safetensors`,
      "--dataset",
      "synthetic",
      "--lr",
      "0.01",
    );
    assertEquals(other.code, 2);
    assertStringIncludes(other.stderr, "--lr 0.01, stored 0.003");
    const plain = await trainCli(...short, "--save", `${dir}/b.safetensors`);
    assertEquals(plain.code, 0, plain.stderr);
    const weightsOnly = await trainCli(
      "--resume",
      `${dir}/b.safetensors`,
      "--dataset",
      "synthetic",
    );
    assertEquals(weightsOnly.code, 2);
    assertStringIncludes(weightsOnly.stderr, "holds weights but no training state");
    const noSave = await trainCli(...short, "--save-every", "2");
    assertEquals(noSave.code, 2);
    assertStringIncludes(noSave.stderr, "--save-every writes the --save checkpoint");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
