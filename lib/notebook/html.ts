/**
 * A notebook as one HTML page: markdown rendered, code with its prompts (only for cells that
 * ran), a cell that is only a comment shown as its outputs' caption, every output in its richest
 * form. Plotly figures draw with plotly.js, included once per page (a script beside the
 * page, or inlined), never from a CDN.
 *
 * @module
 */
import { marked } from "marked";
import { joinText, type Notebook, type Output, sourceOf } from "./nbformat.ts";
import { stripAnsi } from "./_diagnose.ts";

/**
 * The text of a code cell made only of comments (`// …` lines or one `/* … *\/` block), joined
 * into one line without the comment marks; `undefined` when the cell has code.
 */
function commentOnly(source: string): string | undefined {
  const text = source.trim();
  if (text === "") return undefined;
  const block = /^\/\*+([\s\S]*?)\*+\/$/.exec(text);
  if (block && !block[1].includes("*/")) {
    return block[1].split("\n").map((l) => l.replace(/^\s*\*?\s?/, "").trim()).filter(Boolean)
      .join(" ");
  }
  const lines = text.split("\n").map((l) => l.trim());
  if (!lines.every((l) => l === "" || l.startsWith("//"))) return undefined;
  return lines.map((l) => l.replace(/^\/\/+\s?/, "").trim()).filter(Boolean).join(" ");
}

/** Options for {@link notebookToHtml}. */
export interface HtmlOptions {
  /** Page title (default: the notebook's first heading). */
  title?: string;
  /**
   * How plotly.js reaches the page: `{ src }` a script URL relative to the page (e.g. a copy
   * beside it), `{ inline }` the library's source text. Omitted: no plotly.js (figures show their
   * static image or text fallback).
   */
  plotly?: { src: string } | { inline: string };
}

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

function esc(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
  );
}

function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

let plotCounter = 0;

function renderData(data: Record<string, unknown>): string {
  const html = data["text/html"];
  if (html !== undefined) return `<div class="html">${joinText(html as string)}</div>`;
  if (data[PLOTLY_MIME] !== undefined) {
    const id = `nb-plot-${++plotCounter}`;
    const png = data["image/png"];
    const fallback = png ? `<img src="data:image/png;base64,${joinText(png as string)}">` : "";
    return `<div id="${id}" class="actlab-figure">${fallback}</div><script>(function () {` +
      `var el = document.getElementById("${id}"); var fig = ${scriptJson(data[PLOTLY_MIME])};` +
      `if (window.Plotly) { el.innerHTML = ""; ` +
      `window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); } })();</script>`;
  }
  const svg = data["image/svg+xml"];
  if (svg !== undefined) return `<div class="svg">${joinText(svg as string)}</div>`;
  for (const mime of ["image/png", "image/jpeg", "image/gif"]) {
    if (data[mime] !== undefined) {
      return `<img src="data:${mime};base64,${joinText(data[mime] as string).trim()}">`;
    }
  }
  const md = data["text/markdown"];
  if (md !== undefined) {
    return `<div class="markdown">${marked.parse(joinText(md as string), { async: false })}</div>`;
  }
  if (data["application/json"] !== undefined) {
    return `<pre>${esc(JSON.stringify(data["application/json"], null, 2))}</pre>`;
  }
  return `<pre>${esc(stripAnsi(joinText(data["text/plain"] as string)))}</pre>`;
}

function renderOutput(o: Output): string {
  switch (o.output_type) {
    case "stream":
      return `<pre class="stream ${o.name}">${esc(stripAnsi(joinText(o.text)))}</pre>`;
    case "error":
      return `<pre class="error">${
        esc(stripAnsi([`${o.ename}: ${o.evalue}`, ...o.traceback.slice(1)].join("\n")))
      }</pre>`;
    default:
      return renderData(o.data as Record<string, unknown>);
  }
}

const STYLE = `
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  color: #1f2328; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
.cell { margin: 14px 0; }
.code .input { display: flex; gap: 8px; }
.prompt { color: #6e7781; font: 12px ui-monospace, Menlo, monospace; min-width: 56px;
  text-align: right; padding-top: 9px; flex: none; }
pre { font: 13px/1.45 ui-monospace, Menlo, Consolas, monospace; overflow-x: auto; margin: 0; }
.input pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px;
  flex: 1; }
.outputs { margin-left: 64px; }
.captioned .outputs { margin-left: 0; }
.caption { font-weight: 600; color: #424a53; margin: 18px 0 4px; }
.outputs > * { margin: 6px 0; }
.stream.stderr { background: #fff8e6; }
.error { background: #ffebe9; color: #82071e; padding: 8px 12px; border-radius: 6px; }
.markdown table, .html table { border-collapse: collapse; }
.markdown th, .markdown td { border: 1px solid #d0d7de; padding: 4px 10px; }
img { max-width: 100%; }
.actlab-figure { width: 100%; }
`;

/**
 * Renders an executed notebook as a standalone HTML page.
 *
 * @example
 * ```ts
 * import { notebookToHtml } from "./html.ts";
 * const html = notebookToHtml({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "markdown", source: "# Hello", metadata: {} }],
 * });
 * console.assert(html.includes("<h1>Hello</h1>"));
 * ```
 */
export function notebookToHtml(nb: Notebook, options: HtmlOptions = {}): string {
  const firstHeading = nb.cells
    .filter((c) => c.cell_type === "markdown")
    .map((c) => sourceOf(c).match(/^#+\s+(.+)$/m)?.[1])
    .find(Boolean);
  const title = options.title ?? firstHeading ?? "notebook";
  const body = nb.cells.map((cell) => {
    const source = sourceOf(cell);
    if (cell.cell_type === "markdown") {
      return `<div class="cell markdown">${marked.parse(source, { async: false })}</div>`;
    }
    if (cell.cell_type === "raw") return `<div class="cell raw"><pre>${esc(source)}</pre></div>`;
    const outputs = (cell.outputs ?? []).map(renderOutput).join("\n");
    // A cell that is only a comment over its outputs (a report's "// final loss"): a caption.
    const caption = commentOnly(source);
    if (caption !== undefined) {
      return `<div class="cell code captioned">` +
        (caption ? `<p class="caption">${esc(caption)}</p>` : "") +
        `<div class="outputs">${outputs}</div></div>`;
    }
    // "In [n]:" only for a cell that ran; one that did not run gets no empty "In [ ]:".
    const count = cell.execution_count;
    const prompt = typeof count === "number" ? `In [${count}]:` : "";
    return `<div class="cell code"><div class="input"><div class="prompt">${prompt}</div>` +
      `<pre><code>${esc(source)}</code></pre></div>` +
      `<div class="outputs">${outputs}</div></div>`;
  }).join("\n");
  const plotly = options.plotly === undefined
    ? ""
    : "src" in options.plotly
    ? `<script src="${esc(options.plotly.src)}" charset="utf-8"></script>`
    : `<script>${options.plotly.inline.replace(/<\/script/gi, "<\\/script")}</script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
${plotly}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Whether a notebook has any Plotly output (so its page needs plotly.js). */
export function hasPlotly(nb: Notebook): boolean {
  return nb.cells.some((c) =>
    (c.outputs ?? []).some((o) =>
      (o.output_type === "display_data" || o.output_type === "execute_result") &&
      PLOTLY_MIME in o.data
    )
  );
}
