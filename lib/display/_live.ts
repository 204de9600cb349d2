/**
 * One output that updates in place: in the kernel a display with a `display_id`, replaced with
 * `update: true` at most once per interval; in a terminal one line on stderr, rewritten with a
 * carriage return (or, when stderr is not a terminal, printed now and then).
 *
 * @module
 */
import type { MimeBundle } from "./display.ts";
import { jupyter } from "./display.ts";

/** Throttled in-place display; `render` is called only when an update is actually sent. */
export class LiveOutput {
  readonly displayId = `actlab-live-${crypto.randomUUID()}`;
  #render: () => MimeBundle;
  #minIntervalMs: number;
  #shown = false;
  #lastAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** How many updates were sent to the kernel or terminal (for tests and benchmarks). */
  sent = 0;

  constructor(render: () => MimeBundle, minIntervalMs: number) {
    this.#render = render;
    this.#minIntervalMs = minIntervalMs;
  }

  /** Whether rich output goes to a Jupyter kernel. */
  get inKernel(): boolean {
    return jupyter() !== undefined;
  }

  /** Shows the first state now. */
  open(): void {
    this.#emit();
  }

  /** Asks for an update; sends it now or at the end of the current interval, never more often. */
  request(): void {
    if (this.#closed) return;
    const wait = this.#lastAt + this.#minIntervalMs - performance.now();
    if (wait <= 0) {
      this.#clearTimer();
      this.#emit();
    } else if (this.#timer === undefined) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.#emit();
      }, wait);
      Deno.unrefTimer(timer as unknown as number);
      this.#timer = timer;
    }
  }

  /** Sends the final state and resolves when the kernel accepted every update. */
  async close(): Promise<void> {
    if (this.#closed) return await this.#chain;
    this.#clearTimer();
    this.#emit(true);
    this.#closed = true;
    await this.#chain;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #emit(final = false): void {
    this.#lastAt = performance.now();
    const bundle = this.#render();
    this.sent++;
    const api = jupyter();
    if (api) {
      const options = { raw: true, display_id: this.displayId, update: this.#shown };
      this.#shown = true;
      this.#chain = this.#chain.then(() => api.display(bundle, options)).catch((e) => {
        console.error(`actlab: could not update a display: ${e}`);
      });
    } else {
      terminalLine(bundle["text/plain"], final);
    }
  }
}

let lastPlainAt = -Infinity;

/**
 * Writes a status line to stderr: rewritten in place on a terminal, else printed at most every
 * 10 s (and always when `final`), so logs are not flooded.
 */
export function terminalLine(text: string, final: boolean): void {
  const line = text.split("\n")[0];
  const encoder = new TextEncoder();
  try {
    if (Deno.stderr.isTerminal()) {
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}${final ? "\n" : ""}`));
    } else if (final || performance.now() - lastPlainAt >= 10_000) {
      lastPlainAt = performance.now();
      Deno.stderr.writeSync(encoder.encode(line + "\n"));
    }
  } catch {
    // stderr closed: nothing to show
  }
}
