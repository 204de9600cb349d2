/**
 * A ZeroMQ client socket in TypeScript: ZMTP 3.0 with the NULL mechanism over a TCP connection
 * (RFC 23/ZMTP), enough for a Jupyter client — DEALER sockets for the shell and control channels,
 * a SUB socket for IOPub.
 *
 * Why not `npm:zeromq`: its native addon runs on Deno's libuv shims, and closing sockets
 * intermittently crashes the process (SIGSEGV in addon.node on a tokio thread, seen with Deno
 * 2.9.6 and zeromq 6.8.0 after a few kernel start/stop cycles). This needs nothing native.
 *
 * @module
 */

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;

/** The socket types this client speaks. */
export type ZmtpSocketType = "DEALER" | "SUB";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // version 3.0
  g[11] = 0;
  g.set(encoder.encode("NULL"), 12);
  g[32] = 0; // as-server: no
  return g;
}

function frame(body: Uint8Array, flags: number): Uint8Array {
  const long = body.length > 255;
  const head = long ? 9 : 2;
  const out = new Uint8Array(head + body.length);
  out[0] = flags | (long ? FLAG_LONG : 0);
  if (long) new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
  else out[1] = body.length;
  out.set(body, head);
  return out;
}

function command(name: string, body: Uint8Array): Uint8Array {
  const n = encoder.encode(name);
  const b = new Uint8Array(1 + n.length + body.length);
  b[0] = n.length;
  b.set(n, 1);
  b.set(body, 1 + n.length);
  return frame(b, FLAG_COMMAND);
}

function readyCommand(type: ZmtpSocketType): Uint8Array {
  const props: [string, Uint8Array][] = [["Socket-Type", encoder.encode(type)]];
  const parts: number[] = [];
  for (const [name, value] of props) {
    const n = encoder.encode(name);
    parts.push(n.length, ...n);
    parts.push(
      (value.length >>> 24) & 255,
      (value.length >>> 16) & 255,
      (value.length >>> 8) & 255,
      value.length & 255,
      ...value,
    );
  }
  return command("READY", new Uint8Array(parts));
}

/** Buffered exact reads from a connection. */
class Reader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #chunk = new Uint8Array(64 * 1024);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads exactly `n` bytes; null at end of stream. */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) {
      const got = await this.#conn.read(this.#chunk);
      if (got === null) return null;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(this.#chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

/**
 * One connected ZeroMQ socket (DEALER or SUB) speaking ZMTP 3.0/NULL to a single peer.
 * Messages are lists of frames.
 */
export class ZmtpSocket {
  readonly type: ZmtpSocketType;
  #conn: Deno.TcpConn;
  #reader: Reader;
  #queue: Uint8Array[][] = [];
  #waiters: ((m: Uint8Array[] | null) => void)[] = [];
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.TcpConn, type: ZmtpSocketType) {
    this.#conn = conn;
    this.type = type;
    this.#reader = new Reader(conn);
  }

  /**
   * Connects to `hostname:port` and completes the ZMTP handshake. Throws if the connection is
   * refused or the peer does not speak ZMTP 3 with the NULL mechanism.
   */
  static async connect(
    hostname: string,
    port: number,
    type: ZmtpSocketType,
  ): Promise<ZmtpSocket> {
    const conn = await Deno.connect({ hostname, port, transport: "tcp" });
    const socket = new ZmtpSocket(conn, type);
    try {
      await socket.#handshake();
    } catch (e) {
      socket.close();
      throw e;
    }
    socket.#loop = socket.#readLoop();
    return socket;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  async #handshake(): Promise<void> {
    await this.#writeAll(greeting());
    const peer = await this.#reader.read(64);
    if (!peer) throw new Error("ZMTP peer closed the connection during the greeting");
    if (peer[0] !== 0xff || peer[9] !== 0x7f) throw new Error("peer is not a ZMTP 3 endpoint");
    if (peer[10] < 3) throw new Error(`peer speaks ZMTP ${peer[10]}.x; 3.x is needed`);
    const mechanism = decoder.decode(peer.subarray(12, 32)).replace(/\0+$/, "");
    if (mechanism !== "NULL") {
      throw new Error(`peer wants the ${mechanism} security mechanism; only NULL is supported`);
    }
    await this.#writeAll(readyCommand(this.type));
    const reply = await this.#readFrame();
    if (!reply) throw new Error("ZMTP peer closed the connection during the handshake");
    if (!reply.command) throw new Error("ZMTP peer sent data before READY");
    const nameLength = reply.body[0];
    const name = decoder.decode(reply.body.subarray(1, 1 + nameLength));
    if (name === "ERROR") {
      const reason = decoder.decode(reply.body.subarray(2 + nameLength));
      throw new Error(`ZMTP peer refused the handshake: ${reason}`);
    }
    if (name !== "READY") throw new Error(`expected READY from the ZMTP peer, got ${name}`);
  }

  async #readFrame(): Promise<{ more: boolean; command: boolean; body: Uint8Array } | null> {
    const flags = await this.#reader.read(1);
    if (!flags) return null;
    const long = (flags[0] & FLAG_LONG) !== 0;
    const sizeBytes = await this.#reader.read(long ? 8 : 1);
    if (!sizeBytes) return null;
    const size = long
      ? Number(new DataView(sizeBytes.buffer, sizeBytes.byteOffset, 8).getBigUint64(0))
      : sizeBytes[0];
    const body = size === 0 ? new Uint8Array(0) : await this.#reader.read(size);
    if (!body) return null;
    return {
      more: (flags[0] & FLAG_MORE) !== 0,
      command: (flags[0] & FLAG_COMMAND) !== 0,
      body,
    };
  }

  async #readLoop(): Promise<void> {
    let parts: Uint8Array[] = [];
    try {
      while (!this.#closed) {
        const f = await this.#readFrame();
        if (!f) break;
        if (f.command) {
          const name = decoder.decode(f.body.subarray(1, 1 + f.body[0]));
          if (name === "PING") {
            // PING: TTL (2 bytes) then context; answer PONG with the context.
            const context = f.body.subarray(1 + f.body[0] + 2);
            this.#send([command("PONG", context)]);
          }
          continue;
        }
        parts.push(f.body);
        if (!f.more) {
          const message = parts;
          parts = [];
          const waiter = this.#waiters.shift();
          if (waiter) waiter(message);
          else this.#queue.push(message);
        }
      }
    } catch {
      // connection reset or closed: end of stream
    }
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w(null);
  }

  #send(chunks: Uint8Array[]): Promise<void> {
    const data = chunks.length === 1 ? chunks[0] : concat(chunks);
    this.#writing = this.#writing.then(() => this.#writeAll(data));
    return this.#writing;
  }

  /** Sends one message (a list of frames; strings are sent as UTF-8). */
  send(frames: readonly (string | Uint8Array)[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("ZMTP socket is closed"));
    const bodies = frames.map((f) => (typeof f === "string" ? encoder.encode(f) : f));
    return this.#send(
      bodies.map((b, i) => frame(b, i < bodies.length - 1 ? FLAG_MORE : 0)),
    );
  }

  /** SUB only: subscribes to messages whose first frame starts with `topic` ("" = all). */
  subscribe(topic = ""): Promise<void> {
    if (this.type !== "SUB") throw new Error("subscribe() is for SUB sockets");
    const t = encoder.encode(topic);
    const body = new Uint8Array(1 + t.length);
    body[0] = 1;
    body.set(t, 1);
    return this.#send([frame(body, 0)]);
  }

  /** The next message, or null once the connection is closed. */
  receive(): Promise<Uint8Array[] | null> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Iterates messages until the connection closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array[]> {
    while (true) {
      const m = await this.receive();
      if (m === null) return;
      yield m;
    }
  }

  /** Closes the connection; pending and later receives give null. */
  close(): void {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    for (const w of this.#waiters.splice(0)) w(null);
  }

  /** Resolves when the read loop has stopped (after close or end of stream). */
  closed(): Promise<void> {
    return this.#loop;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
