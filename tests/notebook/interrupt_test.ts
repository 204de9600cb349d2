/**
 * Stop in a notebook, through the real Deno kernel: SIGINT (what VS Code's Stop and Jupyter's
 * interrupt_kernel send) during actlab's training ends the cell with a short error and keeps the
 * kernel and its variables; after the operation no listener is left, so Stop during a user's own
 * loop does what Deno does (the kernel exits).
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { type Kernel, KernelDiedError, startKernel } from "../../lib/notebook/kernel.ts";
import { scratchDir } from "./_util.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Text of the stream outputs that answer `msgId`. */
function streams(kernel: Kernel) {
  const byParent = new Map<string, string>();
  const waiters: { parent: () => string; text: string; resolve: () => void }[] = [];
  kernel.onIopub((m) => {
    if (m.header.msg_type !== "stream") return;
    const parent = m.parent_header.msg_id ?? "";
    byParent.set(parent, (byParent.get(parent) ?? "") + String(m.content.text));
    for (const w of waiters) {
      if ((byParent.get(w.parent()) ?? "").includes(w.text)) w.resolve();
    }
  });
  return {
    of: (id: string) => byParent.get(id) ?? "",
    /** Resolves once the request whose id `parent()` returns has printed `text`. */
    seen: (parent: () => string, text: string) =>
      new Promise<void>((resolve) => waiters.push({ parent, text, resolve })),
  };
}

/** Runs `code` as a cell; interrupts the kernel once the cell has printed `marker`. */
async function interruptAfter(kernel: Kernel, code: string, marker: string) {
  const out = streams(kernel);
  let id = "";
  const seen = out.seen(() => id, marker);
  const reply = kernel.execute(code, { timeoutMs: 120_000, onSent: (m) => (id = m) });
  await Promise.race([seen, reply]);
  kernel.interrupt();
  return { reply: await reply, text: () => out.of(id) };
}

Deno.test({
  name: "Stop during trainGpt and trainedGpt fails the cell with a short message and keeps the " +
    "kernel's variables; afterwards Stop kills a plain loop as Deno does",
  ...opts,
  async fn() {
    const dir = await scratchDir("interrupt-");
    const kernel = await startKernel({ cwd: dir });
    try {
      const setup = await kernel.execute(`
        import * as tf from "@tensorflow/tfjs";
        import { createGpt, gptConfig, initEngine, syntheticDataset, trainGpt } from "@actlab/actlab";
        import { trainedGpt } from "@actlab/actlab/cells";
        import { interruptListenerInstalled } from "@actlab/actlab/core";
        await initEngine({ backend: "cpu" });
        const before = 42;
        const data = syntheticDataset({ length: 3000 });
        const model = createGpt(gptConfig({ preset: "tiny", vocabSize: data.tokenizer.size }));
        const tensorsBefore = tf.memory().numTensors;
        let steps = 0;`);
      assertEquals(setup.status, "ok", JSON.stringify(setup));

      // trainGpt: tiny preset, far more steps than the test waits for.
      const train = await interruptAfter(
        kernel,
        `await trainGpt(model, data, {
          preset: "tiny", iters: 1_000_000, evalEvery: 0,
          onStep: (s) => { steps = s.iter + 1; if (s.iter === 2) console.log("training"); },
        });`,
        "training",
      );
      assertEquals(train.reply.status, "error", JSON.stringify(train.reply));
      assertEquals(train.reply.ename, "InterruptedError");
      assertEquals(train.reply.evalue, "interrupted; re-run the cell to resume");
      assertEquals(train.reply.traceback, [
        "InterruptedError: interrupted; re-run the cell to resume",
      ]);

      // trainedGpt (nested: trainedGpt → trainGpt share one listener).
      const cached = await interruptAfter(
        kernel,
        `await trainedGpt(data, { activation: "relu", preset: "tiny", iters: 1_000_000 }, {
          dir: "${dir}/cache", progress: false, quiet: true,
          onStep: (s) => { if (s.iter === 2) console.log("training"); },
        });`,
        "training",
      );
      assertEquals(cached.reply.evalue, "interrupted; re-run the cell to resume");
      const stored = await Array.fromAsync(Deno.readDir(`${dir}/cache`)).catch(() => []);
      assertEquals(stored.length, 0, "nothing cached for an interrupted training");

      // The kernel lives on with its variables; training's tensors were released.
      const out = streams(kernel);
      const probe = await kernel.execute(
        `console.log(JSON.stringify({ before, steps, leaked: tf.memory().numTensors - ` +
          `tensorsBefore, listener: interruptListenerInstalled() }))`,
      );
      assertEquals(probe.status, "ok");
      await kernel.settle();
      const state = JSON.parse(out.of(probe.msgId).trim());
      assertEquals(state.before, 42);
      assert(state.steps >= 3, `trained ${state.steps} steps before Stop`);
      assertEquals(state.leaked, 0, "the trainer's tensors (AdamW moments) were disposed");
      assertEquals(state.listener, false, "no SIGINT listener is left after the operations");

      // A user's own awaiting loop, no actlab running: Deno's default (the kernel exits).
      const plain = interruptAfter(
        kernel,
        `console.log("looping"); for (let i = 0; i < 10_000; i++) await new Promise((r) => setTimeout(r, 10));`,
        "looping",
      );
      await assertRejects(() => plain, KernelDiedError);
      assert(kernel.exited);
    } finally {
      await kernel.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
