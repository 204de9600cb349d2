/**
 * A live loss chart: one Plotly figure that updates in place while a model trains, at most twice
 * a second, one line per series (e.g. per activation). Pass {@link LiveChart.observer} as a
 * training loop's step callback. Like the progress bar, it redraws only when the event loop runs,
 * so a synchronous training loop should `await` now and then.
 *
 * @module
 */
import { DisplayObject, type MimeBundle } from "./display.ts";
import { Figure, type PlotlyTrace, seriesLine } from "./figure.ts";
import { LiveOutput } from "./_live.ts";

/** Options for {@link liveLossChart}. */
export interface LiveChartOptions {
  /** Figure title (default "Training loss"). */
  title?: string;
  /** x-axis title (default "training step"). */
  xTitle?: string;
  /** y-axis title (default "loss"), followed by the unit. */
  yTitle?: string;
  /**
   * Unit appended to the y-axis title in parentheses (default "nats/char", the mini-GPT's
   * cross-entropy per character, when the title names a loss; `""` for none).
   */
  unit?: string;
  /** Logarithmic y axis (default false). */
  logY?: boolean;
  /** Smallest time between two redraws, in ms (default 500: ≤ 2 updates/s). */
  minIntervalMs?: number;
  /** Points kept per series; older ones are thinned evenly beyond it (default 1000). */
  maxPoints?: number;
  /** Show the chart at once (default true). */
  show?: boolean;
}

interface Series {
  x: number[];
  y: number[];
  /** Keep every `stride`-th point once thinned. */
  stride: number;
  /** Points seen, to decide which to keep. */
  seen: number;
  /** The newest point, always drawn even when thinned away. */
  last?: [number, number];
}

/**
 * A chart that redraws in place as points arrive. Create it with {@link liveLossChart}.
 *
 * @example
 * ```ts
 * import { liveLossChart } from "./live_chart.ts";
 * const chart = liveLossChart({ title: "loss" });
 * const onStep = chart.observer("gelu");
 * for (let step = 0; step < 50; step++) onStep(step, 3 * Math.exp(-step / 20));
 * await chart.done();
 * ```
 */
export class LiveChart extends DisplayObject {
  #series = new Map<string, Series>();
  #options: Required<Omit<LiveChartOptions, "show" | "unit">>;
  #yAxisTitle: string;
  /** The step's name in the text summary ("step" unless an x title was given). */
  #xWord: string;
  #live: LiveOutput;

  /** Use {@link liveLossChart}. */
  constructor(options: LiveChartOptions = {}) {
    super();
    this.#options = {
      title: options.title ?? "Training loss",
      xTitle: options.xTitle ?? "training step",
      yTitle: options.yTitle ?? "loss",
      logY: options.logY ?? false,
      minIntervalMs: options.minIntervalMs ?? 500,
      maxPoints: options.maxPoints ?? 1000,
    };
    this.#xWord = options.xTitle ?? "step";
    const unit = options.unit ?? (/loss/i.test(this.#options.yTitle) ? "nats/char" : "");
    this.#yAxisTitle = unit && !this.#options.yTitle.includes("(")
      ? `${this.#options.yTitle} (${unit})`
      : this.#options.yTitle;
    this.#live = new LiveOutput(() => this.bundle(), this.#options.minIntervalMs);
    if ((options.show ?? true) && this.#live.inKernel) this.#live.open();
  }

  /** How many times the chart was redrawn. */
  get redraws(): number {
    return this.#live.sent;
  }

  /** Adds a point to a series and redraws (throttled). Non-finite values are drawn as gaps. */
  push(series: string, x: number, y: number): void {
    let s = this.#series.get(series);
    if (!s) {
      s = { x: [], y: [], stride: 1, seen: 0 };
      this.#series.set(series, s);
    }
    s.last = [x, y];
    if (s.seen++ % s.stride === 0) {
      s.x.push(x);
      s.y.push(y);
      if (s.x.length > this.#options.maxPoints) {
        s.x = s.x.filter((_, i) => i % 2 === 0);
        s.y = s.y.filter((_, i) => i % 2 === 0);
        s.stride *= 2;
      }
    }
    if (this.#live.inKernel) this.#live.request();
  }

  /** A callback `(step, value) => void` that pushes to `series`; hand it to a training loop. */
  observer(series: string): (step: number, value: number) => void {
    return (step, value) => this.push(series, step, value);
  }

  /** The chart as it stands, as a static {@link Figure}. */
  figure(): Figure {
    const data: PlotlyTrace[] = [...this.#series].map(([name, s], i) => {
      const x = [...s.x], y = [...s.y];
      if (s.last && x[x.length - 1] !== s.last[0]) {
        x.push(s.last[0]);
        y.push(s.last[1]);
      }
      return {
        type: "scatter",
        mode: "lines",
        name,
        x,
        y: y.map((v) => (Number.isFinite(v) ? v : null)),
        line: seriesLine(i),
      };
    });
    const lines = [...this.#series].map(([name, s]) =>
      s.last
        ? `  ${name}: ${this.#options.yTitle} ${
          Number.isFinite(s.last[1]) ? Number(s.last[1].toPrecision(4)) : s.last[1]
        } at ${this.#xWord} ${s.last[0]} (${s.seen} points)`
        : `  ${name}: no points`
    );
    return new Figure(data, {
      title: { text: this.#options.title },
      height: 380,
      xaxis: { title: { text: this.#options.xTitle } },
      yaxis: {
        title: { text: this.#yAxisTitle },
        ...(this.#options.logY ? { type: "log", dtick: "D2" } : {}),
      },
    }, {
      summary: [`Live chart: ${this.#options.title} (${this.#series.size} series)`, ...lines]
        .join("\n"),
    });
  }

  /** Draws the final state and waits until the kernel shows it; in a terminal prints a summary. */
  async done(): Promise<void> {
    if (this.#live.inKernel) await this.#live.close();
    else console.log(this.figure().summary());
  }

  /** The chart's MIME bundle (the bundle of {@link LiveChart.figure}). */
  override bundle(): MimeBundle {
    return this.figure().bundle();
  }
}

/**
 * Creates and shows a live loss chart that redraws in place at most every `minIntervalMs`
 * (default 500 ms). Outside the kernel it draws nothing until {@link LiveChart.done}, which prints
 * the final values.
 *
 * @example
 * ```ts
 * import { liveLossChart } from "./live_chart.ts";
 * const chart = liveLossChart();
 * for (const act of ["relu", "gelu"]) {
 *   for (let step = 0; step < 20; step++) chart.push(act, step, 3 / (step + 1));
 * }
 * await chart.done();
 * ```
 */
export function liveLossChart(options: LiveChartOptions = {}): LiveChart {
  return new LiveChart(options);
}
