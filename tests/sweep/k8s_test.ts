/**
 * The Kubernetes Indexed Job that `deno task sweep submit --k8s` writes, validated against the
 * batch/v1 Job schema (kubernetes-models' JSON schemas, generated from Kubernetes' OpenAPI spec)
 * after a round trip through YAML, plus a check that every field is one the schema knows; a
 * broken manifest fails.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { parse } from "@std/yaml";
import { Job } from "kubernetes-models/batch/v1";
import { indexedJobManifest, readFolder, studyStatus } from "@actlab/actlab/sweep";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = `${ROOT}cli/sweep.ts`;
const options = { sanitizeOps: false, sanitizeResources: false };

/** `deno task sweep …` from the checkout. */
async function sweepCli(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

type Container = {
  name: string;
  command: string[];
  env: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
};
type JobShape = {
  metadata: { name: string };
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: Container[];
        volumes: { name: string; persistentVolumeClaim: { claimName: string } }[];
      };
    };
  };
};

/** A valid manifest to break in one place at a time. */
const base = () =>
  indexedJobManifest({
    name: "actlab-demo",
    image: "denoland/deno:2.9.6",
    claim: "actlab",
    mount: "/actlab",
    project: "/actlab",
    study: "/actlab/results/demo",
    tasks: 3,
    maxRunning: 2,
    cpusPerTask: 2,
    threads: 1,
    sweepArgs: ["--preset", "tiny"],
    denoDir: "/actlab/.deno",
  }) as unknown as JobShape;

Deno.test({
  name: "submit --k8s writes an Indexed Job that validates against the batch/v1 Job schema, and " +
    "its pods' command runs the shards and merges them",
  ...options,
  fn: async () => {
    const study = `results/.k8s-test-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const r = await sweepCli([
        "submit",
        "--k8s",
        "--volume-claim",
        "actlab-data",
        "--tasks",
        "2",
        "--max-running",
        "2",
        "--cpus-per-task",
        "2",
        "--mem",
        "2Gi",
        "--preset",
        "tiny",
        "--iters",
        "4",
        "--eval-every",
        "2",
        "--eval-iters",
        "1",
        "--activations",
        "relu",
        "--seeds",
        "2",
        "--out",
        study,
      ]);
      assertEquals(r.code, 0, r.out);
      const text = await Deno.readTextFile(`${ROOT}${study}/k8s/job.yaml`);
      const job = parse(text) as JobShape;
      new Job(job as never).validate(); // throws on any schema violation
      assertEquals(job.spec.completionMode, "Indexed");
      assertEquals([job.spec.completions, job.spec.parallelism], [2, 2]);
      const pod = job.spec.template.spec;
      assertEquals(pod.restartPolicy, "Never");
      assertEquals(pod.volumes[0].persistentVolumeClaim.claimName, "actlab-data");
      const c = pod.containers[0];
      assertEquals(c.volumeMounts[0].mountPath, "/actlab");
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      assertEquals([env.ACTLAB_SHARD_COUNT, env.STUDY], ["2", `/actlab/${study}`]);
      assertStringIncludes(c.command[2], '--out "$STUDY/shards/$JOB_COMPLETION_INDEX"');

      // The pods, run here one after another: the volume's paths mapped onto this checkout.
      const here = { ...env, PROJECT: ROOT, STUDY: `${ROOT}${study}` };
      delete (here as Record<string, string>).DENO_DIR;
      delete (here as Record<string, string>).ACTLAB_DATA_DIR;
      for (const index of ["0", "1"]) {
        const p = await new Deno.Command(c.command[0], {
          args: c.command.slice(1),
          env: {
            ...here,
            JOB_COMPLETION_INDEX: index,
            PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}`,
          },
        }).output();
        const out = new TextDecoder().decode(p.stdout) + new TextDecoder().decode(p.stderr);
        assertEquals(p.code, 0, out);
        assertStringIncludes(out, `shard ${index}/2`);
      }
      const merged = await readFolder(`${ROOT}${study}/merged`);
      assertEquals(merged.trials.map((t) => t.seed), [1, 2]);
      const status = await studyStatus(`${ROOT}${study}`);
      assertEquals([status.kind, status.complete, status.merged], ["k8s", true, true]);
    } finally {
      await Deno.remove(`${ROOT}${study}`, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("a broken Indexed Job fails the batch/v1 Job schema, each break named", () => {
  new Job(base() as never).validate();
  const breaks: [string, (j: JobShape) => void, string][] = [
    [
      "completions as text",
      (j) => (j.spec.completions as unknown) = "3",
      "completions must be integer",
    ],
    [
      "an unknown completion mode",
      (j) => j.spec.completionMode = "indexed",
      "completionMode must be equal to one of",
    ],
    [
      "a container without a name",
      (j) => delete (j.spec.template.spec.containers[0] as Partial<Container>).name,
      "must have required property name",
    ],
    [
      "a claim without a name",
      (j) =>
        delete (j.spec.template.spec.volumes[0].persistentVolumeClaim as Partial<
          { claimName: string }
        >).claimName,
      "must have required property claimName",
    ],
    [
      "a command that is not a list",
      (j) => (j.spec.template.spec.containers[0].command as unknown) = "deno run",
      "command must be array",
    ],
  ];
  for (const [what, breakIt, message] of breaks) {
    const job = base();
    breakIt(job);
    const e = assertThrows(() => new Job(job as never).validate(), Error, undefined, what);
    assert(e.message.includes(message), `${what}: ${e.message}`);
  }
});

Deno.test({
  name: "submit --k8s refuses a study outside the checkout and a missing volume claim",
  ...options,
  fn: async () => {
    const outside = await sweepCli([
      "submit",
      "--k8s",
      "--volume-claim",
      "c",
      "--preset",
      "tiny",
      "--out",
      "/tmp/x-k8s",
      "--dry-run",
    ]);
    assertEquals(outside.code, 2, outside.out);
    assertStringIncludes(outside.out, "is outside the checkout");
    const noClaim = await sweepCli([
      "submit",
      "--k8s",
      "--preset",
      "tiny",
      "--out",
      "results/x",
      "--dry-run",
    ]);
    assertEquals(noClaim.code, 2, noClaim.out);
    assertStringIncludes(noClaim.out, "--k8s needs --volume-claim");
  },
});
