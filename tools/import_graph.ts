/**
 * The folder-level import graph of the library: which folder of `lib/` (and `datasets/`) imports
 * which, counted over every static and dynamic import in the TypeScript sources (JSDoc examples
 * and comments excluded). `tests/architecture_test.ts` asserts the layering on it; run this file
 * to print the graph:
 *
 * ```sh
 * deno run -R tools/import_graph.ts          # edges as "from -> to (count)"
 * ```
 *
 * @module
 */
import { dirname, join, normalize, relative } from "node:path";
import { walk } from "./_walk.ts";

/** The layers of the library, bottom first: a folder may import only folders listed before it. */
export const COMPUTING_LAYERS = [
  "lib/core",
  "datasets",
  "lib/activations",
  "lib/engine",
  "lib/gpt",
  "lib/onnx",
  "lib/train",
  "lib/sweep",
  "lib/experiments",
] as const;

/**
 * Presentation folders, bottom first: each may import any computing layer and the presentation
 * folders before it; no computing layer imports them.
 */
export const PRESENTATION_LAYERS = [
  "lib/display",
  "lib/notebook",
  "lib/report",
  "lib/cells",
] as const;

/** One import between two files. */
export interface ImportEdge {
  /** Importing file, relative to the root. */
  readonly from: string;
  /** Imported file, relative to the root. */
  readonly to: string;
}

/** Removes comments (so JSDoc examples do not count as imports) and keeps the code. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\b[^;"']*?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Every relative import in the `.ts` files under `root/lib` and `root/datasets`. */
export async function importEdges(root: string): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for (const top of ["lib", "datasets"]) {
    for await (const file of walk(join(root, top), ".ts")) {
      const src = stripComments(await Deno.readTextFile(file));
      for (const m of src.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2];
        const to = normalize(join(dirname(file), spec));
        edges.push({ from: relative(root, file), to: relative(root, to) });
      }
    }
  }
  return edges;
}

/** The folder a file belongs to: `lib/<name>`, `datasets`, or the file itself when at `lib/`. */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "datasets") return "datasets";
  if (parts[0] === "lib" && parts.length > 2) return `lib/${parts[1]}`;
  return path;
}

/** Folder-level edges with their import counts (imports within a folder are left out). */
export function folderGraph(edges: readonly ImportEdge[]): Map<string, Map<string, number>> {
  const graph = new Map<string, Map<string, number>>();
  for (const e of edges) {
    const a = folderOf(e.from), b = folderOf(e.to);
    if (a === b) continue;
    const row = graph.get(a) ?? new Map<string, number>();
    row.set(b, (row.get(b) ?? 0) + 1);
    graph.set(a, row);
  }
  return graph;
}

/** The cycles of a folder graph, each as a path that returns to its start (empty: none). */
export function findCycles(graph: ReadonlyMap<string, ReadonlyMap<string, number>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n)?.keys() ?? []) {
      if (state.get(m) === "open") cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

/** Edges that break the layering: an import of a higher layer, or of presentation by computing. */
export function layeringViolations(
  graph: ReadonlyMap<string, ReadonlyMap<string, number>>,
): string[] {
  const order: readonly string[] = [...COMPUTING_LAYERS, ...PRESENTATION_LAYERS];
  const out: string[] = [];
  for (const [from, row] of graph) {
    for (const to of row.keys()) {
      const a = order.indexOf(from), b = order.indexOf(to);
      if (a < 0) out.push(`${from} is not a known layer (imports ${to})`);
      else if (b < 0) out.push(`${from} imports ${to}, which is not a known layer`);
      else if (b >= a) out.push(`${from} imports ${to}, a layer above it`);
    }
  }
  return out;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const graph = folderGraph(await importEdges(root));
  const order: readonly string[] = [...COMPUTING_LAYERS, ...PRESENTATION_LAYERS];
  const rank = (f: string) => (order.indexOf(f) + 1) || 99;
  for (const from of [...graph.keys()].sort((a, b) => rank(a) - rank(b))) {
    const row = [...graph.get(from)!].sort((a, b) => rank(a[0]) - rank(b[0]));
    console.log(`${from} -> ${row.map(([to, n]) => `${to} (${n})`).join(", ")}`);
  }
  const cycles = findCycles(graph);
  console.log(
    cycles.length ? `cycles:\n${cycles.map((c) => c.join(" -> ")).join("\n")}` : "no cycles",
  );
  const bad = layeringViolations(graph);
  console.log(bad.length ? `layering violations:\n${bad.join("\n")}` : "layering respected");
}
