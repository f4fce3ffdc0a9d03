/**
 * The task generators' seeded randomness: the counter-based algorithm of
 * `@metatokens/tensor`'s `Rng` (draw i of seed s is
 * `lowbias32(lowbias32(i) ^ lowbias32(s))`, its top 24 bits scaled to
 * [0, 1)), through the data package (`tasks` may import only `data`). Any
 * object with a `uniform(): number` method in [0, 1) can stand in for it.
 *
 * @module
 */

/** A source of uniform draws in [0, 1): all a generator needs. */
export interface TaskRng {
  /** The next uniform draw in [0, 1). */
  uniform(): number;
}

/**
 * Counter-based uniform generator (the data package's `CounterRng`): the same
 * seed gives the same draws; the state is `{ seed, counter }`, so setting
 * `counter` resumes a stream.
 *
 * @example
 * ```ts
 * import { TaskCounterRng } from "@metatokens/tasks/rng";
 * const a = new TaskCounterRng(42), b = new TaskCounterRng(42);
 * console.log(a.uniform() === b.uniform(), a.counter); // true 1
 * ```
 */
export { CounterRng as TaskCounterRng } from "@metatokens/data";
