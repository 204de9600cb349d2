/**
 * Finds out why a cell failed when Deno's kernel only says "Execution failed" (it does so for
 * syntax errors and for npm imports that cannot be resolved): parse the cell with `deno fmt`, then
 * resolve each imported module with `deno info` from the notebook's folder.
 *
 * @module
 */

/** What went wrong with a cell, in the shape of a Jupyter error. */
export interface Diagnosis {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Whether an execute reply is the kernel's bare, detail-free failure. */
export function isBareFailure(
  reply: { ename?: string; evalue?: string; traceback?: string[] },
  sawErrorOutput: boolean,
): boolean {
  return !sawErrorOutput && reply.evalue === "Execution failed" &&
    (reply.traceback ?? []).length === 0;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Removes ANSI colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

async function runDeno(
  deno: string,
  args: string[],
  cwd: string,
  stdin?: string,
  timeoutMs = 60_000,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(deno, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  return { code: out.code, output: stripAnsi(text) };
}

function cleanDenoError(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^(Download|Stack backtrace:|\s+\d+: <unknown>)/.test(l.trim()))
    .join("\n")
    .replace(/^error:\s*/m, "")
    .trim();
}

/** Module specifiers imported by a cell (static, re-exports and literal dynamic imports). */
export function importSpecifiers(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /(?:^|[\s;])import\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?["']([^"']+)["']/g,
    /(?:^|[\s;])export\s+(?:type\s+)?[\w$*{}\s,]+?\s+from\s+["']([^"']+)["']/g,
    /import\(\s*["']([^"']+)["']\s*[,)]/g,
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) found.add(m[1]);
  }
  return [...found];
}

/**
 * Explains a bare "Execution failed": a syntax error (with line, column and the offending line) or
 * the imports that do not resolve, else says that neither was found.
 */
export async function diagnoseBareFailure(
  source: string,
  options: { cwd: string; denoPath?: string },
): Promise<Diagnosis> {
  const deno = options.denoPath ?? Deno.execPath();
  const parsed = await runDeno(deno, ["fmt", "--ext=ts", "-"], options.cwd, source);
  if (parsed.code !== 0) {
    const text = cleanDenoError(parsed.output).replace(/^Error formatting: [^\n]*\n?/m, "");
    const at = text.match(/_stdin\.ts:(\d+):(\d+)/);
    const firstLine = text.split("\n")[0].replace(/^SyntaxError:\s*/, "");
    const where = at ? ` at line ${at[1]}, column ${at[2]} of the cell` : "";
    const snippet = text.split("\n").slice(1).filter((l) => !/^\s+at /.test(l)).join("\n");
    return {
      ename: "SyntaxError",
      evalue: `${firstLine}${where}`,
      traceback: [`SyntaxError: ${firstLine}${where}`, ...snippet.split("\n").filter(Boolean)],
    };
  }
  const problems: string[] = [];
  for (const spec of importSpecifiers(source)) {
    if (spec.startsWith("node:") || spec.startsWith("ext:")) continue;
    const info = await runDeno(deno, ["info", spec], options.cwd);
    if (info.code !== 0) problems.push(`'${spec}': ${cleanDenoError(info.output)}`);
  }
  if (problems.length > 0) {
    return {
      ename: "ImportError",
      evalue: `cannot import ${problems.join("; ")}`,
      traceback: [
        "ImportError: the kernel could not load this cell's imports",
        ...problems.map((p) => `  ${p}`),
        "Check the specifier and version, the import map in deno.json, and `deno install`.",
      ],
    };
  }
  return {
    ename: "ExecutionFailed",
    evalue: "the kernel reported a bare 'Execution failed' with no detail; the cell parses " +
      "and its imports resolve",
    traceback: [
      "ExecutionFailed: no detail from the kernel (the cell parses and its imports resolve).",
      "Run the cell's code with `deno run -A` from the notebook's folder to see the error.",
    ],
  };
}
