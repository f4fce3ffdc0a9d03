/**
 * `@metatokens/data`: the GPT-2 tokenizer with the `_PAUSE_` meta token,
 * meta-token injection for pre-training (paper §3), streaming corpora (text,
 * JSON lines, C4 `*.json.gz` shards; files, directories or globs) tokenized
 * once into a uint16 token cache with a train/validation split, the embedded
 * Brown corpus as the default, and seeded, resumable random batches.
 *
 * @example
 * ```ts
 * import { TokenBatchSource, decode, encode, META_ID, openBrownCorpus } from "@metatokens/data";
 *
 * console.log(encode("Hello _PAUSE_ world")); // Int32Array [15496, 220, 50257, 995]
 * const dir = Deno.makeTempDirSync();
 * const cache = await openBrownCorpus({ cacheDir: dir, blockSize: 64 });
 * const batches = await TokenBatchSource.open(cache, "train", { batchSize: 2, blockSize: 64, seed: 1337 });
 * const { x, y, meta } = batches.next(); // 6 meta tokens per row; y = −1 before each
 * console.log(meta[0].length, x[meta[0][0]] === META_ID, y.length); // 6 true 128
 * console.log(decode(x.subarray(0, 64)));
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

export * from "./tokenizer.ts";
export * from "./inject.ts";
export * from "./glob.ts";
export * from "./documents.ts";
export * from "./cache.ts";
export * from "./brown.ts";
export * from "./batches.ts";
export * from "./meta_tokens.ts";
