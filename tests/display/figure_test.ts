import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import {
  DASHES,
  Figure,
  figure,
  PALETTE,
  seriesColor,
  seriesDash,
  seriesLine,
  STATIC_WIDTH,
} from "../../lib/display/figure.ts";
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

Deno.test("seriesColor() cycles a 20-colour palette and makes rgba() fills", () => {
  assertEquals(PALETTE.length, 20);
  assertEquals(seriesColor(0), "#4e79a7");
  assertEquals(seriesColor(10), "#3b3b3b");
  assertEquals(seriesColor(20), "#4e79a7");
  assertEquals(seriesColor(1, 0.5), "rgba(242,142,43,0.5)");
});

/** sRGB hex → CIELAB (D65). */
function lab(hex: string): [number, number, number] {
  const lin = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = lin;
  const xyz = [
    (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
    0.2126 * r + 0.7152 * g + 0.0722 * b,
    (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
  ].map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116));
  return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
}

/** CIEDE2000 colour difference (Sharma, Wu & Dalal 2005, with kL = kC = kH = 1). */
function deltaE2000(p: [number, number, number], q: [number, number, number]): number {
  const rad = Math.PI / 180;
  const [l1, a1, b1] = p, [l2, a2, b2] = q;
  const cBar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const g = 0.5 * (1 - Math.sqrt(cBar ** 7 / (cBar ** 7 + 25 ** 7)));
  const a1p = (1 + g) * a1, a2p = (1 + g) * a2;
  const c1 = Math.hypot(a1p, b1), c2 = Math.hypot(a2p, b2);
  const hue = (b: number, a: number) => ((Math.atan2(b, a) / rad) + 360) % 360;
  const h1 = hue(b1, a1p), h2 = hue(b2, a2p);
  let dh = h2 - h1;
  if (c1 * c2 === 0) dh = 0;
  else if (dh > 180) dh -= 360;
  else if (dh < -180) dh += 360;
  const dL = l2 - l1, dC = c2 - c1;
  const dH = 2 * Math.sqrt(c1 * c2) * Math.sin(dh / 2 * rad);
  const lBar = (l1 + l2) / 2, cpBar = (c1 + c2) / 2;
  let hBar = h1 + h2;
  if (c1 * c2 !== 0) {
    hBar = Math.abs(h1 - h2) <= 180 ? hBar / 2 : (hBar + (hBar < 360 ? 360 : -360)) / 2;
  }
  const t = 1 - 0.17 * Math.cos((hBar - 30) * rad) + 0.24 * Math.cos(2 * hBar * rad) +
    0.32 * Math.cos((3 * hBar + 6) * rad) - 0.2 * Math.cos((4 * hBar - 63) * rad);
  const sL = 1 + 0.015 * (lBar - 50) ** 2 / Math.sqrt(20 + (lBar - 50) ** 2);
  const sC = 1 + 0.045 * cpBar, sH = 1 + 0.015 * cpBar * t;
  const rC = 2 * Math.sqrt(cpBar ** 7 / (cpBar ** 7 + 25 ** 7));
  const rT = -Math.sin(2 * 30 * Math.exp(-(((hBar - 275) / 25) ** 2)) * rad) * rC;
  return Math.sqrt(
    (dL / sL) ** 2 + (dC / sC) ** 2 + (dH / sH) ** 2 + rT * (dC / sC) * (dH / sH),
  );
}

Deno.test("deltaE2000() reproduces Sharma et al.'s published test pairs", () => {
  // Pairs 1, 7 and 17 of the CIEDE2000 test data (Sharma, Wu & Dalal 2005, table 1).
  assertAlmostEquals(deltaE2000([50, 2.6772, -79.7751], [50, 0, -82.7485]), 2.0425, 1e-4);
  assertAlmostEquals(deltaE2000([50, 0, 0], [50, -1, 2]), 2.3669, 1e-4);
  assertAlmostEquals(deltaE2000([50, 2.5, 0], [73, 25, -18]), 27.1492, 1e-4);
});

Deno.test("the palette's twenty colours differ pairwise by at least 14 in CIEDE2000", () => {
  let min = Infinity, pair = "";
  for (let i = 0; i < PALETTE.length; i++) {
    for (let j = i + 1; j < PALETTE.length; j++) {
      const d = deltaE2000(lab(PALETTE[i]), lab(PALETTE[j]));
      if (d < min) [min, pair] = [d, `${PALETTE[i]} ${PALETTE[j]}`];
    }
  }
  assert(min >= 14, `closest pair ${pair}: ΔE00 = ${min.toFixed(1)}`);
});

Deno.test("seriesLine() gives the first 100 series pairwise different colour-and-dash styles", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const { color, dash } = seriesLine(i);
    assert(!seen.has(`${color} ${dash}`), `series ${i} repeats ${color} ${dash}`);
    seen.add(`${color} ${dash}`);
  }
  assertEquals([seriesDash(0), seriesDash(9), seriesDash(10), seriesDash(25)], [
    "solid",
    "solid",
    "dash",
    "dot",
  ]);
  assertEquals(DASHES.length, 5);
});

const lines = (n: number, prefix = "activation_") =>
  Array.from({ length: n }, (_, i) => ({
    type: "scatter",
    name: `${prefix}${i}`,
    x: [0, 1],
    y: [i, i + 1],
  }));

Deno.test("a legend that fits beside the plot stays there", () => {
  const fig = figure(lines(4), { height: 420 });
  assertEquals((fig.layout.legend as { orientation?: string }).orientation, undefined);
  assertEquals(fig.layout.height, 420);
});

Deno.test("a legend too long for the plot's height is laid out in rows below it, the figure taller", () => {
  const fig = figure(lines(20), { height: 420 });
  const legend = fig.layout.legend as Record<string, number | string>;
  const margin = fig.layout.margin as { b: number; l: number; r: number };
  assertEquals(legend.orientation, "h");
  assert((legend.y as number) < 0, "below the plot");
  // Labels of 13 characters: about 145 px an entry, 4 to a row of the static image's 680 px
  // plot width, so 5 rows of 21 px below the axis title.
  assertEquals(STATIC_WIDTH - margin.l - margin.r, 680);
  assert(margin.b >= 62 + 5 * 21, `bottom margin ${margin.b} holds 5 rows`);
  assertEquals(fig.layout.height, 420 + margin.b - 50, "the plot area keeps its height");
});

Deno.test("a legend beside a right-hand y axis moves below; one the caller placed stays", () => {
  const twoAxes = figure(lines(3), { yaxis2: { overlaying: "y", side: "right" } });
  assertEquals((twoAxes.layout.legend as { orientation?: string }).orientation, "h");
  const placed = figure(lines(20), { legend: { x: 1.02, y: 1 } });
  assertEquals(placed.layout.legend, { x: 1.02, y: 1 });
  const single = figure(lines(1));
  assertEquals((single.layout.legend as { orientation?: string }).orientation, undefined);
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
