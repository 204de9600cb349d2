/** The sweep's HTML report, opened in a real headless Chromium (skipped without one). */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { summarizeTrials } from "../../lib/experiments/sweep.ts";
import type { SweepSettings, TrialResult } from "../../lib/experiments/_trial.ts";
import { writeSweepReport } from "../../lib/report/sweep_report.ts";
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
    assertStringIncludes(html, "val loss, nats/char (95% CI)");
    assertStringIncludes(html, "Δ vs gelu, nats/char (95% CI)");
    assertStringIncludes(html, "p (paired / Holm)");
    assertStringIncludes(html, "loss (nats/char)");
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
      assertEquals(m.tables.length, 2, "the convergence table and the summary");
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

if (!chromium) console.warn("sweep_report_test: skipped, no Chromium (apt-get install chromium)");
