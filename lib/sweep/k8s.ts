/**
 * Kubernetes: a study's shards as an Indexed Job (batch/v1, `completionMode: Indexed`), one
 * completion index per shard. Each pod mounts one volume the user names (a PersistentVolumeClaim
 * holding the actlab checkout with its `node_modules`, Deno's cache, the data and the study
 * folder), runs the ordinary sweep command with `JOB_COMPLETION_INDEX` and `ACTLAB_SHARD_COUNT`
 * (read by `parseShard`) into `shards/<index>`, then the merge that only the last pod to finish
 * gets through. A failed index is retried by the Job itself (`backoffLimitPerIndex`).
 *
 * @module
 */
import { stringify } from "@std/yaml";
import { shellWord } from "./slurm.ts";

/** What {@link indexedJobManifest} writes. */
export interface IndexedJobSpec {
  /** The Job's name (a DNS label: lowercase letters, digits and `-`, at most 63). */
  readonly name: string;
  /** The container image: one with Deno (e.g. `denoland/deno:2.9.6`). */
  readonly image: string;
  /** The PersistentVolumeClaim holding the checkout, the cache, the data and the study. */
  readonly claim: string;
  /** Where the volume is mounted in the pod. */
  readonly mount: string;
  /** The checkout, as the pod sees it. */
  readonly project: string;
  /** The study folder, as the pod sees it. */
  readonly study: string;
  /** Completions: one index per shard. */
  readonly tasks: number;
  /** Pods at once (`parallelism`); default: every index. */
  readonly maxRunning?: number;
  /** CPUs each pod requests. */
  readonly cpusPerTask: number;
  /** ONNX Runtime threads per trial: a pod runs cpus / threads trials side by side. */
  readonly threads: number;
  /** Memory each pod requests and is limited to (`8Gi`). */
  readonly mem?: string;
  /** The sweep's flags (settings, grid axes). */
  readonly sweepArgs: readonly string[];
  /** Deno's cache, as the pod sees it. */
  readonly denoDir: string;
  /** The data folder (holding tinyshakespeare/input.txt), as the pod sees it. */
  readonly dataDir?: string;
  /** Retries of a failed index (`backoffLimitPerIndex`, Kubernetes ≥ 1.29). Default 1. */
  readonly retries?: number;
}

/**
 * A Job name from a study folder's name: lowercase, characters outside `[a-z0-9-]` as `-`,
 * `actlab-` before it, at most 52 characters (room for the pods' suffixes).
 *
 * @example
 * ```ts
 * import { k8sJobName } from "@actlab/actlab/sweep";
 * console.assert(k8sJobName("Size_Grid.v2") === "actlab-size-grid-v2");
 * ```
 */
export function k8sJobName(study: string): string {
  const base = study.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return `actlab-${base || "study"}`.slice(0, 52).replace(/-+$/, "");
}

/** The pod's shell command: the shard's sweep, then the collect. */
function podScript(s: IndexedJobSpec): string {
  const jobs = Math.max(1, Math.floor(s.cpusPerTask / s.threads));
  return [
    "set -eu",
    'echo "actlab: index $JOB_COMPLETION_INDEX of $ACTLAB_SHARD_COUNT on $(hostname)"',
    'cd "$PROJECT"',
    `deno run -A cli/sweep.ts --jobs ${jobs} --out "$STUDY/shards/$JOB_COMPLETION_INDEX" ` +
    s.sweepArgs.map(shellWord).join(" "),
    'deno run -A cli/sweep.ts collect "$STUDY" --if-complete',
  ].join("\n");
}

/**
 * The Indexed Job of a study, as a plain object (see {@link manifestYaml} for the file): one
 * completion index per shard, `parallelism` at most `maxRunning`, each pod requesting
 * `cpusPerTask` CPUs and mounting the claim.
 *
 * @example
 * ```ts
 * import { indexedJobManifest } from "@actlab/actlab/sweep";
 * const job = indexedJobManifest({
 *   name: "actlab-demo", image: "denoland/deno:2.9.6", claim: "actlab", mount: "/actlab",
 *   project: "/actlab", study: "/actlab/results/demo", tasks: 4, maxRunning: 2,
 *   cpusPerTask: 2, threads: 1, sweepArgs: ["--preset", "tiny"], denoDir: "/actlab/.deno",
 * });
 * console.assert((job.spec as { completionMode: string }).completionMode === "Indexed");
 * ```
 */
export function indexedJobManifest(s: IndexedJobSpec): Record<string, unknown> {
  const labels = { "app.kubernetes.io/name": "actlab", "app.kubernetes.io/instance": s.name };
  const env = [
    { name: "ACTLAB_SHARD_COUNT", value: String(s.tasks) },
    { name: "PROJECT", value: s.project },
    { name: "STUDY", value: s.study },
    { name: "DENO_DIR", value: s.denoDir },
    ...(s.dataDir ? [{ name: "ACTLAB_DATA_DIR", value: s.dataDir }] : []),
    { name: "DENO_NO_UPDATE_CHECK", value: "1" },
    { name: "NO_COLOR", value: "1" },
  ];
  const memory = s.mem ? { memory: s.mem } : {};
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: s.name, labels: { ...labels } },
    spec: {
      completionMode: "Indexed",
      completions: s.tasks,
      parallelism: Math.min(s.maxRunning ?? s.tasks, s.tasks),
      backoffLimitPerIndex: s.retries ?? 1,
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          restartPolicy: "Never",
          containers: [{
            name: "sweep",
            image: s.image,
            workingDir: s.project,
            command: ["/bin/sh", "-c", podScript(s)],
            env,
            resources: {
              requests: { cpu: String(s.cpusPerTask), ...memory },
              ...(s.mem ? { limits: { ...memory } } : {}),
            },
            volumeMounts: [{ name: "actlab", mountPath: s.mount }],
          }],
          volumes: [{ name: "actlab", persistentVolumeClaim: { claimName: s.claim } }],
        },
      },
    },
  };
}

/**
 * A manifest as YAML, with `comment` lines (`# …`) above it.
 *
 * @example
 * ```ts
 * import { manifestYaml } from "@actlab/actlab/sweep";
 * manifestYaml({ apiVersion: "batch/v1", kind: "Job" }, "a job");
 * // "# a job\napiVersion: batch/v1\nkind: Job\n"
 * ```
 */
export function manifestYaml(manifest: Record<string, unknown>, comment = ""): string {
  const head = comment ? comment.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n") + "\n" : "";
  return head + (stringify(manifest, { lineWidth: -1 }) as string);
}
