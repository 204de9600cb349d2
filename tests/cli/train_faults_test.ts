/** Faults injected into `deno task train`: bad output paths fail before any training. */
import { assertEquals, assertStringIncludes } from "@std/assert";
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
      assertStringIncludes(r.stderr, `--save ${path}: cannot write there`);
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
      assertStringIncludes(r.stderr, "it is a folder; give a file name");
      assertEquals(r.lines, [], "nothing trained, nothing printed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
