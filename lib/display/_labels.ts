/**
 * The words on a figure, shared by the ready-made figures: numbers and columns of the text
 * summaries, axis titles with their units, and the small annotations (panel titles, corner notes,
 * off-scale notes).
 *
 * @module
 */

// ---- the text summary ----

/** `s` padded with spaces to `n` characters (a column of the text summary). */
export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** A number in `digits` significant digits; exponent form below 1e-3 and from 1e5. */
export function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(Math.max(0, digits - 2));
  return String(Number(x.toPrecision(digits)));
}

// ---- axis titles ----

/** An axis's `title` entry. */
export function axisTitle(text: string): { title: { text: string } } {
  return { title: { text } };
}

/**
 * The unit of a loss axis: the mini-GPT is a character-level model, so its loss is the
 * cross-entropy in nats per character.
 */
export const LOSS_UNIT = "nats/char";

/**
 * An axis title with its unit in parentheses. With `unit` undefined, a title that names a loss
 * gets {@link LOSS_UNIT}; a title that already has a parenthesis, or `unit: ""`, is left as it is.
 */
export function withUnit(title: string, unit?: string): string {
  const u = unit ?? (/loss/i.test(title) ? LOSS_UNIT : "");
  return u && !title.includes("(") ? `${title} (${u})` : title;
}

/** The x-axis title of a step field: "training step" for `step`/`iter`, else the field. */
export function stepTitle(field: string): string {
  return /^(step|iter|iteration)s?$/i.test(field) ? "training step" : field;
}

// ---- annotations ----

/** A small grey note in a panel's top-left corner (which curves run off the scale). */
export function panelNote(axis: string, text: string) {
  return {
    xref: `x${axis} domain`,
    yref: `y${axis} domain`,
    x: 0.02,
    y: 0.98,
    xanchor: "left",
    yanchor: "top",
    showarrow: false,
    align: "left",
    text,
    font: { size: 11, color: "#666" },
    bgcolor: "rgba(255,255,255,0.8)",
  };
}

/** A panel's title, centred above it. */
export function panelTitle(axis: string, text: string) {
  return {
    xref: `x${axis} domain`,
    yref: `y${axis} domain`,
    x: 0.5,
    y: 1.01,
    xanchor: "center",
    yanchor: "bottom",
    showarrow: false,
    text,
    font: { size: 12, color: "#444" },
  };
}

/** A small grey note in a figure's top-right corner (what a band or a marker means). */
export function cornerNote(text: string) {
  return {
    xref: "paper",
    yref: "paper",
    x: 1,
    y: 1.06,
    xanchor: "right",
    showarrow: false,
    text,
    font: { size: 11, color: "#666" },
  };
}

/**
 * "off scale: relu2 ↑, elu ↓": the curves a fitted range (`curveRange` in `_ranges.ts`) cuts
 * off, two named at most.
 */
export function offScale(names: readonly string[], above: number[], below: number[]): string {
  const parts = [
    ...above.map((i) => `${names[i]} ↑`),
    ...below.map((i) => `${names[i]} ↓`),
  ];
  if (parts.length === 0) return "";
  const more = parts.length > 2 ? ` +${parts.length - 2} more` : "";
  return `off scale: ${parts.slice(0, 2).join(", ")}${more}`;
}
