import { assertEquals } from "@std/assert";
import { walk } from "../tools/_walk.ts";
import {
  COMPUTING_LAYERS,
  findCycles,
  folderGraph,
  importEdges,
  layeringViolations,
  PRESENTATION_LAYERS,
} from "../tools/import_graph.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("the folders of lib/ and datasets/ import each other without a cycle", async () => {
  const graph = folderGraph(await importEdges(ROOT));
  assertEquals(findCycles(graph), []);
});

Deno.test("every folder imports only the layers below it; computing never imports display", async () => {
  const graph = folderGraph(await importEdges(ROOT));
  assertEquals(layeringViolations(graph), []);
  const folders = [...COMPUTING_LAYERS, ...PRESENTATION_LAYERS] as string[];
  const onDisk = [
    "datasets",
    ...[...Deno.readDirSync(`${ROOT}/lib`)].filter((e) => e.isDirectory)
      .map((e) => `lib/${e.name}`),
  ];
  assertEquals(onDisk.sort(), [...folders].sort(), "every folder of lib/ has its place in a layer");
});

Deno.test("no command-line program lives under lib/ or datasets/", async () => {
  const found: string[] = [];
  for (const top of ["lib", "datasets"]) {
    for await (const path of walk(`${ROOT}/${top}`, ".ts")) {
      const src = await Deno.readTextFile(path);
      if (/import\.meta\.main|Deno\.args|Deno\.exit\(/.test(src)) {
        found.push(path.slice(ROOT.length));
      }
    }
  }
  assertEquals(found, []);
});
