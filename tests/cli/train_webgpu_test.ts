/**
 * `deno task train --engine ort --provider webgpu` on the GPU that is there (`planWebgpuEnv`: a
 * hardware adapter when there is one, else SwiftShader, the CPU Vulkan driver in Debian's chromium
 * package, pointed at in the child process only): the JSON lines name the provider and the losses
 * match `--provider cpu`.
 */
import { assert, assertEquals } from "@std/assert";
import { planWebgpuEnv, webgpuAdapter } from "@actlab/actlab/engine";

const CLI = new URL("../../cli/train.ts", import.meta.url).pathname;
const found = await webgpuAdapter();
const plan = planWebgpuEnv(found);
const usable = plan.driver !== "none";
if (!usable) console.log(`skipping the WebGPU CLI test: ${plan.reason}`);

async function train(provider: string): Promise<Record<string, unknown>[]> {
  const env: Record<string, string> = { ...Deno.env.toObject(), ...plan.env };
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      ...["--preset", "tiny", "--dataset", "synthetic", "--engine", "ort"],
      ...["--provider", provider, "--iters", "20", "--eval-every", "10", "--eval-iters", "2"],
      ...["--batch-size", "4", "--json"],
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr.slice(-2000));
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: `deno task train --engine ort --provider webgpu trains like --provider cpu (2e-3), on ${
    plan.driver === "hardware" ? found.name : plan.driver
  }`,
  ignore: !usable,
  sanitizeResources: false,
  fn: async () => {
    const gpu = await train("webgpu");
    const cpu = await train("cpu");
    assert(gpu.every((l) => l.provider === "webgpu"), JSON.stringify(gpu[0]));
    assert(cpu.every((l) => l.provider === "cpu"));
    const evals = (ls: Record<string, unknown>[]) => ls.filter((l) => "val_loss" in l);
    assertEquals(evals(gpu).map((l) => l.iter), [0, 10, 20]);
    for (const [i, l] of evals(gpu).entries()) {
      const c = evals(cpu)[i];
      for (const k of ["train_loss", "val_loss"]) {
        const d = Math.abs((l[k] as number) - (c[k] as number));
        assert(d <= 2e-3, `${k} at step ${l.iter}: webgpu ${l[k]} vs cpu ${c[k]}`);
      }
    }
  },
});
