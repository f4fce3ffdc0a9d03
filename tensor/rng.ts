/**
 * One seeded random number generator for the whole toolkit.
 *
 * Algorithm: a counter-based generator. The 32-bit draw number `i` of the stream
 * with seed `s` is
 *
 * ```text
 * key  = lowbias32(s)
 * u(i) = lowbias32(lowbias32(i mod 2^32) ^ key)
 * lowbias32(x) = x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16
 * ```
 *
 * (`lowbias32` is Chris Wellons' low-bias integer hash). Because a draw depends
 * only on `(key, i)`, kernels on any backend (TypeScript, WASM, WGSL) compute the
 * same numbers in parallel: dropout takes a block of `n` draws starting at the
 * current counter and regenerates its mask in backward instead of storing it.
 * The state is two integers, so saving and restoring it is exact.
 *
 * @module
 */

import { preview } from "./quote.ts";

/** Saved state of an {@linkcode Rng}: the seed and how many draws were taken. */
export interface RngState {
  /** The seed the generator was created with. */
  seed: number;
  /** The index of the next draw. */
  counter: number;
}

/**
 * Chris Wellons' `lowbias32` integer hash on unsigned 32-bit values.
 *
 * @example
 * ```ts
 * import { lowbias32 } from "@metatokens/tensor/rng";
 * console.log(lowbias32(1)); // a well-mixed u32
 * ```
 */
export function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Draw `i` of the stream with key `key`, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { lowbias32, randomU32 } from "@metatokens/tensor/rng";
 * const key = lowbias32(42);
 * console.log(randomU32(key, 0) === randomU32(key, 0)); // true
 * ```
 */
export function randomU32(key: number, i: number): number {
  return lowbias32((lowbias32(i >>> 0) ^ key) >>> 0);
}

/**
 * Draw `i` as a float in [0, 1) with 24 random bits (exact in f32).
 *
 * @example
 * ```ts
 * import { randomUniform } from "@metatokens/tensor/rng";
 * const u = randomUniform(123, 7);
 * console.log(u >= 0 && u < 1); // true
 * ```
 */
export function randomUniform(key: number, i: number): number {
  return (randomU32(key, i) >>> 8) * 2 ** -24;
}

const TWO_PI = 2 * Math.PI;

/**
 * The seeded generator: uniform and normal draws, and blocks of the stream for kernels.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor/rng";
 * const rng = new Rng(1337);
 * const saved = rng.state();
 * const a = rng.normal();
 * rng.restore(saved);
 * console.log(rng.normal() === a); // true
 * ```
 */
export class Rng {
  #seed: number;
  #key: number;
  #counter = 0;

  /** Creates a generator; the seed must be an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new RangeError(
        `Cannot seed the RNG with ${preview(seed)}: expected an integer in [0, 2^32)`,
      );
    }
    this.#seed = seed;
    this.#key = lowbias32(seed);
  }

  /** The hash key kernels use for this stream. */
  get key(): number {
    return this.#key;
  }

  /** Next draw as an unsigned 32-bit integer. */
  nextU32(): number {
    return randomU32(this.#key, this.#counter++);
  }

  /** Next draw as a float in [0, 1). */
  uniform(): number {
    return randomUniform(this.#key, this.#counter++);
  }

  /** Next standard normal draw (Box–Muller on two uniforms; uses two draws). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  /** Fills `out` with N(mean, std²) draws. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /**
   * Reserves `n` consecutive draws for a kernel and returns the first index
   * (dropout uses draws `offset … offset + n − 1`).
   */
  take(n: number): number {
    const offset = this.#counter;
    this.#counter += n;
    return offset >>> 0;
  }

  /** The state to save in a checkpoint. */
  state(): RngState {
    return { seed: this.#seed, counter: this.#counter };
  }

  /** Continues exactly where `state` was saved. */
  restore(state: RngState): void {
    if (state.seed !== this.#seed) {
      this.#seed = state.seed;
      this.#key = lowbias32(state.seed);
    }
    if (!Number.isSafeInteger(state.counter) || state.counter < 0) {
      throw new RangeError(
        `Cannot restore RNG counter ${state.counter}: expected a non-negative integer`,
      );
    }
    this.#counter = state.counter;
  }
}
