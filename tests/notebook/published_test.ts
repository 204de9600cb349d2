/**
 * The published notebooks (`notebooks/NN_*.ipynb`, quickstart excepted: it has its own test):
 * each runs through the real Deno kernel in fast mode (ACTLAB_FAST=1) without an error, and each
 * committed file carries the outputs of a full run, states its settings and findings, imports only
 * `@actlab/actlab` (and tfjs), and stays under 3 MB.
 *
 * The notebooks train on Tiny Shakespeare, found where the CLI looks (tests/_data.ts:
 * ACTLAB_DATA_DIR, the user cache, the shared copy); without it the fast runs are skipped with a
 * message.
 */
import { DATA_DIR, haveTinyShakespeare, MISSING_DATA_NOTE } from "../_data.ts";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { formatFailure, runNotebook } from "../../lib/notebook/runner.ts";
import { joinText, readNotebook } from "../../lib/notebook/nbformat.ts";
import { outputText, ROOT } from "./_util.ts";

const MAX_BYTES = 3_000_000;
const opts = { sanitizeResources: false, sanitizeOps: false };
// Where the CLI finds Tiny Shakespeare (tests/_data.ts); the kernels get it as ACTLAB_DATA_DIR.
const dataDir = haveTinyShakespeare ? DATA_DIR : undefined;

const published = [...Deno.readDirSync(`${ROOT}/notebooks`)]
  .map((e) => e.name)
  .filter((n) => /^\d\d_.+\.ipynb$/.test(n) && !n.startsWith("00_"))
  .sort();

if (!dataDir) console.warn(`published_test: fast runs skipped — ${MISSING_DATA_NOTE}`);

Deno.test("the ten published notebooks are all there", () => {
  assertEquals(published.length, 10, published.join(", "));
});

// One cache folder for the whole file: notebooks 04 and 05 reuse the sweep 03 cached, as they do
// in a full run.
let cacheDir: string | undefined;
async function sharedCache(): Promise<string> {
  if (!cacheDir) {
    cacheDir = await Deno.makeTempDir({ prefix: "actlab-published-" });
    const dir = cacheDir;
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return cacheDir;
}

for (const name of published) {
  Deno.test({
    name: `${name} runs through the real kernel in fast mode without an error`,
    ignore: !dataDir,
    ...opts,
    async fn() {
      const dir = await sharedCache();
      const report = await runNotebook(`${ROOT}/notebooks/${name}`, {
        outDir: `${dir}/out`,
        fast: true,
        html: false,
        images: "never",
        env: { ACTLAB_CACHE_DIR: `${dir}/cache`, ACTLAB_DATA_DIR: dataDir! },
      });
      assert(report.ok, report.failure && formatFailure(report.failure));
      console.log(`${name} (fast): ${report.seconds.toFixed(1)} s`);
      const nb = await readNotebook(report.outNotebook);
      const code = nb.cells.filter((c) => c.cell_type === "code");
      assert(code.every((c) => c.execution_count !== null), "every code cell ran");
      const errors = code.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      assertEquals(errors, []);
      assertStringIncludes(code.map(outputText).join("\n"), "ACTLAB_FAST");
    },
  });
}

for (const name of published) {
  Deno.test({
    name: `${name} is committed with a full run's outputs, its settings and findings`,
    async fn() {
      const path = `${ROOT}/notebooks/${name}`;
      const bytes = (await Deno.stat(path)).size;
      assert(bytes < MAX_BYTES, `${bytes} bytes`);
      const nb = await readNotebook(path);
      assertEquals((nb.metadata.actlab as { fast?: boolean } | undefined)?.fast, false);
      const code = nb.cells.filter((c) => c.cell_type === "code");
      assert(code.every((c) => c.execution_count !== null), "a code cell has no output yet");
      assert(code.every((c) => !(c.outputs ?? []).some((o) => o.output_type === "error")));
      const markdown = nb.cells.filter((c) => c.cell_type === "markdown").map((c) =>
        joinText(c.source)
      ).join("\n");
      assertStringIncludes(markdown, "Settings");
      assertStringIncludes(markdown, "What the run found");
      assert(!markdown.includes("filled in from the committed run"), "findings not written");
      const sources = code.map((c) => joinText(c.source)).join("\n");
      assertStringIncludes(sources, 'from "@actlab/actlab"');
      assert(!/from "\.\.?\//.test(sources), "cells import @actlab/actlab, never a relative path");
      for (const [, spec] of sources.matchAll(/from "([^"]+)"/g)) {
        assert(
          spec === "@actlab/actlab" || spec === "@tensorflow/tfjs",
          `${name} imports ${spec}; published notebooks import only @actlab/actlab and tfjs`,
        );
      }
    },
  });
}
