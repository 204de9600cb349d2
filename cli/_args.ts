/**
 * The one argument parser of the programs in `cli/`. A program declares its flags as data (kind,
 * default, description, choices, checks); {@link command} parses `Deno.args` into typed values,
 * prints one help format that lists every flag with its default, and turns a bad argument into a
 * message that names it (suggesting the closest flag for a typo) followed by the usage line and
 * where the full help is, with exit code 2. Subcommands (`deno task sweep merge …`) are commands of their own, listed in the
 * parent's help.
 *
 * Written here rather than taken from `@std/cli`'s `parseArgs` (which is on npm as `deno-std`):
 * that package ships JavaScript without types, and its parser accepts unknown flags and
 * converts values by their look, so each program would still need this layer on top.
 *
 * @example
 * ```ts
 * import { command } from "./_args.ts";
 * const demo = command({
 *   usage: "deno task demo",
 *   summary: "Prints a table.",
 *   flags: {
 *     size: { kind: "int", default: 8, min: 1, description: "rows" },
 *     backend: { kind: "string", default: "auto", choices: ["auto", "wasm"], description: "engine" },
 *   },
 * }, ({ values }) => values.size > 0 ? 0 : 1);
 * const { values } = demo.parse(["--size=4", "--backend", "wasm"]);
 * console.assert(values.size === 4 && values.backend === "wasm");
 * console.assert(demo.help().includes("--size N"));
 * ```
 *
 * @module
 */
import { editDistance } from "../lib/core/text.ts";

/**
 * What every flag declares, whatever its kind.
 *
 * @example
 * ```ts
 * import type { FlagBase } from "./_args.ts";
 * const base: FlagBase = { description: "results folder", arg: "DIR" };
 * console.assert(base.arg === "DIR");
 * ```
 */
export interface FlagBase {
  /** One line for the help (choices and the default are added to it). */
  readonly description: string;
  /** A one-letter alias, used as `-x`. */
  readonly short?: string;
  /** The value's placeholder in the help (`N`, `DIR`); choices stand in for it when short. */
  readonly arg?: string;
  /** How the help shows the default, when the value of `default` is not the whole story. */
  readonly defaultText?: string;
}

/** A flag taking an integer (`int`) or any finite number (`number`). */
export interface NumberFlag extends FlagBase {
  /** `int` or `number`. */
  readonly kind: "int" | "number";
  /** The value when the flag is absent (else `undefined`). */
  readonly default?: number;
  /** Smallest allowed value. */
  readonly min?: number;
  /** Largest allowed value. */
  readonly max?: number;
  /** What the value must be, for the error message (default: "an integer ≥ min", …). */
  readonly expects?: string;
  /** A further check: returns the whole error message when the value is refused. */
  readonly check?: (value: number) => string | undefined;
}

/** A flag taking a string, optionally one of fixed choices. */
export interface StringFlag extends FlagBase {
  /** `string`. */
  readonly kind: "string";
  /** The value when the flag is absent (else `undefined`). */
  readonly default?: string;
  /** The allowed values. */
  readonly choices?: readonly string[];
  /** A further check: returns the whole error message when the value is refused. */
  readonly check?: (value: string) => string | undefined;
}

/** A switch: `--x` is true, `--x=false` false. */
export interface BoolFlag extends FlagBase {
  /** `bool`. */
  readonly kind: "bool";
  /** The value when the flag is absent (default false). */
  readonly default?: boolean;
}

/** A list: comma-separated items (unless `split: false`), and the flag may repeat. */
export interface ListFlag extends FlagBase {
  /** `list`. */
  readonly kind: "list";
  /** The value when the flag is absent (default empty). */
  readonly default?: readonly string[];
  /** The allowed items. */
  readonly choices?: readonly string[];
  /** Split each value at commas (default true); false keeps it whole, e.g. `--env K=a,b`. */
  readonly split?: boolean;
  /** A check of each item: returns the whole error message when the item is refused. */
  readonly check?: (item: string) => string | undefined;
}

/**
 * One flag's declaration.
 *
 * @example
 * ```ts
 * import type { FlagSpec } from "./_args.ts";
 * const iters: FlagSpec = { kind: "int", default: 800, min: 0, description: "steps per trial" };
 * console.assert(iters.kind === "int");
 * ```
 */
export type FlagSpec = NumberFlag | StringFlag | BoolFlag | ListFlag;

/**
 * Flags by name (`"eval-every"`, written `--eval-every` on the command line).
 *
 * @example
 * ```ts
 * import type { FlagSpecs } from "./_args.ts";
 * const flags: FlagSpecs = { json: { kind: "bool", description: "print JSON lines only" } };
 * console.assert("json" in flags);
 * ```
 */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/**
 * The parsed type of one flag: `number`, `boolean`, `string[]`, or `string` (the union of the
 * choices when there are any).
 *
 * @example
 * ```ts
 * import type { FlagValue } from "./_args.ts";
 * const engine: FlagValue<{ kind: "string"; choices: ["ort", "tfjs"]; description: "" }> = "ort";
 * console.assert(engine === "ort");
 * ```
 */
export type FlagValue<S extends FlagSpec> = S extends { kind: "int" | "number" } ? number
  : S extends { kind: "bool" } ? boolean
  : S extends { kind: "list"; choices: readonly (infer C)[] } ? C[]
  : S extends { kind: "list" } ? string[]
  : S extends { choices: readonly (infer C)[] } ? C
  : string;

/**
 * The parsed values of a command's flags: `undefined` for an absent flag without a default
 * (switches default to false, lists to empty).
 *
 * @example
 * ```ts
 * import type { FlagValues } from "./_args.ts";
 * const v: FlagValues<{ out: { kind: "string"; description: "" } }> = { out: undefined };
 * console.assert(v.out === undefined);
 * ```
 */
export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]: F[K] extends { default: unknown } | { kind: "bool" | "list" }
    ? FlagValue<F[K]>
    : FlagValue<F[K]> | undefined;
};

/** The arguments that are not flags (paths, folders). Absent from a spec = none accepted. */
export interface PositionalSpec {
  /** Placeholder in the help, e.g. `DIR…`. */
  readonly name: string;
  /** One line for the help. */
  readonly description: string;
  /** How many are needed (default 0). */
  readonly min?: number;
  /** How many are accepted (default: any number). */
  readonly max?: number;
  /** What happens when none is given, for the help. */
  readonly defaultText?: string;
}

/** A subcommand as its parent sees it: a usage line, a summary and a way to run it. */
export interface SubcommandLike {
  /** The command's spec (only `usage`, `summary` and `positionals` are read). */
  readonly spec: {
    readonly usage: string;
    readonly summary: string;
    readonly positionals?: PositionalSpec;
  };
  /** Runs it with the arguments after its name. */
  run(argv: readonly string[]): Promise<number>;
}

/**
 * A command: how it is called, what it does, its flags, positionals and subcommands.
 *
 * @example
 * ```ts
 * import type { CommandSpec } from "./_args.ts";
 * const spec: CommandSpec<{ out: { kind: "string"; description: "results folder" } }> = {
 *   usage: "deno task sweep merge",
 *   summary: "Joins shard folders.",
 *   flags: { out: { kind: "string", description: "results folder" } },
 *   positionals: { name: "DIR…", description: "shard folders", min: 1 },
 * };
 * console.assert(spec.positionals?.min === 1);
 * ```
 */
export interface CommandSpec<F extends FlagSpecs> {
  /** How it is called, e.g. `deno task sweep`. */
  readonly usage: string;
  /** What it does: the first paragraph of the help. */
  readonly summary: string;
  /** Its flags (`--help` and `-h` are added to every command). */
  readonly flags: F;
  /** The arguments that are not flags; absent = none accepted. */
  readonly positionals?: PositionalSpec;
  /** Subcommands by name: `usage NAME …` runs the subcommand with the rest. */
  readonly commands?: Readonly<Record<string, SubcommandLike>>;
  /** Text after the flag list (environment variables, examples). */
  readonly notes?: string;
}

/**
 * The result of parsing: typed flag values, the positionals, and whether help was asked for
 * (then nothing else was checked).
 *
 * @example
 * ```ts
 * import { command } from "./_args.ts";
 * const cli = command({ usage: "x", summary: "x", flags: {} }, () => 0);
 * console.assert(cli.parse(["--help"]).help);
 * ```
 */
export interface Parsed<F extends FlagSpecs> {
  /** Every flag's value, defaults filled in. */
  readonly values: FlagValues<F>;
  /** The arguments that are not flags, in order. */
  readonly positionals: readonly string[];
  /** `--help` or `-h` was given. */
  readonly help: boolean;
  /** The flags written on the command line (the others hold their defaults). */
  readonly given: ReadonlySet<string>;
}

/**
 * A bad command line: a program prints its message and its usage line and exits with code 2. A
 * command's own code may throw it too, for a value that only it can check.
 *
 * @example
 * ```ts
 * import { UsageError } from "./_args.ts";
 * const e = new UsageError("--iters takes an integer, got 'many'");
 * console.assert(e.name === "UsageError");
 * ```
 */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override readonly name = "UsageError";
}

/**
 * A parsed-and-run command line program.
 *
 * @example
 * ```ts
 * import { command } from "./_args.ts";
 * const cli = command({ usage: "deno task x", summary: "X.", flags: {} }, () => 0);
 * console.assert((await cli.run([])) === 0 && (await cli.run(["--nope"])) === 2);
 * ```
 */
export interface Command<F extends FlagSpecs> extends SubcommandLike {
  /** The declaration. */
  readonly spec: CommandSpec<F>;
  /** Parses `argv`; throws a {@link UsageError} naming the first bad argument. */
  parse(argv: readonly string[]): Parsed<F>;
  /** The help text: summary, usage, subcommands, positionals, every flag with its default. */
  help(): string;
  /**
   * Parses `argv` (or hands it to the subcommand it names) and runs the command: prints the help
   * for `--help` (0), the message and the usage line for a bad command line (2), else returns
   * what the command returns.
   */
  run(argv: readonly string[]): Promise<number>;
}

const HELP_FLAG: BoolFlag = { kind: "bool", short: "h", description: "show this help" };

/** The candidate closest to `word` (ignoring case, dashes and underscores), if close enough. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, norm(c));
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= (w.length <= 3 ? 1 : Math.max(2, Math.floor(w.length / 3))) ? best : undefined;
}

/** `a, b or c`. */
function oneOf(items: readonly string[]): string {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function range(what: string, min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `${what} in [${min}, ${max}]`;
  if (min !== undefined) return `${what} ≥ ${min}`;
  if (max !== undefined) return `${what} ≤ ${max}`;
  return what;
}

/** What a flag's value must be, for error messages. */
function expects(spec: FlagSpec): string {
  switch (spec.kind) {
    case "int":
      return spec.expects ?? range("an integer", spec.min, spec.max);
    case "number":
      return spec.expects ?? range("a number", spec.min, spec.max);
    case "bool":
      return "true or false";
    default:
      return spec.choices ? oneOf(spec.choices) : "a value";
  }
}

/** Converts one raw value of flag `name`; throws a {@link UsageError} naming it. */
function convert(name: string, spec: FlagSpec, raw: string): number | string | boolean | string[] {
  const refuse = () => new UsageError(`--${name} takes ${expects(spec)}, got '${raw}'`);
  switch (spec.kind) {
    case "bool":
      if (raw === "true" || raw === "false") return raw === "true";
      throw refuse();
    case "int":
    case "number": {
      const n = raw.trim() === "" ? NaN : Number(raw);
      if (
        !Number.isFinite(n) || (spec.kind === "int" && !Number.isSafeInteger(n)) ||
        (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)
      ) throw refuse();
      const problem = spec.check?.(n);
      if (problem !== undefined) throw new UsageError(problem);
      return n;
    }
    case "string": {
      if (spec.choices && !spec.choices.includes(raw)) throw refuse();
      const problem = spec.check?.(raw);
      if (problem !== undefined) throw new UsageError(problem);
      return raw;
    }
    case "list": {
      const items = spec.split === false
        ? [raw]
        : raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const item of items) {
        if (spec.choices && !spec.choices.includes(item)) {
          throw new UsageError(`--${name} takes items among ${oneOf(spec.choices)}, got '${item}'`);
        }
        const problem = spec.check?.(item);
        if (problem !== undefined) throw new UsageError(problem);
      }
      return items;
    }
  }
}

/** Parses `argv` against `spec`; see {@link Command.parse}. */
function parse<F extends FlagSpecs>(spec: CommandSpec<F>, argv: readonly string[]): Parsed<F> {
  const flags: Record<string, FlagSpec> = { ...spec.flags };
  const byShort = new Map<string, string>([["h", "help"]]);
  for (const [name, f] of Object.entries(flags)) if (f.short) byShort.set(f.short, name);
  const names = [...Object.keys(flags), "help"];
  const end = argv.indexOf("--");
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => /^(--help|-h)(=.*)?$/.test(a))) {
    return { values: {} as FlagValues<F>, positionals: [], help: true, given: new Set() };
  }
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || a === "-" || !a.startsWith("-") || /^-\d/.test(a)) {
      positionals.push(a);
      continue;
    }
    if (a === "--") {
      rest = true;
      continue;
    }
    const eq = a.indexOf("=");
    const written = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const name = written.startsWith("--") ? written.slice(2) : byShort.get(written.slice(1));
    const f = name !== undefined && Object.hasOwn(flags, name) ? flags[name] : undefined;
    if (!f || name === undefined) {
      const typed = written.replace(/^-+/, "");
      const near = closest(typed, names);
      throw new UsageError(`unknown flag ${written}${near ? ` (did you mean --${near}?)` : ""}`);
    }
    let raw = inline;
    if (raw === undefined && f.kind === "bool") raw = "true";
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`--${name} needs a value`);
      }
      raw = next;
      i++;
    }
    const v = convert(name, f, raw);
    values[name] = f.kind === "list" && Array.isArray(values[name])
      ? [...values[name] as string[], ...v as string[]]
      : v;
  }
  const given = new Set(Object.keys(values));
  const p = spec.positionals;
  if (!p && positionals.length > 0) {
    const near = spec.commands ? closest(positionals[0], Object.keys(spec.commands)) : undefined;
    throw new UsageError(
      `unexpected argument '${positionals[0]}'${near ? ` (did you mean ${near}?)` : ""}`,
    );
  }
  if (p?.max !== undefined && positionals.length > p.max) {
    throw new UsageError(
      `unexpected argument '${positionals[p.max]}' (takes at most ${p.max} ${p.name})`,
    );
  }
  if (p?.min && positionals.length < p.min) {
    throw new UsageError(
      `needs ${p.min === 1 ? "at least one" : `at least ${p.min}`} ${p.name} (${p.description})`,
    );
  }
  for (const [name, f] of Object.entries(flags)) {
    if (name in values) continue;
    if (f.default !== undefined) {
      values[name] = Array.isArray(f.default) ? [...f.default] : f.default;
    } else if (f.kind === "bool") values[name] = false;
    else if (f.kind === "list") values[name] = [];
    else values[name] = undefined;
  }
  return { values: values as FlagValues<F>, positionals, help: false, given };
}

/** `text` broken into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const WIDTH = 100;
const COLUMN = 30;

/** Two columns: `left` padded to the column (or alone on its line when longer), `right` wrapped. */
function row(left: string, right: string): string {
  const body = wrap(right, WIDTH - COLUMN);
  const pad = " ".repeat(COLUMN);
  const first = left.length <= COLUMN - 2
    ? left.padEnd(COLUMN) + body[0]
    : `${left}\n${pad}${body[0]}`;
  return [first, ...body.slice(1).map((l) => pad + l)].join("\n");
}

/** How the help shows a flag's default, or undefined when it has none worth showing. */
function defaultText(f: FlagSpec): string | undefined {
  if (f.defaultText !== undefined) return f.defaultText;
  if (f.default === undefined || f.default === false) return undefined;
  if (f.default === true) return "on";
  if (Array.isArray(f.default)) return f.default.join(",");
  return f.default === "" ? '""' : String(f.default);
}

function flagRow(name: string, f: FlagSpec): string {
  const choices = f.kind === "string" || f.kind === "list" ? f.choices : undefined;
  const placeholder = f.kind === "bool"
    ? ""
    : ` ${
      f.arg ?? (choices
        ? choices.join("|")
        : f.kind === "list"
        ? "A,B,…"
        : f.kind === "string"
        ? "VALUE"
        : f.kind === "int"
        ? "N"
        : "X")
    }`;
  let left = `  ${f.short ? `-${f.short}, ` : ""}--${name}${placeholder}`;
  let description = f.description;
  if (choices && left.length > COLUMN - 2) {
    left = `  ${f.short ? `-${f.short}, ` : ""}--${name} ${f.arg ?? "NAME"}`;
    description += ` (${oneOf(choices)})`;
  }
  const d = defaultText(f);
  return row(left, d === undefined ? description : `${description} (default: ${d})`);
}

/** The usage lines of `spec`: `usage: deno task x [PATH…] [flags]`, one more per subcommand. */
function usageText(spec: CommandSpec<FlagSpecs>): string {
  const argsHint = (s: { positionals?: PositionalSpec }) =>
    s.positionals
      ? (s.positionals.min ? ` ${s.positionals.name}` : ` [${s.positionals.name}]`)
      : "";
  const usage = [`usage: ${spec.usage}${argsHint(spec)} [flags]`];
  for (const sub of Object.values(spec.commands ?? {})) {
    usage.push(`       ${sub.spec.usage}${argsHint(sub.spec)} [flags]`);
  }
  return usage.join("\n");
}

/** The help text of `spec`; see {@link Command.help}. */
function helpText(spec: CommandSpec<FlagSpecs>): string {
  const p = spec.positionals;
  const usage = [usageText(spec)];
  const paragraph = (text: string) =>
    text.split("\n").map((line) => wrap(line, WIDTH).join("\n")).join("\n");
  const parts = [paragraph(spec.summary), usage.join("\n")];
  if (spec.commands) {
    parts.push(
      "commands:\n" +
        Object.entries(spec.commands).map(([name, sub]) =>
          row(`  ${name}`, sub.spec.summary.split("\n")[0])
        ).join("\n"),
    );
  }
  if (p) {
    parts.push(
      "arguments:\n" +
        row(
          `  ${p.name}`,
          p.defaultText ? `${p.description} (default: ${p.defaultText})` : p.description,
        ),
    );
  }
  const rows = Object.entries(spec.flags).map(([name, f]) => flagRow(name, f));
  rows.push(flagRow("help", HELP_FLAG));
  parts.push(`flags:\n${rows.join("\n")}`);
  if (spec.notes) parts.push(paragraph(spec.notes));
  return parts.join("\n\n");
}

/**
 * Declares a command line program: its spec and what it does with the parsed arguments (an exit
 * code). The flag types flow from the spec into `run`'s `values`.
 *
 * @example
 * ```ts
 * import { command } from "./_args.ts";
 * const cli = command({
 *   usage: "deno task sweep",
 *   summary: "Sweeps activations.",
 *   flags: {
 *     activations: { kind: "list", default: ["relu", "gelu"], description: "registry names" },
 *     seeds: { kind: "int", default: 2, min: 1, description: "seeds per activation" },
 *     engine: { kind: "string", default: "ort", choices: ["ort", "tfjs"], description: "engine" },
 *   },
 * }, ({ values }) => values.activations.length * values.seeds);
 * console.assert((await cli.run(["--activations", "relu,gelu,silu"])) === 6);
 * ```
 */
export function command<const F extends FlagSpecs>(
  spec: CommandSpec<F>,
  run: (args: Parsed<F>) => number | Promise<number>,
): Command<F> {
  const name = spec.usage.replace(/^deno task /, "");
  const help = () => helpText(spec);
  // A bad command line gets its message and the usage line, not the whole help.
  const refuse = (e: unknown): number => {
    if (!(e instanceof UsageError)) throw e;
    console.error(
      `${name}: ${e.message}\n\n${usageText(spec)}\nRun '${spec.usage} --help' for every flag.`,
    );
    return 2;
  };
  return {
    spec,
    help,
    parse: (argv) => parse(spec, argv),
    async run(argv) {
      const sub = argv[0] !== undefined && spec.commands && Object.hasOwn(spec.commands, argv[0])
        ? spec.commands[argv[0]]
        : undefined;
      if (sub) return await sub.run(argv.slice(1));
      let parsed: Parsed<F>;
      try {
        parsed = parse(spec, argv);
      } catch (e) {
        return refuse(e);
      }
      if (parsed.help) {
        console.log(help());
        return 0;
      }
      try {
        return await run(parsed);
      } catch (e) {
        return refuse(e);
      }
    },
  };
}

/**
 * Runs `cli` with `Deno.args` and exits with its code; an unexpected error prints
 * `name: message` and exits 1. For the `import.meta.main` block of each program.
 *
 * @example
 * ```ts ignore
 * if (import.meta.main) await runMain(cli);
 * ```
 */
export async function runMain(cli: Command<FlagSpecs> | SubcommandLike): Promise<never> {
  let code: number;
  try {
    code = await cli.run(Deno.args);
  } catch (e) {
    console.error(
      `${cli.spec.usage.replace(/^deno task /, "")}: ${e instanceof Error ? e.message : e}`,
    );
    code = 1;
  }
  Deno.exit(code);
}
