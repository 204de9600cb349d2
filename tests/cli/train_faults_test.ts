/** Faults injected into `deno task train`: bad output paths fail before any training. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { trainCli } from "./_cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "--save into a path that cannot be written is refused before training, naming flag and path",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/file`, "x"); // a file where a folder is needed
      const path = `${dir}/file/model.safetensors`;
      const r = await trainCli(
        "--preset",
        "tiny",
        "--dataset",
        "synthetic",
        "--iters",
        "2000000",
        "--save",
        path,
      );
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(
        r.stderr,
        `--save ${path}: has a file where a folder is expected (a part of the path is a file); ` +
          "give a file path in a folder you can write to",
      );
      assert(!r.stderr.includes("os error"), r.stderr);
      assertEquals(r.lines, [], "nothing trained, nothing printed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--save naming a folder is refused before training",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await trainCli("--preset", "tiny", "--dataset", "synthetic", "--save", dir);
      assertEquals(r.code, 2);
      assertStringIncludes(r.stderr, `--save ${dir} is a folder; give a file name, e.g. ${dir}/`);
      assertEquals(r.lines, [], "nothing trained, nothing printed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--save through a symbolic link loop is named as one, without the raw OS error",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.symlink(`${dir}/b`, `${dir}/a`);
      await Deno.symlink(`${dir}/a`, `${dir}/b`);
      const r = await trainCli("--preset", "tiny", "--dataset", "synthetic", "--save", `${dir}/a`);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `--save ${dir}/a: is a symbolic link loop`);
      assert(!r.stderr.includes("os error"), r.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--provider and --threads with the tfjs engine are refused, naming --engine ort",
  ...opts,
  fn: async () => {
    const both = await trainCli("--dataset", "synthetic", "--provider", "cpu", "--threads", "2");
    assertEquals(both.code, 2, both.stderr);
    assertStringIncludes(
      both.stderr,
      "train: --provider and --threads set ONNX Runtime, which runs only with --engine ort; the " +
        "tfjs engine would ignore them. Add --engine ort, or leave them out (tfjs: --backend).",
    );
    const one = await trainCli("--dataset", "synthetic", "--engine", "tfjs", "--threads", "1");
    assertEquals(one.code, 2);
    assertStringIncludes(one.stderr, "--threads sets ONNX Runtime");
    assertEquals(one.lines, []);
  },
});
