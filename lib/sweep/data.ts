/**
 * The data a sweep trains on: any tokenized text (Tiny Shakespeare's characters, or a
 * `textDataset` of your own corpus under any tokenizer), its identity in the settings key, and the
 * dataset a cell asks for when a `tokenizer` or `corpus` axis varies it.
 *
 * @module
 */
import { textDataset } from "../../datasets/text_dataset.ts";
import type { Tokenizer } from "../core/tokenizer.ts";

/** What a sweep needs of its data: token ids of both splits and the tokenizer. */
export interface SweepData {
  /** Short name, e.g. `tinyshakespeare`. */
  readonly name: string;
  /** The tokenizer (its spec and hash enter the settings when it is not characters). */
  readonly tokenizer: Tokenizer;
  /** Training ids. */
  readonly train: Int32Array;
  /** Validation ids. */
  readonly val: Int32Array;
  /** The text (needed to tokenize it again when a cell asks for another tokenizer). */
  readonly text?: string;
  /** SHA-256 of the text, when known (a `textDataset`): it names the data in the settings. */
  readonly contentHash?: string;
}

/**
 * A dataset's identity in settings: its name and token count — and, when the text's hash is known,
 * 12 digits of it (`mytext@3f2a…:123456`). Tiny Shakespeare loaded by `loadTinyShakespeare()` keeps
 * its historical id (`tinyshakespeare:1115394`), so committed results keep their keys.
 *
 * @example
 * ```ts
 * import { datasetId } from "@actlab/actlab/sweep";
 * datasetId({ name: "tinyshakespeare", train: new Int32Array(9), val: new Int32Array(1) }); // "tinyshakespeare:10"
 * ```
 */
export function datasetId(
  data: Pick<SweepData, "name" | "train" | "val" | "contentHash">,
): string {
  const tokens = data.train.length + data.val.length;
  return data.contentHash
    ? `${data.name}@${data.contentHash.slice(0, 12)}:${tokens}`
    : `${data.name}:${tokens}`;
}

/**
 * The tokenizer's identity in settings: undefined for characters (every sweep until tokenizers
 * existed, so their keys stay), else its spec and 12 digits of its hash (`bpe:2048@9c1e…`).
 *
 * @example
 * ```ts
 * import { tokenizerId } from "@actlab/actlab/sweep";
 * import { ByteTokenizer } from "@actlab/actlab/core";
 * tokenizerId(new ByteTokenizer())?.startsWith("byte@"); // true
 * ```
 */
export function tokenizerId(tokenizer: Pick<Tokenizer, "spec" | "hash">): string | undefined {
  return tokenizer.spec === "char" ? undefined : `${tokenizer.spec}@${tokenizer.hash.slice(0, 12)}`;
}

/** The data options of a sweep: another corpus, another tokenizer. */
export interface DataOptions {
  /** A text file or folder to train on instead of the data given (an axis may set it). */
  readonly corpus?: string;
  /** The tokenizer (`char`, `byte`, `bpe:N`, `gpt2`) to tokenize the text with. */
  readonly tokenizer?: string;
}

/**
 * The data a sweep's options ask for: `data` itself, or its text tokenized with `tokenizer`, or
 * the `corpus` file or folder read and tokenized (a BPE is trained once and cached). Errors name
 * the path or the spec.
 *
 * @example
 * ```ts ignore
 * import { resolveData } from "@actlab/actlab/sweep";
 * const bpe = await resolveData(tinyShakespeare, { tokenizer: "bpe:2048" });
 * ```
 */
export async function resolveData(
  data: SweepData,
  options: DataOptions,
  notice?: (message: string) => void,
): Promise<SweepData> {
  if (options.corpus !== undefined) {
    return await textDataset(options.corpus, {
      tokenizer: options.tokenizer ?? "char",
      onNotice: notice,
    });
  }
  if (options.tokenizer === undefined || options.tokenizer === data.tokenizer.spec) return data;
  if (data.text === undefined) {
    throw new Error(
      `sweep: tokenizer ${options.tokenizer} asked for, but the data (${data.name}) carries no ` +
        `text to tokenize again; pass a dataset with its text (loadTinyShakespeare(), textDataset()).`,
    );
  }
  return await textDataset({ text: data.text }, {
    tokenizer: options.tokenizer,
    name: data.name,
    onNotice: notice,
  });
}
