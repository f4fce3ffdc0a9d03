/**
 * `@metatokens/tasks`: the four synthetic tasks of the meta-tokens paper
 * (§4.2, Appendices D and H) — List Recall, Segment Counting, Parity and
 * Copying — as seeded generators of `{ task, prompt, answer, phase, … }`
 * over a five-phase curriculum (Table 6), length bins of tokenized prompt
 * length, model-free scoring (exact match and teacher-forced token
 * accuracy, per bin) and JSONL datasets.
 *
 * @example
 * ```ts
 * import { encodeExample, exactMatch, generateDataset, lengthBin } from "@metatokens/tasks";
 *
 * const [ex] = generateDataset("list-recall", 1, 1, 1337);
 * console.log(ex.prompt.endsWith("? _PAUSE_"), lengthBin(ex.promptTokens)); // true 128 or 256
 * const { prompt, answer } = encodeExample(ex); // ids for fine-tuning; answer after a space
 * console.log(prompt.length === ex.promptTokens, answer.length >= 1); // true true
 * console.log(exactMatch(` ${ex.answer} `, ex.answer)); // true
 * ```
 *
 * @module
 */

export * from "./rng.ts";
export * from "./categories.ts";
export * from "./phases.ts";
export * from "./example.ts";
export * from "./list_recall.ts";
export * from "./segment_counting.ts";
export * from "./parity.ts";
export * from "./copying.ts";
export * from "./bins.ts";
export * from "./dataset.ts";
export * from "./scoring.ts";
export * from "./interval.ts";
export * from "./jsonl.ts";
export * from "./batches.ts";
export * from "./evaluate.ts";
