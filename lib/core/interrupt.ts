/**
 * Long work that Stop can interrupt without killing the notebook.
 *
 * Deno's Jupyter kernel (2.9.6) exits when it receives SIGINT — VS Code's Stop button, Jupyter's
 * "interrupt kernel" — and every variable of the session goes with it, unless a SIGINT listener is
 * installed: then the kernel survives and the listener runs. A long operation of actlab (training,
 * a sweep) wraps itself in {@link interruptible}: while it runs inside the kernel one SIGINT
 * listener is installed (shared by nested operations, removed when the outermost ends), Stop
 * aborts the operation's `AbortSignal`, and the operation ends with an {@link InterruptedError}
 * ("interrupted; re-run the cell to resume") after releasing what it holds. Outside a kernel
 * nothing is installed: command-line programs keep their own Ctrl-C handling. Between actlab
 * operations no listener is left, so Stop does to a user's own code what Deno does.
 *
 * @example Wrapping a loop of trials (what `sweep()` does)
 * ```ts
 * import { interruptible, InterruptedError } from "./interrupt.ts";
 * async function runTrials(n: number, options: { signal?: AbortSignal } = {}) {
 *   return await interruptible(async (scope) => {
 *     const done: number[] = [];
 *     for (let i = 0; i < n; i++) {
 *       await scope.checkpoint(); // Stop between trials: InterruptedError
 *       if (scope.signal.aborted) break; // the caller's own signal: stop quietly
 *       done.push(await Promise.resolve(i)); // a trial; pass scope.signal down
 *     }
 *     return done;
 *   }, { signal: options.signal });
 * }
 * console.assert((await runTrials(3)).length === 3);
 * console.assert(new InterruptedError().message === "interrupted; re-run the cell to resume");
 * ```
 *
 * @module
 */

/** The message of {@link InterruptedError}. */
export const INTERRUPTED_MESSAGE = "interrupted; re-run the cell to resume";

/**
 * Thrown by an operation that Stop (SIGINT in the Jupyter kernel) interrupted. Its stack is the
 * one line of its message, so the notebook shows a short error instead of a trace.
 *
 * @example
 * ```ts
 * import { InterruptedError } from "./interrupt.ts";
 * const e = new InterruptedError();
 * console.assert(e.name === "InterruptedError" && e.stack === `${e.name}: ${e.message}`);
 * ```
 */
export class InterruptedError extends Error {
  /** Always `"InterruptedError"`. */
  override readonly name = "InterruptedError";

  /**
   * Makes the error.
   *
   * @param options `cause`: what the operation was doing when it stopped (kept for debugging)
   */
  constructor(options?: ErrorOptions) {
    super(INTERRUPTED_MESSAGE, options);
    this.stack = `InterruptedError: ${INTERRUPTED_MESSAGE}`;
  }
}

/** What the work inside {@link interruptible} sees. */
export interface InterruptScope {
  /**
   * Aborts when Stop is pressed (in the kernel) or when the caller's signal aborts: pass it to
   * everything the work awaits, and check it between steps.
   */
  readonly signal: AbortSignal;
  /** True once Stop interrupted this operation (the caller's own signal does not set it). */
  readonly interrupted: boolean;
  /** Throws {@link InterruptedError} when Stop interrupted this operation; else does nothing. */
  throwIfInterrupted(): void;
  /**
   * Call between steps: lets the event loop run now and then while listening (at most every
   * {@link CHECKPOINT_MS} ms), so that Stop is noticed even by work whose awaits resolve without
   * it (tfjs on the CPU), then throws {@link InterruptedError} when interrupted.
   */
  checkpoint(): Promise<void>;
}

/**
 * How often, at most, {@link InterruptScope.checkpoint} yields to the event loop (ms). A signal
 * is delivered only when the event loop runs; a yield costs about a millisecond.
 */
export const CHECKPOINT_MS = 50;

/** Options of {@link interruptible}. */
export interface InterruptibleOptions {
  /** The caller's signal: it aborts the scope's signal too, without making an error of it. */
  readonly signal?: AbortSignal;
  /**
   * When to listen for SIGINT: `"kernel"` (default) only inside Deno's Jupyter kernel;
   * `"always"` also elsewhere (tests); `"never"` not at all.
   */
  readonly listen?: "kernel" | "always" | "never";
}

/**
 * Whether this code runs inside Deno's Jupyter kernel (reading `Deno.jupyter` elsewhere throws).
 *
 * @example
 * ```ts
 * import { inJupyterKernel } from "./interrupt.ts";
 * console.assert(!inJupyterKernel()); // a test or a CLI
 * ```
 */
export function inJupyterKernel(): boolean {
  try {
    return (Deno as unknown as { jupyter?: unknown }).jupyter !== undefined;
  } catch {
    return false;
  }
}

/** The operations listening now; Stop interrupts each of them. */
const listening = new Set<(reason: InterruptedError) => void>();
let installed = false;

function onSigint(): void {
  const reason = new InterruptedError();
  for (const interrupt of [...listening]) interrupt(reason);
}

function listen(interrupt: (reason: InterruptedError) => void): () => void {
  listening.add(interrupt);
  if (!installed) {
    Deno.addSignalListener("SIGINT", onSigint);
    installed = true;
  }
  return () => {
    listening.delete(interrupt);
    if (installed && listening.size === 0) {
      Deno.removeSignalListener("SIGINT", onSigint);
      installed = false;
    }
  };
}

/**
 * Whether actlab's SIGINT listener is installed now: true only while an {@link interruptible}
 * operation runs in the kernel.
 *
 * @example
 * ```ts
 * import { interruptListenerInstalled } from "./interrupt.ts";
 * console.assert(!interruptListenerInstalled()); // no operation runs
 * ```
 */
export function interruptListenerInstalled(): boolean {
  return installed;
}

/**
 * Runs `work` so that Stop in a Jupyter kernel interrupts it instead of killing the kernel.
 * Inside the kernel a SIGINT listener is installed for the duration (one for all nested
 * operations); Stop aborts `scope.signal` and marks the scope interrupted, and when `work` ends —
 * returning or throwing — an interrupted operation throws {@link InterruptedError} (the error
 * `work` threw, if any, becomes its `cause`). `work` should release what it holds in `finally`
 * blocks and stop at the next step once `scope.signal` aborts. The caller's own
 * `options.signal` aborts `scope.signal` as well but is not an interruption: `work` decides what
 * that means (a partial result, usually). Outside a kernel no listener is installed.
 *
 * @example
 * ```ts
 * import { interruptible } from "./interrupt.ts";
 * // The caller's own signal ends the loop quietly; in a kernel, Stop would throw instead.
 * const controller = new AbortController();
 * const steps = interruptible(async (scope) => {
 *   let n = 0;
 *   while (!scope.signal.aborted) {
 *     await scope.checkpoint(); // throws InterruptedError after Stop
 *     await new Promise((r) => setTimeout(r, 5));
 *     n++;
 *   }
 *   return n;
 * }, { signal: controller.signal });
 * setTimeout(() => controller.abort(), 30);
 * console.assert((await steps) > 0);
 * ```
 */
export async function interruptible<T>(
  work: (scope: InterruptScope) => Promise<T>,
  options: InterruptibleOptions = {},
): Promise<T> {
  const controller = new AbortController();
  let interrupted = false;
  const mode = options.listen ?? "kernel";
  const stopListening = mode === "always" || (mode === "kernel" && inJupyterKernel())
    ? listen((reason) => {
      interrupted = true;
      controller.abort(reason);
    })
    : undefined;
  const signal = options.signal
    ? AbortSignal.any([controller.signal, options.signal])
    : controller.signal;
  let yielded = performance.now();
  const scope: InterruptScope = {
    signal,
    get interrupted() {
      return interrupted;
    },
    throwIfInterrupted() {
      if (interrupted) throw new InterruptedError();
    },
    async checkpoint() {
      if (stopListening && performance.now() - yielded >= CHECKPOINT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        yielded = performance.now();
      }
      if (interrupted) throw new InterruptedError();
    },
  };
  try {
    const value = await work(scope);
    if (interrupted) throw new InterruptedError();
    return value;
  } catch (e) {
    if (interrupted && !(e instanceof InterruptedError)) throw new InterruptedError({ cause: e });
    throw e;
  } finally {
    stopListening?.();
  }
}
