import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { loadTinyShakespeare, TINY_SHAKESPEARE } from "../../datasets/mod.ts";
import { sha256Hex } from "../../lib/core/mod.ts";
import { DATA_DIR, haveTinyShakespeare, MISSING_DATA_NOTE } from "../_data.ts";

// Where the CLI looks (tests/_data.ts): ACTLAB_DATA_DIR, the user cache, the shared copy.
const realPath = join(DATA_DIR, TINY_SHAKESPEARE.relativePath);
const haveReal = haveTinyShakespeare;
if (!haveReal) {
  console.warn(`tinyshakespeare_test: tests with the real text skipped — ${MISSING_DATA_NOTE}`);
}

const offlineFetch: typeof fetch = () =>
  Promise.reject(new TypeError("network unreachable (test)"));

Deno.test({
  name: "loadTinyShakespeare() finds the file through ACTLAB_DATA_DIR and splits it 90/10",
  ignore: !haveReal,
  async fn() {
    const ds = await loadTinyShakespeare({
      envDir: DATA_DIR, // as $ACTLAB_DATA_DIR
      cacheDir: "/nonexistent-cache",
      fetch: offlineFetch,
    });
    assertEquals(ds.source, "env");
    assertEquals(ds.text.length, 1_115_394); // ASCII: characters = bytes
    assertEquals(ds.tokenizer.size, 65);
    assertEquals(ds.train.length, 1_003_854);
    assertEquals(ds.val.length, 111_540);
    assertEquals(ds.tokenizer.decode(ds.train.subarray(0, 14)), "First Citizen:");
  },
});

Deno.test({
  name: "options.dir is looked in before ACTLAB_DATA_DIR, as a data root or the dataset folder",
  ignore: !haveReal,
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      await Deno.mkdir(join(root, "tinyshakespeare"));
      await Deno.copyFile(realPath, join(root, "tinyshakespeare", "input.txt"));
      const a = await loadTinyShakespeare({ dir: root, envDir: null, fetch: offlineFetch });
      assertEquals([a.source, a.path], ["dir", join(root, "tinyshakespeare", "input.txt")]);
      const b = await loadTinyShakespeare({ dir: join(root, "tinyshakespeare"), envDir: null });
      assertEquals(b.path, join(root, "tinyshakespeare", "input.txt"));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("offline with no copy anywhere, the error lists where it looked and how to supply the file", async () => {
  const root = await Deno.makeTempDir();
  try {
    const err = await assertRejects(() =>
      loadTinyShakespeare({
        dir: join(root, "data"),
        envDir: join(root, "env"),
        cacheDir: join(root, "cache"),
        fetch: offlineFetch,
      })
    );
    const msg = (err as Error).message;
    for (
      const part of [
        join(root, "data", "tinyshakespeare", "input.txt"),
        join(root, "env", "tinyshakespeare", "input.txt"),
        join(root, "cache", "tinyshakespeare", "input.txt"),
        "network unreachable",
        TINY_SHAKESPEARE.url,
        TINY_SHAKESPEARE.sha256,
        "ACTLAB_DATA_DIR",
      ]
    ) assert(msg.includes(part), `message lacks "${part}":\n${msg}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file with the wrong checksum is rejected, not used", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "tinyshakespeare"));
    await Deno.writeTextFile(join(root, "tinyshakespeare", "input.txt"), "To be, or not to be\n");
    await assertRejects(
      () => loadTinyShakespeare({ dir: root, envDir: null, fetch: offlineFetch }),
      Error,
      "expected 86c4e6aa",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "a download is verified, written atomically into the cache, and used from there next time",
  ignore: !haveReal,
  async fn() {
    const bytes = await Deno.readFile(realPath);
    assertEquals(await sha256Hex(bytes), TINY_SHAKESPEARE.sha256);
    const cacheDir = await Deno.makeTempDir();
    let requested = "";
    const progress: number[] = [];
    const serve: typeof fetch = (input) => {
      requested = String(input);
      return Promise.resolve(
        new Response(bytes, { headers: { "content-length": String(bytes.length) } }),
      );
    };
    try {
      const ds = await loadTinyShakespeare({
        envDir: null,
        cacheDir,
        fetch: serve,
        onProgress: (p) => progress.push(p.receivedBytes),
      });
      assertEquals(requested, TINY_SHAKESPEARE.url);
      assertEquals(ds.source, "download");
      assertEquals(progress.at(-1), bytes.length);
      const cached = join(cacheDir, TINY_SHAKESPEARE.relativePath);
      assertEquals(await sha256Hex(await Deno.readFile(cached)), TINY_SHAKESPEARE.sha256);
      assertEquals([...Deno.readDirSync(join(cacheDir, "tinyshakespeare"))].length, 1); // no temp file
      const again = await loadTinyShakespeare({ envDir: null, cacheDir, fetch: offlineFetch });
      assertEquals(again.source, "cache");
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test("a corrupted download is rejected and nothing is written to the cache", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const bad: typeof fetch = () => Promise.resolve(new Response("<html>captive portal</html>"));
    await assertRejects(
      () => loadTinyShakespeare({ envDir: null, cacheDir, fetch: bad, onProgress: () => {} }),
      Error,
      "it was not saved",
    );
    assertEquals([...Deno.readDirSync(cacheDir)].length, 0);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: false reports the missing file without touching the network", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assertRejects(
      () =>
        loadTinyShakespeare({ envDir: null, cacheDir: root, download: false, fetch: offlineFetch }),
      Error,
      "downloads are off",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
