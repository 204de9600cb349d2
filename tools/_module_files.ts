/**
 * Which files a set of entry points needs at run time, found from the module graph rather than by
 * hand: `deno info --json` gives the local modules and the npm packages the entries import; inside
 * each npm package the files are followed from the package's entry through every `require`,
 * `import` and `export … from` with a literal specifier (a template literal with
 * `process.platform` and `process.arch` is read as this platform's path, as onnxruntime-node's
 * native binding is loaded). A native addon (`.node`) brings the whole folder it sits in: its
 * shared libraries load from `$ORIGIN`. `tools/bundle_gpu.ts` copies what this finds.
 *
 * @module
 */
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative } from "node:path";

/** One npm package of the graph: its lockfile key, name, folder and dependency keys. */
export interface NpmPackage {
  /** The key in `deno.lock` and `deno info` (`name@version`, with a `_peer@version` suffix). */
  readonly key: string;
  /** The package name (`@scope/name`). */
  readonly name: string;
  /** The folder holding the package (its `package.json`). */
  readonly dir: string;
  /** Keys of the packages it depends on. */
  readonly dependencies: readonly string[];
}

/** What {@link moduleFiles} found. */
export interface ModuleFiles {
  /** Local modules (absolute paths): the entries and everything they import under the root. */
  readonly local: string[];
  /** Every npm package the entries can reach, by key (the lockfile closure of the roots). */
  readonly packages: Map<string, NpmPackage>;
  /** Files inside npm packages that the walk reached (absolute paths). */
  readonly npmFiles: string[];
  /** The npm packages the entries import directly (keys). */
  readonly roots: string[];
  /** Specifiers that resolved to no file (optional dependencies, code paths of other platforms). */
  readonly unresolved: string[];
}

interface DenoInfo {
  modules: Array<{
    kind?: string;
    specifier: string;
    local?: string;
    npmPackage?: string;
    error?: string;
  }>;
  npmPackages: Record<string, { name: string; dependencies: string[]; localPath?: string }>;
}

/** `deno info --json` of one entry point. */
async function denoInfo(entry: string, cwd: string): Promise<DenoInfo> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const BUILTINS = new Set(builtinModules);

/** Whether a specifier names one of Node's built-in modules. */
function isBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || BUILTINS.has(spec) || BUILTINS.has(spec.split("/")[0]);
}

/** `@scope/name/sub` → [`@scope/name`, `sub`]. */
function splitBare(spec: string): [string, string] {
  const parts = spec.split("/");
  const n = spec.startsWith("@") ? 2 : 1;
  return [parts.slice(0, n).join("/"), parts.slice(n).join("/")];
}

const PLATFORM = Deno.build.os === "windows" ? "win32" : Deno.build.os;
const ARCH = Deno.build.arch === "x86_64" ? "x64" : "arm64";

/**
 * The literal specifiers of a JavaScript file: `require("x")`, `import … from "x"`,
 * `export … from "x"`, `import("x")`, `import "x"`, and template literals whose only
 * substitutions are `process.platform` and `process.arch` (read as this platform's).
 *
 * @example
 * ```ts ignore
 * import { specifiersOf } from "./_module_files.ts";
 * specifiersOf("const a = require('./a'); import b from \"b\";"); // ["./a", "b"]
 * ```
 */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const quoted = /\b(?:require|import)\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g;
  const fromClause = /\b(?:import|export)\b[^;"'`()]*?\bfrom\s*(["'])([^"'\n]+)\1/g;
  const bareImport = /(?:^|[;\n])\s*import\s*(["'])([^"'\n]+)\1/g;
  const template = /\b(?:require|import)\s*\(\s*`([^`]+)`\s*\)/g;
  // A match on a comment line (a JSDoc example, `@typedef {import("./types.js")}`) is no import.
  const inComment = (at: number) => {
    const line = source.slice(source.lastIndexOf("\n", at) + 1, at).trimStart();
    return line.startsWith("*") || line.startsWith("//") || line.startsWith("/*");
  };
  for (const re of [quoted, fromClause, bareImport]) {
    for (const m of source.matchAll(re)) if (!inComment(m.index!)) found.push(m[2]);
  }
  for (const m of source.matchAll(template)) {
    if (inComment(m.index!)) continue;
    const s = m[1]
      .replaceAll("${process.platform}", PLATFORM)
      .replaceAll("${process.arch}", ARCH);
    if (!s.includes("${")) found.push(s);
  }
  return found;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

const CONDITIONS = ["deno", "node", "import", "require", "default"];

/** Every target of an `exports` entry under any of Deno's conditions. */
function allConditions(target: unknown): string[] {
  if (typeof target === "string") return [target];
  if (Array.isArray(target)) return target.flatMap(allConditions);
  if (target && typeof target === "object") {
    return CONDITIONS.filter((c) => c in target).flatMap((c) =>
      allConditions((target as Record<string, unknown>)[c])
    );
  }
  return [];
}

/** Files a package subpath (`""` for the package itself) resolves to. */
function packageEntries(dir: string, subpath: string): string[] {
  const pkg = readJson(join(dir, "package.json")) ?? {};
  const exports = pkg.exports as unknown;
  const key = subpath ? `./${subpath}` : ".";
  if (exports !== undefined) {
    const map = typeof exports === "string" || Array.isArray(exports) ||
        !Object.keys(exports as object).some((k) => k.startsWith("."))
      ? { ".": exports }
      : exports as Record<string, unknown>;
    if (key in map) return allConditions(map[key]).map((t) => join(dir, t));
    for (const [pattern, target] of Object.entries(map)) {
      const star = pattern.indexOf("*");
      if (star < 0) continue;
      const [pre, post] = [pattern.slice(0, star), pattern.slice(star + 1)];
      if (key.startsWith(pre) && key.endsWith(post) && key.length >= pre.length + post.length) {
        const middle = key.slice(pre.length, key.length - post.length);
        return allConditions(target).map((t) => join(dir, t.replace("*", middle)));
      }
    }
  }
  if (subpath) return [join(dir, subpath)];
  const main = typeof pkg.main === "string" ? pkg.main : "index.js";
  return [join(dir, main)];
}

/** A file path as Node resolves it: exact, with an extension, or a folder's index / main. */
function resolveFile(path: string): string | undefined {
  for (const ext of ["", ".js", ".cjs", ".mjs", ".json", ".node"]) {
    if (isFile(path + ext)) return path + ext;
  }
  const pkg = readJson(join(path, "package.json"));
  if (pkg && typeof pkg.main === "string") {
    const main = resolveFile(join(path, pkg.main));
    if (main) return main;
  }
  for (const index of ["index.js", "index.cjs", "index.mjs", "index.json", "index.node"]) {
    if (isFile(join(path, index))) return join(path, index);
  }
  return undefined;
}

/**
 * Local modules and npm files that `entries` (paths relative to `root`) need at run time: the
 * module graph from `deno info --json`, then a walk through the npm packages' own imports.
 *
 * @example
 * ```ts ignore
 * import { moduleFiles } from "./_module_files.ts";
 * const found = await moduleFiles(["bench/gpu.ts"], { root: Deno.cwd() });
 * console.log(found.local.length, found.npmFiles.length, found.unresolved);
 * ```
 */
export async function moduleFiles(
  entries: readonly string[],
  options: { readonly root: string },
): Promise<ModuleFiles> {
  const root = normalize(options.root);
  const local = new Set<string>();
  const packages = new Map<string, NpmPackage>();
  const roots = new Set<string>();
  const starts: Array<{ key: string; subpath: string }> = [];
  for (const entry of entries) {
    const info = await denoInfo(entry, root);
    for (const [key, p] of Object.entries(info.npmPackages)) {
      if (!p.localPath) {
        throw new Error(
          `npm package ${key} has no local folder: run \`deno install\` (nodeModulesDir) first`,
        );
      }
      packages.set(key, { key, name: p.name, dir: p.localPath, dependencies: p.dependencies });
    }
    const broken = info.modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
    if (broken.length) {
      throw new Error(`the module graph of ${entry} has errors:\n${broken.join("\n")}`);
    }
    for (const m of info.modules) {
      if (m.local && m.local.startsWith(root + "/")) local.add(m.local);
      if (m.kind === "npm" && m.npmPackage) {
        roots.add(m.npmPackage);
        // "npm:/name@version/sub/path" → sub/path
        const rest = m.specifier.replace(/^npm:\/?/, "");
        const subpath = splitBare(rest)[1];
        starts.push({ key: m.npmPackage, subpath });
      }
    }
  }
  // The lockfile closure of the roots: every package Deno sets up for them.
  const closure = new Map<string, NpmPackage>();
  const todo = [...roots];
  while (todo.length) {
    const key = todo.pop()!;
    if (closure.has(key)) continue;
    const p = packages.get(key);
    if (!p) throw new Error(`npm package ${key} is missing from deno info's package list`);
    closure.set(key, p);
    todo.push(...p.dependencies);
  }
  // Walk the npm files.
  const files = new Set<string>();
  const unresolved = new Set<string>();
  const ownerOf = (file: string): NpmPackage | undefined => {
    let best: NpmPackage | undefined;
    for (const p of closure.values()) {
      if (file.startsWith(p.dir + "/") && (!best || p.dir.length > best.dir.length)) best = p;
    }
    return best;
  };
  const queue: string[] = [];
  const add = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    queue.push(file);
  };
  for (const { key, subpath } of starts) {
    const p = closure.get(key)!;
    for (const candidate of packageEntries(p.dir, subpath)) {
      const f = resolveFile(candidate);
      if (f) add(f);
      else unresolved.add(`${p.name}/${subpath} (${candidate})`);
    }
  }
  while (queue.length) {
    const file = queue.pop()!;
    const owner = ownerOf(file);
    if (owner) {
      // Every package.json between the file and its package root: the nearest one decides
      // whether a .js file is CommonJS (onnxruntime-common's dist/cjs/package.json says so).
      for (let d = dirname(file); d.length >= owner.dir.length; d = dirname(d)) {
        if (isFile(join(d, "package.json"))) files.add(join(d, "package.json"));
      }
    }
    if (file.endsWith(".node")) {
      // A native addon: its folder travels whole (shared libraries beside it load from $ORIGIN).
      for (const e of Deno.readDirSync(dirname(file))) {
        if (e.isFile) files.add(join(dirname(file), e.name));
      }
      continue;
    }
    if (!/\.(c|m)?js$/.test(file)) continue;
    for (const spec of specifiersOf(Deno.readTextFileSync(file))) {
      if (isBuiltin(spec)) continue;
      if (spec.startsWith(".") || spec.startsWith("/")) {
        const f = resolveFile(normalize(join(dirname(file), spec)));
        if (f) add(f);
        else unresolved.add(`${spec} from ${relative(root, file)}`);
        continue;
      }
      const [name, subpath] = splitBare(spec);
      if (owner && owner.name === name) {
        for (const c of packageEntries(owner.dir, subpath)) {
          const f = resolveFile(c);
          if (f) add(f);
        }
        continue;
      }
      // A declared dependency, else the package of that name hoisted into node_modules/.deno/
      // node_modules (peer dependencies: tfjs requires seedrandom without declaring it).
      const depKey = owner?.dependencies.find((k) => closure.get(k)?.name === name) ??
        [...closure.values()].find((p) => p.name === name)?.key;
      if (!depKey) {
        unresolved.add(`${spec} from ${owner?.name ?? relative(root, file)}`);
        continue;
      }
      let any = false;
      for (const c of packageEntries(closure.get(depKey)!.dir, subpath)) {
        const f = resolveFile(c);
        if (f) {
          add(f);
          any = true;
        }
      }
      if (!any) unresolved.add(`${spec} from ${owner?.name}`);
    }
  }
  return {
    local: [...local].sort(),
    packages: closure,
    npmFiles: [...files].sort(),
    roots: [...roots].sort(),
    unresolved: [...unresolved].sort(),
  };
}
