/**
 * The task generators' seeded randomness: the counter-based algorithm of
 * `@metatokens/tensor`'s `Rng` (draw i of seed s is
 * `lowbias32(lowbias32(i) ^ lowbias32(s))`, its top 24 bits scaled to
 * [0, 1)), copied here because `tasks` may import only `data`. Any object
 * with a `uniform(): number` method in [0, 1) can stand in for it.
 *
 * @module
 */

/** A source of uniform draws in [0, 1): all a generator needs. */
export interface TaskRng {
  /** The next uniform draw in [0, 1). */
  uniform(): number;
}

function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Counter-based uniform generator: the same seed gives the same draws; the
 * state is `{ seed, counter }`, so setting `counter` resumes a stream.
 *
 * @example
 * ```ts
 * import { TaskCounterRng } from "@metatokens/tasks/rng";
 * const a = new TaskCounterRng(42), b = new TaskCounterRng(42);
 * console.log(a.uniform() === b.uniform(), a.counter); // true 1
 * ```
 */
export class TaskCounterRng implements TaskRng {
  readonly seed: number;
  #key: number;
  counter = 0;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new RangeError(`Cannot seed the task generator with ${seed}: expected an integer in [0, 2^32)`);
    }
    this.seed = seed;
    this.#key = lowbias32(seed);
  }

  uniform(): number {
    return (lowbias32((lowbias32(this.counter++ >>> 0) ^ this.#key) >>> 0) >>> 8) * 2 ** -24;
  }
}
