/**
 * The offline GPU bundle builds within 60 MiB and its `run.sh --quick` passes from an empty folder
 * with networking disabled (`unshare -n`), an empty home and no Deno cache, on SwiftShader (forced
 * with `ACTLAB_VULKAN=swiftshader`, so a GPU machine runs the same check). Skips, saying why, where
 * `unshare -n`, SwiftShader, xz or Tiny Shakespeare is missing. The compressed Deno binary is cached
 * between runs (`~/.cache/actlab/gpu-bundle`): about 45 s on 2 cores the first time, 30 s after.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { swiftshaderIcd } from "@actlab/actlab/engine";
import { buildGpuBundle } from "../../tools/bundle_gpu.ts";

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

function dataset(): string | undefined {
  const dir = Deno.env.get("ACTLAB_DATA_DIR");
  try {
    if (dir && Deno.statSync(`${dir}/tinyshakespeare/input.txt`).isFile) return dir;
  } catch {
    // missing
  }
  return undefined;
}

const missing = Deno.build.os !== "linux" || Deno.build.arch !== "x86_64"
  ? "not Linux x64"
  : !(await works("unshare", ["-n", "true"]))
  ? "`unshare -n` cannot make a network namespace here (needs root or user namespaces)"
  : !swiftshaderIcd()
  ? "no SwiftShader (Debian's chromium package)"
  : !(await works("xz", ["--version"]))
  ? "no xz"
  : !dataset()
  ? "no Tiny Shakespeare under ACTLAB_DATA_DIR"
  : "";

Deno.test({
  name: `the GPU bundle is ≤ 60 MiB and its run.sh passes offline from an empty folder on ` +
    `SwiftShader${missing ? ` (skipped: ${missing})` : ""}`,
  ignore: missing !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "actlab-bundle-test-" });
    try {
      const bundle = await buildGpuBundle(`${tmp}/bundle`, { log: () => {} });
      assert(bundle.bytes <= 60 * 2 ** 20, `${(bundle.bytes / 2 ** 20).toFixed(1)} MiB`);
      for (const part of ["run.sh", "deno.xz", "app.tar.xz", "MANIFEST.json"]) {
        assert(part in bundle.files, `${part} missing`);
      }
      const listing = new TextDecoder().decode(
        (await new Deno.Command("bash", {
          args: ["-c", `xz -dc '${tmp}/bundle/app.tar.xz' | tar -t`],
          stdout: "piped",
        }).output()).stdout,
      );
      assertEquals(listing.split("\n").filter((f) => /darwin|win32|\.d\.ts$/.test(f)), []);
      assertStringIncludes(listing, "linux/x64/libonnxruntime.so.1");

      for (const d of ["empty", "home"]) await Deno.mkdir(`${tmp}/${d}`);
      const run = await new Deno.Command("unshare", {
        args: [
          "-n",
          "env",
          "-i",
          "PATH=/usr/local/bin:/usr/bin:/bin",
          `HOME=${tmp}/home`,
          "ACTLAB_VULKAN=swiftshader",
          "ACTLAB_RUN_CAP=200",
          "bash",
          `${tmp}/bundle/run.sh`,
          `${tmp}/logs`,
          "--quick",
        ],
        cwd: `${tmp}/empty`,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(300_000),
      }).output();
      const log = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, log.slice(-3000));
      const read = (f: string) => Deno.readTextFileSync(`${tmp}/logs/${f}`);
      // the probe names both adapters, and where the tests run
      assertStringIncludes(read("probe.txt"), "ONNX Runtime WebGPU (");
      assertStringIncludes(read("probe.txt"), "Deno WebGPU adapter:");
      assertStringIncludes(read("probe.txt"), "CUDA libraries:");
      // the tests ran offline, on SwiftShader, and said so
      assertStringIncludes(read("tests.txt"), "WebGPU adapter: SwiftShader (software)");
      assert(/^ok \| \d+ passed \| 0 failed/m.test(read("tests.txt")), read("tests.txt"));
      const rows = read("bench.jsonl").trim().split("\n").map((l) => JSON.parse(l));
      const webgpu = rows.find((r) => r.engine === "ort-webgpu");
      assert(webgpu?.ms_per_step > 0, JSON.stringify(webgpu));
      assert(webgpu.tokens_per_s > 0 && "mfu" in webgpu, JSON.stringify(webgpu));
      assertStringIncludes(webgpu.device, "SwiftShader");
      assertStringIncludes(read("summary.txt"), "tests exit 0");
      // and left nothing behind in /tmp
      const work = /unpacking into (\S+)/.exec(log)?.[1];
      assert(work?.startsWith("/tmp/actlab-gpu."), log.slice(0, 500));
      assertEquals(await Deno.stat(work!).then(() => "left", () => "gone"), "gone");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
