/**
 * Progress bars and live charts in the real Deno kernel (one output, updated in place, throttled)
 * and in a terminal (one line on stderr).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { type KernelMessage, startKernel } from "../../lib/notebook/mod.ts";
import { progress } from "../../lib/display/progress.ts";
import { liveLossChart } from "../../lib/display/live_chart.ts";
import { DISPLAY_IMPORT, ROOT, scratchDir } from "../notebook/_util.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Runs cells in a fresh kernel and returns every IOPub message of the last cell. */
async function runInKernel(cells: string[]): Promise<KernelMessage[]> {
  const dir = await scratchDir("live-");
  const kernel = await startKernel({ cwd: dir });
  const messages: KernelMessage[] = [];
  kernel.onIopub((m) => messages.push(m));
  try {
    let last = "";
    for (const code of cells) {
      const reply = await kernel.execute(code, { timeoutMs: 120_000 });
      if (reply.status !== "ok") throw new Error(`${reply.ename}: ${reply.evalue}\n${code}`);
      last = reply.msgId;
    }
    await kernel.settle({ quietMs: 300 });
    return messages.filter((m) => m.parent_header.msg_id === last);
  } finally {
    await kernel.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const plain = (m: KernelMessage) =>
  String((m.content as { data?: Record<string, string> }).data?.["text/plain"] ?? "");

Deno.test({
  name: "progress() updates one display in place, throttled, ending at its final state",
  ...opts,
  async fn() {
    const messages = await runInKernel([
      `import { progress } from "${DISPLAY_IMPORT}";`,
      `const bar = progress(200, { label: "train" });
       const t0 = performance.now();
       for (let i = 1; i <= 200; i++) {
         bar.update(i, { loss: 1 / i });
         await new Promise((r) => setTimeout(r, 5));
       }
       await bar.done();`,
    ]);
    const shown = messages.filter((m) => m.header.msg_type === "display_data");
    const updates = messages.filter((m) => m.header.msg_type === "update_display_data");
    assertEquals(shown.length, 1, "exactly one output for the bar");
    const id = (shown[0].content as { transient: { display_id: string } }).transient.display_id;
    assert(updates.every((m) =>
      (m.content as { transient: { display_id: string } }).transient
        .display_id === id
    ));
    // 200 updates over ≥ 1 s at ≤ 5 redraws/s: far fewer messages than updates.
    assert(updates.length >= 2 && updates.length <= 20, `${updates.length} update messages`);
    const final = plain(updates[updates.length - 1]);
    assertStringIncludes(final, "train 100%");
    assertStringIncludes(final, "200/200");
    assertStringIncludes(final, "loss=0.005");
    assertStringIncludes(final, "done");
    assertEquals(
      messages.filter((m) => m.header.msg_type === "stream").length,
      0,
      "nothing printed besides the bar",
    );
  },
});

Deno.test({
  name: "liveLossChart() redraws in place at most twice a second and keeps every series",
  ...opts,
  async fn() {
    const messages = await runInKernel([
      `import { liveLossChart } from "${DISPLAY_IMPORT}";`,
      `const chart = liveLossChart({ title: "loss" });
       const t0 = performance.now();
       for (let step = 0; step < 150; step++) {
         chart.push("relu", step, 3 / (step + 1));
         chart.push("gelu", step, 2 / (step + 1));
         await new Promise((r) => setTimeout(r, 10));
       }
       await chart.done();
       globalThis.seconds = (performance.now() - t0) / 1000;`,
    ]);
    const shown = messages.filter((m) => m.header.msg_type === "display_data");
    const updates = messages.filter((m) => m.header.msg_type === "update_display_data");
    assertEquals(shown.length, 1);
    // ~1.5–2 s of pushes: at most 2 redraws per second plus the final one.
    assert(updates.length >= 2 && updates.length <= 6, `${updates.length} redraws`);
    const fig = (updates[updates.length - 1].content as {
      data: { "application/vnd.plotly.v1+json": { data: { name: string; y: number[] }[] } };
    }).data["application/vnd.plotly.v1+json"];
    assertEquals(fig.data.map((t) => t.name), ["relu", "gelu"]);
    assertEquals(fig.data[0].y.length, 150);
    assertEquals(fig.data[1].y[149], Number((2 / 150).toPrecision(6)));
  },
});

Deno.test("liveLossChart() thins old points beyond maxPoints but keeps the newest", () => {
  const chart = liveLossChart({ maxPoints: 100, show: false });
  for (let i = 0; i < 1000; i++) chart.push("a", i, i);
  const [trace] = chart.figure().toJSON().data as { x: number[] }[];
  assert(trace.x.length <= 101, `${trace.x.length} points kept`);
  assertEquals(trace.x[0], 0);
  assertEquals(trace.x[trace.x.length - 1], 999);
});

Deno.test("progress() outside a kernel is throttled and knows rate and ETA", async () => {
  const bar = progress(1000, { label: "x", show: false, minIntervalMs: 10_000 });
  for (let i = 1; i <= 1000; i++) bar.update(i);
  assert(bar.redraws <= 1, `${bar.redraws} redraws`);
  assertStringIncludes(bar.text(), "1000/1000");
  await bar.done();
  assertStringIncludes(bar.text(), "done");
  assertStringIncludes(bar.html(), '<progress value="1000" max="1000"');
});

Deno.test({
  name: "progress() in a terminal writes to stderr only, not one line per update",
  ...opts,
  async fn() {
    const code = `import { progress } from "${DISPLAY_IMPORT}";
      const bar = progress(500, { label: "job" });
      for (let i = 1; i <= 500; i++) bar.update(i);
      await bar.done();`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stdout), "");
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    // stderr is a pipe here, not a terminal: the first and the final state only.
    assertEquals(lines.length, 2, lines.join("\n"));
    assertStringIncludes(lines[1], "job 100%");
    assertStringIncludes(lines[1], "500/500");
  },
});
