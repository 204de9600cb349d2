/** Static figure images drawn by plotly.js in a real headless Chromium (skipped without one). */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { figure } from "../../lib/display/figure.ts";
import { findChromium } from "../../lib/display/chromium.ts";
import { renderFigureImages } from "../../lib/display/static_image.ts";

const chromium = findChromium();

Deno.test({
  name: "renderFigureImages() draws each figure as a PNG (or SVG) with plotly.js in Chromium",
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const line = figure([{ type: "scatter", x: [0, 1, 2], y: [0, 1, 4], name: "x²" }], {
      title: { text: "squares" },
      height: 300,
    });
    const bars = figure([{ type: "bar", x: ["relu", "gelu"], y: [1.7, 1.6] }]);
    const pngs = await renderFigureImages([line.toJSON(), bars.toJSON()], { width: 640 });
    assertEquals(pngs.length, 2);
    for (const b64 of pngs) {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      assertEquals([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
      const view = new DataView(bytes.buffer);
      assertEquals(view.getUint32(16), 640, "width from the IHDR chunk");
      assert(bytes.length > 5000, "a real drawing, not an empty image");
    }
    const height = new DataView(Uint8Array.from(atob(pngs[0]), (c) => c.charCodeAt(0)).buffer)
      .getUint32(20);
    assertEquals(height, 300, "the layout's height is kept");
    const [svg] = await renderFigureImages([line.toJSON()], { format: "svg" });
    assertStringIncludes(svg, "<svg");
    assertStringIncludes(svg, "squares");
  },
});

if (!chromium) console.warn("static_image_test: skipped, no Chromium (apt-get install chromium)");
