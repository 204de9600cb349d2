/**
 * Headless Chromium over the DevTools protocol (a WebSocket from Deno): open a page, run
 * JavaScript in it, take screenshots. Used to render static images of Plotly figures and to check
 * the runner's HTML pages in a real browser. Never downloads a browser: it uses an installed one.
 *
 * @module
 */

/** The flags Chromium is always started with (headless, sandbox-free, no network chatter). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--hide-scrollbars",
  "--mute-audio",
];

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
];

/**
 * The path of an installed Chromium: `$ACTLAB_CHROMIUM`, `$CHROME_PATH`, else the usual Linux
 * locations; `undefined` when there is none (install Debian's `chromium` package).
 *
 * @example
 * ```ts
 * import { findChromium } from "./chromium.ts";
 * console.log(findChromium() ?? "no Chromium: apt-get install chromium");
 * ```
 */
export function findChromium(): string | undefined {
  const env = [Deno.env.get("ACTLAB_CHROMIUM"), Deno.env.get("CHROME_PATH")];
  for (const path of [...env, ...CANDIDATES]) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Options for {@link launchChromium}. */
export interface LaunchOptions {
  /** The browser executable (default: {@link findChromium}). */
  executablePath?: string;
  /** Extra command-line flags. */
  args?: readonly string[];
  /** How long to wait for the DevTools endpoint, in ms (default 30 000). */
  timeoutMs?: number;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  method: string;
}

type EventListener = (params: Record<string, unknown>, sessionId?: string) => void;

/**
 * A running headless Chromium. Create one with {@link launchChromium}; always `close()` it.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 * await page.goto("data:text/html,<h1>hi</h1>");
 * console.log(await page.evaluate("document.querySelector('h1').textContent"));
 * await browser.close();
 * ```
 */
export class Browser {
  #ws: WebSocket;
  #process: Deno.ChildProcess;
  #userDir: string;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, Set<EventListener>>();
  #closed = false;

  /** Use {@link launchChromium}. */
  constructor(ws: WebSocket, process: Deno.ChildProcess, userDir: string) {
    this.#ws = ws;
    this.#process = process;
    this.#userDir = userDir;
    ws.onmessage = (event) => this.#onMessage(String(event.data));
    ws.onclose = () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error(`Chromium closed the DevTools connection during ${p.method}`));
      }
      this.#pending.clear();
    };
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text) as {
      id?: number;
      method?: string;
      params?: Record<string, unknown>;
      result?: Record<string, unknown>;
      error?: { message: string; data?: string };
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) {
        p.reject(
          new Error(
            `${p.method} failed: ${msg.error.message}${
              msg.error.data ? ` (${msg.error.data})` : ""
            }`,
          ),
        );
      } else p.resolve(msg.result ?? {});
    } else if (msg.method) {
      for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {}, msg.sessionId);
    }
  }

  /** Sends a DevTools protocol command (to a page when `sessionId` is given). */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error(`browser is closed (${method})`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Listens to a DevTools event; returns a function that stops listening. */
  on(method: string, listener: EventListener): () => void {
    if (!this.#listeners.has(method)) this.#listeners.set(method, new Set());
    this.#listeners.get(method)!.add(listener);
    return () => this.#listeners.get(method)?.delete(listener);
  }

  /** Opens a new tab (about:blank) and attaches to it. */
  async newPage(options: { width?: number; height?: number } = {}): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" }) as {
      targetId: string;
    };
    const { sessionId } = await this.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    }) as { sessionId: string };
    const page = new Page(this, targetId, sessionId);
    await this.send("Page.enable", {}, sessionId);
    await this.send("Runtime.enable", {}, sessionId);
    await page.setViewport(options.width ?? 1100, options.height ?? 800);
    return page;
  }

  /** Closes the browser, waits for it to exit (killing it after 5 s) and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await Promise.race([
        this.send("Browser.close"),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    } catch {
      // already going away
    }
    this.#closed = true;
    try {
      this.#ws.close();
    } catch {
      // closed
    }
    const exited = await Promise.race([
      this.#process.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
    ]);
    if (!exited) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // gone
      }
      await this.#process.status;
    }
    await Deno.remove(this.#userDir, { recursive: true }).catch(() => {});
  }
}

/** A page (tab) in a {@link Browser}. */
export class Page {
  /** Console messages and uncaught exceptions the page produced, as text. */
  readonly console: string[] = [];
  /** Uncaught exceptions only. */
  readonly errors: string[] = [];
  #browser: Browser;
  #sessionId: string;
  #targetId: string;

  /** Use {@link Browser.newPage}. */
  constructor(browser: Browser, targetId: string, sessionId: string) {
    this.#browser = browser;
    this.#targetId = targetId;
    this.#sessionId = sessionId;
    browser.on("Runtime.consoleAPICalled", (p, s) => {
      if (s !== sessionId) return;
      const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
      this.console.push(`${p.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
    });
    browser.on("Runtime.exceptionThrown", (p, s) => {
      if (s !== sessionId) return;
      const d = p.exceptionDetails as { text?: string; exception?: { description?: string } };
      const text = d.exception?.description ?? d.text ?? "exception";
      this.errors.push(text);
      this.console.push(`exception: ${text}`);
    });
  }

  /** Sets the viewport size in CSS pixels. */
  async setViewport(width: number, height: number): Promise<void> {
    await this.#browser.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    }, this.#sessionId);
  }

  /** Navigates and waits for the load event (default timeout 60 s). */
  async goto(url: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    let stop = () => {};
    const loaded = new Promise<void>((resolve) => {
      stop = this.#browser.on("Page.loadEventFired", (_p, s) => {
        if (s === this.#sessionId) resolve();
      });
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const nav = await this.#browser.send("Page.navigate", { url }, this.#sessionId) as {
        errorText?: string;
      };
      if (nav.errorText) throw new Error(`could not open ${url}: ${nav.errorText}`);
      await Promise.race([
        loaded,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${url} did not finish loading within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      stop();
    }
  }

  /**
   * Evaluates a JavaScript expression in the page and returns its value (JSON-serialisable);
   * promises are awaited. Throws with the page's error text when it throws.
   */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.#browser.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }, this.#sessionId) as {
      result?: { value?: unknown };
      exceptionDetails?: { text?: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`page script failed: ${d.exception?.description ?? d.text}`);
    }
    return r.result?.value as T;
  }

  /**
   * Waits until `expression` is truthy in the page, polling every 100 ms; throws after
   * `timeoutMs` (default 30 000) naming the condition.
   */
  async waitFor(expression: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (true) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${expression}; page errors: ${this.errors.join("; ") || "none"}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A PNG screenshot; `fullPage` (default true) captures the whole document, not the viewport. */
  async screenshot(options: { fullPage?: boolean } = {}): Promise<Uint8Array> {
    const params: Record<string, unknown> = { format: "png" };
    if (options.fullPage ?? true) {
      const m = await this.#browser.send("Page.getLayoutMetrics", {}, this.#sessionId) as {
        cssContentSize?: { width: number; height: number };
      };
      const size = m.cssContentSize ?? { width: 1100, height: 800 };
      params.captureBeyondViewport = true;
      params.clip = {
        x: 0,
        y: 0,
        width: Math.ceil(size.width),
        height: Math.min(Math.ceil(size.height), 16_000),
        scale: 1,
      };
    }
    const { data } = await this.#browser.send(
      "Page.captureScreenshot",
      params,
      this.#sessionId,
    ) as {
      data: string;
    };
    return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  }

  /** Closes the tab. */
  async close(): Promise<void> {
    await this.#browser.send("Target.closeTarget", { targetId: this.#targetId });
  }
}

/**
 * Starts headless Chromium with {@link CHROMIUM_FLAGS}, a fresh profile folder and a DevTools
 * endpoint on a free port, and connects to it.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 * const browser = await launchChromium();
 * await browser.close();
 * ```
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const executable = options.executablePath ?? findChromium();
  if (!executable) {
    throw new Error(
      "no Chromium found: install it (Debian: apt-get install chromium) or set ACTLAB_CHROMIUM " +
        "to its path",
    );
  }
  const userDir = await Deno.makeTempDir({ prefix: "actlab-chromium-" });
  const process = new Deno.Command(executable, {
    args: [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${userDir}`,
      "--remote-debugging-port=0",
      "--remote-debugging-address=127.0.0.1",
      ...(options.args ?? []),
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let log = "";
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `Chromium (${executable}) gave no DevTools endpoint within ${timeoutMs} ms. ` +
              `Its output:\n${log.slice(-3000)}`,
          ),
        ),
      timeoutMs,
    );
    (async () => {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          log += value;
          const m = log.match(/DevTools listening on (ws:\/\/\S+)/);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
            break;
          }
        }
        clearTimeout(timer);
        reject(new Error(`Chromium exited before it was ready. Its output:\n${log.slice(-3000)}`));
      } catch (e) {
        clearTimeout(timer);
        reject(e);
      }
    })();
  }).catch(async (e) => {
    try {
      process.kill("SIGKILL");
    } catch {
      // gone
    }
    await process.status;
    await Deno.remove(userDir, { recursive: true }).catch(() => {});
    throw e;
  });
  // Keep draining stderr so Chromium never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch {
      // closed
    }
  })();
  const ws = new WebSocket(endpoint);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) =>
      reject(
        new Error(`could not connect to Chromium at ${endpoint}: ${(e as ErrorEvent).message}`),
      );
  });
  return new Browser(ws, process, userDir);
}
