/**
 * Seeded random batches from a token split, nanoGPT style: every row is a
 * window at a uniformly random offset of the split. With meta tokens on,
 * each row gets `k = round(0.1·T)` meta tokens by {@linkcode injectWindow};
 * off, it is the plain shifted window (`y[t] = x[t + 1]`).
 *
 * Offsets and meta slots come from one counter-based generator
 * (`@metatokens/tensor`'s `Rng`, the toolkit's one RNG), so a source is deterministic
 * given its seed, and {@linkcode TokenBatchSource.state} / `restore` resume a run
 * exactly — also in a new process.
 *
 * @module
 */

import { preview } from "@metatokens/tensor/quote";
import { readSplit, type TokenCache } from "./cache.ts";
import { injectWindow, metaCount } from "./inject.ts";
import { META_ID } from "./tokenizer.ts";
import { metaTokenPositions } from "./meta_tokens.ts";
import { Rng } from "@metatokens/tensor/rng";

/** One batch, row-major; structurally a model `Batch`. */
export interface TokenBatch {
  /** Batch rows B. */
  b: number;
  /** Sequence length T. */
  t: number;
  /** Input ids (B·T). */
  x: Int32Array;
  /** Target ids (B·T); −1 where the next token is a meta token (ignored by the loss). */
  y: Int32Array;
  /** Sorted positions of meta tokens in each row of `x` (empty rows when meta is off). */
  meta: number[][];
}

/** Options of a {@linkcode TokenBatchSource}. */
export interface TokenBatchOptions {
  /** Rows per batch (B). */
  batchSize: number;
  /** Tokens per row (T). */
  blockSize: number;
  /** Seed of the sampler, an integer in [0, 2^32). */
  seed: number;
  /** Inject meta tokens (default true). */
  meta?: boolean;
  /** Meta tokens per row as a fraction of T (default 0.1, so k = round(0.1·T)). */
  metaFraction?: number;
}

/** Saved position of a {@linkcode TokenBatchSource}. */
export interface TokenBatchState {
  /** The sampler's seed. */
  seed: number;
  /** Random draws taken so far. */
  counter: number;
  /** Batches drawn so far. */
  batches: number;
}

/**
 * Random batches over the tokens of one split.
 *
 * @example
 * ```ts
 * import { TokenBatchSource } from "@metatokens/data/batches";
 * const tokens = Uint16Array.from({ length: 1000 }, (_, i) => i % 500);
 * const source = new TokenBatchSource(tokens, { batchSize: 2, blockSize: 20, seed: 1 });
 * const batch = source.next();
 * console.log(batch.x.length, batch.meta); // 40 [[…two positions…], […two positions…]]
 * ```
 */
export class TokenBatchSource {
  /** Rows per batch. */
  readonly batchSize: number;
  /** Tokens per row. */
  readonly blockSize: number;
  /** Whether meta tokens are injected. */
  readonly meta: boolean;
  /** Meta tokens per row. */
  readonly k: number;
  #tokens: ArrayLike<number> & { subarray(start: number, end: number): ArrayLike<number> };
  #rng: Rng;
  #batches = 0;

  /** A source over `tokens` (a split held in memory). */
  constructor(
    tokens: Uint16Array | Int32Array,
    options: TokenBatchOptions,
  ) {
    const { batchSize, blockSize, seed } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`Cannot draw batches of ${batchSize} rows: expected a positive integer`);
    }
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new RangeError(`Cannot draw rows of ${blockSize} tokens: expected a positive integer`);
    }
    if (tokens.length < blockSize + 1) {
      throw new RangeError(
        `Cannot draw windows of ${blockSize} from ${tokens.length} tokens: expected at least ${
          blockSize + 1
        } (a smaller block size or a larger corpus)`,
      );
    }
    this.batchSize = batchSize;
    this.blockSize = blockSize;
    this.meta = options.meta ?? true;
    const fraction = options.metaFraction ?? 0.1;
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(`Cannot inject a meta fraction of ${fraction}: expected a number in [0, 1]`);
    }
    this.k = this.meta ? metaCount(blockSize, fraction) : 0;
    this.#tokens = tokens;
    this.#rng = new Rng(seed);
  }

  /**
   * A source over one split of a token cache; the split is read into memory.
   *
   * @example
   * ```ts
   * import { TokenBatchSource } from "@metatokens/data/batches";
   * import { openCorpus } from "@metatokens/data/cache";
   * const dir = Deno.makeTempDirSync();
   * Deno.writeTextFileSync(`${dir}/a.txt`, "The quick brown fox jumps over the lazy dog. ".repeat(50));
   * const cache = await openCorpus(`${dir}/a.txt`, { cacheDir: `${dir}/cache`, blockSize: 16 });
   * const source = await TokenBatchSource.open(cache, "train", { batchSize: 4, blockSize: 16, seed: 0 });
   * console.log(source.next().y.length); // 64
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static async open(
    cache: TokenCache,
    split: "train" | "val",
    options: TokenBatchOptions,
  ): Promise<TokenBatchSource> {
    return new TokenBatchSource(await readSplit(cache, split), options);
  }

  /** Number of tokens in the split. */
  get tokens(): number {
    return this.#tokens.length;
  }

  /** The next batch. */
  next(): TokenBatch {
    const B = this.batchSize, T = this.blockSize;
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    const meta: number[][] = [];
    const starts = this.#tokens.length - T; // valid window offsets: [0, len − T − 1]
    for (let b = 0; b < B; b++) {
      const start = Math.floor(this.#rng.uniform() * starts);
      const raw = this.#tokens.subarray(start, start + T + 1);
      if (this.meta) {
        const w = injectWindow(raw, T, this.#rng, this.k);
        x.set(w.x, b * T);
        y.set(w.y, b * T);
      } else {
        for (let t = 0; t < T; t++) {
          x[b * T + t] = raw[t];
          y[b * T + t] = raw[t + 1] === META_ID ? -1 : raw[t + 1];
        }
      }
      meta.push(metaTokenPositions(x, META_ID, b * T, (b + 1) * T));
    }
    this.#batches++;
    return { b: B, t: T, x, y, meta };
  }

  /** The state to save in a checkpoint. */
  state(): TokenBatchState {
    return { ...this.#rng.state(), batches: this.#batches };
  }

  /** Continues exactly where `state` was saved. */
  restore(state: TokenBatchState): void {
    const field = (key: string): unknown =>
      typeof state === "object" && state !== null && Object.hasOwn(state, key)
        ? (state as unknown as Record<string, unknown>)[key]
        : undefined;
    const seed = field("seed"), counter = field("counter"), batches = field("batches");
    if (
      !Number.isSafeInteger(seed) || (seed as number) < 0 || (seed as number) >= 2 ** 32 ||
      !Number.isSafeInteger(counter) || (counter as number) < 0 ||
      !Number.isSafeInteger(batches) || (batches as number) < 0
    ) {
      throw new RangeError(
        `Cannot restore batch source state ${
          preview(state)
        }: expected { seed, counter, batches } with non-negative integers (seed < 2^32)`,
      );
    }
    this.#rng = new Rng(state.seed);
    this.#rng.restore(state);
    this.#batches = state.batches;
  }
}
