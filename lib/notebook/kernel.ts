/**
 * A Jupyter client for Deno's own kernel (`deno jupyter --kernel --conn FILE`), over ZeroMQ
 * (ZMTP 3.0 spoken by `_zmtp.ts`, no native addon).
 *
 * The kernel is started in a folder of your choice (it resolves `deno.json`, the import map and
 * `node_modules` from there), spoken to over the Jupyter protocol, and shut down. IOPub messages
 * are handed to listeners as they arrive, routed by nobody: the caller matches them to requests
 * by `parent_header.msg_id`, which keeps outputs that the kernel publishes after it reported idle.
 *
 * @module
 */
import {
  type ConnectionInfo,
  decodeMessage,
  encodeMessage,
  type Message,
  newHeader,
} from "./_protocol.ts";
import { ZmtpSocket } from "./_zmtp.ts";

export type { Message, MessageHeader } from "./_protocol.ts";

/** Options for {@link startKernel}. */
export interface KernelOptions {
  /** Working directory of the kernel: where it looks for `deno.json` (default: the current one). */
  cwd?: string;
  /** Extra environment variables for the kernel, merged over this process's environment. */
  env?: Record<string, string>;
  /** The `deno` executable (default: the one running this code, `Deno.execPath()`). */
  denoPath?: string;
  /** How long to wait for the kernel to answer its first request, in ms (default 60 000). */
  startTimeoutMs?: number;
}

/** Options for {@link Kernel.execute}. */
export interface ExecuteOptions {
  /** Give up after this many ms; the kernel is then killed (default: no limit). */
  timeoutMs?: number;
  /** Run without counting it as a cell: no history, no execution count, no result output. */
  silent?: boolean;
}

/** The content of an `execute_reply`. */
export interface ExecuteReply {
  /** `ok`, `error`, or `aborted`. */
  status: "ok" | "error" | "aborted";
  /** The execution counter the kernel assigned to this request. */
  execution_count: number | null;
  /** Error class name, when `status` is `error`. */
  ename?: string;
  /** Error message, when `status` is `error`. */
  evalue?: string;
  /** Traceback lines (may contain ANSI colour codes), when `status` is `error`. */
  traceback?: string[];
}

/** The content of a `kernel_info_reply`, as far as a notebook needs it. */
export interface KernelInfo {
  /** "Deno kernel". */
  implementation?: string;
  /** Deno's version. */
  implementation_version?: string;
  /** Language name, version, file extension, … (copied into the notebook's metadata). */
  language_info?: Record<string, unknown>;
  /** Anything else the kernel reports. */
  [key: string]: unknown;
}

/** Thrown when a request outlives its `timeoutMs`. */
export class KernelTimeoutError extends Error {
  /**
   * Makes the error.
   *
   * @param message what timed out and what to do about it
   */
  constructor(message: string) {
    super(message);
    this.name = "KernelTimeoutError";
  }
}

/** Thrown when the kernel process exits while a request is pending. */
export class KernelDiedError extends Error {
  /**
   * Makes the error.
   *
   * @param message what died, with the kernel's last output
   */
  constructor(message: string) {
    super(message);
    this.name = "KernelDiedError";
  }
}

const LOG_LIMIT = 16_000;

/**
 * Picks `count` distinct free TCP ports for the kernel to bind. They come from below Linux's
 * ephemeral range (32768+), so outgoing connections elsewhere in this process cannot take one
 * between this check and the kernel's bind; a clash left over is retried by {@link startKernel}.
 */
function freePorts(count: number): number[] {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count && tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (ports.includes(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      ports.push(port);
    } catch {
      // taken: try another
    }
  }
  while (ports.length < count) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * A running Deno kernel and the client sockets connected to it. Create one with
 * {@link startKernel}; always {@link Kernel.shutdown} it.
 *
 * @example Run one cell
 * ```ts ignore
 * import { startKernel } from "./kernel.ts";
 * const kernel = await startKernel({ cwd: "notebooks" });
 * kernel.onIopub((msg) => console.log(msg.header.msg_type));
 * const reply = await kernel.execute("1 + 1");
 * console.log(reply.status); // "ok"
 * await kernel.shutdown();
 * ```
 */
export class Kernel {
  /** What the kernel said about itself at start (`kernel_info_reply`). */
  info: KernelInfo = {};
  /** Epoch ms of the last IOPub message received. */
  lastIopubAt = 0;

  #conn: ConnectionInfo;
  #session = crypto.randomUUID();
  #process: Deno.ChildProcess;
  #dir: string;
  #shell?: ZmtpSocket;
  #control?: ZmtpSocket;
  #iopub?: ZmtpSocket;
  #listeners = new Set<(msg: Message) => void>();
  #replies = new Map<string, (msg: Message) => void>();
  #idle = new Map<string, () => void>();
  #log = "";
  #exited = false;
  #exitCode: number | null = null;
  #exit: Promise<void>;
  #closed = false;
  #loops: Promise<void>[] = [];

  /** Use {@link startKernel}. */
  constructor(conn: ConnectionInfo, process: Deno.ChildProcess, dir: string) {
    this.#conn = conn;
    this.#process = process;
    this.#dir = dir;
    this.#exit = process.status.then((s) => {
      this.#exited = true;
      this.#exitCode = s.code;
    });
    this.#loops.push(this.#pump(process.stdout), this.#pump(process.stderr));
  }

  /** Connects the shell, control and IOPub sockets, retrying until the kernel listens. */
  async connect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const open = async (port: number, type: "DEALER" | "SUB"): Promise<ZmtpSocket> => {
      while (true) {
        if (this.#exited) throw this.#dead("start-up");
        try {
          return await ZmtpSocket.connect(this.#conn.ip, port, type);
        } catch (e) {
          if (Date.now() > deadline) {
            throw new KernelTimeoutError(
              `could not connect to the Deno kernel on port ${port} within ${timeoutMs} ms ` +
                `(${(e as Error).message}). Its output so far:\n${this.#log.trim() || "(none)"}`,
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    this.#iopub = await open(this.#conn.iopub_port, "SUB");
    await this.#iopub.subscribe("");
    this.#shell = await open(this.#conn.shell_port, "DEALER");
    this.#control = await open(this.#conn.control_port, "DEALER");
    this.#loops.push(this.#readShell(this.#shell), this.#readIopub(this.#iopub));
  }

  /** Whether the kernel process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last ~16 kB the kernel process wrote to its own stdout and stderr. */
  get log(): string {
    return this.#log;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#log = (this.#log + decoder.decode(chunk, { stream: true })).slice(-LOG_LIMIT);
      }
    } catch {
      // the process went away; nothing more to read
    }
  }

  async #readShell(shell: ZmtpSocket): Promise<void> {
    try {
      for await (const frames of shell) {
        const msg = this.#decode(frames);
        const id = msg?.parent_header.msg_id;
        if (msg && id) this.#replies.get(id)?.(msg);
      }
    } catch (e) {
      if (!this.#closed) this.#log += `\n[actlab] shell socket failed: ${e}`;
    }
  }

  async #readIopub(iopub: ZmtpSocket): Promise<void> {
    try {
      for await (const frames of iopub) {
        const msg = this.#decode(frames);
        if (!msg) continue;
        this.lastIopubAt = Date.now();
        const parent = msg.parent_header.msg_id;
        if (msg.header.msg_type === "status" && parent) {
          if ((msg.content as { execution_state?: string }).execution_state === "idle") {
            this.#idle.get(parent)?.();
          }
        }
        for (const listener of this.#listeners) listener(msg);
      }
    } catch (e) {
      if (!this.#closed) this.#log += `\n[actlab] iopub socket failed: ${e}`;
    }
  }

  #decode(frames: Uint8Array[]): Message | undefined {
    try {
      return decodeMessage(this.#conn.key, frames);
    } catch (e) {
      this.#log += `\n[actlab] dropped a message: ${(e as Error).message}`;
      return undefined;
    }
  }

  /**
   * Calls `listener` with every IOPub message (outputs, status, display updates) from now on.
   * Returns a function that removes the listener.
   */
  onIopub(listener: (msg: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #send(
    socket: ZmtpSocket,
    msgType: string,
    content: unknown,
  ): Promise<string> {
    const header = newHeader(this.#session, msgType);
    await socket.send(
      encodeMessage(this.#conn.key, { header, parent_header: {}, metadata: {}, content }),
    );
    return header.msg_id;
  }

  #dead(what: string): KernelDiedError {
    return new KernelDiedError(
      `the Deno kernel exited (code ${this.#exitCode}) during ${what}. ` +
        `Its last output:\n${this.#log.trim().slice(-4000) || "(none)"}`,
    );
  }

  /**
   * Sends a request on the shell channel and waits for its reply and for the kernel to report
   * idle for it. Rejects with {@link KernelTimeoutError} after `timeoutMs` and with
   * {@link KernelDiedError} if the kernel exits first.
   */
  request(
    msgType: string,
    content: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<Message> {
    if (this.#exited) return Promise.reject(this.#dead(msgType));
    return this.#requestWithHeader(newHeader(this.#session, msgType), content, options.timeoutMs);
  }

  /**
   * Executes `code` as one cell and resolves with the `execute_reply` once the kernel is idle
   * again. Outputs arrive through {@link Kernel.onIopub} listeners, tagged with `msgId`.
   */
  async execute(
    code: string,
    options: ExecuteOptions & { onSent?: (msgId: string) => void } = {},
  ): Promise<ExecuteReply & { msgId: string }> {
    if (this.#exited) throw this.#dead("execute_request");
    const header = newHeader(this.#session, "execute_request");
    options.onSent?.(header.msg_id);
    const msg = await this.#requestWithHeader(header, {
      code,
      silent: options.silent ?? false,
      store_history: !options.silent,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    }, options.timeoutMs);
    return { ...(msg.content as unknown as ExecuteReply), msgId: header.msg_id };
  }

  async #requestWithHeader(
    header: ReturnType<typeof newHeader>,
    content: unknown,
    timeoutMs: number | undefined,
  ): Promise<Message> {
    const id = header.msg_id;
    const reply = new Promise<Message>((resolve) => this.#replies.set(id, resolve));
    const idle = new Promise<void>((resolve) => this.#idle.set(id, resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            reject(
              new KernelTimeoutError(`no answer to ${header.msg_type} within ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
      }
    });
    const died = this.#exit.then(() => {
      throw this.#dead(header.msg_type);
    });
    try {
      if (!this.#shell) throw new Error("the kernel is not connected: call connect() first");
      await this.#shell.send(
        encodeMessage(this.#conn.key, { header, parent_header: {}, metadata: {}, content }),
      );
      const [msg] = await Promise.race([Promise.all([reply, idle]), timeout, died]);
      return msg;
    } finally {
      clearTimeout(timer);
      this.#replies.delete(id);
      this.#idle.delete(id);
      died.catch(() => {});
    }
  }

  /**
   * Waits until no IOPub message has arrived for `quietMs` (default 250), or `maxMs` passed
   * (default 5000). Call it after the last cell: the kernel may publish outputs after idle.
   */
  async settle(options: { quietMs?: number; maxMs?: number } = {}): Promise<void> {
    const quiet = options.quietMs ?? 250;
    const deadline = Date.now() + (options.maxMs ?? 5000);
    while (Date.now() < deadline && !this.#exited) {
      const since = Date.now() - this.lastIopubAt;
      if (since >= quiet) return;
      await new Promise((r) => setTimeout(r, Math.min(quiet - since, deadline - Date.now())));
    }
  }

  /** Waits until the kernel answers `kernel_info_request` and IOPub delivers its status. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (this.#exited) throw this.#dead("start-up");
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new KernelTimeoutError(
          `the Deno kernel did not answer within ${timeoutMs} ms of starting. ` +
            `Its output so far:\n${this.#log.trim() || "(none)"}`,
        );
      }
      try {
        // Waiting for idle proves IOPub is subscribed, so no early output is lost.
        const msg = await this.request("kernel_info_request", {}, {
          timeoutMs: Math.min(1000, left),
        });
        this.info = msg.content as KernelInfo;
        return;
      } catch (e) {
        if (e instanceof KernelDiedError) throw e;
      }
    }
  }

  /**
   * Asks the kernel to shut down (control channel), waits up to 3 s, then kills it; closes the
   * sockets and removes the connection file. Safe to call twice.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    if (!this.#exited) {
      try {
        if (this.#control) {
          await this.#send(this.#control, "shutdown_request", { restart: false });
        }
      } catch {
        // fall through to the kill below
      }
      const exited = await Promise.race([
        this.#exit.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 3000)),
      ]);
      if (!exited) {
        try {
          this.#process.kill("SIGKILL");
        } catch {
          // already gone
        }
        await this.#exit;
      }
    }
    await this.#exit;
    this.#closed = true;
    this.#shell?.close();
    this.#control?.close();
    this.#iopub?.close();
    await Promise.allSettled(this.#loops);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  /** The kernel process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Interrupts the kernel as Jupyter's `interrupt_kernel` does for Deno's kernelspec (and VS
   * Code's Stop): SIGINT to the kernel process. Deno 2.9.6's kernel exits on it unless the code
   * running installed a SIGINT listener (actlab's long operations do, see `lib/core/interrupt.ts`).
   */
  interrupt(): void {
    if (this.#exited) return;
    try {
      this.#process.kill("SIGINT");
    } catch {
      // already gone
    }
  }

  /** Kills the kernel process at once (used after a timeout: an interrupt kills it anyway). */
  kill(): void {
    if (!this.#exited) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Starts `deno jupyter --kernel` in `options.cwd`, connects to it and waits until it answers.
 *
 * @example
 * ```ts ignore
 * import { startKernel } from "./kernel.ts";
 * const kernel = await startKernel({ cwd: "notebooks", env: { ACTLAB_FAST: "1" } });
 * await kernel.execute("console.log(Deno.env.get('ACTLAB_FAST'))");
 * await kernel.shutdown();
 * ```
 */
export async function startKernel(options: KernelOptions = {}): Promise<Kernel> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      // Another process took one of the chosen ports before the kernel bound it: pick again.
      if (!(e instanceof PortClash)) throw e;
      if (attempt >= 5) {
        throw new KernelDiedError(
          "the Deno kernel could not bind its ports in 5 attempts (address already in use)",
        );
      }
    }
  }
}

async function startOnce(options: KernelOptions): Promise<Kernel> {
  const dir = await Deno.makeTempDir({ prefix: "actlab-kernel-" });
  const [shell, iopub, stdin, control, hb] = freePorts(5);
  const conn: ConnectionInfo = {
    ip: "127.0.0.1",
    transport: "tcp",
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: crypto.randomUUID(),
    signature_scheme: "hmac-sha256",
    kernel_name: "deno",
  };
  const connFile = `${dir}/connection.json`;
  await Deno.writeTextFile(connFile, JSON.stringify(conn));
  const deno = options.denoPath ?? Deno.execPath();
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command(deno, {
      args: ["jupyter", "--kernel", "--conn", connFile],
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(
      `could not start the Deno kernel (${deno} jupyter --kernel): ${(e as Error).message}. ` +
        `Check that the path exists and that cwd ${options.cwd ?? "."} is a folder.`,
    );
  }
  const kernel = new Kernel(conn, process, dir);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  try {
    const t0 = Date.now();
    await kernel.connect(startTimeoutMs);
    await kernel.ready(Math.max(1000, startTimeoutMs - (Date.now() - t0)));
  } catch (e) {
    kernel.kill();
    await kernel.shutdown(); // also drains the kernel's output into kernel.log
    if (/AddrInUse|Address already in use/.test(kernel.log)) throw new PortClash();
    throw e;
  }
  return kernel;
}

/** The kernel could not bind a chosen port; {@link startKernel} picks others. */
class PortClash extends Error {}
