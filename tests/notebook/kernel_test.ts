/** The Jupyter client itself, against the real Deno kernel. */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { KernelDiedError, startKernel } from "../../lib/notebook/kernel.ts";
import { scratchDir } from "./_util.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "startKernel() connects, reads kernel_info and shuts the kernel down",
  ...opts,
  async fn() {
    const dir = await scratchDir("kernel-");
    try {
      const kernel = await startKernel({ cwd: dir });
      assertEquals(kernel.info.implementation, "Deno kernel");
      assertEquals(kernel.info.implementation_version, Deno.version.deno);
      const types: string[] = [];
      kernel.onIopub((m) => types.push(m.header.msg_type));
      const reply = await kernel.execute("6 * 7");
      assertEquals([reply.status, reply.execution_count], ["ok", 1]);
      await kernel.settle(); // the result may be published just after the kernel reports idle
      assert(types.includes("execute_result"), types.join(", "));
      await kernel.shutdown();
      assert(kernel.exited, "the kernel process has exited");
      await assertRejects(() => kernel.execute("1"), KernelDiedError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the client survives 15 kernel start/stop cycles in one process",
  ...opts,
  async fn() {
    // npm:zeromq crashed this process (SIGSEGV in its addon) within a few cycles under Deno 2.9.6;
    // the TypeScript ZMTP client must not.
    const dir = await scratchDir("cycles-");
    try {
      for (let i = 0; i < 15; i++) {
        const kernel = await startKernel({ cwd: dir });
        const reply = await kernel.execute(`console.log(${i})`);
        assertEquals(reply.status, "ok");
        await kernel.shutdown();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "startKernel() names the folder when the kernel cannot start there",
  ...opts,
  async fn() {
    const missing = `/nonexistent-actlab-${crypto.randomUUID()}`;
    const error = await assertRejects(() => startKernel({ cwd: missing }));
    assert(String(error).includes(missing), String(error));
  },
});
