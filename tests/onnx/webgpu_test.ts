/**
 * The compiled engine on ONNX Runtime's WebGPU provider, against its CPU provider: every
 * activation trains 30 steps within 2e-3 of the CPU (seen: 5e-7) and its inference logits agree
 * within 1e-4 (seen: 1.4e-7), with CPU fallback disabled, so no node ran on the CPU. Without a
 * GPU the provider runs on SwiftShader (Debian's chromium package); the tests skip, saying why,
 * when WebGPU cannot start. The WebGPU work runs in a child process (`_webgpu_worker.ts`), which
 * sets `VK_ICD_FILENAMES` for itself only; about 1.5 minutes on SwiftShader with 2 cores.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { listActivations } from "@actlab/actlab/activations";

const WORKER = new URL("./_webgpu_worker.ts", import.meta.url).pathname;

type Row = Record<string, unknown> & { kind: string };

async function worker(job: "status" | "all"): Promise<Row[]> {
  const env: Record<string, string> = {};
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

const status = (await worker("status"))[0] as Row & { ok: boolean; reason: string };
const skip = status.ok ? "" : ` (skipped: WebGPU does not start here: ${status.reason})`;
const where = status.ok ? ` on ${status.adapter}` : "";

let results: Promise<Row[]> | undefined;
/** The worker's full run, started by the first test that needs it. */
const all = () => results ??= worker("all");
const find = async (kind: string, activation?: string): Promise<Row> => {
  const row = (await all()).find((r) =>
    r.kind === kind && (activation === undefined || r.activation === activation)
  );
  if (!row) throw new Error(`the worker reported no ${kind} result for ${activation ?? "it"}`);
  assertEquals(row.error, undefined, String(row.error));
  return row;
};

const options = { ignore: !status.ok, sanitizeResources: false, sanitizeOps: false };

for (const def of listActivations()) {
  Deno.test({
    name: `${def.name} trains on WebGPU${where} like on the CPU within 2e-3 over 30 steps${skip}`,
    ...options,
    fn: async () => {
      const r = await find("train", def.name) as Row & {
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
    name: `${def.name} gives the CPU's logits on WebGPU${where} within 1e-4${skip}`,
    ...options,
    fn: async () => {
      const r = await find("logits", def.name) as Row & { maxDiff: number; lossDiff: number };
      assert(r.maxDiff <= 1e-4, `max |Δlogit| ${r.maxDiff}`);
      assert(r.lossDiff <= 1e-4, `|Δloss| ${r.lossDiff}`);
    },
  });
}

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
    const r = await find("train", "gelu") as Row & {
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
