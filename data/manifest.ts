/**
 * The typed reader of a token cache's `manifest.json` (issue 14): a manifest
 * is untrusted input like any file, so before a cache is reused every key is
 * read as an own property, typed and bounded, and the split must be exactly
 * the one {@linkcode computeSplit} gives for its token count — a manifest
 * that describes tokens the cache does not hold is never accepted. The cache
 * rebuilds itself from its sources when its manifest is refused.
 *
 * @module
 */

import { preview } from "@metatokens/tensor/quote";
import type { CacheManifest, SourceFingerprint } from "./cache.ts";
import type { TxtMode } from "./documents.ts";

/** Manifest format version; bump when the cache layout or tokenization changes. */
export const CACHE_VERSION = 1;

/** The largest `manifest.json` read (64 MiB: about a million sources); a larger one is refused unread. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const TXT_MODES: readonly TxtMode[] = ["file", "paragraphs"];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The train/validation split of `tokens` tokens: the last
 * `max(round(valFraction·tokens), blockSize + 1)` tokens are validation.
 * Throws when either split would be shorter than one window.
 *
 * @example
 * ```ts
 * import { computeSplit } from "@metatokens/data/cache";
 * console.log(computeSplit(1000, 0.05, 16)); // { train: [0, 950], val: [950, 1000] }
 * console.log(computeSplit(1000, 0.05, 99)); // { train: [0, 900], val: [900, 1000] }
 * ```
 */
export function computeSplit(tokens: number, valFraction: number, blockSize: number): CacheManifest["split"] {
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new RangeError(
      `Cannot hold out a validation fraction of ${valFraction}: expected a number in (0, 1)`,
    );
  }
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`Cannot split for block size ${blockSize}: expected a positive integer`);
  }
  const window = blockSize + 1;
  const val = Math.max(Math.round(valFraction * tokens), window);
  if (tokens - val < window) {
    throw new RangeError(
      `Cannot split a corpus of ${tokens} tokens for block size ${blockSize}: expected at least ${
        2 * window
      } tokens (one window of ${window} for training and one for validation)`,
    );
  }
  return { train: [0, tokens - val], val: [tokens - val, tokens] };
}

/** The keys of a token cache manifest: every one required, no other allowed. */
export const MANIFEST_KEYS: readonly string[] = Object.freeze([
  "version",
  "tokenizer",
  "dtype",
  "txt",
  "sources",
  "skipped",
  "documents",
  "tokens",
  "valFraction",
  "blockSize",
  "split",
]);

/**
 * Reads a parsed `manifest.json`: `version` {@linkcode CACHE_VERSION},
 * `tokenizer` `"gpt2"`, `dtype` `"uint16le"`, `txt` a {@linkcode TxtMode},
 * `sources` fingerprints (path, size, mtimeMs), `skipped` paths, `documents`
 * ≤ `tokens` (non-negative safe integers), `valFraction` in (0, 1),
 * `blockSize` a positive integer and `split` exactly
 * {@linkcode computeSplit}'s. Unknown keys are refused.
 *
 * @param value The parsed JSON.
 * @param path The manifest, for messages.
 * @returns A fresh, typed manifest.
 * @throws {TypeError} A missing, unknown or mistyped key.
 * @throws {RangeError} A value out of range, an unknown version or a split that does not match.
 *
 * @example
 * ```ts
 * import { readCacheManifest } from "@metatokens/data/manifest";
 * const m = readCacheManifest({
 *   version: 1, tokenizer: "gpt2", dtype: "uint16le", txt: "file", sources: [], skipped: [],
 *   documents: 1, tokens: 100, valFraction: 0.1, blockSize: 4, split: { train: [0, 90], val: [90, 100] },
 * }, "manifest.json");
 * console.log(m.split.val); // [90, 100]
 * ```
 */
export function readCacheManifest(value: unknown, path: string): CacheManifest {
  const what = `Cannot read token cache manifest "${path}"`;
  const fail = (key: string, v: unknown, expected: string, range = false): never => {
    const message = `${what}: ${key} is ${v === undefined ? "missing" : preview(v)}, expected ${expected}`;
    throw range ? new RangeError(message) : new TypeError(message);
  };
  if (!isObject(value)) return fail("the manifest", value, "a JSON object");
  const get = (obj: Record<string, unknown>, key: string): unknown =>
    Object.hasOwn(obj, key) ? obj[key] : undefined;
  const int = (obj: Record<string, unknown>, key: string, min: number, label = key): number => {
    const v = get(obj, key);
    if (typeof v !== "number") return fail(label, v, `an integer ≥ ${min}`);
    if (!Number.isSafeInteger(v) || v < min) return fail(label, v, `an integer ≥ ${min}`, true);
    return v;
  };
  for (const key in value) {
    if (Object.hasOwn(value, key) && !MANIFEST_KEYS.includes(key)) {
      throw new TypeError(
        `${what}: it has an unknown key ${preview(key, 40)}, expected only ${MANIFEST_KEYS.join(", ")}`,
      );
    }
  }
  const version = get(value, "version");
  if (version !== CACHE_VERSION) fail("version", version, String(CACHE_VERSION), typeof version === "number");
  if (get(value, "tokenizer") !== "gpt2") fail("tokenizer", get(value, "tokenizer"), '"gpt2"');
  if (get(value, "dtype") !== "uint16le") fail("dtype", get(value, "dtype"), '"uint16le"');
  const txt = get(value, "txt");
  if (!TXT_MODES.includes(txt as TxtMode)) fail("txt", txt, '"file" or "paragraphs"');
  const sourcesValue = get(value, "sources");
  if (!Array.isArray(sourcesValue)) return fail("sources", sourcesValue, "an array");
  const sources = sourcesValue.map((s: unknown, i: number): SourceFingerprint => {
    const key = `sources[${i}]`;
    if (!isObject(s)) return fail(key, s, "{ path, size, mtimeMs }");
    const p = get(s, "path");
    if (typeof p !== "string") return fail(`${key}.path`, p, "a string");
    const mtimeMs = get(s, "mtimeMs");
    if (typeof mtimeMs !== "number" || !Number.isFinite(mtimeMs)) {
      return fail(`${key}.mtimeMs`, mtimeMs, "a finite number");
    }
    return { path: p, size: int(s, "size", 0, `${key}.size`), mtimeMs };
  });
  const skippedValue = get(value, "skipped");
  if (!Array.isArray(skippedValue) || !skippedValue.every((s) => typeof s === "string")) {
    return fail("skipped", skippedValue, "an array of strings");
  }
  const tokens = int(value, "tokens", 0);
  const documents = int(value, "documents", 0);
  if (documents > tokens) fail("documents", documents, `at most tokens (${tokens})`, true);
  const valFraction = get(value, "valFraction");
  if (typeof valFraction !== "number") return fail("valFraction", valFraction, "a number in (0, 1)");
  if (!(valFraction > 0 && valFraction < 1)) fail("valFraction", valFraction, "a number in (0, 1)", true);
  const blockSize = int(value, "blockSize", 1);
  let expected: CacheManifest["split"];
  try {
    expected = computeSplit(tokens, valFraction, blockSize);
  } catch (e) {
    throw new RangeError(`${what}: ${(e as Error).message}`);
  }
  const split = get(value, "split");
  const same = (a: unknown, b: readonly number[]) =>
    Array.isArray(a) && a.length === 2 && a[0] === b[0] && a[1] === b[1];
  if (
    !isObject(split) || !same(get(split, "train"), expected.train) || !same(get(split, "val"), expected.val)
  ) {
    fail("split", split, `${JSON.stringify(expected)} for ${tokens} tokens`, isObject(split));
  }
  return {
    version: CACHE_VERSION,
    tokenizer: "gpt2",
    dtype: "uint16le",
    txt: txt as TxtMode,
    sources,
    skipped: [...skippedValue as string[]],
    documents,
    tokens,
    valFraction,
    blockSize,
    split: expected,
  };
}

/**
 * Parses and reads the text of a `manifest.json` ({@linkcode readCacheManifest}).
 *
 * @param text The file's text.
 * @param path The manifest, for messages.
 * @throws {SyntaxError} Text that is not JSON.
 * @throws {TypeError} See {@linkcode readCacheManifest}.
 * @throws {RangeError} See {@linkcode readCacheManifest}.
 *
 * @example
 * ```ts
 * import { parseCacheManifest } from "@metatokens/data/manifest";
 * try { parseCacheManifest("{", "m.json"); } catch (e) { console.log((e as Error).name); } // SyntaxError
 * ```
 */
export function parseCacheManifest(text: string, path: string): CacheManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read token cache manifest "${path}": it is not JSON (${(e as Error).message.slice(0, 200)})`,
    );
  }
  return readCacheManifest(value, path);
}
