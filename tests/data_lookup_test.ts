/**
 * tests/_data.ts looks for Tiny Shakespeare where the CLI does: after the README's offline
 * set-up (input.txt copied into the user cache, no ACTLAB_DATA_DIR) the tests find it there, and
 * the folder they find is the one `loadTinyShakespeare()` reads. Each case runs in a process of
 * its own, with its own environment.
 */
import { assertEquals } from "@std/assert";
import { join } from "node:path";
import { DATA_DIR, haveTinyShakespeare } from "./_data.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** What tests/_data.ts and the loader decide in a process with exactly this environment. */
async function lookup(env: Record<string, string>) {
  const code = `
    import { DATA_DIR, haveTinyShakespeare } from "${ROOT}tests/_data.ts";
    import { loadTinyShakespeare } from "${ROOT}datasets/mod.ts";
    let loader = null;
    try {
      loader = (await loadTinyShakespeare({ download: false })).path;
    } catch (e) {
      loader = e.message.startsWith("Tiny Shakespeare was not found") ? null : "error: " + e.message;
    }
    console.log(JSON.stringify({ DATA_DIR, haveTinyShakespeare, loader }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    cwd: ROOT,
    clearEnv: true,
    // DENO_DIR kept where it is: a new XDG_CACHE_HOME would move Deno's own cache too.
    env: { PATH: Deno.env.get("PATH") ?? "", DENO_DIR: denoDir(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(text) as { DATA_DIR: string; haveTinyShakespeare: boolean; loader: string };
}

function denoDir(): string {
  return Deno.env.get("DENO_DIR") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"), "deno");
}

/** A data folder holding tinyshakespeare/input.txt: the real text when the tests have it. */
async function dataFolder(root: string): Promise<string> {
  await Deno.mkdir(join(root, "tinyshakespeare"), { recursive: true });
  const file = join(root, "tinyshakespeare", "input.txt");
  if (haveTinyShakespeare) await Deno.copyFile(join(DATA_DIR, "tinyshakespeare/input.txt"), file);
  else await Deno.writeTextFile(file, "stand-in: the tests only check that it exists\n");
  return root;
}

Deno.test({
  name:
    "after the README's offline set-up (the file in ~/.cache/actlab/datasets) the tests find it",
  ignore: Deno.build.os !== "linux", // the cache's place differs on macOS and Windows
  async fn() {
    const home = await Deno.makeTempDir();
    try {
      const cache = await dataFolder(join(home, ".cache", "actlab", "datasets"));
      const r = await lookup({ HOME: home });
      assertEquals([r.DATA_DIR, r.haveTinyShakespeare], [cache, true]);
      if (haveTinyShakespeare) assertEquals(r.loader, join(cache, "tinyshakespeare/input.txt"));
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "ACTLAB_DATA_DIR comes first, and one without the file falls through to the cache",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const env = await dataFolder(join(root, "env"));
      const cache = await dataFolder(join(root, "xdg", "actlab", "datasets"));
      const first = await lookup({
        HOME: root,
        ACTLAB_DATA_DIR: env,
        XDG_CACHE_HOME: join(root, "xdg"),
      });
      assertEquals(first.DATA_DIR, env);
      if (haveTinyShakespeare) assertEquals(first.loader, join(env, "tinyshakespeare/input.txt"));
      const empty = join(root, "empty");
      await Deno.mkdir(empty);
      const through = await lookup({
        HOME: root,
        ACTLAB_DATA_DIR: empty,
        XDG_CACHE_HOME: join(root, "xdg"),
      });
      assertEquals([through.DATA_DIR, through.haveTinyShakespeare], [cache, true]);
      if (haveTinyShakespeare) {
        assertEquals(through.loader, join(cache, "tinyshakespeare/input.txt"));
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
