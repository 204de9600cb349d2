/** The scheduler's environment: complete ones give a shard, partial or inconsistent ones an error. */
import { assertEquals, assertThrows } from "@std/assert";
import { inShard, parseShard, sweepTrials } from "@actlab/actlab/sweep";

Deno.test("a Slurm array with a step and an offset maps task ids onto shards 0 … n−1", () => {
  const env = (id: number) => ({
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_COUNT: "3",
    SLURM_ARRAY_TASK_MIN: "10",
    SLURM_ARRAY_TASK_STEP: "5",
  });
  assertEquals([10, 15, 20].map((id) => parseShard(undefined, env(id))), [
    { index: 0, count: 3 },
    { index: 1, count: 3 },
    { index: 2, count: 3 },
  ]);
  assertThrows(() => parseShard(undefined, env(12)), Error, "not MIN 10 plus a multiple of STEP 5");
  assertThrows(() => parseShard(undefined, env(25)), Error, "outside the 3 shards");
});

Deno.test("a partial scheduler environment is an error naming the missing variable", () => {
  assertThrows(
    () => parseShard(undefined, { SLURM_ARRAY_TASK_ID: "1" }),
    Error,
    "SLURM_ARRAY_TASK_COUNT is not",
  );
  assertThrows(
    () => parseShard(undefined, { SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "0" }),
    Error,
    "SLURM_ARRAY_TASK_ID is not",
  );
  assertThrows(
    () => parseShard(undefined, { ACTLAB_SHARD_COUNT: "4" }),
    Error,
    "JOB_COMPLETION_INDEX is not",
  );
  assertThrows(
    () => parseShard(undefined, { JOB_COMPLETION_INDEX: "1" }),
    Error,
    "ACTLAB_SHARD_COUNT",
  );
  assertThrows(
    () => parseShard(undefined, { SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" }),
    Error,
    'SLURM_ARRAY_TASK_ID="x" is not a whole number',
  );
  assertEquals(
    parseShard("1/2", { SLURM_ARRAY_TASK_ID: "1" }),
    { index: 1, count: 2 },
    "--shard wins",
  );
  assertEquals(parseShard(undefined, {}), undefined);
});

Deno.test("inShard() agrees with sweepTrials() on every trial", () => {
  const acts = ["relu", "gelu", "swiglu"], seeds = [1, 2, 5];
  for (const index of [0, 1, 2, 3]) {
    const shard = { index, count: 4 };
    const mine = sweepTrials(acts, seeds, shard).map((t) => `${t.activation}${t.seed}`);
    const by = sweepTrials(acts, seeds).filter((t) => inShard(t, acts, seeds, shard))
      .map((t) => `${t.activation}${t.seed}`);
    assertEquals(by, mine);
  }
  assertEquals(inShard({ activation: "silu", seed: 1 }, acts, seeds), false);
});
