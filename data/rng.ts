/**
 * The seeded generator of the data and task samplers: the same counter-based algorithm as
 * `@metatokens/tensor`'s `Rng` (draw i of seed s is
 * `lowbias32(lowbias32(i) ^ lowbias32(s))`, 24 bits to [0, 1)), copied here
 * because `data` may not import `tensor`. Its state is `{ seed, counter }`.
 *
 * @module
 */

function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Counter-based uniform generator with exact save and restore.
 *
 * @example
 * ```ts
 * import { CounterRng } from "@metatokens/data/rng";
 * const a = new CounterRng(42), b = new CounterRng(42);
 * console.log(a.uniform() === b.uniform(), a.counter); // true 1
 * ```
 */
export class CounterRng {
  /** The seed. */
  readonly seed: number;
  #key: number;
  /** Draws taken so far (assign to resume a stream). */
  counter = 0;

  /** A generator for `seed`, an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new RangeError(`Cannot seed the generator with ${seed}: expected an integer in [0, 2^32)`);
    }
    this.seed = seed;
    this.#key = lowbias32(seed);
  }

  /** The next draw in [0, 1) (24 random bits). */
  uniform(): number {
    return (lowbias32((lowbias32(this.counter++ >>> 0) ^ this.#key) >>> 0) >>> 8) * 2 ** -24;
  }
}
