/**
 * Meta-token injection for pre-training (paper §3, after Goyal et al. 2024).
 *
 * For a window of `n` output positions, `k = round(0.1·n)` slots are drawn as a
 * uniformly random k-subset of [0, n) (partial Fisher–Yates). The sequence
 * `s` of length n + 1 holds {@linkcode META_ID} at those slots and the raw
 * tokens, in order, everywhere else — n + 1 − k raw tokens are consumed, so
 * the window is trimmed back to n. Then `x = s[0 … n)`, `y = s[1 … n]`, and
 * every target that is the meta token becomes −1 (ignored by the loss):
 * the model is never trained to predict `_PAUSE_`, while predictions made
 * *at* a meta position keep their target and still train.
 *
 * @module
 */

import { META_ID } from "./tokenizer.ts";

/**
 * The one thing injection needs from a random number generator: uniform draws
 * in [0, 1). The tensor package's `Rng` fits without being imported here.
 */
export interface UniformRng {
  /** Next draw in [0, 1). */
  uniform(): number;
}

/** One injected window. */
export interface InjectedWindow {
  /** Inputs (n): raw tokens with {@linkcode META_ID} at `metaPositions`. */
  x: Int32Array;
  /** Targets (n): `x` shifted by one; −1 wherever the next token is the meta token. */
  y: Int32Array;
  /** The k meta slots in `x`, sorted ascending. */
  metaPositions: number[];
  /** Raw tokens consumed: n + 1 − k. */
  consumed: number;
}

/**
 * The number of meta tokens in a window of n positions: `round(0.1·n)`.
 *
 * @example
 * ```ts
 * import { metaCount } from "@metatokens/data/inject";
 * console.log(metaCount(1024), metaCount(5), metaCount(4)); // 102 1 0
 * ```
 */
export function metaCount(n: number, fraction = 0.1): number {
  return Math.round(fraction * n);
}

/**
 * A uniformly random k-subset of [0, n), sorted, by a partial Fisher–Yates
 * shuffle (k draws from `rng`).
 *
 * @example
 * ```ts
 * import { randomSubset } from "@metatokens/data/inject";
 * let s = 1;
 * const rng = { uniform: () => (s = (s * 16807) % 2147483647) / 2147483647 };
 * console.log(randomSubset(10, 3, rng)); // three distinct sorted slots in [0, 10)
 * ```
 */
export function randomSubset(n: number, k: number, rng: UniformRng): number[] {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Cannot draw a subset of [0, ${n}): expected a non-negative integer size`);
  }
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(`Cannot draw ${k} distinct slots from ${n}: expected an integer in [0, ${n}]`);
  }
  // Sparse Fisher–Yates: only the swapped entries of the identity permutation are stored.
  const swapped = new Map<number, number>();
  const out: number[] = new Array(k);
  for (let i = 0; i < k; i++) {
    const u = rng.uniform();
    if (!(u >= 0 && u < 1)) {
      throw new RangeError(`Cannot use the random draw ${u}: expected a number in [0, 1)`);
    }
    const j = i + Math.floor(u * (n - i));
    const vi = swapped.get(i) ?? i;
    const vj = swapped.get(j) ?? j;
    out[i] = vj;
    swapped.set(j, vi);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Injects k meta tokens at uniformly random slots of a window of n positions.
 * `raw` needs at least n + 1 − k tokens (n + 1 always suffices); only the
 * first `consumed` are used.
 *
 * @example
 * ```ts
 * import { injectWindow } from "@metatokens/data/inject";
 * let s = 7;
 * const rng = { uniform: () => (s = (s * 16807) % 2147483647) / 2147483647 };
 * const raw = Int32Array.from({ length: 21 }, (_, i) => 100 + i);
 * const w = injectWindow(raw, 20, rng); // k = 2
 * console.log(w.metaPositions.length, w.consumed); // 2 19
 * console.log(w.x, w.y); // 50257 at the two slots of x; −1 in y one position before each
 * ```
 */
export function injectWindow(
  raw: ArrayLike<number>,
  n: number,
  rng: UniformRng,
  k: number = metaCount(n),
): InjectedWindow {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot inject into a window of ${n} positions: expected a positive integer`);
  }
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(
      `Cannot inject ${k} meta tokens into a window of ${n} positions: expected an integer in [0, ${n}]`,
    );
  }
  const consumed = n + 1 - k;
  if (raw.length < consumed) {
    throw new RangeError(
      `Cannot inject ${k} meta tokens into a window of ${n} from ${raw.length} raw tokens: expected at least ${consumed}`,
    );
  }
  const metaPositions = randomSubset(n, k, rng);
  const s = new Int32Array(n + 1);
  let r = 0, m = 0;
  for (let i = 0; i <= n; i++) {
    if (m < k && metaPositions[m] === i) {
      s[i] = META_ID;
      m++;
    } else {
      s[i] = raw[r++];
    }
  }
  const x = s.slice(0, n);
  const y = s.slice(1, n + 1);
  for (let i = 0; i < n; i++) if (y[i] === META_ID) y[i] = -1;
  return { x, y, metaPositions, consumed };
}
