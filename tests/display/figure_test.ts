import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { Figure, figure, seriesColor } from "../../lib/display/figure.ts";
import {
  DisplayObject,
  inNotebook,
  isDisplayable,
  jupyter,
  show,
} from "../../lib/display/display.ts";

const DISPLAY = Symbol.for("Jupyter.display");

Deno.test("figure() displays as Plotly JSON, offline HTML and a text summary", () => {
  const fig = figure(
    [{ type: "scatter", name: "relu", x: [-1, 0, 1], y: [0, 0, 1] }],
    { title: { text: "ReLU" } },
  );
  assert(isDisplayable(fig));
  const bundle = (fig as unknown as Record<symbol, () => Record<string, unknown>>)[DISPLAY]();
  assertEquals(Object.keys(bundle).sort(), [
    "application/vnd.plotly.v1+json",
    "text/html",
    "text/plain",
  ]);
  const json = bundle["application/vnd.plotly.v1+json"] as { data: { y: number[] }[] };
  assertEquals(json.data[0].y, [0, 0, 1]);
  const html = bundle["text/html"] as string;
  assertStringIncludes(html, "window.Plotly.newPlot");
  assert(!/<script[^>]+src=/i.test(html), "the figure must not load plotly.js itself");
  assert(!/https?:\/\//.test(html), "no network address in a figure's HTML");
  assertEquals(
    bundle["text/plain"],
    "Figure: ReLU (1 trace)\n  relu (scatter, 3 points, x -1…1, y 0…1)",
  );
  assertEquals(String(fig), bundle["text/plain"]);
});

Deno.test("a figure's JSON rounds numbers, turns typed arrays into lists and drops NaN", () => {
  const fig = new Figure([{ type: "scatter", x: new Float32Array([0.1, 0.2]), y: [Math.PI, NaN] }]);
  const json = fig.toJSON();
  assertEquals(json.data[0].x, [0.1, 0.2]);
  assertEquals(json.data[0].y, [3.14159, null]);
});

Deno.test("a figure's HTML cannot be broken out of by data containing </script>", () => {
  const fig = figure([{ type: "bar", x: ["</script><b>x</b>"], y: [1], name: "<i>n</i>" }]);
  const html = fig.toHtml();
  assertEquals(html.match(/<\/script>/g)!.length, 1, "only the figure's own closing tag");
  assertStringIncludes(html, "\\u003c/script>");
  assertStringIncludes(html, "&lt;i&gt;n&lt;/i&gt;");
});

Deno.test("seriesColor() cycles the palette and makes rgba() fills", () => {
  assertEquals(seriesColor(0), "#4e79a7");
  assertEquals(seriesColor(10), "#4e79a7");
  assertEquals(seriesColor(1, 0.5), "rgba(242,142,43,0.5)");
});

Deno.test("outside the kernel, jupyter() is undefined and show() prints the text form", async () => {
  assertEquals(jupyter(), undefined);
  assertEquals(inNotebook(), false);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await show(new DisplayObject({ "text/plain": "plain", "text/html": "<b>rich</b>" }));
  } finally {
    console.log = log;
  }
  assertEquals(lines, ["plain"]);
});

Deno.test("Deno's inspect prints a display object's text form", () => {
  const d = new DisplayObject({ "text/plain": "3 rows", "text/html": "<table></table>" });
  assertMatch(Deno.inspect(d), /^3 rows$/);
});
