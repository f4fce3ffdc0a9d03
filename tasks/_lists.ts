/**
 * Sampling of the category lists shared by List Recall and Segment Counting.
 *
 * @module
 */

import { CATEGORIES } from "./categories.ts";
import type { TaskList } from "./example.ts";
import type { IntRange, PhaseSpec } from "./phases.ts";
import { randInt, shuffle, type TaskRng } from "./_rng.ts";

/** n from an even mixture of uniform ranges. */
export function drawItemsPerList(rng: TaskRng, mixture: readonly IntRange[]): number {
  const component = mixture[randInt(rng, 0, mixture.length - 1)];
  return randInt(rng, component.lo, component.hi);
}

/**
 * Cheap bounds on the prompt tokens of m lists of n items: headers take 2–3
 * tokens, items 1–2, the question and pauses at most 24. Used to skip (m, n)
 * pairs that cannot fit the window before drawing any items.
 */
export function listsCanFit(spec: PhaseSpec, m: number, n: number): boolean {
  const min = m * (2 + n);
  const max = m * (3 + 2 * n) + 24;
  return max >= spec.tokens.lo && min <= spec.tokens.hi;
}

/** m lists of distinct categories, n items each drawn with replacement. */
export function drawLists(rng: TaskRng, m: number, n: number): TaskList[] {
  if (m > CATEGORIES.length) {
    throw new RangeError(`Cannot draw ${m} lists: there are only ${CATEGORIES.length} categories`);
  }
  const chosen = shuffle(rng, [...CATEGORIES]).slice(0, m);
  return chosen.map((c) => ({
    category: c.name,
    items: Array.from({ length: n }, () => c.items[randInt(rng, 0, c.items.length - 1)]),
  }));
}
