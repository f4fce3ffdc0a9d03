/**
 * The fine-tuning curriculum: paper Table 6 (Appendix D.1) for List Recall
 * and Segment Counting, scaled to the same prompt lengths for Parity and
 * Copying.
 *
 * | phase | lists m     | items n                               | prompt tokens | Copying C | Copying D   |
 * | ----- | ----------- | ------------------------------------- | ------------- | --------- | ----------- |
 * | 1     | U(3–8)      | U(3–10)                               | 100–200       | U(8–24)   | U(8–48)     |
 * | 2     | U(8–12)     | bimodal: ½ U(3–7) + ½ U(12–16)        | 200–300       | U(16–48)  | U(32–128)   |
 * | 3     | U(12–19)    | ⅓ U(3–8) + ⅓ U(9–16) + ⅓ U(17–25)     | 500–700       | U(24–64)  | U(128–384)  |
 * | 4     | U(15–20)    | U(40–60)                              | 513–1024      | U(32–96)  | U(256–640)  |
 * | 5     | U(15–20)    | U(90–110)                             | 1025–2048     | U(48–128) | U(512–1280) |
 *
 * Choices the paper leaves open, documented here:
 *
 * - **The token window binds.** Table 6's m and n are the proposal
 *   distribution and the prompt-token window (GPT-2 tokens with `_PAUSE_` as
 *   one token, measured with `@metatokens/data`'s `encode`) is the
 *   acceptance test: draws are redrawn until the prompt fits. With our
 *   one-or-two-token items, Table 6's m × n in phases 1–3 often gives
 *   prompts shorter than the paper's "≈" lengths, so the accepted examples
 *   lean to the large end of m and n (phase 1 needs about m·n ≥ 70; phase 3
 *   mostly uses the 17–25 component). Phases 4 and 5 ("≤ 1024", "≤ 2048")
 *   get lower bounds 513 and 1025 so each phase fills its own length bin.
 * - **Phase 2 "bimodal"** is the even mixture of U(3–7) and U(12–16).
 * - **n is per example**: every list of an example has n items (as in the
 *   Appendix H examples).
 * - **Parity**: the prompt length T is drawn uniformly from the window, the
 *   bit string has as many bits as make the prompt exactly T tokens (each
 *   ` 0` / ` 1` is one token), and the pause goes after bit
 *   L ~ U(1 … number of bits).
 * - **Copying**: T is drawn uniformly from the window, the span length C and
 *   the distance D (tokens between the closing `_PAUSE_` and `Q:`) from the
 *   columns above (D capped so the passage fits in T), and the rest of T is
 *   passage before the span.
 *
 * @module
 */

/** An integer range, both ends inclusive. */
export interface IntRange {
  /** Smallest value. */
  readonly lo: number;
  /** Largest value. */
  readonly hi: number;
}

/** Everything a generator needs to know about one curriculum phase. */
export interface PhaseSpec {
  /** The phase number (1–5 for the built-in curriculum). */
  readonly phase: number;
  /** Inclusive window of tokenized prompt lengths. */
  readonly tokens: IntRange;
  /** Number of lists m (List Recall, Segment Counting). */
  readonly lists: IntRange;
  /** Items per list n: an even mixture of these uniform ranges. */
  readonly items: readonly IntRange[];
  /** Copying: the span length C in tokens. */
  readonly copyTokens: IntRange;
  /** Copying: tokens between the closing `_PAUSE_` and the question, D. */
  readonly distanceTokens: IntRange;
}

const r = (lo: number, hi: number): IntRange => Object.freeze({ lo, hi });

/**
 * The five phases of the curriculum (index 0 is phase 1).
 *
 * @example
 * ```ts
 * import { PHASES } from "@metatokens/tasks/phases";
 * console.log(PHASES.map((p) => p.tokens.hi)); // [200, 300, 700, 1024, 2048]
 * ```
 */
export const PHASES: readonly PhaseSpec[] = Object.freeze([
  {
    phase: 1,
    tokens: r(100, 200),
    lists: r(3, 8),
    items: [r(3, 10)],
    copyTokens: r(8, 24),
    distanceTokens: r(8, 48),
  },
  {
    phase: 2,
    tokens: r(200, 300),
    lists: r(8, 12),
    items: [r(3, 7), r(12, 16)],
    copyTokens: r(16, 48),
    distanceTokens: r(32, 128),
  },
  {
    phase: 3,
    tokens: r(500, 700),
    lists: r(12, 19),
    items: [r(3, 8), r(9, 16), r(17, 25)],
    copyTokens: r(24, 64),
    distanceTokens: r(128, 384),
  },
  {
    phase: 4,
    tokens: r(513, 1024),
    lists: r(15, 20),
    items: [r(40, 60)],
    copyTokens: r(32, 96),
    distanceTokens: r(256, 640),
  },
  {
    phase: 5,
    tokens: r(1025, 2048),
    lists: r(15, 20),
    items: [r(90, 110)],
    copyTokens: r(48, 128),
    distanceTokens: r(512, 1280),
  },
].map((p) => Object.freeze({ ...p, items: Object.freeze(p.items) })));

/**
 * The spec of a phase; a phase outside 1–5 is an error naming it and the choices.
 * A {@linkcode PhaseSpec} passed in is checked and returned as is, so callers
 * can make their own (e.g. longer evaluation lengths).
 *
 * @example
 * ```ts
 * import { phaseSpec } from "@metatokens/tasks/phases";
 * console.log(phaseSpec(3).lists); // { lo: 12, hi: 19 }
 * ```
 */
export function phaseSpec(phase: number | PhaseSpec): PhaseSpec {
  if (typeof phase === "object" && phase !== null) {
    checkSpec(phase);
    return phase;
  }
  const found = PHASES.find((p) => p.phase === phase);
  if (found === undefined) {
    throw new RangeError(
      `Unknown phase ${JSON.stringify(phase)}: expected one of ${PHASES.map((p) => p.phase).join(", ")}`,
    );
  }
  return found;
}

function checkRange(what: string, x: IntRange, min: number): void {
  if (!Number.isInteger(x?.lo) || !Number.isInteger(x?.hi) || x.lo < min || x.hi < x.lo) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(x)}: expected integers ${min} ≤ lo ≤ hi`,
    );
  }
}

function checkSpec(spec: PhaseSpec): void {
  checkRange("prompt token window", spec.tokens, 1);
  checkRange("list count m", spec.lists, 1);
  if (!Array.isArray(spec.items) || spec.items.length === 0) {
    throw new RangeError(
      `Invalid items per list ${JSON.stringify(spec.items)}: expected a non-empty list of ranges`,
    );
  }
  for (const n of spec.items) checkRange("items per list n", n, 1);
  checkRange("copy length C", spec.copyTokens, 1);
  checkRange("distance D", spec.distanceTokens, 1);
}
