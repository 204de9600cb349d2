/** The one argument parser of cli/: typed values, defaults, errors that name the argument, help. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { command, UsageError } from "../../cli/_args.ts";

const cli = command({
  usage: "deno task example",
  summary: "An example program.",
  flags: {
    iters: { kind: "int", default: 800, min: 0, description: "optimizer steps" },
    lr: { kind: "number", min: 0, max: 10, description: "learning rate" },
    engine: {
      kind: "string",
      default: "ort",
      choices: ["ort", "tfjs"],
      description: "where steps run",
    },
    out: { kind: "string", arg: "DIR", description: "results folder", defaultText: "results/x" },
    activations: { kind: "list", default: ["relu", "gelu"], description: "registry names" },
    env: {
      kind: "list",
      split: false,
      check: (kv) => kv.includes("=") ? undefined : `--env takes KEY=VALUE, got '${kv}'`,
      description: "extra environment (repeatable)",
    },
    "eval-every": { kind: "int", default: 200, description: "evaluate every N steps" },
    json: { kind: "bool", description: "print JSON lines only" },
  },
  positionals: { name: "PATH…", description: "inputs" },
}, ({ values }) => values.iters);

Deno.test("parse() returns typed values with the defaults filled in", () => {
  const { values, positionals, given, help } = cli.parse([]);
  assertEquals(values.iters, 800);
  assertEquals(values.lr, undefined);
  assertEquals(values.engine, "ort");
  assertEquals(values.activations, ["relu", "gelu"]);
  assertEquals(values.env, []);
  assertEquals(values.json, false);
  assertEquals([positionals, given.size, help], [[], 0, false]);
});

Deno.test("parse() reads --flag value, --flag=value, switches, lists and positionals", () => {
  const { values, positionals, given } = cli.parse([
    "a.ipynb",
    "--iters=12",
    "--lr",
    "3e-3",
    "--engine",
    "tfjs",
    "--activations",
    "silu, swiglu,",
    "--env",
    "K=a,b",
    "--env=L=c",
    "--json",
    "b.ipynb",
    "--",
    "--not-a-flag",
  ]);
  assertEquals([values.iters, values.lr, values.engine, values.json], [12, 0.003, "tfjs", true]);
  assertEquals(values.activations, ["silu", "swiglu"]);
  assertEquals(values.env, ["K=a,b", "L=c"], "split: false keeps commas; the flag repeats");
  assertEquals(positionals, ["a.ipynb", "b.ipynb", "--not-a-flag"]);
  assertEquals([...given].sort(), ["activations", "engine", "env", "iters", "json", "lr"]);
  assertEquals(cli.parse(["--json=false"]).values.json, false);
  assertEquals(cli.parse(["--lr", "-0"]).values.lr, -0, "a value may start with one dash");
});

Deno.test("an unknown flag names itself and suggests the closest one", () => {
  const e = assertThrows(() => cli.parse(["--evalevery", "5"]), UsageError);
  assertEquals(e.message, "unknown flag --evalevery (did you mean --eval-every?)");
  assertThrows(() => cli.parse(["--itres"]), UsageError, "(did you mean --iters?)");
  assertThrows(() => cli.parse(["--jsno"]), UsageError, "(did you mean --json?)");
  const far = assertThrows(() => cli.parse(["--frobnicate"]), UsageError);
  assertEquals(far.message, "unknown flag --frobnicate");
  assertThrows(() => cli.parse(["-x"]), UsageError, "unknown flag -x");
});

Deno.test("bad numbers, choices, list items and missing values are refused by name", () => {
  const cases: [string[], string][] = [
    [["--iters", "many"], "--iters takes an integer ≥ 0, got 'many'"],
    [["--iters", "2.5"], "--iters takes an integer ≥ 0, got '2.5'"],
    [["--iters", "-1"], "--iters takes an integer ≥ 0, got '-1'"],
    [["--iters", ""], "--iters takes an integer ≥ 0, got ''"],
    [["--eval-every", "1e400"], "--eval-every takes an integer, got '1e400'"],
    [["--lr", "NaN"], "--lr takes a number in [0, 10], got 'NaN'"],
    [["--lr", "11"], "--lr takes a number in [0, 10], got '11'"],
    [["--engine", "torch"], "--engine takes ort or tfjs, got 'torch'"],
    [["--env", "K"], "--env takes KEY=VALUE, got 'K'"],
    [["--json=yes"], "--json takes true or false, got 'yes'"],
    [["--out"], "--out needs a value"],
    [["--out", "--json"], "--out needs a value"],
  ];
  for (const [argv, message] of cases) {
    const e = assertThrows(() => cli.parse(argv), UsageError, undefined, argv.join(" "));
    assertEquals(e.message, message);
  }
});

Deno.test("--help wins over other arguments and lists every flag with its default", () => {
  assertEquals(cli.parse(["--iters", "many", "-h"]).help, true);
  const help = cli.help();
  assert(help.startsWith("An example program.\n\nusage: deno task example [PATH…] [flags]"), help);
  for (
    const line of [
      /--iters N +optimizer steps \(default: 800\)/,
      /--lr X +learning rate$/m,
      /--engine ort\|tfjs +where steps run \(default: ort\)/,
      /--out DIR +results folder \(default: results\/x\)/,
      /--activations A,B,… +registry names \(default: relu,gelu\)/,
      /--json +print JSON lines only$/m,
      /-h, --help +show this help/,
    ]
  ) assert(line.test(help), `${line} in\n${help}`);
});

Deno.test("run() prints the help for --help, and the message and the usage line for a bad flag", async () => {
  const logged: string[] = [];
  const errors: string[] = [];
  const { log, error } = console;
  console.log = (s: string) => logged.push(s);
  console.error = (s: string) => errors.push(s);
  try {
    assertEquals(await cli.run(["--help"]), 0);
    assertEquals(await cli.run(["--iters", "7"]), 7);
    assertEquals(await cli.run(["--itres", "7"]), 2);
  } finally {
    Object.assign(console, { log, error });
  }
  assertEquals(logged, [cli.help()]);
  assertEquals(errors.length, 1);
  assertEquals(
    errors[0],
    "example: unknown flag --itres (did you mean --iters?)\n\n" +
      "usage: deno task example [PATH…] [flags]\nRun 'deno task example --help' for every flag.",
  );
});

Deno.test("a command without positionals refuses one, suggesting a subcommand", async () => {
  let merged: readonly string[] = [];
  const merge = command({
    usage: "deno task tool merge",
    summary: "Joins folders.",
    flags: {},
    positionals: { name: "DIR…", description: "folders", min: 1 },
  }, ({ positionals }) => {
    merged = positionals;
    return 0;
  });
  const tool = command({
    usage: "deno task tool",
    summary: "A tool.",
    flags: {},
    commands: { merge },
  }, () => 0);
  assertThrows(
    () => tool.parse(["merg"]),
    UsageError,
    "unexpected argument 'merg' (did you mean merge?)",
  );
  assertThrows(() => merge.parse([]), UsageError, "needs at least one DIR… (folders)");
  const init = command({
    usage: "deno task init",
    summary: "Makes a folder.",
    flags: {},
    positionals: { name: "DIR", description: "the new folder", min: 1, max: 1 },
  }, () => 0);
  assertEquals(init.parse(["a"]).positionals, ["a"]);
  assertThrows(
    () => init.parse(["a", "b"]),
    UsageError,
    "unexpected argument 'b' (takes at most 1 DIR)",
  );
  const { error } = console;
  console.error = () => {};
  try {
    assertEquals(await tool.run(["merge", "a", "b"]), 0);
    assertEquals(merged, ["a", "b"]);
    assertEquals(await tool.run(["merge"]), 2);
  } finally {
    console.error = error;
  }
  assertStringIncludes(
    tool.help(),
    "usage: deno task tool [flags]\n       deno task tool merge DIR… [flags]",
  );
  assertStringIncludes(tool.help(), "commands:\n  merge");
});
