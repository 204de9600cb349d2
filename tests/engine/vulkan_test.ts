/**
 * Choosing the Vulkan driver of WebGPU work: the hardware GPU when there is one, SwiftShader only
 * when there is none or when asked for, the caller's own driver variables respected, and
 * `ACTLAB_VULKAN=hardware` never falling to SwiftShader; driver libraries named by what they are.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { describeVulkanDriver, planWebgpuEnv } from "@actlab/actlab/engine";

const ICD = "/opt/swiftshader/vk_swiftshader_icd.json";
const gpu = { hardware: true, name: "NVIDIA H100 80GB HBM3" };
const none = { hardware: false, name: "llvmpipe (LLVM 15.0.6, 256 bits)" };
const base = { choice: "auto", swiftshader: ICD, callerDrivers: null } as const;

Deno.test("planWebgpuEnv() keeps a hardware GPU and sets no driver over it", () => {
  const plan = planWebgpuEnv(gpu, base);
  assertEquals(plan.driver, "hardware");
  assertEquals(plan.env, {});
  assertStringIncludes(plan.reason, "NVIDIA H100");
});

Deno.test("planWebgpuEnv() takes SwiftShader only where no hardware adapter exists", () => {
  const plan = planWebgpuEnv(none, base);
  assertEquals(plan.driver, "swiftshader");
  assertEquals(plan.env, { VK_DRIVER_FILES: ICD, VK_ICD_FILENAMES: ICD });
  assertStringIncludes(plan.reason, "NVIDIA_DRIVER_CAPABILITIES");
  assertEquals(planWebgpuEnv(none, { ...base, swiftshader: null }).driver, "none");
});

Deno.test("planWebgpuEnv() takes SwiftShader over hardware only when asked for", () => {
  const plan = planWebgpuEnv(gpu, { ...base, choice: "swiftshader" });
  assertEquals(plan.driver, "swiftshader");
  assertEquals(plan.env.VK_DRIVER_FILES, ICD);
  const missing = planWebgpuEnv(gpu, { ...base, choice: "swiftshader", swiftshader: null });
  assertEquals(missing.driver, "none");
  assertStringIncludes(missing.reason, "chromium");
});

Deno.test("planWebgpuEnv() with ACTLAB_VULKAN=hardware never falls to SwiftShader", () => {
  const plan = planWebgpuEnv(none, { ...base, choice: "hardware" });
  assertEquals(plan.driver, "none");
  assertEquals(plan.env, {});
  assertStringIncludes(plan.reason, "ACTLAB_VULKAN=hardware");
  assertEquals(planWebgpuEnv(gpu, { ...base, choice: "hardware" }).driver, "hardware");
});

Deno.test("planWebgpuEnv() respects the caller's own VK_DRIVER_FILES / VK_ICD_FILENAMES", () => {
  const plan = planWebgpuEnv(none, { ...base, callerDrivers: "/etc/my_icd.json" });
  assertEquals(plan.driver, "caller");
  assertEquals(plan.env, {});
});

/** Runs `code` in a fresh Deno with `env` (no variable is set in this shared test process). */
async function evalWith(env: Record<string, string>, code: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: new URL("../..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("planWebgpuEnv() reads ACTLAB_VULKAN and refuses a value it does not know", async () => {
  const code = `import { planWebgpuEnv } from "./lib/engine/vulkan.ts";
    console.log(planWebgpuEnv({ hardware: true, name: "x" }, { swiftshader: "/i.json" }).driver);`;
  assertEquals((await evalWith({ ACTLAB_VULKAN: "swiftshader" }, code)).stdout, "swiftshader");
  assertEquals((await evalWith({ ACTLAB_VULKAN: "hardware" }, code)).stdout, "hardware");
  assertStringIncludes(
    (await evalWith({ ACTLAB_VULKAN: "fast" }, code)).stderr,
    "ACTLAB_VULKAN=fast",
  );
});

Deno.test("describeVulkanDriver() names drivers and marks the CPU ones as software", () => {
  assertEquals(describeVulkanDriver("/usr/lib/chromium/libvk_swiftshader.so"), {
    library: "/usr/lib/chromium/libvk_swiftshader.so",
    name: "SwiftShader (software)",
    software: true,
  });
  assert(describeVulkanDriver("libvulkan_lvp.so").software);
  assertEquals(describeVulkanDriver("libGLX_nvidia.so.0").name, "NVIDIA");
  assertEquals(describeVulkanDriver("libGLX_nvidia.so.0").software, false);
  assertEquals(describeVulkanDriver("libvulkan_radeon.so").name, "AMD (RADV)");
  assertEquals(describeVulkanDriver("libfoo.so").name, "libfoo.so");
});

Deno.test({
  name: "vulkanIcds() reads the manifest VK_DRIVER_FILES names, and only that one",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const manifest = `${dir}/sw.json`;
      const icd = { file_format_version: "1.0.0", ICD: { library_path: "./libvk_swiftshader.so" } };
      await Deno.writeTextFile(manifest, JSON.stringify(icd));
      const out = await evalWith(
        { VK_DRIVER_FILES: manifest },
        `import { vulkanIcds } from "./lib/engine/vulkan.ts";
         console.log(JSON.stringify(vulkanIcds().map((i) => [i.manifest, i.name])));`,
      );
      assertEquals(JSON.parse(out.stdout), [[manifest, "SwiftShader (software)"]]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
