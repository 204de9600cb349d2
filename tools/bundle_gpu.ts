/**
 * The offline GPU bundle: one folder that runs actlab's GPU tests and `bench/gpu.ts` on a GPU node
 * with no internet (a cluster compute node, the project's measuring machine), in one command.
 *
 * ```sh
 * deno task bundle:gpu DIR            # writes DIR (≤ 60 MiB); then, on the GPU node:
 * bash DIR/run.sh LOGDIR              # unpack into /tmp, probe, GPU tests, bench; logs in LOGDIR
 * ```
 *
 * DIR holds `deno.xz` (this Deno, xz-compressed), `app.tar.xz` (the local modules and exactly the
 * npm files that the GPU tests, the bench and the probe import, found from the module graph by
 * `_module_files.ts`, with a `deno.json` and `deno.lock` pruned to those packages so that
 * `deno --cached-only` runs with an empty Deno cache; Tiny Shakespeare; the Vulkan loader and
 * libglvnd's dispatcher for nodes without them; SwiftShader), `run.sh` (from
 * `tools/gpu_bundle_run.sh`), `SHA256SUMS`, `MANIFEST.json` and `README.txt`. Compressed parts are
 * cached by content (`ACTLAB_BUNDLE_CACHE`, default `~/.cache/actlab/gpu-bundle`), so a rebuild
 * after a source change recompresses only the sources.
 *
 * Options: `--max-mib 60` (fail above it), `--no-cache`, `--xz-level 6`, `--data DIR` (holding
 * `tinyshakespeare/input.txt`; default `ACTLAB_DATA_DIR`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, relative, resolve } from "node:path";
import { homedir } from "node:os";
import { moduleFiles } from "./_module_files.ts";
import { sha256Hex } from "../lib/core/hash.ts";
import { swiftshaderIcd } from "../lib/engine/vulkan.ts";
import { TINY_SHAKESPEARE } from "../datasets/tinyshakespeare/loader.ts";

/** The programs the bundle runs: the GPU tests (and the worker they spawn), the bench, the probe. */
export const BUNDLE_ENTRIES: readonly string[] = [
  "tests/onnx/webgpu_test.ts",
  "tests/onnx/_webgpu_worker.ts",
  "tests/onnx/cuda_test.ts",
  "bench/gpu.ts",
  "tools/gpu_probe.ts",
];

/** System libraries carried for nodes without them (Vulkan's loader; NVIDIA's ICD needs glvnd). */
const CARRIED_LIBRARIES = ["libvulkan.so.1", "libGLdispatch.so.0"];

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Options of {@link buildGpuBundle}. */
export interface BundleOptions {
  /** Fail when the bundle is larger (MiB). Default 60. */
  readonly maxMib?: number;
  /** Reuse compressed parts by content. Default true. */
  readonly cache?: boolean;
  /** xz preset. Default 6. */
  readonly xzLevel?: number;
  /** A data folder holding `tinyshakespeare/input.txt`. Default `ACTLAB_DATA_DIR`. */
  readonly dataDir?: string;
  /** Progress lines. Default: stderr. */
  readonly log?: (line: string) => void;
}

/** What {@link buildGpuBundle} wrote. */
export interface BundleResult {
  /** The bundle folder. */
  readonly dir: string;
  /** Its size in bytes, every file counted. */
  readonly bytes: number;
  /** Bytes per file. */
  readonly files: Readonly<Record<string, number>>;
  /** npm files and local modules carried. */
  readonly npmFiles: number;
  readonly localFiles: number;
  /** Specifiers in npm code that resolve to nothing here (optional dependencies). */
  readonly unresolved: readonly string[];
}

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { stdout: "piped", stderr: "piped", ...options, args })
    .output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function copyFile(from: string, to: string): Promise<void> {
  await Deno.mkdir(dirname(to), { recursive: true });
  await Deno.copyFile(from, to);
}

async function fileSha256(path: string): Promise<string> {
  return (await run("sha256sum", [path])).split(/\s/)[0];
}

function cacheDir(): string {
  const env = Deno.env.get("ACTLAB_BUNDLE_CACHE");
  if (env) return env;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return join(xdg ?? join(homedir(), ".cache"), "actlab", "gpu-bundle");
}

/** `xz` of `input` into `output`, reusing an earlier result for the same bytes and level. */
async function xzCached(
  input: string,
  output: string,
  options: { cache: boolean; level: number; log: (s: string) => void },
): Promise<void> {
  const key = `${await fileSha256(input)}-${options.level}.xz`;
  const cached = join(cacheDir(), key);
  if (options.cache) {
    try {
      await Deno.copyFile(cached, output);
      options.log(`  ${basename(output)}: from the cache (${key.slice(0, 12)}…)`);
      return;
    } catch {
      // not cached yet
    }
  }
  const threads = Math.max(1, Math.min(4, navigator.hardwareConcurrency));
  const t0 = performance.now();
  const file = await Deno.open(output, { write: true, create: true, truncate: true });
  const out = await new Deno.Command("xz", {
    args: [`-${options.level}`, `-T${threads}`, "-c", input],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await out.stdout.pipeTo(file.writable);
  const status = await out.status;
  if (!status.success) throw new Error(`xz failed on ${input}`);
  options.log(
    `  ${basename(output)}: xz -${options.level} in ${
      ((performance.now() - t0) / 1e3).toFixed(0)
    } s`,
  );
  if (options.cache) {
    await Deno.mkdir(cacheDir(), { recursive: true });
    await Deno.copyFile(output, `${cached}.tmp`);
    await Deno.rename(`${cached}.tmp`, cached);
  }
}

/** The real file of a shared library the dynamic linker knows by `soname`, or undefined. */
async function systemLibrary(soname: string): Promise<string | undefined> {
  let listing = "";
  for (const ldconfig of ["ldconfig", "/sbin/ldconfig"]) {
    try {
      listing = await run(ldconfig, ["-p"]);
      break;
    } catch {
      // try the next
    }
  }
  const line = listing.split("\n").find((l) =>
    l.trim().startsWith(`${soname} `) && l.includes("x86-64")
  );
  const path = line?.split("=>")[1]?.trim();
  return path ? await Deno.realPath(path) : undefined;
}

/** `deno.json` and `deno.lock` of the bundle: only the npm packages the entries reach. */
function prunedConfig(keys: ReadonlySet<string>): { config: string; lock: string } {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock")));
  // Without `bin`: Deno would link the packages' command-line programs, which are not carried.
  lock.npm = Object.fromEntries(
    Object.entries(lock.npm as Record<string, Record<string, unknown>>)
      .filter(([k]) => keys.has(k))
      .map(([k, { bin: _bin, ...entry }]) => [k, entry]),
  );
  const inClosure = (spec: string) => {
    const name = spec.replace(/^npm:/, "");
    const at = name.lastIndexOf("@");
    return keys.has(`${name.slice(0, at)}@${lock.specifiers[spec]}`);
  };
  lock.specifiers = Object.fromEntries(
    Object.entries(lock.specifiers).filter(([spec]) => inClosure(spec)),
  );
  if (lock.workspace?.dependencies) {
    lock.workspace.dependencies = lock.workspace.dependencies.filter((s: string) =>
      s in lock.specifiers
    );
  }
  const kept = Object.keys(lock.specifiers);
  const imports = Object.fromEntries(
    Object.entries(config.imports as Record<string, string>).filter(([, target]) =>
      !target.startsWith("npm:") || kept.some((s) => target === s || target.startsWith(`${s}/`))
    ),
  );
  const bundleConfig = { nodeModulesDir: "auto", imports };
  return {
    config: JSON.stringify(bundleConfig, null, 2) + "\n",
    lock: JSON.stringify(lock, null, 2) + "\n",
  };
}

/**
 * Builds the offline GPU bundle into `dir` (created; an earlier bundle there is replaced) and
 * returns what it wrote. Throws when the bundle would exceed `maxMib`.
 *
 * @example
 * ```ts ignore
 * import { buildGpuBundle } from "./bundle_gpu.ts";
 * const r = await buildGpuBundle("/tmp/actlab-gpu-bundle");
 * console.log((r.bytes / 2 ** 20).toFixed(1), "MiB");
 * ```
 */
export async function buildGpuBundle(
  dir: string,
  options: BundleOptions = {},
): Promise<BundleResult> {
  const log = options.log ?? ((s: string) => console.error(s));
  const maxMib = options.maxMib ?? 60;
  const cache = options.cache ?? true;
  const level = options.xzLevel ?? 6;
  dir = resolve(dir);
  try {
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (entries.length && !entries.includes("MANIFEST.json")) {
      throw new Error(`${dir} exists and is not an earlier bundle: choose an empty folder`);
    }
    await Deno.remove(dir, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dir, { recursive: true });

  log(`module graph of ${BUNDLE_ENTRIES.join(", ")}`);
  const found = await moduleFiles(BUNDLE_ENTRIES, { root: ROOT });
  const stage = await Deno.makeTempDir({ prefix: "actlab-bundle-" });
  try {
    const app = join(stage, "app");
    for (const file of found.local) await copyFile(file, join(app, relative(ROOT, file)));
    const { config, lock } = prunedConfig(new Set(found.packages.keys()));
    await Deno.writeTextFile(join(app, "deno.json"), config);
    await Deno.writeTextFile(join(app, "deno.lock"), lock);
    // Every package of the lockfile closure gets its folder, marker and package.json (Deno sets
    // them all up); the walked files come with them.
    const npmFiles = new Set(found.npmFiles);
    for (const p of found.packages.values()) {
      npmFiles.add(join(p.dir, "package.json"));
      const folder = p.dir.slice(0, p.dir.lastIndexOf("/node_modules/"));
      npmFiles.add(join(folder, ".initialized"));
    }
    for (const file of npmFiles) await copyFile(file, join(app, relative(ROOT, file)));

    const dataDir = options.dataDir ?? Deno.env.get("ACTLAB_DATA_DIR");
    if (!dataDir) throw new Error("no data folder: set ACTLAB_DATA_DIR or pass --data");
    const text = join(dataDir, TINY_SHAKESPEARE.relativePath);
    if (await sha256Hex(await Deno.readFile(text)) !== TINY_SHAKESPEARE.sha256) {
      throw new Error(`${text} is not Tiny Shakespeare (checksum)`);
    }
    await copyFile(text, join(app, "data", TINY_SHAKESPEARE.relativePath));
    const source = join(dirname(text), "SOURCE.md");
    try {
      await copyFile(
        source,
        join(app, "data", dirname(TINY_SHAKESPEARE.relativePath), "SOURCE.md"),
      );
    } catch {
      // optional
    }

    const carried: string[] = [];
    for (const soname of CARRIED_LIBRARIES) {
      const path = await systemLibrary(soname);
      if (path) {
        await copyFile(path, join(app, "vulkan", "lib", soname));
        carried.push(soname);
      } else {log(
          `  warning: ${soname} not installed here, not carried (apt-get install libvulkan1 libglvnd0)`,
        );}
    }
    const icd = swiftshaderIcd();
    if (icd) {
      const manifest = JSON.parse(await Deno.readTextFile(icd));
      const library = resolve(dirname(icd), manifest.ICD.library_path);
      await copyFile(library, join(app, "vulkan", "swiftshader", basename(library)));
      manifest.ICD.library_path = `./${basename(library)}`;
      await Deno.writeTextFile(
        join(app, "vulkan", "swiftshader", "vk_swiftshader_icd.json"),
        JSON.stringify(manifest),
      );
      carried.push("SwiftShader");
    } else log("  warning: no SwiftShader here (Debian's chromium package): not carried");

    log(
      `packing ${found.local.length} local modules, ${npmFiles.size} npm files (${found.packages.size} packages)`,
    );
    const tar = join(stage, "app.tar");
    await run("tar", [
      "-C",
      stage,
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-cf",
      tar,
      "app",
    ]);
    const xzOptions = { cache, level, log };
    await xzCached(tar, join(dir, "app.tar.xz"), xzOptions);
    await xzCached(Deno.execPath(), join(dir, "deno.xz"), xzOptions);

    const runner = join(dir, "run.sh");
    await Deno.copyFile(join(ROOT, "tools", "gpu_bundle_run.sh"), runner);
    await Deno.chmod(runner, 0o755);
    await Deno.writeTextFile(
      join(dir, "SHA256SUMS"),
      `${await fileSha256(Deno.execPath())}  bin/deno\n`,
    );
    let commit = "unknown";
    try {
      commit = (await run("git", ["-C", ROOT, "rev-parse", "HEAD"])).trim();
      const dirty = (await run("git", ["-C", ROOT, "status", "--porcelain"])).trim();
      if (dirty) commit += " (with uncommitted changes)";
    } catch {
      // not a git checkout
    }
    await Deno.writeTextFile(
      join(dir, "README.txt"),
      [
        "actlab offline GPU bundle. On the GPU node, as one command:",
        "",
        "  bash run.sh LOGDIR            # add --quick for a short check",
        "",
        "It unpacks into /tmp, runs offline, probes the GPU (ONNX Runtime's and Deno's WebGPU",
        "adapters, CUDA), runs the GPU tests and bench/gpu.ts, and writes its logs to LOGDIR.",
        "ACTLAB_RUN_CAP (seconds, default 480) bounds the run; see run.sh for the other settings.",
        "In NVIDIA containers WebGPU needs NVIDIA_DRIVER_CAPABILITIES to include graphics.",
        "",
      ].join("\n"),
    );
    const files: Record<string, number> = {};
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile) files[e.name] = Deno.statSync(join(dir, e.name)).size;
    }
    const manifest = {
      built: new Date().toISOString(),
      commit,
      deno: Deno.version.deno,
      entries: BUNDLE_ENTRIES,
      npmPackages: [...found.packages.keys()].sort(),
      npmRoots: found.roots,
      npmFiles: npmFiles.size,
      localFiles: found.local.length,
      carried,
      unresolved: found.unresolved,
      files,
    };
    await Deno.writeTextFile(join(dir, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");
    files["MANIFEST.json"] = Deno.statSync(join(dir, "MANIFEST.json")).size;
    const bytes = Object.values(files).reduce((a, b) => a + b, 0);
    log(`bundle: ${dir}, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    if (bytes > maxMib * 2 ** 20) {
      throw new Error(
        `the bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the ${maxMib} MiB limit`,
      );
    }
    return {
      dir,
      bytes,
      files,
      npmFiles: npmFiles.size,
      localFiles: found.local.length,
      unresolved: found.unresolved,
    };
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      "max-mib": { type: "string", default: "60" },
      "no-cache": { type: "boolean", default: false },
      "xz-level": { type: "string", default: "6" },
      data: { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    console.error(
      "usage: deno task bundle:gpu DIR [--max-mib 60] [--no-cache] [--xz-level 6] [--data DIR]",
    );
    Deno.exit(2);
  }
  try {
    const r = await buildGpuBundle(positionals[0], {
      maxMib: Number(values["max-mib"]),
      cache: !values["no-cache"],
      xzLevel: Number(values["xz-level"]),
      dataDir: values.data,
    });
    for (const [name, size] of Object.entries(r.files)) {
      console.log(`${name.padEnd(14)} ${(size / 2 ** 20).toFixed(2).padStart(8)} MiB`);
    }
    console.log(`${"total".padEnd(14)} ${(r.bytes / 2 ** 20).toFixed(2).padStart(8)} MiB`);
    console.log(`run it: bash ${r.dir}/run.sh LOGDIR`);
  } catch (e) {
    console.error(`bundle:gpu: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
