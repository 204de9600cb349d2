/**
 * What `deno task train --resume` needs besides training: the check that the command line asks for
 * the run the checkpoint holds, and a graceful stop on Ctrl-C or SIGTERM (a Slurm time limit), so
 * that a stopped run saves its state and `--resume` continues it.
 *
 * @module
 */
import type { GptConfig, PresetName, TrainConfig } from "../lib/gpt/config.ts";
import { gptConfig, trainConfig } from "../lib/gpt/config.ts";
import { UsageError } from "./_args.ts";

/** The configs a checkpoint holds, and those the command line gives. */
export interface ResumeConfigs {
  /** The stored model config. */
  readonly model: GptConfig;
  /** The stored training config. */
  readonly train: TrainConfig;
}

/**
 * Refuses a command line that asks for another run than the checkpoint's: a config flag given
 * with a value other than the stored one, or a `--preset` (when given) whose values, with the
 * flags, differ from the stored configs. Flags left out take the stored values. `flagOf` names a
 * config key's flag.
 *
 * @example
 * ```ts
 * import { checkResumeFlags } from "./_resume.ts";
 * import { gptConfig, trainConfig } from "../lib/gpt/config.ts";
 * const stored = { model: gptConfig({ preset: "tiny", vocabSize: 65 }), train: trainConfig({ preset: "tiny" }) };
 * checkResumeFlags(stored, { model: {}, train: { iters: 200 } }, (k) => k); // same run
 * let message = "";
 * try { checkResumeFlags(stored, { model: {}, train: { iters: 300 } }, (k) => k); }
 * catch (e) { message = (e as Error).message; }
 * console.assert(message.includes("--iters 300, stored 200"));
 * ```
 */
export function checkResumeFlags(
  stored: ResumeConfigs,
  given: {
    readonly preset?: PresetName;
    readonly model: Partial<GptConfig>;
    readonly train: Partial<TrainConfig>;
  },
  flagOf: (key: string) => string,
): void {
  const differences: string[] = [];
  const compare = (want: object, have: object, fromPreset: boolean) => {
    const w = want as Record<string, unknown>, h = have as Record<string, unknown>;
    for (const key of new Set([...Object.keys(w), ...Object.keys(h)])) {
      if (key === "vocabSize" || JSON.stringify(w[key]) === JSON.stringify(h[key])) continue;
      differences.push(
        fromPreset
          ? `${key}: --preset ${given.preset} gives ${JSON.stringify(w[key])}, stored ` +
            JSON.stringify(h[key])
          : `--${flagOf(key)} ${w[key]}, stored ${JSON.stringify(h[key])}`,
      );
    }
  };
  compare(given.model, pick(stored.model, Object.keys(given.model)), false);
  compare(given.train, pick(stored.train, Object.keys(given.train)), false);
  if (given.preset !== undefined && differences.length === 0) {
    const vocabSize = stored.model.vocabSize;
    compare(gptConfig({ preset: given.preset, ...given.model, vocabSize }), stored.model, true);
    compare(trainConfig({ preset: given.preset, ...given.train }), stored.train, true);
  }
  if (differences.length) {
    throw new UsageError(
      `--resume continues the run its checkpoint holds, but the command line asks for another: ` +
        `${differences.join("; ")}. Leave those flags out (the stored values are taken), or ` +
        `start a new run without --resume.`,
    );
  }
}

function pick(config: object, keys: readonly string[]): Record<string, unknown> {
  const c = config as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, c[k]]));
}

/** A stop that SIGINT or SIGTERM requests, for a run that saves its state before it ends. */
export interface GracefulStop {
  /** Aborts when a signal arrives. */
  readonly signal: AbortSignal;
  /** The signal that arrived, if any. */
  readonly received: () => Deno.Signal | undefined;
  /** Removes the listeners. */
  readonly dispose: () => void;
}

/**
 * Listens for SIGINT (Ctrl-C) and SIGTERM (`kill`, a Slurm time limit): the first aborts the
 * returned signal so training stops at the next step and saves its state; a second one of the
 * same kind ends the process at once. Where a signal cannot be listened for (SIGTERM on Windows),
 * it keeps its default.
 *
 * @example
 * ```ts ignore
 * const stop = gracefulStop();
 * try { await trainGpt(model, data, { signal: stop.signal, onState: save }); }
 * finally { stop.dispose(); }
 * ```
 */
export function gracefulStop(): GracefulStop {
  const controller = new AbortController();
  let received: Deno.Signal | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => {
      if (received === sig) Deno.exit(sig === "SIGINT" ? 130 : 143);
      received ??= sig;
      controller.abort();
    };
    try {
      Deno.addSignalListener(sig, listener);
      listeners.push([sig, listener]);
    } catch {
      // not available on this platform: the signal keeps its default
    }
  }
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
    },
  };
}
