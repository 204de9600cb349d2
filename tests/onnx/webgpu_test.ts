/**
 * The compiled engine on ONNX Runtime's WebGPU provider, against its CPU provider: every
 * activation trains 30 steps within 2e-3 of the CPU (seen: 5e-7) and its inference logits agree
 * within 1e-4 (seen: 1.4e-7), with CPU fallback disabled, so no node ran on the CPU.
 *
 * The tests run on the GPU that is there: a first worker, started with this process's own Vulkan
 * setup, reports the adapters; `planWebgpuEnv` then keeps a hardware GPU, and takes SwiftShader
 * (Debian's chromium package, a CPU Vulkan driver) only when there is none or when
 * `ACTLAB_VULKAN=swiftshader` asks for it (`ACTLAB_VULKAN=hardware` fails instead of falling to
 * it). Test names say which adapter ran them; the tests skip, saying why, when WebGPU cannot
 * start. The WebGPU work runs in a child process (`_webgpu_worker.ts`), whose environment carries
 * the driver choice; about 1.5 minutes on SwiftShader with 2 cores.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { planWebgpuEnv } from "@actlab/actlab/engine";
import { webgpuTestActivations } from "./_webgpu_worker.ts";

const WORKER = new URL("./_webgpu_worker.ts", import.meta.url).pathname;

type Row = Record<string, unknown> & { kind: string };
type Status = Row & {
  ok: boolean;
  reason: string;
  icd: string | null;
  ort: { name: string; drivers: string[]; software: boolean | null };
  deno: { hardware: boolean; name: string };
};

async function worker(
  job: "status" | "all",
  driverEnv: Readonly<Record<string, string>> = {},
): Promise<Row[]> {
  const env: Record<string, string> = { ...driverEnv };
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    env.XDG_RUNTIME_DIR = await Deno.makeTempDir({ prefix: "actlab-xdg-" });
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, job],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rows = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Row);
  if (!out.success || rows.length === 0) {
    const err = new TextDecoder().decode(out.stderr).split("\n").filter((l) => !l.includes("[W:"));
    throw new Error(`the WebGPU worker failed (${out.code}):\n${err.slice(-20).join("\n")}`);
  }
  return rows;
}

// What WebGPU finds with this process's own Vulkan setup, then the driver the tests run on.
const found = (await worker("status"))[0] as Status;
const plan = planWebgpuEnv({
  hardware: found.deno.hardware || found.ort.software === false,
  name: found.ort.software === false ? found.ort.drivers.join(", ") : found.deno.name,
});
const status = plan.driver === "swiftshader"
  ? (await worker("status", plan.env))[0] as Status
  : found;
const usable = status.ok && plan.driver !== "none";
const skip = usable ? "" : ` (skipped: ${status.ok ? plan.reason : status.reason})`;
/** The adapter, in test names: ONNX Runtime's driver(s) and Deno's adapter of the same process. */
const adapter = `${
  status.ort.drivers.join(" / ") || "no Vulkan driver"
} (Deno: ${status.deno.name})`;
const where = usable ? ` on ${adapter}` : "";

let results: Promise<Row[]> | undefined;
/** The worker's full run, started by the first test that needs it. */
const all = () => results ??= worker("all", plan.env);
const find = async (kind: string, activation?: string): Promise<Row> => {
  const row = (await all()).find((r) =>
    r.kind === kind && (activation === undefined || r.activation === activation)
  );
  if (!row) throw new Error(`the worker reported no ${kind} result for ${activation ?? "it"}`);
  assertEquals(row.error, undefined, String(row.error));
  return row;
};

const options = { ignore: !usable, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: `the WebGPU tests run on the GPU that is there: ${
    usable ? adapter : "none"
  }, chosen as ${plan.driver} (ACTLAB_VULKAN=${plan.choice})`,
  sanitizeResources: false,
  sanitizeOps: false,
  // Fails rather than skips only where a hardware GPU was demanded and none runs the tests.
  ignore: !usable && plan.choice !== "hardware",
  fn: () => {
    console.log(`WebGPU adapter: ${adapter}; ${plan.reason}; ONNX Runtime: ${status.ort.name}`);
    assert(usable, `no WebGPU adapter to test on: ${plan.reason}; ${status.reason}`);
    if (plan.driver === "hardware") {
      // SwiftShader must not stand in for a GPU that is there
      assert(status.ort.software !== true, `ONNX Runtime ran on ${status.ort.name}`);
      assertEquals(status.icd, found.icd, "no driver variable was set over the hardware");
    }
    if (plan.driver === "swiftshader") {
      if (plan.choice === "auto") {
        assert(!found.deno.hardware, `SwiftShader chosen over hardware ${found.deno.name}`);
      }
      assertEquals(status.ort.drivers, ["SwiftShader (software)"]);
    }
  },
});

for (const name of webgpuTestActivations()) {
  Deno.test({
    name: `${name} trains on WebGPU${where} like on the CPU within 2e-3 over 30 steps${skip}`,
    ...options,
    fn: async () => {
      const r = await find("train", name) as Row & {
        cpu: number[];
        webgpu: number[];
        maxLossDiff: number;
        maxParamDiff: number;
      };
      assertEquals(r.webgpu.length, 30);
      assert(r.webgpu.every(Number.isFinite));
      assert(r.maxLossDiff <= 2e-3, `max |Δloss| ${r.maxLossDiff}`);
      // the weights read back from device buffers through the copy session
      assert(r.maxParamDiff <= 2e-3, `max |Δparameter| ${r.maxParamDiff}`);
      assert(r.webgpu[0] !== r.webgpu.at(-1), "the loss never moved: nothing trained");
    },
  });
  Deno.test({
    name: `${name} gives the CPU's logits on WebGPU${where} within 1e-4${skip}`,
    ...options,
    fn: async () => {
      const r = await find("logits", name) as Row & { maxDiff: number; lossDiff: number };
      assert(r.maxDiff <= 1e-4, `max |Δlogit| ${r.maxDiff}`);
      assert(r.lossDiff <= 1e-4, `|Δloss| ${r.lossDiff}`);
    },
  });
}

Deno.test({
  name: `Muon trains on WebGPU${where} like on the CPU, and its state leaves and re-enters the ` +
    `device${skip}`,
  ...options,
  fn: async () => {
    const r = await find("muon") as Row & {
      webgpu: number[];
      maxLossDiff: number;
      maxValueDiff: number;
    };
    assertEquals(r.webgpu.length, 8);
    assert(r.maxLossDiff <= 2e-3, `max |Δloss| ${r.maxLossDiff}`);
    // weights and optimizer buffers, read back from device buffers through the copy session
    assert(r.maxValueDiff <= 2e-3, `max |Δparameter or buffer| ${r.maxValueDiff}`);
  },
});

Deno.test({
  name: `trainGpt on WebGPU evaluates and writes back the weights like on the CPU${skip}`,
  ...options,
  fn: async () => {
    const r = await find("trainGpt") as Row & {
      val: number[];
      maxValDiff: number;
      maxWeightDiff: number;
    };
    assertEquals(r.val.length, 3); // steps 0, 5, 10
    assert(r.maxValDiff <= 2e-3, `max |Δval loss| ${r.maxValDiff}`);
    assert(r.maxWeightDiff <= 2e-3, `max |Δwte| ${r.maxWeightDiff}`);
  },
});

Deno.test({
  name: `dropout masks are the same on WebGPU and the CPU (same seed and step)${skip}`,
  ...options,
  fn: async () => {
    const r = await find("dropout") as Row & { maxLossDiff: number; cpu: number[] };
    assert(r.maxLossDiff <= 2e-3, `max |Δloss| ${r.maxLossDiff}`);
  },
});

Deno.test({
  name:
    `with biases and an untied head, swiglu trains on WebGPU like on the CPU within 2e-3${skip}`,
  ...options,
  fn: async () => {
    const r = await find("biases") as Row & { maxLossDiff: number; maxParamDiff: number };
    assert(r.maxLossDiff <= 2e-3, `max |Δloss| ${r.maxLossDiff}`);
    assert(r.maxParamDiff <= 2e-3, `max |Δparameter| ${r.maxParamDiff}`);
  },
});

Deno.test({
  name: `a WebGPU training step moves only the batch, the step scalars and the loss${skip}`,
  ...options,
  fn: async () => {
    const activations = webgpuTestActivations();
    const r = await find("train", activations.includes("gelu") ? "gelu" : activations[0]) as Row & {
      transfer: { hostToDevice: number; deviceToHost: number };
    };
    // x and y int32 [2, 8] and three float scalars up, loss and gradient norm down
    assertEquals(r.transfer, { hostToDevice: 2 * 2 * 8 * 4 + 3 * 4, deviceToHost: 8 });
  },
});

Deno.test({
  name: `the WebGPU operator table agrees with the binary, op by op${skip}`,
  ...options,
  fn: async () => {
    const rows = (await all()).filter((r) => r.kind === "ops");
    assert(rows.length > 50, `only ${rows.length} ops probed`);
    const wrong = rows.filter((r) => r.runs !== r.expected).map((r) =>
      `${r.op}: the table says ${r.expected ? "present" : "absent"}, the binary ${
        r.runs ? "runs it" : `fails (${r.message})`
      }`
    );
    assertEquals(wrong, []);
  },
});

Deno.test({
  name: `a graph with an op WebGPU lacks fails to open instead of falling back to the CPU${skip}`,
  ...options,
  fn: async () => {
    const r = await find("fallback") as Row & { opened: boolean; message: string };
    assertEquals(r.opened, false);
    assertStringIncludes(r.message, "fallback to CPU EP has been explicitly disabled");
  },
});
