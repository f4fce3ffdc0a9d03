/**
 * Evaluation of a task: greedy answers (sequence accuracy) and teacher-forced
 * argmax tokens (token accuracy) per prompt-length bin, through a small
 * `Predictor` interface so this package needs no model (the CLI adapts a GPT
 * to it; tests use oracles).
 *
 * @module
 */

import { decode } from "@metatokens/data";
import { encodeExample } from "./dataset.ts";
import type { TaskExample } from "./example.ts";
import { type BinScore, METRIC_LABELS, scoreByLengthBin, type ScoredExample } from "./scoring.ts";

/** What evaluation needs from a model. */
export interface Predictor {
  /** The greedy continuation of `prompt`, `maxTokens` tokens long (stopping at the answer's end). */
  complete(prompt: Int32Array, maxTokens: number): Promise<Int32Array>;
  /** The argmax token at each answer position, reading the true answer so far (teacher forcing). */
  teacherForced(prompt: Int32Array, answer: Int32Array): Promise<Int32Array>;
}

/** Per-bin scores and the scored examples. */
export interface TaskEvaluation {
  /** Both metrics per length bin, ascending. */
  bins: BinScore[];
  /** Every example with its predictions. */
  records: ScoredExample[];
}

/**
 * Scores `predictor` on `examples`.
 *
 * @example
 * ```ts
 * import { evaluateTask, generateDataset } from "@metatokens/tasks";
 * const examples = generateDataset("parity", 1, 4, 0);
 * const wrong = {
 *   complete: (_p: Int32Array, n: number) => Promise.resolve(new Int32Array(n)),
 *   teacherForced: (_p: Int32Array, a: Int32Array) => Promise.resolve(a.map(() => 0)),
 * };
 * console.log((await evaluateTask(wrong, examples)).bins[0].sequenceAccuracy); // 0
 * ```
 */
export async function evaluateTask(
  predictor: Predictor,
  examples: readonly TaskExample[],
): Promise<TaskEvaluation> {
  const records: ScoredExample[] = [];
  for (const example of examples) {
    const { prompt, answer } = encodeExample(example);
    records.push({
      promptTokens: prompt.length,
      answer: example.answer,
      predicted: decode(await predictor.complete(prompt, answer.length)),
      predictedTokens: await predictor.teacherForced(prompt, answer),
      answerTokens: answer,
    });
  }
  return { bins: scoreByLengthBin(records), records };
}

/**
 * A Markdown table of per-bin scores, like the paper's Tables 7–10.
 *
 * @example
 * ```ts
 * import { formatBinTable } from "@metatokens/tasks";
 * console.log(formatBinTable([], "List Recall"));
 * ```
 */
export function formatBinTable(bins: readonly BinScore[], title: string): string {
  const pct = (x: number | null): string => (x === null ? "–" : `${(100 * x).toFixed(1)}`);
  return [
    `### ${title}`,
    "",
    `| prompt length | examples | ${METRIC_LABELS.sequenceAccuracy} (%) | ${METRIC_LABELS.tokenAccuracy} (%) |`,
    "|---|---|---|---|",
    ...bins.map((b) => `| ${b.label} | ${b.count} | ${pct(b.sequenceAccuracy)} | ${pct(b.tokenAccuracy)} |`),
    "",
  ].join("\n");
}
