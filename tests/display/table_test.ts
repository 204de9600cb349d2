import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import * as aq from "arquero";
import { convergenceTable, table } from "../../lib/display/table.ts";

const DISPLAY = Symbol.for("Jupyter.display");

Deno.test("table() renders an arquero table as HTML, markdown and aligned text", () => {
  const t = aq.table({ activation: ["relu", "gelu"], loss: [1.73125, 1.6904], runs: [3, 3] });
  const view = table(t, { caption: "Validation loss" });
  const bundle = (view as unknown as Record<symbol, () => Record<string, string>>)[DISPLAY]();
  assertEquals(Object.keys(bundle).sort(), ["text/html", "text/markdown", "text/plain"]);
  assertStringIncludes(bundle["text/html"], "<caption");
  assertStringIncludes(bundle["text/html"], ">1.731</td>");
  assertEquals(
    bundle["text/markdown"],
    [
      "**Validation loss**",
      "",
      "| activation | loss | runs |",
      "| --- | ---: | ---: |",
      "| relu | 1.731 | 3 |",
      "| gelu | 1.69 | 3 |",
    ].join("\n"),
  );
  assertEquals(
    bundle["text/plain"],
    [
      "Validation loss",
      "activation   loss  runs",
      "──────────  ─────  ────",
      "relu        1.731     3",
      "gelu         1.69     3",
    ].join("\n"),
  );
});

Deno.test("table() shows at most maxRows rows and says how many more there are", () => {
  const rows = Array.from({ length: 7 }, (_, i) => ({ i }));
  const view = table(rows, { maxRows: 5 });
  assertEquals(view.cells.length, 5);
  assertStringIncludes(String(view), "… 2 more rows");
  assertStringIncludes(view.toHtml(), "… 2 more rows");
});

Deno.test("table() escapes HTML and markdown in cells", () => {
  const view = table([{ name: "<b>a|b</b>" }]);
  assertStringIncludes(view.toHtml(), "&lt;b&gt;a|b&lt;/b&gt;");
  assertStringIncludes(view.toMarkdown(), "<b>a\\|b</b>");
});

Deno.test("convergenceTable() gives mean ± 95% CI per activation, sorted, best marked", () => {
  const runs = [
    { activation: "relu", seed: 0, loss: 1.7 },
    { activation: "relu", seed: 1, loss: 1.8 },
    { activation: "relu", seed: 2, loss: 1.9 },
    { activation: "gelu", seed: 0, loss: 1.6 },
    { activation: "gelu", seed: 1, loss: 1.62 },
    { activation: "gelu", seed: 2, loss: 1.64 },
  ];
  const view = convergenceTable(aq.from(runs));
  assertEquals(view.stats.map((s) => [s.group, s.best]), [["gelu", true], ["relu", false]]);
  // t(0.975, 2) = 4.3027; sd(relu) = 0.1; half-width = 4.3027 · 0.1 / √3 = 0.2484.
  assertEquals(view.cells[1][2], "1.80 ± 0.25");
  assertEquals(view.cells[0][2], "1.620 ± 0.050");
  assertEquals(view.cells[0][0], "gelu ★");
  assertEquals(view.cells[1][5], "+0.18");
  assertStringIncludes(view.toMarkdown(), "| **gelu ★** |");
  assertStringIncludes(view.toHtml(), "<b>gelu ★</b>");
  assertEquals(view.columns[2], "loss (mean ± 95% CI)");
});

Deno.test("convergenceTable() can prefer higher values and names missing fields", () => {
  const view = convergenceTable(
    [{ act: "a", acc: 0.9 }, { act: "b", acc: 0.95 }],
    { group: "act", value: "acc", lowerIsBetter: false },
  );
  assertEquals(view.stats[0].group, "b");
  assertThrows(
    () => convergenceTable([{ activation: "a", loss: 1 }], { value: "val_loss" }),
    Error,
    "'val_loss'",
  );
});
