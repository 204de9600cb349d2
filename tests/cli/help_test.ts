/**
 * Every program of cli/ in a subprocess: `--help` lists each flag with its default in one format,
 * a bad flag prints the message and the usage line with exit code 2, and flags are checked before
 * any data is read.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { gptConfigFields, trainConfigFields } from "../../lib/gpt/config.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const MISSING_DATA = "/nonexistent/actlab-data";

async function cli(name: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/cli/${name}.ts`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ACTLAB_DATA_DIR: MISSING_DATA },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The help's flag lines, by flag name. */
function flagLines(help: string): Map<string, string> {
  const lines = new Map<string, string>();
  const text = help.slice(help.indexOf("\nflags:\n"));
  // A flag line with its wrapped continuation lines (indented past the flag column).
  for (const m of text.matchAll(/^ {2}(?:-\w, )?--([\w-]+)[^\n]*(?:\n {30}[^\n]*)*/gm)) {
    lines.set(m[1], m[0].replace(/\n {30}/g, " "));
  }
  return lines;
}

Deno.test("every CLI answers --help on stdout in one format, ending with -h, --help", async () => {
  for (const name of ["demo", "train", "sweep", "notebooks"]) {
    const { code, stdout, stderr } = await cli(name, "--help");
    assertEquals(code, 0, stderr);
    assertMatch(stdout, new RegExp(`\\n\\nusage: deno task ${name} `));
    assertMatch(stdout, /\n\nflags:\n {2}--/);
    assertMatch(stdout, /\n {2}-h, --help +show this help\n/);
    for (const line of stdout.trimEnd().split("\n")) assert(line.length <= 100, line);
  }
});

Deno.test("deno task train --help lists every config flag with each preset's value", async () => {
  const { stdout } = await cli("train", "--help");
  const lines = flagLines(stdout);
  const fields = [...Object.values(gptConfigFields), ...Object.values(trainConfigFields)];
  const withFlag = fields.filter((f) => f.flag !== undefined);
  assertEquals(withFlag.length, 21);
  for (const f of withFlag) {
    const line = lines.get(f.flag!);
    assert(line, `--${f.flag} missing from\n${stdout}`);
    assertStringIncludes(line, f.help);
  }
  assertMatch(
    lines.get("iters")!,
    /--iters N +optimizer steps \(default: nano 2000, tiny 200, shakespeare_char 5000\)/,
  );
  assertMatch(
    lines.get("lr")!,
    /--lr X +peak learning rate \(default: nano 0\.001, tiny 0\.003, shakespeare_char 0\.001\)/,
  );
  assertStringIncludes(lines.get("weight-decay")!, "(default: 0.1)");
  assertStringIncludes(lines.get("mlp-hidden")!, "(default: derived: 4·d");
  assertMatch(
    lines.get("preset")!,
    /--preset NAME +model \+ training preset \(nano, tiny or shakespeare_char\) \(default: nano\)/,
  );
  assertStringIncludes(lines.get("engine")!, "(default: tfjs)");
  assertStringIncludes(lines.get("dataset")!, "(default: tinyshakespeare)");
});

Deno.test("deno task demo, sweep and notebooks --help show each flag's default", async () => {
  const demo = flagLines((await cli("demo", "--help")).stdout);
  assertStringIncludes(demo.get("size")!, "(default: 262144)");
  assertStringIncludes(demo.get("backend")!, "(default: auto)");
  const sweepHelp = (await cli("sweep", "--help")).stdout;
  assertStringIncludes(sweepHelp, "       deno task sweep merge DIR… [flags]");
  const sweep = flagLines(sweepHelp);
  assertStringIncludes(sweep.get("activations")!, "(default: relu,gelu,swiglu,relu2)");
  assertStringIncludes(sweep.get("iters")!, "(default: 800)");
  assertStringIncludes(sweep.get("engine")!, "(default: ort)");
  assertStringIncludes(sweep.get("shard")!, "counted from 0");
  const merge = flagLines((await cli("sweep", "merge", "--help")).stdout);
  assertStringIncludes(merge.get("out")!, "(default: <first DIR>-merged)");
  const notebooks = flagLines((await cli("notebooks", "--help")).stdout);
  assertStringIncludes(notebooks.get("timeout")!, "(default: 600)");
  assertStringIncludes(notebooks.get("out")!, "(default: .out/notebooks)");
  assertStringIncludes(notebooks.get("images")!, "(default: auto)");
});

Deno.test("an unknown flag exits 2 with the suggestion and the usage line, not the help", async () => {
  const cases: [string, string, string][] = [
    ["demo", "--sise", "unknown flag --sise (did you mean --size?)"],
    ["train", "--evalevery", "unknown flag --evalevery (did you mean --eval-every?)"],
    ["sweep", "--activation", "unknown flag --activation (did you mean --activations?)"],
    ["notebooks", "--in_place", "unknown flag --in_place (did you mean --in-place?)"],
  ];
  for (const [name, flag, message] of cases) {
    const { code, stdout, stderr } = await cli(name, flag, "x");
    assertEquals(code, 2, stderr);
    assertEquals(stdout, "");
    assert(stderr.startsWith(`${name}: ${message}\n\n`), stderr);
    assertStringIncludes(stderr, `usage: deno task ${name} `);
    assert(stderr.trimEnd().endsWith(`Run 'deno task ${name} --help' for every flag.`), stderr);
    assert(!stderr.includes("flags:\n"), "the flag list is left to --help");
    // The message, a usage line per (sub)command (sweep has seven), the pointer.
    assert(stderr.split("\n").length <= 11, stderr);
  }
});

Deno.test("flags are checked before any data is read (the data folder here is empty)", async () => {
  const empty = await Deno.makeTempDir({ prefix: "actlab-empty-data-" });
  const cases: [string, string[], string][] = [
    ["train", ["--iters", "many"], "train: --iters takes an integer ≥ 0, got 'many'"],
    ["train", ["--n-head", "3"], "train: GptConfig: nHead (3) must divide nEmbd (128)"],
    [
      "train",
      ["--preset", "tiny", "--min-lr", "0.1"],
      "minLearningRate must be a number in [0, 0.003]",
    ],
    ["train", ["--activation", "gleu"], "Did you mean 'gelu'?"],
    ["train", ["--engine", "torch"], "train: --engine takes tfjs or ort, got 'torch'"],
    ["sweep", ["--iters", "many"], "sweep: --iters takes an integer ≥ 0, got 'many'"],
    ["sweep", ["--activations", "relu,gleu"], "Did you mean 'gelu'?"],
    ["sweep", ["--preset", "huge"], "sweep: --preset takes nano, tiny or shakespeare_char, got"],
  ];
  for (const [name, args, message] of cases) {
    const { code, stderr } = await cli(name, "--data", empty, ...args);
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    assertStringIncludes(stderr, message);
    assert(!stderr.includes(empty), "no attempt to read the data");
  }
  await Deno.remove(empty);
  const merge = await cli("sweep", "merge");
  assertEquals(merge.code, 2);
  assertStringIncludes(merge.stderr, "sweep merge: needs at least one DIR… (the --out folders");
});

Deno.test("--shard is 0-based: n/n (the 1-based form) is refused with the rule", async () => {
  const last = await cli("sweep", "--shard", "4/4");
  assertEquals(last.code, 2);
  assertStringIncludes(last.stderr, "shards are numbered from 0");
  assertStringIncludes(last.stderr, "the last of 4 shards is --shard 3/4");
  const past = await cli("sweep", "--shard", "5/4");
  assertEquals(past.code, 2);
  assertStringIncludes(past.stderr, "outside the 4 shards (0 … 3)");
  const slurm = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/cli/sweep.ts`],
    env: { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4", ACTLAB_DATA_DIR: MISSING_DATA },
    stderr: "piped",
  }).output();
  assertEquals(slurm.code, 2);
  assertStringIncludes(new TextDecoder().decode(slurm.stderr), "from SLURM_ARRAY_TASK_*");
});

Deno.test("--data naming a missing folder is refused, not replaced by the cache", async () => {
  for (const name of ["train", "sweep"]) {
    const { code, stderr } = await cli(name, "--data", MISSING_DATA);
    assertEquals(code, 2, stderr);
    assertStringIncludes(
      stderr,
      `${name}: --data ${MISSING_DATA} does not exist: give a folder that holds ` +
        "tinyshakespeare/input.txt",
    );
  }
});
