/**
 * `deno task notebooks` cleans up and does not race: SIGINT or SIGTERM to the runner shuts its
 * kernel down (a real kernel process, busy at full CPU) and removes the kernel's connection
 * folder; a second runner on the same --out is refused while the first runs; refusals that need
 * no kernel (a read-only notebook with --in-place, a timeout a timer cannot keep, a file as
 * --out, unknown or mistyped parameters) come before anything runs.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { writeNotebook } from "../../lib/notebook/nbformat.ts";
import { cell, notebook, ROOT, scratchDir } from "./_util.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const CLI = `${ROOT}/cli/notebooks.ts`;

/** `deno task notebooks ...args` started in the background, with TMPDIR set to `tmp`. */
function startRunner(args: string[], tmp: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { TMPDIR: tmp, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** `deno task notebooks ...args` to its end: exit code and stderr. */
async function runner(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Polls until `path` exists (the kernel wrote it), up to `ms`. */
async function waitFor(path: string, ms = 90_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      return await Deno.readTextFile(path);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${path} did not appear within ${ms} ms`);
}

function processExists(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

/** A notebook whose kernel records its pid and connection file, then spins at full CPU. */
async function spinningNotebook(dir: string): Promise<string> {
  const path = `${dir}/spin.ipynb`;
  await writeNotebook(
    path,
    notebook([
      cell(
        `const cmd = Deno.readTextFileSync("/proc/self/cmdline").split("\\0");\n` +
          `Deno.writeTextFileSync(${
            JSON.stringify(`${dir}/kernel.json`)
          }, JSON.stringify({ pid: Deno.pid, conn: cmd[cmd.indexOf("--conn") + 1] }));`,
      ),
      cell("for (;;) {} // busy: no await, so the kernel cannot answer a shutdown request"),
    ]),
  );
  return path;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name: `${signal} to deno task notebooks kills its kernel and removes its connection folder` +
      (signal === "SIGTERM" ? "; a second runner on the same --out is refused meanwhile" : ""),
    ignore: Deno.build.os !== "linux", // reads /proc
    ...opts,
    async fn() {
      const dir = await scratchDir("cleanup-");
      const tmp = `${dir}/tmp`;
      await Deno.mkdir(tmp);
      const path = await spinningNotebook(dir);
      const out = `${dir}/out`;
      const child = startRunner([path, "--out", out, "--images", "never", "--no-html"], tmp);
      try {
        const kernel = JSON.parse(await waitFor(`${dir}/kernel.json`));
        assert(kernel.conn.startsWith(tmp), kernel.conn);
        await new Promise((r) => setTimeout(r, 500)); // the busy cell runs
        assert(processExists(kernel.pid), "the kernel runs");
        if (signal === "SIGTERM") {
          const second = await runner(path, "--out", out, "--images", "never");
          assertEquals(second.code, 1, second.stderr);
          assertStringIncludes(second.stderr, "is in use by another deno task notebooks (pid ");
          assertStringIncludes(second.stderr, `${child.pid}`);
        }
        child.kill(signal);
        const status = await child.status;
        const stderr = new TextDecoder().decode((await child.output()).stderr);
        assertEquals(status.code, signal === "SIGINT" ? 130 : 143, stderr);
        assertStringIncludes(stderr, `stopped by ${signal}; the kernel was shut down`);
        assert(!processExists(kernel.pid), `kernel ${kernel.pid} still runs`);
        const conn = kernel.conn.slice(0, kernel.conn.lastIndexOf("/"));
        assert(!(await Deno.stat(conn).then(() => true, () => false)), `${conn} was left`);
        assertEquals(await Array.fromAsync(Deno.readDir(tmp)), [], "nothing left in TMPDIR");
        assert(!(await Deno.stat(`${out}/.lock`).then(() => true, () => false)), "lock released");
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited
        }
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "refusals that need no kernel come before anything runs, with exit code 2",
  ...opts,
  async fn() {
    const dir = await scratchDir("refuse-");
    try {
      const path = `${dir}/study.ipynb`;
      await writeNotebook(
        path,
        notebook([
          cell(
            `const FAST = false;\nconst SETTINGS = {\n  preset: FAST ? "tiny" as const : "nano",\n` +
              `  iters: 600, // nanoGPT's recipe: steps\n  label: "a",\n};`,
            { tags: ["parameters"] },
          ),
          cell(`Deno.writeTextFileSync(${JSON.stringify(`${dir}/ran`)}, "yes");`),
        ]),
      );
      const before = await Deno.readTextFile(path);
      await Deno.chmod(path, 0o444);
      const readOnly = await runner(path, "--in-place", "--out", `${dir}/out`);
      assertEquals(readOnly.code, 2, readOnly.stderr);
      assertStringIncludes(readOnly.stderr, `--in-place: ${path} is read-only (mode 444)`);
      assertStringIncludes(readOnly.stderr, "chmod u+w");
      await Deno.chmod(path, 0o644);

      const huge = await runner(path, "--timeout", "1e12");
      assertEquals(huge.code, 2, huge.stderr);
      assertStringIncludes(huge.stderr, "--timeout takes seconds, more than 0 and at most 2147483");

      await Deno.writeTextFile(`${dir}/file`, "");
      const fileOut = await runner(path, "--out", `${dir}/file`);
      assertEquals(fileOut.code, 2, fileOut.stderr);
      assertStringIncludes(fileOut.stderr, `--out ${dir}/file is a file, not a folder`);

      await Deno.symlink(`${dir}/loop-b`, `${dir}/loop-a`);
      await Deno.symlink(`${dir}/loop-a`, `${dir}/loop-b`);
      const loopOut = await runner(path, "--out", `${dir}/loop-a`);
      assertEquals(loopOut.code, 2, loopOut.stderr);
      assertStringIncludes(loopOut.stderr, `--out ${dir}/loop-a: is a symbolic link loop`);
      const loopIn = await runner(`${dir}/loop-a`, "--out", `${dir}/out`);
      assertEquals(loopIn.code, 2, loopIn.stderr);
      assertStringIncludes(loopIn.stderr, `notebook ${dir}/loop-a: is a symbolic link loop`);
      for (const r of [fileOut, loopOut, loopIn]) assert(!r.stderr.includes("os error"), r.stderr);

      const keyword = await runner(path, "--out", `${dir}/out`, "-p", "const=5");
      assertEquals(keyword.code, 2, keyword.stderr);
      assertStringIncludes(
        keyword.stderr,
        "-p const: not among the parameters of SETTINGS (preset, iters, label)",
      );
      const comment = await runner(path, "--out", `${dir}/out`, "-p", "recipe=1");
      assertStringIncludes(comment.stderr, "-p recipe: not among the parameters");

      const typed = await runner(path, "--out", `${dir}/out`, "-p", "iters=many", "-p", "label=7");
      assertEquals(typed.code, 2, typed.stderr);
      assertStringIncludes(
        typed.stderr,
        `-p iters: the notebook's default is a number (600), got a string ("many")`,
      );
      assertStringIncludes(
        typed.stderr,
        `-p label: the notebook's default is a string ("a"), got a number (7) (for text, ` +
          `quote it: -p 'label="7"')`,
      );
      assertEquals(await Deno.readTextFile(path), before, "the notebook is untouched");
      assert(!(await Deno.stat(`${dir}/ran`).then(() => true, () => false)), "no cell ran");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
