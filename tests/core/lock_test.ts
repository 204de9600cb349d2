/** lockFolder(): who holds a lock is described from what its file records, never "undefined". */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { hostname } from "node:os";
import { lockFolder } from "../../lib/core/lock.ts";

Deno.test("a lock file with missing fields is described without 'undefined' and not taken", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [Record<string, unknown>, string][] = [
      [{}, "in use by another process (its lock file records no pid, host, start time)"],
      [
        { what: "sweep", pid: 4242 },
        "in use by another sweep (pid 4242; its lock file records no host, start time)",
      ],
      [
        { what: "sweep", host: "node7", since: "2026-01-01T00:00:00Z" },
        "in use by another sweep (on node7, since 2026-01-01T00:00:00Z; its lock file records no pid)",
      ],
    ];
    for (const [owner, message] of cases) {
      await Deno.writeTextFile(`${dir}/.lock`, JSON.stringify(owner));
      const err = await assertRejects(() => lockFolder(dir, "sweep"), Error);
      assertStringIncludes(err.message, message);
      assert(!err.message.includes("undefined"), err.message);
      assertStringIncludes(err.message, `delete ${dir}/.lock if that process is gone`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a complete lock of a process gone from this host is taken over; a live one is refused",
  ignore: Deno.build.os !== "linux", // liveness is read from /proc
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const dead = new Deno.Command("true").spawn();
      await dead.status;
      const owner = {
        pid: dead.pid,
        host: hostname(),
        since: "2026-01-01T00:00:00Z",
        what: "sweep",
      };
      await Deno.writeTextFile(`${dir}/.lock`, JSON.stringify(owner));
      const lock = await lockFolder(dir, "sweep");
      assertEquals(lock.tookOverFrom, owner);
      const err = await assertRejects(() => lockFolder(dir, "deno task notebooks"), Error);
      assertStringIncludes(
        err.message,
        `in use by another sweep (pid ${Deno.pid} on ${hostname()}, since `,
      );
      await lock.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
