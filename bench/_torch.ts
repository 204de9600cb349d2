/**
 * The PyTorch side of the benches: finding the reference (`../shared/reference/torch_minigpt.py`),
 * the OpenBLAS kernels it should run with, and its timing settings. Shared by
 * `bench/train_ort.ts`, `bench/train.ts` and `bench/torch_crosscheck.ts` so that every bench
 * compares against the same PyTorch.
 *
 * @module
 */

/** Where the reference and its Python are, as the benches' flags give them. */
export interface TorchPaths {
  /** The Python that imports torch (Debian's `/usr/bin/python3` with `python3-torch`). */
  readonly python: string;
  /** `torch_minigpt.py`. */
  readonly reference: string;
}

/** The benches' default paths, relative to this folder. *
 * @example
 * ```ts ignore
 * const { python, reference } = defaultTorchPaths();
 * ```
 */
export function defaultTorchPaths(): TorchPaths {
  const here = new URL(".", import.meta.url).pathname;
  return {
    python: "/usr/bin/python3",
    reference: `${here}../../shared/reference/torch_minigpt.py`,
  };
}

/**
 * Why PyTorch cannot run here (the reference is missing, or Python cannot import torch, with
 * the packages that fix it), or undefined when it can.
 *
 * @example
 * ```ts ignore
 * const why = await torchMissing(defaultTorchPaths());
 * if (why) console.log(`PyTorch not timed: ${why}`);
 * ```
 */
export async function torchMissing(paths: TorchPaths): Promise<string | undefined> {
  try {
    await Deno.stat(paths.reference);
  } catch {
    return `the reference script ${paths.reference} is not there`;
  }
  try {
    const r = await new Deno.Command(paths.python, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      return `${paths.python} cannot import torch (apt-get install python3-torch ` +
        `libopenblas0-pthread)`;
    }
  } catch (e) {
    return `${paths.python} does not run (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

/** The environment PyTorch should run with, and a line saying why. */
export interface BlasChoice {
  readonly env: Record<string, string>;
  readonly note: string;
}

/**
 * The OpenBLAS core type PyTorch should run with. Debian's OpenBLAS 0.3.21 does not know recent
 * CPUs (Sapphire Rapids here) and falls back to its generic "Prescott" kernels, 3× slower; PyTorch
 * at its best then needs `OPENBLAS_CORETYPE` set to the newest kernel family the CPU supports.
 * A core type already set in the environment is kept.
 *
 * @example
 * ```ts ignore
 * const blas = await blasCoreType("/usr/bin/python3");
 * console.log(blas.note); // e.g. "... PyTorch runs with OPENBLAS_CORETYPE=SkylakeX ..."
 * ```
 */
export async function blasCoreType(python: string): Promise<BlasChoice> {
  const preset = Deno.env.get("OPENBLAS_CORETYPE");
  if (preset) return { env: {}, note: `OPENBLAS_CORETYPE=${preset} (from the environment)` };
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch; a = torch.ones(64, 64); a @ a"],
      env: { OPENBLAS_VERBOSE: "2", OPENBLAS_NUM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const detected = /Core:\s*(\S+)/.exec(text)?.[1];
    const flags = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
    const best = /\bavx512f\b/.test(flags) ? "SkylakeX" : /\bavx2\b/.test(flags) ? "Haswell" : "";
    if (detected === "Prescott" && best) {
      return {
        env: { OPENBLAS_CORETYPE: best },
        note: `OpenBLAS detects its generic "Prescott" core on this CPU; PyTorch runs with ` +
          `OPENBLAS_CORETYPE=${best} (the CPU's own kernels)`,
      };
    }
    return { env: {}, note: `OpenBLAS core: ${detected ?? "unknown"}` };
  } catch (e) {
    return { env: {}, note: `OpenBLAS core not checked (${e instanceof Error ? e.message : e})` };
  }
}

/** One way of running the reference for timing. */
export interface TorchSetting {
  readonly label: string;
  /** True when PyTorch truly uses one thread (OpenBLAS and OpenMP pinned to 1). */
  readonly oneThread: boolean;
  readonly threads: number;
  readonly env: Record<string, string>;
}

/** The keys of {@link torchSettings}: `1` (one thread), `ref` (as the reference runs), `all`. */
export const TORCH_SETTING_KEYS = ["1", "ref", "all"] as const;

/**
 * The settings PyTorch is timed at, whose fastest is "PyTorch at its best": truly one thread
 * (key `1`); the reference as it runs (`ref`: `--threads 1`, while Debian's OpenBLAS still spins
 * every core); and `--threads <cores>` (`all`). `keys` picks some (on a loaded machine the
 * spinning settings take seconds per step and cannot win).
 *
 * @example
 * ```ts ignore
 * torchSettings(2).map((s) => s.label); // 1 thread, as the reference runs, --threads 2
 * torchSettings(2, ["1"]).length; // 1
 * ```
 */
export function torchSettings(
  cores = navigator.hardwareConcurrency,
  keys: readonly string[] = TORCH_SETTING_KEYS,
): TorchSetting[] {
  const unknown = keys.filter((k) => !(TORCH_SETTING_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new Error(`unknown PyTorch setting ${unknown.join(", ")}: choose from 1, ref, all`);
  }
  const one = { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
  const all: Record<string, TorchSetting> = {
    "1": {
      label: "PyTorch, 1 thread (OPENBLAS_NUM_THREADS=1)",
      oneThread: true,
      threads: 1,
      env: one,
    },
    ref: {
      label: "PyTorch as the reference runs (--threads 1)",
      oneThread: false,
      threads: 1,
      env: {},
    },
    all: { label: `PyTorch, --threads ${cores}`, oneThread: false, threads: cores, env: {} },
  };
  return TORCH_SETTING_KEYS.filter((k) => keys.includes(k)).map((k) => all[k]);
}

/**
 * The reference's median ms per training step (`--time-only steps`: 5 warm-ups, then the median
 * of `steps`), or why there is none.
 *
 * @example
 * ```ts ignore
 * const paths = defaultTorchPaths();
 * const blas = await blasCoreType(paths.python);
 * const setting = torchSettings()[0];
 * const ms = await torchStepMs(paths, { data: "input.txt", activation: "gelu", steps: 30, setting, blas });
 * ```
 */
export async function torchStepMs(
  paths: TorchPaths,
  opts: {
    readonly data: string;
    readonly activation: string;
    readonly steps: number;
    readonly setting: TorchSetting;
    readonly blas: BlasChoice;
    /** The model's size (the reference's --layers, --heads, --embd). Default: its nano. */
    readonly model?: { readonly layers: number; readonly heads: number; readonly embd: number };
  },
): Promise<number | string> {
  const size = opts.model
    ? ["--layers", opts.model.layers, "--heads", opts.model.heads, "--embd", opts.model.embd]
    : [];
  try {
    const out = await new Deno.Command(paths.python, {
      args: [
        paths.reference,
        "--data",
        opts.data,
        "--time-only",
        String(opts.steps),
        "--act",
        opts.activation,
        "--threads",
        String(opts.setting.threads),
        ...size.map(String),
      ],
      env: { ...opts.blas.env, ...opts.setting.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").find((l) => l.includes("median_ms_per_step"));
    if (!out.success || !line) {
      return `failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`;
    }
    return JSON.parse(line).median_ms_per_step as number;
  } catch (e) {
    return `unavailable (${e instanceof Error ? e.message : e})`;
  }
}
