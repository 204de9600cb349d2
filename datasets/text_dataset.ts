/**
 * Any text as a dataset: a UTF-8 file, a folder of text files, or a string, tokenized by the
 * tokenizer a spec names (`char`, `byte`, `bpe:N`, `gpt2`) and split into train and validation.
 * A BPE is trained on the training text once and kept in the cache under that text's SHA-256.
 *
 * @module
 */
import { basename, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { tokenByteLengths } from "../lib/core/bits_per_byte.ts";
import { BpeTokenizer, trainBpe } from "../lib/core/bpe.ts";
import { writeTextAtomic } from "../lib/core/fs.ts";
import { gpt2Tokenizer } from "../lib/core/gpt2_tokenizer.ts";
import { sha256Hex } from "../lib/core/hash.ts";
import { ByteTokenizer, CharTokenizer, type Tokenizer } from "../lib/core/tokenizer.ts";
import { parseTokenizerSpec } from "../lib/core/tokenizers.ts";
import { userCacheDir } from "./files.ts";

/** Text given directly instead of a path. */
export interface TextSource {
  /** The text. */
  readonly text: string;
}

/** Options of {@link textDataset}. */
export interface TextDatasetOptions {
  /**
   * The tokenizer: a spec — `char` (one id per distinct character of the text, the default),
   * `byte` (256 ids), `bpe:N` (byte-level BPE of N tokens trained on the training text), `gpt2`
   * (GPT-2's 50,257 tokens) — or a ready {@link Tokenizer}.
   */
  readonly tokenizer?: string | Tokenizer;
  /** Name carried into results. Default: the file name without extension, the folder's name, or `text`. */
  readonly name?: string;
  /** Fraction of the text (in characters) used for training. Default 0.9. */
  readonly trainFraction?: number;
  /** Where trained BPEs are kept. Default `tokenizers/` in {@link userCacheDir}. */
  readonly cacheDir?: string;
  /** Read and write the BPE cache. Default true; false trains every time and writes nothing. */
  readonly cache?: boolean;
  /** Messages while a BPE trains (size, time, where it was saved). Default: stderr. */
  readonly onNotice?: (message: string) => void;
}

/** Text ready for a language model, with what bits per byte needs. */
export interface TextDataset {
  /** Short name, e.g. `tinyshakespeare` or the file's name. */
  readonly name: string;
  /** The whole text (files of a folder joined, see {@link textDataset}). */
  readonly text: string;
  /** Where the text came from: a file, the files of a folder (sorted), or a string. */
  readonly source: {
    readonly kind: "file" | "folder" | "text";
    readonly path?: string;
    readonly files?: readonly string[];
  };
  /** SHA-256 (hex) of the text's UTF-8 bytes. */
  readonly contentHash: string;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** The tokenizer spec asked for (`char`, `byte`, `bpe:2048`, `gpt2`), or the given one's. */
  readonly tokenizerSpec: string;
  /** The tokenizer's hash ({@link Tokenizer.hash}). */
  readonly tokenizerHash: string;
  /**
   * How the tokenizer was had: `built` from the text (char, byte, gpt2), `trained` (a BPE, now),
   * `cache` (a BPE trained before), `given`.
   */
  readonly tokenizerOrigin: "built" | "trained" | "cache" | "given";
  /** Where the trained BPE is kept, when it is. */
  readonly tokenizerPath?: string;
  /** Training ids: the tokens of the first `trainFraction` of the text's characters. */
  readonly train: Int32Array;
  /** Validation ids: the tokens of the rest. */
  readonly val: Int32Array;
  /** UTF-8 bytes of the training text (= the bytes of its tokens). */
  readonly trainBytes: number;
  /** UTF-8 bytes of the validation text (= the bytes of its tokens). */
  readonly valBytes: number;
}

/** Largest text accepted: V8 strings hold at most 2²⁹ − 24 UTF-16 units. */
const MAX_BYTES = 512 * 1024 * 1024;

const BOM = "\uFEFF";

/** A folder's files below it, hidden names skipped, sorted by relative path. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(p);
      } catch (err) {
        throw new Error(`textDataset: ${p} cannot be read (${(err as Error).message})`);
      }
      if (info.isDirectory) await walk(p);
      else if (info.isFile) out.push(p);
    }
  };
  await walk(dir);
  const rel = (p: string) => relative(dir, p).split("\\").join("/");
  return out.sort((a, b) => (rel(a) < rel(b) ? -1 : rel(a) > rel(b) ? 1 : 0));
}

/** The text of a file's bytes; refuses binary content and invalid UTF-8, naming the file. */
function decodeText(bytes: Uint8Array, path: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new Error(
      `textDataset: ${path} holds a NUL byte (at byte ${nul}): it looks binary, not text. Give ` +
        `a UTF-8 text file, or remove it from the folder.`,
    );
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return text.startsWith(BOM) ? text.slice(1) : text;
  } catch {
    throw new Error(
      `textDataset: ${path} is not UTF-8 text (it holds byte sequences UTF-8 does not allow: ` +
        `a binary file, or another encoding such as Latin-1). Convert it, e.g. ` +
        `iconv -f latin1 -t utf-8, or remove it from the folder.`,
    );
  }
}

/** The text at `path` (a file, or a folder's files joined), with the files read. */
async function readSource(
  path: string,
): Promise<{ text: string; kind: "file" | "folder"; files: string[] }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${(err as Error).message})`;
    throw new Error(`textDataset: ${path} ${why}; give a UTF-8 text file or a folder of them.`, {
      cause: err,
    });
  }
  const files = info.isDirectory ? await listFiles(path) : [path];
  if (files.length === 0) {
    throw new Error(`textDataset: the folder ${path} holds no files (hidden ones are skipped).`);
  }
  let total = 0;
  const parts: string[] = [];
  for (const file of files) {
    const bytes = await Deno.readFile(file);
    total += bytes.length;
    if (total > MAX_BYTES) {
      throw new Error(
        `textDataset: ${path} holds more than ${MAX_BYTES / 2 ** 20} MiB of text, more than one ` +
          `JavaScript string can hold; use a part of it.`,
      );
    }
    const text = decodeText(bytes, file);
    // Files of a folder are joined with a newline after any file that does not end with one.
    parts.push(info.isDirectory && text.length > 0 && !text.endsWith("\n") ? text + "\n" : text);
  }
  const text = parts.join("");
  if (text.length === 0) {
    throw new Error(
      `textDataset: ${path} is empty${info.isDirectory ? " (every file in it is)" : ""}; ` +
        `give some text to train on.`,
    );
  }
  return { text, kind: info.isDirectory ? "folder" : "file", files };
}

/**
 * The UTF-16 index where the first `fraction` of the text's characters (code points, as
 * {@link CharTokenizer} counts them) ends: `floor(fraction · characters)`.
 */
function characterCut(text: string, fraction: number): number {
  let chars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    chars++;
  }
  const want = Math.floor(fraction * chars);
  let index = 0;
  for (let n = 0; n < want; n++) {
    const c = text.charCodeAt(index);
    index += c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return index;
}

/** A trained BPE as the cache stores it. */
interface BpeCacheFile {
  readonly format: "actlab-bpe/1";
  /** Tokens asked for. */
  readonly vocabSize: number;
  /** SHA-256 and UTF-8 bytes of the text it was trained on. */
  readonly trainedOn: { readonly sha256: string; readonly bytes: number };
  /** Pre-tokenizer. */
  readonly pattern: "gpt2";
  /** The merges, flattened. */
  readonly merges: number[];
  /** Tokens it has (fewer than asked when the text ran out of pairs). */
  readonly size: number;
  /** Its hash ({@link Tokenizer.hash}). */
  readonly hash: string;
  /** Seconds training took. */
  readonly seconds: number;
}

/** The cached BPE at `path` when it is one for this text and size; undefined otherwise. */
async function readCachedBpe(
  path: string,
  vocabSize: number,
  sha256: string,
  notice: (m: string) => void,
): Promise<BpeTokenizer | undefined> {
  let json: string;
  try {
    json = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  try {
    const f = JSON.parse(json) as BpeCacheFile;
    if (
      f.format !== "actlab-bpe/1" || f.vocabSize !== vocabSize ||
      f.trainedOn?.sha256 !== sha256 || f.pattern !== "gpt2"
    ) throw new Error("it is for another text or size");
    const tok = new BpeTokenizer(f.merges);
    if (tok.hash !== f.hash) throw new Error("its merges do not match its hash");
    return tok;
  } catch (err) {
    notice(`the cached BPE ${path} is unusable (${(err as Error).message}); training again`);
    return undefined;
  }
}

/** A BPE of `vocabSize` tokens for `trainText`: from the cache, else trained (and cached). */
async function bpeFor(
  trainText: string,
  vocabSize: number,
  options: TextDatasetOptions,
): Promise<{ tokenizer: BpeTokenizer; origin: "trained" | "cache"; path?: string }> {
  const notice = options.onNotice ?? ((m: string) => console.error(m));
  const bytes = new TextEncoder().encode(trainText);
  const sha256 = await sha256Hex(bytes);
  const useCache = options.cache ?? true;
  const dir = options.cacheDir ?? join(userCacheDir(), "tokenizers");
  const path = join(dir, `bpe-${vocabSize}-${sha256.slice(0, 16)}.json`);
  if (useCache) {
    const cached = await readCachedBpe(path, vocabSize, sha256, notice);
    if (cached) return { tokenizer: cached, origin: "cache", path };
  }
  const mb = (bytes.length / 1e6).toFixed(1);
  notice(`training a byte-level BPE of ${vocabSize} tokens on ${mb} MB of text…`);
  const t0 = performance.now();
  const tokenizer = trainBpe(trainText, { vocabSize });
  const seconds = (performance.now() - t0) / 1000;
  const short = tokenizer.size < vocabSize
    ? ` (only ${tokenizer.size} tokens: the text ran out of pairs to merge)`
    : "";
  if (!useCache) {
    notice(`trained the BPE in ${seconds.toFixed(1)} s${short}`);
    return { tokenizer, origin: "trained" };
  }
  const file: BpeCacheFile = {
    format: "actlab-bpe/1",
    vocabSize,
    trainedOn: { sha256, bytes: bytes.length },
    pattern: "gpt2",
    merges: [...tokenizer.merges],
    size: tokenizer.size,
    hash: tokenizer.hash,
    seconds: Number(seconds.toFixed(3)),
  };
  try {
    await writeTextAtomic(path, JSON.stringify(file) + "\n");
    notice(`trained the BPE in ${seconds.toFixed(1)} s${short}; saved to ${path}`);
    return { tokenizer, origin: "trained", path };
  } catch (err) {
    notice(
      `trained the BPE in ${seconds.toFixed(1)} s${short}; could not save it to ${path} ` +
        `(${(err as Error).message}), so the next load trains it again`,
    );
    return { tokenizer, origin: "trained" };
  }
}

/**
 * Loads any text as a dataset. `source` is a path — a UTF-8 text file, or a folder whose files
 * (every file below it, hidden names skipped, sorted by relative path, each followed by a newline
 * unless it ends with one) are joined — or `{ text }`. Binary input (a NUL byte), invalid UTF-8,
 * an empty text and a missing path are refused with a message naming the path. A leading UTF-8
 * byte-order mark is dropped.
 *
 * The split is by characters, deterministic and not shuffled: the first `floor(0.9 · n)` of the
 * text's n characters (code points) train, the rest validate — nanoGPT's 90/10 — and each part is
 * tokenized on its own, so every tokenizer sees the same validation text. With `char` the ids and
 * split are exactly {@link charDataset}'s. A `bpe:N` tokenizer is trained on the training text
 * only and kept in `cacheDir` under that text's SHA-256 and N, so the next load reuses it.
 *
 * @example
 * ```ts
 * import { textDataset } from "./text_dataset.ts";
 * const ds = await textDataset({ text: "to be or not to be\n".repeat(20) }, { tokenizer: "byte" });
 * console.assert(ds.tokenizer.size === 256 && ds.trainBytes + ds.valBytes === 380);
 * console.assert(ds.train.length === 342 && ds.tokenizer.decode(ds.val) === ds.text.slice(342));
 * ```
 */
export async function textDataset(
  source: string | URL | TextSource,
  options: TextDatasetOptions = {},
): Promise<TextDataset> {
  const trainFraction = options.trainFraction ?? 0.9;
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`textDataset: trainFraction must be in (0, 1), got ${trainFraction}`);
  }
  const spec = typeof options.tokenizer === "string"
    ? parseTokenizerSpec(options.tokenizer)
    : undefined;
  let text: string, from: TextDataset["source"], defaultName: string;
  if (typeof source === "object" && !(source instanceof URL)) {
    if (typeof source.text !== "string" || source.text.length === 0) {
      throw new Error("textDataset: the text is empty; give some text to train on.");
    }
    text = source.text;
    from = { kind: "text" };
    defaultName = "text";
  } else {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    const read = await readSource(path);
    text = read.text;
    from = read.kind === "file"
      ? { kind: "file", path }
      : { kind: "folder", path, files: read.files.map((f) => relative(path, f)) };
    const base = basename(path.replace(/[\\/]+$/, ""));
    defaultName = read.kind === "file" ? basename(base, extname(base)) : base;
  }
  const cut = characterCut(text, trainFraction);
  const trainText = text.slice(0, cut), valText = text.slice(cut);
  const utf8 = new TextEncoder();
  const contentHash = await sha256Hex(utf8.encode(text));

  let tokenizer: Tokenizer;
  let origin: TextDataset["tokenizerOrigin"] = "built";
  let tokenizerPath: string | undefined;
  if (typeof options.tokenizer === "object") {
    tokenizer = options.tokenizer;
    origin = "given";
  } else if (spec?.kind === "bpe") {
    const bpe = await bpeFor(trainText, spec.vocabSize, options);
    tokenizer = bpe.tokenizer;
    origin = bpe.origin;
    tokenizerPath = bpe.path;
  } else if (spec?.kind === "byte") tokenizer = new ByteTokenizer();
  else if (spec?.kind === "gpt2") tokenizer = gpt2Tokenizer();
  else tokenizer = CharTokenizer.fromText(text);
  const train = tokenizer.encode(trainText);
  const val = tokenizer.encode(valText);
  const trainBytes = utf8.encode(trainText.toWellFormed()).length;
  const valBytes = utf8.encode(valText.toWellFormed()).length;
  return {
    name: options.name ?? defaultName,
    text,
    source: from,
    contentHash,
    tokenizer,
    tokenizerSpec: typeof options.tokenizer === "string"
      ? options.tokenizer.trim().toLowerCase()
      : tokenizer.spec,
    tokenizerHash: tokenizer.hash,
    tokenizerOrigin: origin,
    ...(tokenizerPath ? { tokenizerPath } : {}),
    train,
    val,
    trainBytes,
    valBytes,
  };
}

/**
 * The UTF-8 bytes of each split's tokens, summed token by token. For a {@link textDataset} they
 * equal `trainBytes` and `valBytes`: every tokenizer here is byte-exact (its tokens' bytes joined
 * are the text's UTF-8).
 *
 * @example
 * ```ts
 * import { splitBytes, textDataset } from "./text_dataset.ts";
 * const ds = await textDataset({ text: "héllo wörld\n".repeat(10) }, { tokenizer: "char" });
 * const { train, val } = splitBytes(ds);
 * console.assert(train === ds.trainBytes && val === ds.valBytes);
 * ```
 */
export function splitBytes(
  data: Pick<TextDataset, "tokenizer" | "train" | "val">,
): { train: number; val: number } {
  const lengths = tokenByteLengths(data.tokenizer);
  let train = 0, val = 0;
  for (const id of data.train) train += lengths[id];
  for (const id of data.val) val += lengths[id];
  return { train, val };
}
