/**
 * The KV cache of decoding: per layer, the keys and values of every token a
 * sequence has seen (after RoPE), and for a meta-attention model the keys and
 * values of its meta tokens under meta-attention's own projection — all on
 * the model's backend, so a decoding step reads nothing back but its logits.
 *
 * `Gpt.forward(batch, { cache })` runs the batch's tokens as the next ones of
 * the sequences in the cache rows given (`rows`, default 0 … B − 1): positions
 * continue from each row's length, keys and values are appended, attention
 * reads the whole row. Prefill is the same call with the prompt.
 *
 * @module
 */

import { type Backend, type Tensor, zeros } from "@metatokens/tensor";
import type { AttentionCache } from "@metatokens/attention";
import type { GptConfig } from "./config.ts";

/** A cache of `rows` sequences of up to `capacity` tokens each for one model config. */
export class KvCache {
  /** Sequences the cache holds. */
  readonly rows: number;
  /** Tokens each sequence may hold. */
  readonly capacity: number;
  /** Tokens cached per sequence. */
  readonly lengths: Int32Array;
  /** Meta tokens cached per sequence (meta-attention models). */
  readonly metaLengths: Int32Array;
  // Per layer: causal keys and values (R, S, C); meta-attention's (R, S, C), or none without it.
  readonly #k: Tensor[];
  readonly #v: Tensor[];
  readonly #metaK: Tensor[];
  readonly #metaV: Tensor[];

  /**
   * An empty cache on `backend` for `rows` sequences of at most `capacity` tokens.
   *
   * @example
   * ```ts
   * import { gptConfig, KvCache } from "@metatokens/model";
   * const cache = new KvCache(gptConfig({ nLayer: 2, nEmbd: 16, nHead: 2 }, "tiny"), 2, 32);
   * console.log(cache.lengths); // Int32Array(2) [0, 0]
   * cache.dispose();
   * ```
   */
  constructor(config: GptConfig, rows: number, capacity: number, backend?: Backend) {
    for (const [name, n] of [["rows", rows], ["capacity", capacity]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) {
        throw new RangeError(`Cannot make a KV cache with ${name} ${n}: expected a positive integer`);
      }
    }
    if (config.posEncoding === "ape" && capacity > config.blockSize) {
      throw new RangeError(
        `Cannot cache ${capacity} tokens for an APE model with block size ${config.blockSize}: at most ${config.blockSize}`,
      );
    }
    this.rows = rows;
    this.capacity = capacity;
    this.lengths = new Int32Array(rows);
    this.metaLengths = new Int32Array(rows);
    const shape = [rows, capacity, config.nEmbd];
    const layers = (on: boolean): Tensor[] =>
      on ? Array.from({ length: config.nLayer }, () => zeros(shape, { backend }).keep()) : [];
    this.#k = layers(true);
    this.#v = layers(true);
    this.#metaK = layers(config.metaAttention);
    this.#metaV = layers(config.metaAttention);
  }

  /** Layer i's causal cache for the batch rows mapped to cache rows `rows`. */
  causal(i: number, rows: ArrayLike<number>): AttentionCache {
    return { k: this.#k[i], v: this.#v[i], rows, past: Array.from(rows, (r) => this.lengths[r]) };
  }

  /** Layer i's meta-attention cache for the batch rows mapped to cache rows `rows`. */
  meta(i: number, rows: ArrayLike<number>): AttentionCache {
    if (this.#metaK.length === 0) {
      throw new Error("Cannot read a meta-attention cache of a model without one");
    }
    return { k: this.#metaK[i], v: this.#metaV[i], rows, past: Array.from(rows, (r) => this.metaLengths[r]) };
  }

  /**
   * Checks that `tokens` more tokens fit each of `rows` (before a forward
   * writes anything), naming the row that is full.
   */
  checkRoom(rows: ArrayLike<number>, tokens: number): void {
    if (new Set(Array.from(rows)).size !== rows.length) {
      throw new RangeError(`Cannot run two batch rows into one cache row: rows ${Array.from(rows)}`);
    }
    for (const r of Array.from(rows)) {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) {
        throw new RangeError(`Cannot use cache row ${r}: the cache has rows 0 … ${this.rows - 1}`);
      }
      if (this.lengths[r] + tokens > this.capacity) {
        throw new RangeError(
          `Cannot add ${tokens} tokens to cache row ${r}: it holds ${this.lengths[r]} of ${this.capacity}`,
        );
      }
    }
  }

  /** Records that the forward appended `tokens` tokens (`meta[b]` of them meta tokens) to each row. */
  advance(rows: ArrayLike<number>, tokens: number, meta: ArrayLike<number>): void {
    Array.from(rows).forEach((r, b) => {
      this.lengths[r] += tokens;
      this.metaLengths[r] += meta[b];
    });
  }

  /** Forgets row r's tokens (its memory is reused by the next sequence). */
  reset(r: number): void {
    this.lengths[r] = 0;
    this.metaLengths[r] = 0;
  }

  /** Frees the cache's buffers. */
  dispose(): void {
    for (const t of [...this.#k, ...this.#v, ...this.#metaK, ...this.#metaV]) t.dispose();
  }

  /** {@linkcode KvCache.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
