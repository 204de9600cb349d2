/**
 * interruptible(): the SIGINT listener's scope (installed for the operation, shared by nested
 * ones, removed after), the caller's signal, and the error. Each SIGINT goes to a child process
 * (tests/core/_interrupt_child.ts, `listen: "always"` standing in for the kernel): `deno test`
 * handles SIGINT to itself. The kernel itself is tested in tests/notebook/interrupt_test.ts.
 */
import { assert, assertEquals } from "@std/assert";
import {
  INTERRUPTED_MESSAGE,
  interruptible,
  interruptListenerInstalled,
  type InterruptScope,
} from "../../lib/core/interrupt.ts";

const CHILD = new URL("./_interrupt_child.ts", import.meta.url).pathname;

/** Runs a scenario of the child, sends it SIGINT once it is ready; its report and exit status. */
async function interrupt(scenario: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, scenario],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  let buffer = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let eol: number;
    while ((eol = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 1);
      if (line === "ready") child.kill("SIGINT");
      else out.push(line);
    }
  }
  const status = await child.status;
  await child.stderr.cancel();
  return { report: out.length ? JSON.parse(out.at(-1)!) : undefined, status };
}

/** Steps until the scope's signal aborts; returns how many. */
async function loop(scope: InterruptScope): Promise<number> {
  let n = 0;
  while (!scope.signal.aborted) {
    await scope.checkpoint();
    await new Promise((r) => setTimeout(r, 2));
    n++;
  }
  return n;
}

Deno.test("outside a kernel interruptible() installs no listener and returns the work's value", async () => {
  const value = await interruptible((scope) => {
    assert(!interruptListenerInstalled());
    assert(!scope.interrupted && !scope.signal.aborted);
    return Promise.resolve(7);
  });
  assertEquals(value, 7);
  assert(!interruptListenerInstalled());
});

Deno.test("SIGINT aborts the scope; the operation cleans up and throws the one-line error", async () => {
  const { report, status } = await interrupt("single");
  assertEquals(status.code, 0, "the process survived SIGINT");
  assertEquals(report.error, "InterruptedError");
  assertEquals(report.message, INTERRUPTED_MESSAGE);
  assertEquals(report.stack, `InterruptedError: ${INTERRUPTED_MESSAGE}`);
  assert(report.released, "the work's finally ran");
  assertEquals(report.listenerAfter, false, "the listener is removed when the operation ends");
});

Deno.test("checkpoint() notices Stop in work whose awaits never reach the event loop", async () => {
  const { report, status } = await interrupt("busy");
  assertEquals(status.code, 0);
  assertEquals(report.error, "InterruptedError");
});

Deno.test("nested operations share one listener, and Stop interrupts both", async () => {
  const { report } = await interrupt("nested");
  assertEquals(report.error, "InterruptedError");
  assertEquals(report.seen, [true, true], "listening inside; the outer scope was interrupted");
  assertEquals(report.listenerAfter, false);
});

Deno.test("an error the work throws after Stop becomes the InterruptedError's cause", async () => {
  const { report } = await interrupt("cause");
  assertEquals(report.error, "InterruptedError");
  assertEquals(report.cause, "half-written step");
});

Deno.test("after an operation ends, SIGINT does what Deno does: the process exits", async () => {
  const { report, status } = await interrupt("after");
  assertEquals(report, undefined);
  assert(!status.success);
  assertEquals(status.signal, "SIGINT");
});

Deno.test("the caller's signal stops the work quietly; it is not an interruption", async () => {
  const controller = new AbortController();
  const run = interruptible((scope) => loop(scope), { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  assert(await run > 0);
});

Deno.test("an error without Stop passes through unchanged", async () => {
  const boom = new RangeError("bad config");
  let caught: unknown;
  try {
    await interruptible(() => Promise.reject(boom));
  } catch (e) {
    caught = e;
  }
  assertEquals(caught, boom);
});
