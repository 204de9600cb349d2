/**
 * The data the command-line programs train on, from `--data PATH` and `--tokenizer SPEC`: Tiny
 * Shakespeare (from `$ACTLAB_DATA_DIR`, the cache, or a checked download) unless PATH is a text
 * file or folder of your own; tokenized by SPEC (`char` keeps Tiny Shakespeare's ids and split).
 *
 * @module
 */
import { join } from "node:path";
import { loadTinyShakespeare, TINY_SHAKESPEARE } from "../datasets/tinyshakespeare/loader.ts";
import { textDataset } from "../datasets/text_dataset.ts";
import { sha256Hex } from "../lib/core/hash.ts";
import type { SweepData } from "../lib/sweep/data.ts";

/**
 * Whether `--data PATH` means Tiny Shakespeare: a folder holding `tinyshakespeare/input.txt`, or
 * holding an `input.txt` that is Tiny Shakespeare (its size and SHA-256). Any other file or folder
 * is the user's own text.
 *
 * @example
 * ```ts ignore
 * await isTinyShakespeareFolder("/work/shared/datasets"); // true
 * ```
 */
export async function isTinyShakespeareFolder(path: string): Promise<boolean> {
  const isFile = async (p: string) => {
    try {
      return (await Deno.stat(p)).isFile;
    } catch {
      return false;
    }
  };
  if (!(await Deno.stat(path)).isDirectory) return false;
  if (await isFile(join(path, TINY_SHAKESPEARE.relativePath))) return true;
  const input = join(path, "input.txt");
  if (!(await isFile(input)) || (await Deno.stat(input)).size !== TINY_SHAKESPEARE.bytes) {
    return false;
  }
  return await sha256Hex(await Deno.readFile(input)) === TINY_SHAKESPEARE.sha256;
}

/**
 * The data of `--data` and `--tokenizer`: the user's text tokenized by `tokenizer`, or Tiny
 * Shakespeare (characters as always, or its text tokenized by `tokenizer`).
 *
 * @example
 * ```ts ignore
 * const data = await loadCliData({ data: "my.txt", tokenizer: "bpe:2048" }, console.error);
 * ```
 */
export async function loadCliData(
  flags: { readonly data?: string; readonly tokenizer?: string },
  notice: (message: string) => void,
  quiet = false,
): Promise<SweepData> {
  const tokenizer = flags.tokenizer ?? "char";
  if (flags.data !== undefined && !(await isTinyShakespeareFolder(flags.data))) {
    return await textDataset(flags.data, { tokenizer, onNotice: notice });
  }
  const ts = await loadTinyShakespeare({
    dir: flags.data,
    onProgress: quiet ? () => {} : undefined,
  });
  return tokenizer === "char"
    ? ts
    : await textDataset({ text: ts.text }, { name: ts.name, tokenizer, onNotice: notice });
}
