/**
 * Datasets: any task's generator by name, `n` seeded examples of a phase,
 * optionally restricted to one length bin, and the token encoding of an
 * example for training and scoring.
 *
 * @module
 */

import { encode } from "@metatokens/data/tokenizer";
import { lengthBinLabel, lengthBinRange } from "./bins.ts";
import { generateCopying } from "./copying.ts";
import { TASK_NAMES, type TaskExample, type TaskName } from "./example.ts";
import { generateListRecall } from "./list_recall.ts";
import { generateParity } from "./parity.ts";
import { type PhaseSpec, phaseSpec } from "./phases.ts";
import { generateSegmentCounting } from "./segment_counting.ts";
import { Rng } from "@metatokens/tensor/rng";
import type { TaskRng } from "./rng.ts";

const GENERATORS: { [K in TaskName]: (rng: TaskRng, phase: number | PhaseSpec) => TaskExample } = {
  "list-recall": generateListRecall,
  "segment-counting": generateSegmentCounting,
  "parity": generateParity,
  "copying": generateCopying,
};

/**
 * Checks a task name and returns its canonical spelling: `list-recall`, or
 * the snake_case `list_recall` of the paper's code. An unknown name is an
 * error naming it and the choices.
 *
 * @example
 * ```ts
 * import { taskName } from "@metatokens/tasks/dataset";
 * console.log(taskName("parity"), taskName("list_recall")); // "parity" "list-recall"
 * ```
 */
export function taskName(task: string): TaskName {
  const name = task.replaceAll("_", "-");
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`Unknown task ${JSON.stringify(task)}: expected one of ${TASK_NAMES.join(", ")}`);
  }
  return name as TaskName;
}

/**
 * One example of any task, by name.
 *
 * @example
 * ```ts
 * import { generateExample } from "@metatokens/tasks";
 * import { Rng } from "@metatokens/tensor";
 * const ex = generateExample("parity", new Rng(5), 1);
 * console.log(ex.task, ex.answer === "0" || ex.answer === "1"); // "parity" true
 * ```
 */
export function generateExample(task: string, rng: TaskRng, phase: number | PhaseSpec): TaskExample {
  return GENERATORS[taskName(task)](rng, phase);
}

/** Options of {@linkcode generateDataset}. */
export interface DatasetOptions {
  /** Keep prompts inside this length bin (an edge of `LENGTH_BINS`) as well as the phase's window. */
  bin?: number;
}

/**
 * `n` examples of a task and phase from one seeded generator: the same
 * arguments give the same examples. An unknown task or phase, or a length
 * bin that no prompt of the phase can fall in, is an error.
 *
 * @example
 * ```ts
 * import { generateDataset } from "@metatokens/tasks";
 * const a = generateDataset("list-recall", 1, 3, 42);
 * const b = generateDataset("list-recall", 1, 3, 42);
 * console.log(a.length, JSON.stringify(a) === JSON.stringify(b)); // 3 true
 * const short = generateDataset("parity", 1, 2, 42, { bin: 128 });
 * console.log(short.every((e) => e.promptTokens <= 128)); // true
 * ```
 */
export function generateDataset(
  task: string,
  phase: number | PhaseSpec,
  n: number,
  seed: number,
  options: DatasetOptions = {},
): TaskExample[] {
  const name = taskName(task);
  let spec = phaseSpec(phase);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Cannot generate ${n} examples: expected a non-negative integer`);
  }
  if (options.bin !== undefined) {
    const bin = lengthBinRange(options.bin);
    const lo = Math.max(bin.lo, spec.tokens.lo), hi = Math.min(bin.hi, spec.tokens.hi);
    if (lo > hi) {
      throw new RangeError(
        `No ${name} example of phase ${spec.phase} fits length bin ${lengthBinLabel(options.bin)}: ` +
          `the phase's prompts have ${spec.tokens.lo}–${spec.tokens.hi} tokens`,
      );
    }
    spec = { ...spec, tokens: { lo, hi } };
  }
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => GENERATORS[name](rng, spec));
}

/**
 * The token ids of an example: the prompt (`_PAUSE_` as the meta id) and the
 * answer encoded after a space, the way the completion follows the prompt's
 * final `_PAUSE_` — the targets of completion-only fine-tuning and of
 * teacher-forced token accuracy.
 *
 * @example
 * ```ts
 * import { encodeExample, formatParity } from "@metatokens/tasks";
 * const { prompt, answer } = encodeExample({ prompt: formatParity([1, 0], 1), answer: "1" });
 * console.log(prompt.at(-1), answer); // 50257 Int32Array [352]
 * ```
 */
export function encodeExample(example: { prompt: string; answer: string }): {
  prompt: Int32Array;
  answer: Int32Array;
} {
  return { prompt: encode(example.prompt), answer: encode(` ${example.answer}`) };
}
