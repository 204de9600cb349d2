/**
 * The terminal progress of `deno task sweep`: every running trial (by worker slot) with its step
 * and loss, the trials finished, elapsed time and an ETA from this run's pace; one line redrawn in
 * place on a terminal, a line every 30 s in a log. Messages (a finished trial, a warning) print
 * above it.
 *
 * @module
 */
import type { GridCell } from "../lib/sweep/grid.ts";
import type { ScheduleObservers } from "../lib/sweep/schedule.ts";

/**
 * A duration as people read it: `42s`, `3m05s`, `1h32m`; `?` when unknown.
 *
 * @example
 * ```ts
 * import { duration } from "./_sweep_progress.ts";
 * console.assert(duration(185) === "3m05s");
 * ```
 */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`
    : s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}

/** One running trial as the line shows it. */
interface Running {
  name: string;
  step: number;
  loss: number;
}

/**
 * The progress line of a sweep, grid or study run, and the observers that feed it.
 *
 * @example
 * ```ts ignore
 * const progress = new SweepProgress({ trials: 8, steps: 8 * 800, stepsPerTrial: 800 });
 * await sweep(data, { ...options, ...progress.observers(controller.signal) });
 * progress.clear();
 * ```
 */
export class SweepProgress {
  readonly #t0 = performance.now();
  readonly #running = new Map<number, Running>();
  readonly #slotOf = new Map<string, number>();
  readonly #tty = Deno.stderr.isTerminal();
  #total: number;
  #steps: number;
  #perTrial: number;
  #prefix = "";
  #finished = 0;
  #stepsFinished = 0;
  #stepsDone = 0;
  #lastDraw = 0;

  /** Starts the clock for `trials` trials of `stepsPerTrial` steps (`steps` in all). */
  constructor(plan: { trials: number; steps: number; stepsPerTrial: number }) {
    this.#total = plan.trials;
    this.#steps = plan.steps;
    this.#perTrial = plan.stepsPerTrial;
  }

  /** Seconds since the run started. */
  get seconds(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** A grid cell starts: its steps per trial, and its name before every line. */
  cell(cell: GridCell, index: number, count: number, where: string): void {
    this.#perTrial = cell.iters;
    this.#prefix = `[${cell.folder || "base"}] `;
    this.say(`cell ${index + 1}/${count}: lr ${cell.lr}, ${cell.iters} steps → ${where}`);
  }

  /** A study stage or round starts: `trials` more to run. */
  stage(message: string): void {
    this.#prefix = "";
    this.say(message);
  }

  /** Adds `trials` trials of `stepsPerTrial` steps to the plan (a study's next round). */
  grow(trials: number, stepsPerTrial: number): void {
    this.#total += trials;
    this.#steps += trials * stepsPerTrial;
    this.#perTrial = stepsPerTrial;
  }

  #draw(force = false): void {
    const now = performance.now();
    if (!force && now - this.#lastDraw < (this.#tty ? 250 : 30_000)) return;
    this.#lastDraw = now;
    const stepsNow = [...this.#running.values()].reduce((a, r) => a + r.step, 0);
    const left = this.#steps - this.#stepsFinished - stepsNow;
    const eta = this.#stepsDone > 0 ? (left * this.seconds) / this.#stepsDone : NaN;
    const trials = [...this.#running.values()].map((r) =>
      `${r.name} ${r.step}/${this.#perTrial} ${Number.isFinite(r.loss) ? r.loss.toFixed(3) : ""}`
    ).join(" | ");
    const line = `[${this.#finished}/${this.#total}] ${this.#prefix}${trials} · ` +
      `${duration(this.seconds)} elapsed, ETA ${duration(eta)}`;
    if (this.#tty) {
      const width = Deno.consoleSize?.().columns ?? 120;
      Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[K${line.slice(0, width - 1)}`));
    } else console.error(line);
  }

  /** Prints a message above the progress line. */
  say(text: string): void {
    this.clear();
    console.error(text);
    this.#draw(true);
  }

  /** Clears the progress line (before the tables print). */
  clear(): void {
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  }

  /** The observers of a sweep, grid or study that feed this line. */
  observers(signal: AbortSignal): ScheduleObservers & { onNotice: (m: string) => void } {
    const key = (t: { activation: string; seed: number }) => `${t.activation}/${t.seed}`;
    return {
      signal,
      onNotice: (m) => this.say(`warning: ${m}`),
      onTrialStart: (t, _k, _n, slot) => {
        this.#slotOf.set(key(t), slot);
        this.#running.set(slot, { name: key(t), step: 0, loss: NaN });
      },
      onStep: (t, info) => {
        const r = this.#running.get(this.#slotOf.get(key(t)) ?? 0);
        if (r) {
          r.step = info.iter + 1;
          r.loss = info.loss;
        }
        this.#stepsDone++;
        this.#draw();
      },
      onTrial: (r, skipped) => {
        this.#finished++;
        this.#stepsFinished += r.evals.at(-1)?.iter ?? this.#perTrial;
        const slot = this.#slotOf.get(key(r));
        if (slot !== undefined) this.#running.delete(slot);
        const what = r.status === "completed"
          ? `val ${r.finalValLoss.toFixed(4)}, ${r.msPerStep.toFixed(1)} ms/step` +
            (r.unstable ? ", unstable" : "")
          : `diverged at step ${r.divergedAt}`;
        this.say(
          `${this.#prefix}${r.activation} seed ${r.seed}: ${what}${
            skipped ? " (saved earlier)" : ""
          }`,
        );
      },
    };
  }
}
