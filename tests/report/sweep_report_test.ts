/** The sweep's HTML report, opened in a real headless Chromium (skipped without one). */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { summarizeTrials } from "../../lib/sweep/summary.ts";
import type { SweepSettings, TrialResult } from "../../lib/sweep/record.ts";
import { writeGridReport, writeSweepReport } from "../../lib/report/sweep_report.ts";
import { findChromium, launchChromium } from "../../lib/display/chromium.ts";

const chromium = findChromium();

const ACTIVATIONS = [
  "relu",
  "gelu",
  "gelu_tanh",
  "silu",
  "mish",
  "elu",
  "relu2",
  "reglu",
  "geglu",
  "swiglu",
  "quick_gelu",
];

/** A finished sweep of 11 activations × 3 seeds, as plain records (no training). */
function tinySweep(): TrialResult[] {
  const trials: TrialResult[] = [];
  for (const [k, activation] of ACTIVATIONS.entries()) {
    for (const seed of [0, 1, 2]) {
      const evals = [0, 100, 200, 300, 400, 500, 600].map((iter) => {
        const valLoss = 1.55 + 0.01 * k * (1 - Math.exp(-iter / 300)) +
          2.6 * Math.exp(-iter / 100) + 0.003 * seed;
        return { iter, trainLoss: valLoss - 0.02, valLoss, elapsedS: iter / 10 };
      });
      const last = evals[evals.length - 1];
      trials.push({
        activation,
        seed,
        status: "completed",
        finalValLoss: last.valLoss,
        finalTrainLoss: last.trainLoss,
        evals,
        msPerStep: 12.5 + k,
        params: 812_345,
        wallS: 60,
        settings: "k3y",
        flopsPerStep: k < 7 ? 3.96e9 : 3.99e9, // gated MLPs: a few more up-projection FLOPs
      });
    }
  }
  return trials;
}

const SETTINGS: SweepSettings = {
  preset: "tiny",
  iters: 600,
  evalEvery: 100,
  evalIters: 10,
  dataset: "tinyshakespeare (1115394 chars)",
  train: {},
  engine: "ort",
  device: "cpu",
  threads: 1,
  finalEval: "split",
  key: "k3y",
};

Deno.test({
  name: "the sweep report's tables fit a 1280 px wide page and its axes carry units",
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "actlab-report-" });
    const trials = tinySweep();
    const page = await writeSweepReport(out, trials, summarizeTrials(trials), SETTINGS);
    const html = await Deno.readTextFile(page);
    assertStringIncludes(html, "val loss, nats/char [95% CI]");
    assertStringIncludes(html, "Δ vs gelu, nats/char [95% CI]");
    assertStringIncludes(html, "p Holm");
    assertStringIncludes(html, "loss (nats/char)");
    // The report's summary is the terminal's table: the same cells.
    assertStringIncludes(html, "(baseline)");
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage({ width: 1280, height: 900 });
      await tab.goto(`file://${page}`);
      await tab.waitFor("document.querySelectorAll('.actlab-figure .main-svg').length >= 2");
      const m = await tab.evaluate<{
        page: number;
        view: number;
        tables: { right: number; scroll: number; box: number }[];
        main: number;
      }>(`({
        page: document.documentElement.scrollWidth,
        view: document.documentElement.clientWidth,
        main: document.querySelector("main").getBoundingClientRect().right,
        tables: [...document.querySelectorAll("table.actlab-table")].map((t) => ({
          right: t.getBoundingClientRect().right,
          scroll: t.parentElement.scrollWidth,
          box: t.parentElement.clientWidth,
        })),
      })`);
      assertEquals(m.tables.length, 2, "the summary and the equal-compute view");
      assertEquals(m.page, m.view, "no sideways scrolling of the page");
      for (const t of m.tables) {
        assert(
          t.right <= m.main + 1,
          `a table ends at ${t.right} px, the page's text at ${m.main}`,
        );
        assertEquals(t.scroll, t.box, "the table needs no scrolling inside its box");
      }
    } finally {
      await browser.close();
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("the sweep report shows loss against FLOPs and wall-clock, and the equal-compute view", async () => {
  const out = await Deno.makeTempDir({ prefix: "actlab-report-" });
  try {
    const trials = tinySweep();
    const html = await Deno.readTextFile(
      await writeSweepReport(out, trials, summarizeTrials(trials), SETTINGS),
    );
    assertEquals((html.match(/Plotly.newPlot/g) ?? []).length, 4);
    assertStringIncludes(html, "training FLOPs (forward + backward matrix products)");
    assertStringIncludes(html, "seconds since training started (s, evaluations included");
    // The budget every trial reaches: 600 steps of the cheaper (unary) MLP, 600 × 3.96e9 FLOPs.
    assertStringIncludes(html, "Equal compute: validation loss of each activation at 2.38 TFLOP");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the grid report names the best rates, their caveat and the cost axes", async () => {
  const out = await Deno.makeTempDir({ prefix: "actlab-grid-" });
  try {
    const base = tinySweep().filter((t) => ["relu", "gelu"].includes(t.activation));
    const shifted = (dl: number, iters: number) =>
      base.map((t) => ({
        ...t,
        finalValLoss: t.finalValLoss + dl,
        evals: t.evals.map((e) => ({ ...e, iter: (e.iter * iters) / 600 })),
        wallS: (60 * iters) / 600,
      }));
    const cell = (lr: number, iters: number, dl: number, folder: string) => ({
      lr,
      iters,
      folder,
      result: { trials: shifted(dl, iters), settings: { ...SETTINGS, iters } },
    });
    const page = await writeGridReport(out, [
      cell(1e-3, 600, 0, ""),
      cell(3e-3, 600, -0.01, "lr=0.003"),
      cell(1e-3, 300, 0.1, "iters=300"),
      cell(3e-3, 300, 0.08, "lr=0.003,iters=300"),
    ], { iters: 600 });
    const html = await Deno.readTextFile(page);
    assertStringIncludes(html, "chosen on the same trials they are reported with");
    assertStringIncludes(html, "0.003 (edge)");
    assertStringIncludes(html, "peak learning rate");
    assert(!html.includes("log₁₀"), "the rate axis is labelled in rates");
    assertStringIncludes(html, "training steps (the budget; cosine decay fitted to it)");
    assertStringIncludes(html, "wall-clock per trial (s, evaluations included; mean over seeds)");
    assertStringIncludes(html, "Equal compute at the best rates (600 steps)");
    assertEquals((html.match(/Plotly.newPlot/g) ?? []).length, 4, "lr, steps, FLOPs, seconds");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

if (!chromium) console.warn("sweep_report_test: skipped, no Chromium (apt-get install chromium)");
