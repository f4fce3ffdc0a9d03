/**
 * The task generators' source of randomness. Generators take any object with
 * a `uniform(): number` method in [0, 1); the toolkit's one seeded generator
 * is `@metatokens/tensor`'s `Rng` (counter-based: draw i of seed s is
 * `lowbias32(lowbias32(i) ^ lowbias32(s))`, its top 24 bits scaled to
 * [0, 1)), which every sampler in `data` and `tasks` uses.
 *
 * @module
 */

/**
 * A source of uniform draws in [0, 1): all a generator needs.
 *
 * @example
 * ```ts
 * import type { TaskRng } from "@metatokens/tasks/rng";
 * import { generateParity } from "@metatokens/tasks";
 * const constant: TaskRng = { uniform: () => 0.25 };
 * console.log(generateParity(constant, 1).prompt.length > 0); // true
 * ```
 */
export interface TaskRng {
  /** The next uniform draw in [0, 1). */
  uniform(): number;
}
