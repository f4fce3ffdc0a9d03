/**
 * Integer, choice and shuffle helpers over a {@linkcode TaskRng}.
 *
 * @module
 */

import type { TaskRng } from "./rng.ts";

export type { TaskRng };

/** A uniform integer in [lo, hi] (both inclusive). */
export function randInt(rng: TaskRng, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.floor(rng.uniform() * (hi - lo + 1)));
}

/** A uniformly chosen element of a non-empty array. */
export function pick<T>(rng: TaskRng, items: readonly T[]): T {
  return items[randInt(rng, 0, items.length - 1)];
}

/** Shuffles in place (Fisher–Yates) and returns the array. */
export function shuffle<T>(rng: TaskRng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const k = randInt(rng, 0, i);
    [items[i], items[k]] = [items[k], items[i]];
  }
  return items;
}
