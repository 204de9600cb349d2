/**
 * A progress bar that updates one output in place: count, rate, ETA and live metrics (e.g. the
 * loss). In Deno's kernel it is one display, replaced via `display_id` + `update` at most every
 * `minIntervalMs`; in a terminal it is one line on stderr rewritten in place.
 *
 * Outputs reach the notebook only when the event loop runs: inside a long synchronous loop,
 * `await` something now and then (e.g. `await new Promise((r) => setTimeout(r, 0))` every few
 * steps), or the bar shows only its final state.
 *
 * @module
 */
import { DisplayObject, type MimeBundle } from "./display.ts";
import { escapeHtml } from "./_util.ts";
import { LiveOutput } from "./_live.ts";

/** Live metrics shown after the counts, e.g. `{ loss: 1.234 }`. */
export type ProgressMetrics = Readonly<Record<string, number | string>>;

/** Options for {@link progress}. */
export interface ProgressOptions {
  /** Text before the bar, e.g. "train gelu". */
  label?: string;
  /** Name of what is counted (default "it"). */
  unit?: string;
  /** Smallest time between two updates of the output, in ms (default 200: ≤ 5 updates/s). */
  minIntervalMs?: number;
  /** Width of the text bar in characters (default 24). */
  width?: number;
  /** Show the bar at once (default true). */
  show?: boolean;
}

/** Formats seconds as m:ss or h:mm:ss. */
function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

function metricText(metrics: ProgressMetrics, sep: string): string {
  return Object.entries(metrics).map(([k, v]) =>
    `${k}${sep}${typeof v === "number" ? Number(v.toPrecision(4)) : v}`
  ).join(" ");
}

/**
 * A progress bar. Create it with {@link progress}; call {@link Progress.update} or
 * {@link Progress.increment} as work completes and `await` {@link Progress.done} at the end.
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * const bar = progress(100, { label: "train" });
 * for (let step = 1; step <= 100; step++) bar.update(step, { loss: 3 / step });
 * await bar.done();
 * ```
 */
export class Progress extends DisplayObject {
  /** The total count (0 or undefined: unknown). */
  readonly total: number | undefined;
  #value = 0;
  #metrics: ProgressMetrics = {};
  #start = performance.now();
  #end: number | undefined;
  #status: string | undefined;
  #options: Required<Omit<ProgressOptions, "show">>;
  #live: LiveOutput;

  /** Use {@link progress}. */
  constructor(total: number | undefined, options: ProgressOptions = {}) {
    super();
    if (total !== undefined && !(total >= 0)) {
      throw new RangeError(`progress(): total must be a non-negative number, got ${total}`);
    }
    this.total = total;
    this.#options = {
      label: options.label ?? "",
      unit: options.unit ?? "it",
      minIntervalMs: options.minIntervalMs ?? 200,
      width: options.width ?? 24,
    };
    this.#live = new LiveOutput(() => this.bundle(), this.#options.minIntervalMs);
    if (options.show ?? true) this.#live.open();
  }

  /** The current count. */
  get value(): number {
    return this.#value;
  }

  /** The latest metrics. */
  get metrics(): ProgressMetrics {
    return this.#metrics;
  }

  /** How many times the output was actually redrawn (throttling keeps this small). */
  get redraws(): number {
    return this.#live.sent;
  }

  /** Items per second so far. */
  get rate(): number {
    const seconds = ((this.#end ?? performance.now()) - this.#start) / 1000;
    return seconds > 0 ? this.#value / seconds : 0;
  }

  /** Sets the count (and optionally the metrics) and redraws, throttled. */
  update(value: number, metrics?: ProgressMetrics): void {
    this.#value = value;
    if (metrics) this.#metrics = { ...this.#metrics, ...metrics };
    this.#live.request();
  }

  /** Adds `by` (default 1) to the count. */
  increment(by = 1, metrics?: ProgressMetrics): void {
    this.update(this.#value + by, metrics);
  }

  /**
   * Marks the work finished, draws the final state and waits until it is shown. `status`
   * replaces the final "done" (e.g. `"interrupted"` when the work stopped early).
   */
  async done(metrics?: ProgressMetrics, options: { status?: string } = {}): Promise<void> {
    if (metrics) this.#metrics = { ...this.#metrics, ...metrics };
    this.#end ??= performance.now();
    this.#status ??= options.status;
    await this.#live.close();
  }

  /** One line: label, bar, count, elapsed, ETA, rate and metrics. */
  text(): string {
    const { label, unit, width } = this.#options;
    const elapsed = ((this.#end ?? performance.now()) - this.#start) / 1000;
    const rate = this.rate;
    const parts: string[] = [];
    if (label) parts.push(label);
    if (this.total) {
      const f = Math.min(1, this.#value / this.total);
      const filled = Math.round(f * width);
      parts.push(`${String(Math.floor(f * 100)).padStart(3)}%`);
      parts.push("█".repeat(filled) + "░".repeat(width - filled));
      parts.push(`${this.#value}/${this.total}`);
      const eta = this.#end !== undefined
        ? ""
        : `<${rate > 0 ? clock((this.total - this.#value) / rate) : "?"}`;
      parts.push(`[${clock(elapsed)}${eta}, ${rate.toPrecision(3)} ${unit}/s]`);
    } else {
      parts.push(`${this.#value} ${unit}`, `[${clock(elapsed)}, ${rate.toPrecision(3)} ${unit}/s]`);
    }
    const m = metricText(this.#metrics, "=");
    if (m) parts.push(m);
    if (this.#end !== undefined) parts.push(this.#status ?? "done");
    return parts.join(" ");
  }

  /** HTML: a `<progress>` element and the same facts as {@link Progress.text}. */
  html(): string {
    const elapsed = ((this.#end ?? performance.now()) - this.#start) / 1000;
    const rate = this.rate;
    const facts: string[] = [];
    if (this.total) {
      facts.push(
        `${this.#value}/${this.total} (${
          Math.floor(100 * Math.min(1, this.#value / this.total))
        }%)`,
      );
    } else facts.push(`${this.#value} ${this.#options.unit}`);
    facts.push(`${clock(elapsed)} elapsed`);
    if (this.total && this.#end === undefined) {
      facts.push(`ETA ${rate > 0 ? clock((this.total - this.#value) / rate) : "?"}`);
    }
    facts.push(`${rate.toPrecision(3)} ${this.#options.unit}/s`);
    const m = metricText(this.#metrics, " ");
    if (m) facts.push(m);
    if (this.#end !== undefined) facts.push(this.#status ?? "done ✓");
    const bar = this.total
      ? `<progress value="${this.#value}" max="${this.total}" style="width:240px"></progress>`
      : "";
    return `<div class="actlab-progress" style="font-family:ui-monospace,Menlo,monospace;` +
      `font-size:13px;display:flex;gap:10px;align-items:center">` +
      (this.#options.label ? `<span>${escapeHtml(this.#options.label)}</span>` : "") +
      `${bar}<span>${escapeHtml(facts.join(" · "))}</span></div>`;
  }

  /** The bar's MIME bundle (HTML and text). */
  override bundle(): MimeBundle {
    return { "text/plain": this.text(), "text/html": this.html() };
  }
}

/**
 * Creates and shows a progress bar for `total` items (omit it when unknown).
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * const bar = progress(3, { label: "seeds" });
 * for (const seed of [0, 1, 2]) bar.increment(1, { seed });
 * await bar.done();
 * ```
 */
export function progress(total?: number, options: ProgressOptions = {}): Progress {
  return new Progress(total, options);
}

/**
 * Iterates `items` with a progress bar that advances per item and finishes when the loop ends
 * (also on `break`).
 *
 * @example
 * ```ts
 * import { track } from "./progress.ts";
 * let sum = 0;
 * for (const x of track([1, 2, 3], { label: "sum" })) sum += x;
 * ```
 */
export function* track<T>(
  items: Iterable<T>,
  options: ProgressOptions & { total?: number } = {},
): Generator<T> {
  const total = options.total ??
    ((items as { length?: number }).length ?? (items as { size?: number }).size);
  const bar = progress(total, options);
  try {
    for (const item of items) {
      yield item;
      bar.increment();
    }
  } finally {
    void bar.done();
  }
}
