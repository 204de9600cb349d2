/** Static figure images drawn by plotly.js in a real headless Chromium (skipped without one). */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { figure, STATIC_WIDTH } from "../../lib/display/figure.ts";
import { activationCurves, lossCurves } from "../../lib/display/figures.ts";
import { findChromium, launchChromium, type Page } from "../../lib/display/chromium.ts";
import { plotlyScriptPath, renderFigureImages } from "../../lib/display/static_image.ts";
import { listActivations } from "../../lib/activations/mod.ts";

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

/**
 * Draws a figure with plotly.js at the static images' width and returns the legend entries that
 * fall outside the legend's visible box or the image: what a static PNG would cut off.
 */
async function hiddenLegendEntries(
  page: Page,
  fig: { toJSON(): { data: unknown[]; layout: Record<string, unknown> } },
): Promise<{ shown: number; hidden: string[] }> {
  const json = fig.toJSON();
  const spec = JSON.stringify({
    data: json.data,
    layout: { ...json.layout, width: STATIC_WIDTH },
    config: { staticPlot: true },
  });
  return await page.evaluate(`(async () => {
    const el = document.getElementById("plot");
    const spec = ${spec};
    await Plotly.newPlot(el, spec.data, spec.layout, spec.config);
    const svg = el.querySelector(".main-svg").getBoundingClientRect();
    const box = el.querySelector(".legend .bg").getBoundingClientRect();
    const hidden = [];
    const entries = [...el.querySelectorAll(".legend .traces")];
    for (const e of entries) {
      const r = e.getBoundingClientRect();
      const inside = (o) => r.top >= o.top - 1 && r.bottom <= o.bottom + 1 &&
        r.left >= o.left - 1 && r.right <= o.right + 1;
      if (!inside(box) || !inside(svg)) hidden.push(e.textContent);
    }
    Plotly.purge(el);
    return { shown: entries.length, hidden };
  })()`);
}

Deno.test({
  name: "static images show every legend entry of 11 loss curves and of 21 activation curves",
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const rows = [];
    const acts = ["relu", "gelu", "gelu_tanh", "silu", "mish", "elu", "relu2", "reglu", "geglu"]
      .concat(["swiglu", "quick_gelu"]);
    for (const [k, activation] of acts.entries()) {
      for (const seed of [0, 1]) {
        for (let step = 0; step <= 1000; step += 100) {
          rows.push({ activation, seed, step, loss: 1.5 + 0.01 * k + 2 * Math.exp(-step / 200) });
        }
      }
    }
    const names = listActivations({ kind: "unary" }).map((d) => d.name).slice(0, 21);
    const loss = lossCurves(rows, { yTitle: "val loss" });
    const curves = activationCurves(names, { derivatives: false });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const html = await Deno.makeTempFile({ suffix: ".html" });
      await Deno.writeTextFile(
        html,
        `<!doctype html><script src="file://${plotlyScriptPath()}"></script><div id="plot"></div>`,
      );
      await page.goto(`file://${html}`);
      await page.waitFor("window.Plotly");
      assertEquals(await hiddenLegendEntries(page, loss), { shown: 11, hidden: [] });
      assertEquals(await hiddenLegendEntries(page, curves), { shown: 21, hidden: [] });
      // The check can fail: the same 21 entries in a legend pinned beside the plot overflow it.
      const pinned = activationCurves(names, { derivatives: false });
      pinned.layout.legend = { x: 1.02, y: 1 };
      const overflow = await hiddenLegendEntries(page, pinned);
      assert(overflow.hidden.length > 0, "a pinned 21-entry legend is cut off at 420 px");
      await Deno.remove(html);
      // The PNG has the figure's grown height, legend rows included.
      const [png] = await renderFigureImages([curves.toJSON()], { browser });
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
      const view = new DataView(bytes.buffer);
      assertEquals(view.getUint32(16), STATIC_WIDTH);
      assertEquals(view.getUint32(20), curves.layout.height);
      assert((curves.layout.height as number) > 420, "taller than the plot's 420 px");
    } finally {
      await browser.close();
    }
  },
});

if (!chromium) console.warn("static_image_test: skipped, no Chromium (apt-get install chromium)");
