/**
 * A process for tests/core/interrupt_test.ts: runs one scenario of `interruptible()` with
 * `listen: "always"` (standing in for the kernel), prints `ready` once its listener is installed,
 * waits for SIGINT from the test, then prints what happened as one JSON line.
 */
import {
  InterruptedError,
  interruptible,
  interruptListenerInstalled,
  type InterruptScope,
} from "../../lib/core/interrupt.ts";

/** Steps until the scope's signal aborts; returns how many. */
async function loop(scope: InterruptScope): Promise<number> {
  let n = 0;
  while (!scope.signal.aborted) {
    await scope.checkpoint();
    n++;
  }
  return n;
}

/** Awaits only promises that are already resolved: no event-loop turn without checkpoint(). */
async function busy(scope: InterruptScope): Promise<number> {
  let n = 0;
  for (;;) {
    await scope.checkpoint();
    for (let i = 0; i < 1000; i++) await Promise.resolve(i);
    n++;
  }
}

const report = (obj: Record<string, unknown>) => console.log(JSON.stringify(obj));
const ready = () => setTimeout(() => console.log("ready"), 20);
const scenario = Deno.args[0];
let released = false;
const seen: boolean[] = [];
try {
  if (scenario === "single") {
    await interruptible(async (scope) => {
      ready();
      try {
        return await loop(scope);
      } finally {
        released = true;
      }
    }, { listen: "always" });
  } else if (scenario === "busy") {
    await interruptible((scope) => {
      ready();
      return busy(scope);
    }, { listen: "always" });
  } else if (scenario === "nested") {
    await interruptible(async (outer) => {
      try {
        await interruptible((inner) => {
          seen.push(interruptListenerInstalled());
          ready();
          return loop(inner);
        }, { listen: "always" });
      } finally {
        seen.push(outer.interrupted);
      }
    }, { listen: "always" });
  } else if (scenario === "after") {
    // One operation runs and ends; then Stop meets plain code, with no listener left.
    await interruptible((scope) => Promise.resolve(scope.signal.aborted), { listen: "always" });
    ready();
    await new Promise((r) => setTimeout(r, 30_000));
  } else if (scenario === "cause") {
    await interruptible(async (scope) => {
      ready();
      await new Promise<void>((resolve) => scope.signal.addEventListener("abort", () => resolve()));
      throw new Error("half-written step");
    }, { listen: "always" });
  }
  report({ error: null });
} catch (e) {
  report({
    error: (e as Error).name,
    message: (e as Error).message,
    stack: (e as Error).stack,
    cause: ((e as Error).cause as Error | undefined)?.message ?? null,
    interrupted: e instanceof InterruptedError,
    released,
    seen,
    listenerAfter: interruptListenerInstalled(),
  });
}
