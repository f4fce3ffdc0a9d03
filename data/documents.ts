/**
 * Streaming readers for corpus files. Nothing here holds a whole file in
 * memory: files are read chunk by chunk, decoded as strict UTF-8, and handed
 * on as {@linkcode DocumentPiece}s — a document may arrive in several pieces,
 * the last one marked `end`.
 *
 * Formats, by file name ending:
 * - `.txt`: the whole file is one document (`txt: "file"`, the default), or
 *   every blank-line separated paragraph is one (`txt: "paragraphs"`). A long
 *   file is cut into pieces only where GPT-2's pre-tokenizer would split
 *   anyway (between a letter and a space before a letter, or at a single
 *   line break between two non-space characters), so the tokens are exactly
 *   those of the whole text.
 * - `.jsonl`: one JSON object per line with a `text` string field.
 * - `.json.gz` (C4's shards) and `.jsonl.gz`: the same, gzip-compressed; several
 *   gzip members back to back (`cat a.gz b.gz`) and zero padding after the last
 *   one read as gzip itself reads them.
 *
 * Errors quote at most about 200 characters of a file (`@metatokens/tensor/quote`).
 *
 * @module
 */

import { errorReason } from "@metatokens/tensor/fs";
import { preview } from "@metatokens/tensor/quote";
import { gunzipStream } from "./_gunzip.ts";
import { CORPUS_EXTENSIONS } from "./glob.ts";

/** A piece of a document; `end` marks the document's last piece. */
export interface DocumentPiece {
  /** The text of this piece. */
  text: string;
  /** Whether the document ends with this piece. */
  end: boolean;
}

/** How a `.txt` file is cut into documents. */
export type TxtMode = "file" | "paragraphs";

/** The formats a corpus file may have. */
export type CorpusFormat = "txt" | "jsonl" | "jsonl.gz";

/** Options for {@linkcode readDocumentPieces}. */
export interface ReadDocumentOptions {
  /** `.txt` files: one document per file (default) or per blank-line separated paragraph. */
  txt?: TxtMode;
  /** Target size of a piece of a long `.txt` document, in characters (default 1 MiB). */
  pieceChars?: number;
}

/** A file that is not valid UTF-8; the cache builder skips it with a warning. */
export class InvalidUtf8Error extends Error {
  /** The file. */
  readonly path: string;
  /** Creates the error for `path`. */
  constructor(path: string, cause?: unknown) {
    super(`Cannot read corpus "${path}": it is not valid UTF-8; expected UTF-8 text`, { cause });
    this.name = "InvalidUtf8Error";
    this.path = path;
  }
}

/**
 * The format of a corpus file from its name.
 *
 * @example
 * ```ts
 * import { corpusFormat } from "@metatokens/data/documents";
 * console.log(corpusFormat("c4-train.00000-of-01024.json.gz"), corpusFormat("book.txt")); // "jsonl.gz" "txt"
 * ```
 */
export function corpusFormat(path: string): CorpusFormat {
  if (path.endsWith(".json.gz") || path.endsWith(".jsonl.gz")) return "jsonl.gz";
  if (path.endsWith(".jsonl")) return "jsonl";
  if (path.endsWith(".txt")) return "txt";
  throw new Error(
    `Cannot read corpus "${path}": unsupported file type; expected a name ending in ${
      CORPUS_EXTENSIONS.join(", ")
    }`,
  );
}

/**
 * Decoded text of a file, chunk by chunk, as strict UTF-8 (a `.gz` file is
 * decompressed on the way). Throws {@linkcode InvalidUtf8Error} on bad bytes.
 *
 * @example
 * ```ts
 * import { readTextChunks } from "@metatokens/data/documents";
 * const path = Deno.makeTempFileSync({ suffix: ".txt" });
 * Deno.writeTextFileSync(path, "héllo");
 * let text = "";
 * for await (const chunk of readTextChunks(path)) text += chunk;
 * console.log(text); // "héllo"
 * Deno.removeSync(path);
 * ```
 */
export async function* readTextChunks(path: string): AsyncGenerator<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new Error(`Cannot read corpus "${path}": ${errorReason(e)}; expected a readable file`, {
      cause: e,
    });
  }
  let bytes: ReadableStream<Uint8Array<ArrayBuffer>> = file.readable;
  if (path.endsWith(".gz")) bytes = bytes.pipeThrough(gunzipStream());
  const reader = bytes.pipeThrough(new TextDecoderStream("utf-8", { fatal: true })).getReader();
  try {
    while (true) {
      let result: ReadableStreamReadResult<string>;
      try {
        result = await reader.read();
      } catch (e) {
        if (e instanceof TypeError && /decode|utf-?8|encoded data/i.test(e.message)) {
          throw new InvalidUtf8Error(path, e);
        }
        throw new Error(
          `Cannot read corpus "${path}": ${errorReason(e)}; expected ${
            path.endsWith(".gz") ? "a complete gzip file" : "a readable file"
          }`,
          { cause: e },
        );
      }
      if (result.done) break;
      if (result.value.length > 0) yield result.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The lines of a file (without `\n`; a trailing `\r` is dropped), streamed.
 *
 * @example
 * ```ts
 * import { readLines } from "@metatokens/data/documents";
 * const path = Deno.makeTempFileSync({ suffix: ".txt" });
 * Deno.writeTextFileSync(path, "a\r\nb\n\nc");
 * const lines: string[] = [];
 * for await (const line of readLines(path)) lines.push(line);
 * console.log(lines); // ["a", "b", "", "c"]
 * Deno.removeSync(path);
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of readTextChunks(path)) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) yield line.endsWith("\r") ? line.slice(0, -1) : line;
  }
  if (rest.length > 0) yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}

/**
 * The last place in `text` (searching its final `window` characters) where it
 * can be cut without changing GPT-2's pre-tokenization, or −1: after a letter
 * followed by a space and a letter, or after a single line break between two
 * non-space characters.
 *
 * @example
 * ```ts
 * import { safeCut } from "@metatokens/data/documents";
 * console.log(safeCut("one two")); // 3: "one" | " two"
 * console.log(safeCut("a\n\n\nb")); // -1: a run of line breaks is never cut
 * ```
 */
export function safeCut(text: string, window = 1 << 16): number {
  const from = Math.max(0, text.length - window);
  const re = /\p{L} (?=\p{L})|[^\s]\n(?=[^\s])/gu;
  re.lastIndex = from;
  let cut = -1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    cut = m.index + (m[0].endsWith("\n") ? m[0].length : m[0].length - 1);
    re.lastIndex = m.index + 1;
  }
  return cut;
}

async function* txtPieces(path: string, mode: TxtMode, pieceChars: number): AsyncGenerator<DocumentPiece> {
  if (mode === "paragraphs") {
    let para: string[] = [];
    for await (const line of readLines(path)) {
      if (line.trim() === "") {
        if (para.length > 0) yield { text: para.join("\n"), end: true };
        para = [];
      } else para.push(line);
    }
    if (para.length > 0) yield { text: para.join("\n"), end: true };
    return;
  }
  let buf = "";
  let any = false;
  for await (const chunk of readTextChunks(path)) {
    buf += chunk;
    any = true;
    while (buf.length >= pieceChars) {
      const cut = safeCut(buf.slice(0, pieceChars));
      if (cut <= 0) break; // no safe cut in this stretch: keep reading
      yield { text: buf.slice(0, cut), end: false };
      buf = buf.slice(cut);
    }
  }
  if (any) yield { text: buf, end: true };
}

async function* jsonlPieces(path: string): AsyncGenerator<DocumentPiece> {
  let lineNo = 0;
  for await (const line of readLines(path)) {
    lineNo++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(
        `Cannot read corpus "${path}" at line ${lineNo}: invalid JSON (${
          (e as Error).message.slice(0, 200)
        }); expected one JSON object per line with a "text" string field`,
      );
    }
    const text = (value as { text?: unknown } | null)?.text;
    if (typeof value !== "object" || value === null || Array.isArray(value) || typeof text !== "string") {
      const found = typeof value === "object" && value !== null && !Array.isArray(value)
        ? `an object with keys ${preview(Object.keys(value))}`
        : preview(value, 40);
      throw new TypeError(
        `Cannot read corpus "${path}" at line ${lineNo}: found ${found}; expected a JSON object with a "text" string field`,
      );
    }
    if (text.length > 0) yield { text, end: true };
  }
}

/**
 * The documents of one corpus file, streamed as pieces.
 *
 * @example
 * ```ts
 * import { readDocumentPieces } from "@metatokens/data/documents";
 * const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
 * Deno.writeTextFileSync(path, '{"text":"first"}\n{"text":"second","url":"x"}\n');
 * for await (const piece of readDocumentPieces(path)) console.log(piece); // { text: "first", end: true } …
 * Deno.removeSync(path);
 * ```
 */
export function readDocumentPieces(
  path: string,
  options: ReadDocumentOptions = {},
): AsyncGenerator<DocumentPiece> {
  const format = corpusFormat(path);
  const mode = options.txt ?? "file";
  if (mode !== "file" && mode !== "paragraphs") {
    throw new RangeError(
      `Cannot split text files by ${preview(mode)}: expected "file" or "paragraphs"`,
    );
  }
  const pieceChars = options.pieceChars ?? 1 << 20;
  return format === "txt" ? txtPieces(path, mode, pieceChars) : jsonlPieces(path);
}

/**
 * Whole documents as pieces (each document is one piece with `end: true`);
 * empty documents are dropped.
 *
 * @example
 * ```ts
 * import { documentsToPieces } from "@metatokens/data/documents";
 * for await (const p of documentsToPieces(["a", "", "b"])) console.log(p.text); // "a" then "b"
 * ```
 */
export async function* documentsToPieces(
  documents: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<DocumentPiece> {
  for await (const text of documents) if (text.length > 0) yield { text, end: true };
}
