import { assertEquals, assertRejects } from "@std/assert";
import { saveResults } from "@actlab/actlab/cells";

Deno.test("saveResults() writes one CSV per table and the settings, and re-writes them", async () => {
  const out = `${await Deno.makeTempDir()}/results/08`;
  try {
    const rows = [{ activation: "relu", zeros: 0.5 }, { activation: "gelu", zeros: 0 }];
    const paths = await saveResults(out, { iters: 300 }, { summary: rows });
    assertEquals(paths, [`${out}/summary.csv`, `${out}/settings.json`]);
    assertEquals(
      await Deno.readTextFile(`${out}/summary.csv`),
      "activation,zeros\nrelu,0.5\ngelu,0\n",
    );
    assertEquals(JSON.parse(await Deno.readTextFile(`${out}/settings.json`)), { iters: 300 });
    await saveResults(out, { iters: 300 }, { summary: rows.slice(1) }); // same settings: a re-run
    assertEquals(await Deno.readTextFile(`${out}/summary.csv`), "activation,zeros\ngelu,0\n");
  } finally {
    await Deno.remove(out.replace(/\/results\/08$/, ""), { recursive: true });
  }
});

Deno.test("saveResults() refuses a folder of other settings and writes nothing there", async () => {
  const out = await Deno.makeTempDir();
  try {
    await saveResults(out, { iters: 300 }, { summary: [{ a: 1 }] });
    await assertRejects(
      () => saveResults(out, { iters: 2000 }, { summary: [{ a: 2 }] }),
      Error,
      "holds the results of other settings",
    );
    assertEquals(await Deno.readTextFile(`${out}/summary.csv`), "a\n1\n");
    assertEquals(await saveResults(null, { iters: 2000 }, { summary: [] }), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
