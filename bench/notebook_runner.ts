/**
 * Lost outputs and run time: actlab's runner against stock `jupyter nbconvert --execute` on the
 * same 120-cell notebook (30 each of console.log, display, display update, cell value), through
 * the same Deno kernel. Prints a table; asserts nothing.
 *
 *   deno run -A bench/notebook_runner.ts [runs=5]
 *
 * @module
 */
import { executeNotebook } from "../lib/notebook/runner.ts";
import { type Notebook, readNotebook, writeNotebook } from "../lib/notebook/nbformat.ts";

const RUNS = Number(Deno.args[0] ?? 5);
const CELLS = 120;
const KINDS = ["stream", "display", "update", "value"];
const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

function source(i: number): string {
  return [
    `console.log("m-${i}")`,
    `await Deno.jupyter.display({ "text/plain": "m-${i}" }, { raw: true })`,
    `await Deno.jupyter.display({ "text/plain": "old-${i}" }, { raw: true, display_id: "d${i}" });
await Deno.jupyter.display({ "text/plain": "m-${i}" }, { raw: true, display_id: "d${i}", update: true })`,
    `"m-${i}"`,
  ][i % 4];
}

const nb: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
  cells: Array.from({ length: CELLS }, (_, i) => ({
    cell_type: "code" as const,
    source: source(i),
    metadata: {},
    outputs: [],
    execution_count: null,
  })),
};

function missing(result: Notebook): number[] {
  const perKind = [0, 0, 0, 0];
  result.cells.forEach((c, i) => {
    if (!JSON.stringify(c.outputs ?? []).includes(`m-${i}`)) perKind[i % 4]++;
  });
  return perKind;
}

await Deno.mkdir(`${ROOT}/.out`, { recursive: true });
const dir = await Deno.makeTempDir({ dir: `${ROOT}/.out`, prefix: "bench-nb-" });
const rows: string[] = [];
try {
  const path = `${dir}/lost.ipynb`;
  await writeNotebook(path, nb);
  const ours = [0, 0, 0, 0];
  let oursSeconds = 0;
  for (let r = 0; r < RUNS; r++) {
    const res = await executeNotebook(nb, { cwd: dir });
    oursSeconds += res.seconds;
    missing(res.notebook).forEach((m, k) => (ours[k] += m));
  }
  rows.push(`actlab runner   ${(oursSeconds / RUNS).toFixed(2)} s/run   lost ${fmt(ours)}`);

  const jupyter = await new Deno.Command("jupyter", { args: ["nbconvert", "--version"] })
    .output().then((o) => o.success, () => false);
  if (jupyter) {
    await Deno.mkdir(`${dir}/jp/kernels/deno`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/jp/kernels/deno/kernel.json`,
      JSON.stringify({
        argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
        display_name: "Deno",
        language: "typescript",
      }),
    );
    const theirs = [0, 0, 0, 0];
    let seconds = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const out = await new Deno.Command("jupyter", {
        args: ["nbconvert", "--to", "notebook", "--execute", "--output", `nbc_${r}.ipynb`, path],
        env: { JUPYTER_PATH: `${dir}/jp` },
        stdout: "null",
        stderr: "piped",
      }).output();
      seconds += (performance.now() - t0) / 1000;
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).slice(-2000));
      missing(await readNotebook(`${dir}/nbc_${r}.ipynb`)).forEach((m, k) => (theirs[k] += m));
    }
    rows.push(`nbconvert       ${(seconds / RUNS).toFixed(2)} s/run   lost ${fmt(theirs)}`);
  } else {
    rows.push("nbconvert       not installed (apt-get install jupyter-nbconvert python3-nbclient)");
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

function fmt(perKind: number[]): string {
  const total = perKind.reduce((a, b) => a + b, 0);
  const per = KINDS.map((k, i) => `${k} ${(100 * perKind[i] / (RUNS * CELLS / 4)).toFixed(1)}%`)
    .join(", ");
  return `${total}/${RUNS * CELLS} (${per})`;
}

console.log(`${RUNS} runs of a ${CELLS}-cell notebook through the Deno kernel`);
for (const r of rows) console.log(r);
