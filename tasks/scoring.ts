/**
 * Model-free scoring (docs/ARCHITECTURE.md §7): sequence accuracy (exact match of the
 * greedy-decoded answer) and teacher-forced token accuracy, and both per
 * length bin, labelled.
 *
 * @module
 */

import { lengthBin, lengthBinLabel } from "./bins.ts";

/**
 * Exact match after trimming surrounding whitespace from both sides.
 *
 * @example
 * ```ts
 * import { exactMatch } from "@metatokens/tasks/scoring";
 * console.log(exactMatch(" lawyer\n", "lawyer"), exactMatch("lawyers", "lawyer")); // true false
 * ```
 */
export function exactMatch(predicted: string, answer: string): boolean {
  return predicted.trim() === answer.trim();
}

/**
 * Teacher-forced token accuracy: the fraction of answer positions whose
 * argmax prediction (given the true previous tokens) is the answer token.
 * Both arrays have one entry per answer token; different lengths or an
 * empty answer are errors.
 *
 * @example
 * ```ts
 * import { tokenAccuracy } from "@metatokens/tasks/scoring";
 * console.log(tokenAccuracy([11, 12, 99, 14], [11, 12, 13, 14])); // 0.75
 * ```
 */
export function tokenAccuracy(predictedTokens: ArrayLike<number>, answerTokens: ArrayLike<number>): number {
  if (answerTokens.length === 0) {
    throw new RangeError("Cannot score token accuracy of an empty answer: expected ≥ 1 token");
  }
  if (predictedTokens.length !== answerTokens.length) {
    throw new RangeError(
      `Cannot score ${predictedTokens.length} predicted tokens against ${answerTokens.length} answer tokens: ` +
        `expected one argmax prediction per answer position`,
    );
  }
  let hits = 0;
  for (let i = 0; i < answerTokens.length; i++) if (predictedTokens[i] === answerTokens[i]) hits++;
  return hits / answerTokens.length;
}

/** What the two metrics mean, for tables and plots. */
export const METRIC_LABELS: Readonly<{ sequenceAccuracy: string; tokenAccuracy: string }> = Object.freeze({
  sequenceAccuracy: "sequence accuracy (exact match of the greedy-decoded answer)",
  tokenAccuracy: "token accuracy (teacher-forced, argmax per answer token)",
});

/** One scored example: its prompt length and whichever of the two predictions were made. */
export interface ScoredExample {
  /** Tokens in the prompt; decides the length bin. */
  promptTokens: number;
  /** The expected answer text. */
  answer: string;
  /** The greedy-decoded completion (for sequence accuracy). */
  predicted?: string;
  /** Argmax token per answer position under teacher forcing (for token accuracy). */
  predictedTokens?: ArrayLike<number>;
  /** The answer's token ids (for token accuracy). */
  answerTokens?: ArrayLike<number>;
}

/** Both metrics for one length bin. */
export interface BinScore {
  /** The bin's upper edge in tokens. */
  bin: number;
  /** The bin's label, `≤512`. */
  label: string;
  /** Examples in the bin. */
  count: number;
  /** Fraction of examples with `predicted` that match exactly; null when none has one. */
  sequenceAccuracy: number | null;
  /** Exact matches, and the examples with a `predicted` text they are counted over (for intervals). */
  sequenceHits: number;
  sequenceN: number;
  /** Correct answer tokens / all answer tokens (micro average); null when no example has tokens. */
  tokenAccuracy: number | null;
  /** {@linkcode METRIC_LABELS}: what the two numbers are. */
  metrics: typeof METRIC_LABELS;
}

/**
 * Scores examples per length bin (ascending): sequence accuracy over the
 * examples with a `predicted` text, token accuracy pooled over the answer
 * tokens of the examples with token predictions.
 *
 * @example
 * ```ts
 * import { scoreByLengthBin } from "@metatokens/tasks/scoring";
 * const rows = scoreByLengthBin([
 *   { promptTokens: 150, answer: "lawyer", predicted: "lawyer", predictedTokens: [1], answerTokens: [1] },
 *   { promptTokens: 190, answer: "3", predicted: "4", predictedTokens: [7], answerTokens: [8] },
 *   { promptTokens: 600, answer: "0", predicted: "0" },
 * ]);
 * console.log(rows.map((r) => [r.label, r.count, r.sequenceAccuracy, r.tokenAccuracy]));
 * // [["≤256", 2, 0.5, 0.5], ["≤1024", 1, 1, null]]
 * ```
 */
export function scoreByLengthBin(examples: Iterable<ScoredExample>): BinScore[] {
  const bins = new Map<number, { count: number; seq: number; seqN: number; tok: number; tokN: number }>();
  for (const ex of examples) {
    const bin = lengthBin(ex.promptTokens);
    const acc = bins.get(bin) ?? { count: 0, seq: 0, seqN: 0, tok: 0, tokN: 0 };
    bins.set(bin, acc);
    acc.count++;
    if (ex.predicted !== undefined) {
      acc.seqN++;
      if (exactMatch(ex.predicted, ex.answer)) acc.seq++;
    }
    if (ex.predictedTokens !== undefined || ex.answerTokens !== undefined) {
      if (ex.predictedTokens === undefined || ex.answerTokens === undefined) {
        throw new RangeError(
          `Example with answer "${ex.answer}" has ${
            ex.predictedTokens === undefined ? "answer" : "predicted"
          } ` +
            `tokens only: expected both predictedTokens and answerTokens`,
        );
      }
      const n = ex.answerTokens.length;
      acc.tok += tokenAccuracy(ex.predictedTokens, ex.answerTokens) * n;
      acc.tokN += n;
    }
  }
  return [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([bin, a]) => ({
    bin,
    label: lengthBinLabel(bin),
    count: a.count,
    sequenceAccuracy: a.seqN > 0 ? a.seq / a.seqN : null,
    sequenceHits: a.seq,
    sequenceN: a.seqN,
    tokenAccuracy: a.tokN > 0 ? Math.round(a.tok) / a.tokN : null,
    metrics: METRIC_LABELS,
  }));
}
