/**
 * Static images of Plotly figures, drawn by plotly.js itself in headless Chromium: what GitHub's
 * notebook viewer shows, since it runs no JavaScript. The headless runner adds one `image/png` per
 * figure output; this module is also usable on its own.
 *
 * @module
 */
import { type Browser, launchChromium } from "./chromium.ts";
import { type FigureJson, STATIC_WIDTH } from "./figure.ts";

/**
 * The plotly.js bundle on disk: `$ACTLAB_PLOTLY_JS`, else `plotly.js-dist-min` (or
 * `plotly.js-dist`) in the project's `node_modules`. Throws naming what to install when absent.
 *
 * @example
 * ```ts ignore
 * import { plotlyScriptPath } from "./static_image.ts";
 * console.log(plotlyScriptPath()); // …/node_modules/plotly.js-dist-min/plotly.min.js
 * ```
 */
export function plotlyScriptPath(): string {
  const env = Deno.env.get("ACTLAB_PLOTLY_JS");
  const tried: string[] = [];
  const candidates = env ? [env] : [];
  const roots = [new URL("../../", import.meta.url).pathname.replace(/\/$/, "")];
  let dir = Deno.cwd();
  for (let i = 0; i < 20; i++) {
    roots.push(dir);
    const parent = dir.replace(/\/[^/]*$/, "") || "/";
    if (parent === dir) break;
    dir = parent;
  }
  for (const root of roots) {
    candidates.push(
      `${root}/node_modules/plotly.js-dist-min/plotly.min.js`,
      `${root}/node_modules/plotly.js-dist/plotly.js`,
    );
  }
  for (const path of candidates) {
    tried.push(path);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // next
    }
  }
  throw new Error(
    `plotly.js not found (looked in ${tried.slice(0, 4).join(", ")}, …). Run ` +
      "`deno install` in the project (deno.json maps plotly.js-dist-min) or set ACTLAB_PLOTLY_JS.",
  );
}

/** Options for {@link renderFigureImages}. */
export interface RenderImageOptions {
  /** Image width in CSS pixels (default 760, `STATIC_WIDTH`: the width legends are fitted to). */
  width?: number;
  /** Height when the layout gives none (default 450). */
  height?: number;
  /** Pixel scale (default 1; 2 for crisp but 4× larger PNGs). */
  scale?: number;
  /** "png" (base64, default) or "svg" (markup). */
  format?: "png" | "svg";
  /** A browser to reuse; otherwise one is launched and closed. */
  browser?: Browser;
}

/**
 * Renders each figure with plotly.js in headless Chromium and returns the images: base64 PNG
 * (default) or SVG markup, one per figure, in order. One browser and one page serve all figures.
 *
 * @example
 * ```ts ignore
 * import { figure } from "./figure.ts";
 * import { renderFigureImages } from "./static_image.ts";
 * const fig = figure([{ type: "scatter", x: [0, 1], y: [1, 0] }]);
 * const [png] = await renderFigureImages([fig.toJSON()]);
 * ```
 */
export async function renderFigureImages(
  figures: readonly FigureJson[],
  options: RenderImageOptions = {},
): Promise<string[]> {
  if (figures.length === 0) return [];
  const plotly = plotlyScriptPath();
  const dir = await Deno.makeTempDir({ prefix: "actlab-render-" });
  const browser = options.browser ?? await launchChromium();
  try {
    const html = `${dir}/render.html`;
    await Deno.writeTextFile(
      html,
      `<!doctype html><html><head><meta charset="utf-8">` +
        `<script src="${new URL(`file://${plotly}`).href}"></script></head>` +
        `<body><div id="scratch"></div></body></html>`,
    );
    const page = await browser.newPage();
    try {
      await page.goto(new URL(`file://${html}`).href);
      await page.waitFor("window.Plotly && window.Plotly.toImage", { timeoutMs: 60_000 });
      const out: string[] = [];
      const format = options.format ?? "png";
      for (const fig of figures) {
        const layout = fig.layout ?? {};
        const height = typeof layout.height === "number" ? layout.height : options.height ?? 450;
        const width = options.width ?? STATIC_WIDTH;
        const spec = JSON.stringify({
          data: fig.data,
          layout: { ...layout, width, height },
          config: { ...(fig.config ?? {}), responsive: false, staticPlot: true },
        });
        const url = await page.evaluate<string>(
          `Plotly.toImage(${spec}, ${
            JSON.stringify({ format, width, height, scale: options.scale ?? 1 })
          })`,
        );
        if (format === "png") {
          const comma = url.indexOf(",");
          out.push(url.slice(comma + 1));
        } else {
          const comma = url.indexOf(",");
          const body = url.slice(comma + 1);
          out.push(url.slice(0, comma).endsWith(";base64") ? atob(body) : decodeURIComponent(body));
        }
      }
      return out;
    } finally {
      await page.close().catch(() => {});
    }
  } finally {
    if (!options.browser) await browser.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
