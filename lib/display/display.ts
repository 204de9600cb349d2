/**
 * Display objects: values that render as rich output in Deno's Jupyter kernel and as plain text
 * everywhere else.
 *
 * A display object carries `Symbol.for("Jupyter.display")`, a method returning a MIME bundle; the
 * kernel calls it when the object is a cell's value or is passed to `Deno.jupyter.display`. Its
 * `toString()` and `Deno.customInspect` give the bundle's `text/plain`, so `console.log` in a
 * terminal prints something sensible.
 *
 * @module
 */

/** The symbol Deno's kernel looks for on a cell's value (`Symbol.for("Jupyter.display")`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

const INSPECT = Symbol.for("Deno.customInspect");

/**
 * A Jupyter MIME bundle: MIME type → data. Strings for text and base64 images, objects for JSON
 * types such as `application/vnd.plotly.v1+json`.
 */
export type MimeBundle = { "text/plain": string } & Record<string, string | object>;

/** Anything that renders itself as a MIME bundle in Deno's Jupyter kernel. */
export interface Displayable {
  /** Returns the MIME bundle the kernel shows. */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** Whether `value` is a {@link Displayable}. */
export function isDisplayable(value: unknown): value is Displayable {
  return typeof value === "object" && value !== null &&
    typeof (value as Record<symbol, unknown>)[JUPYTER_DISPLAY] === "function";
}

/**
 * A {@link Displayable} built from a bundle (or a function producing one), whose `toString()`
 * is its `text/plain`.
 *
 * @example
 * ```ts
 * import { DisplayObject } from "./display.ts";
 * const d = new DisplayObject({ "text/plain": "hello", "text/html": "<b>hello</b>" });
 * console.assert(String(d) === "hello");
 * ```
 */
export class DisplayObject implements Displayable {
  #bundle?: () => MimeBundle;

  /**
   * Wraps a bundle.
   *
   * @param bundle the bundle, or a function computing it on each display; subclasses that
   * override {@link DisplayObject.bundle} pass nothing
   */
  constructor(bundle?: MimeBundle | (() => MimeBundle)) {
    if (bundle !== undefined) this.#bundle = typeof bundle === "function" ? bundle : () => bundle;
  }

  /** The MIME bundle this object displays as. */
  bundle(): MimeBundle {
    if (!this.#bundle) {
      throw new Error("DisplayObject has no bundle: pass one or override bundle()");
    }
    return this.#bundle();
  }

  /** Called by the Deno kernel. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle();
  }

  /** The `text/plain` representation. */
  toString(): string {
    return this.bundle()["text/plain"];
  }

  /** `console.log` outside the kernel prints the `text/plain` representation. */
  [INSPECT](): string {
    return this.toString();
  }
}

/** The part of `Deno.jupyter` the display helpers use. */
export interface JupyterApi {
  /** `Deno.jupyter.display`: shows (or, with `update`, replaces) an output. */
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<
    void
  >;
}

/**
 * Returns `Deno.jupyter` inside Deno's Jupyter kernel and `undefined` anywhere else (reading it
 * outside the kernel throws; this guards that).
 *
 * @example
 * ```ts
 * import { jupyter } from "./display.ts";
 * if (!jupyter()) console.log("not in a notebook");
 * ```
 */
export function jupyter(): JupyterApi | undefined {
  try {
    const api = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return typeof api?.display === "function" ? api : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this code runs inside Deno's Jupyter kernel.
 *
 * @example
 * ```ts
 * import { inNotebook } from "./display.ts";
 * console.log(inNotebook() ? "notebook" : "terminal");
 * ```
 */
export function inNotebook(): boolean {
  return jupyter() !== undefined;
}

/** Options for {@link show}. */
export interface ShowOptions {
  /** A display id, so the output can later be replaced with `update: true`. */
  displayId?: string;
  /** Replace the output that has `displayId` instead of adding a new one. */
  update?: boolean;
}

/**
 * Shows a display object (or a raw bundle): in the kernel as a rich output, elsewhere by printing
 * its `text/plain` with `console.log`. Resolves when the kernel accepted the output.
 *
 * Use `console.*` or `show()` in notebooks: bytes written to `Deno.stdout` directly are lost.
 *
 * @example
 * ```ts
 * import { DisplayObject, show } from "./display.ts";
 * await show(new DisplayObject({ "text/plain": "42 tokens" }));
 * ```
 */
export async function show(
  value: Displayable | MimeBundle,
  options: ShowOptions = {},
): Promise<void> {
  const bundle = isDisplayable(value) ? value[JUPYTER_DISPLAY]() : value;
  const api = jupyter();
  if (api) {
    await api.display(bundle, {
      raw: true,
      ...(options.displayId ? { display_id: options.displayId } : {}),
      ...(options.update ? { update: true } : {}),
    });
  } else if (!options.update) {
    console.log(bundle["text/plain"]);
  }
}
