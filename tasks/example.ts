/**
 * The example records every generator returns: `{ task, prompt, answer,
 * phase, promptTokens }` plus the metadata that recomputes the answer.
 *
 * @module
 */

/**
 * The four task names.
 *
 * @example
 * ```ts
 * import { TASK_NAMES } from "@metatokens/tasks/example";
 * console.log(TASK_NAMES); // ["list-recall", "segment-counting", "parity", "copying"]
 * ```
 */
export const TASK_NAMES: readonly TaskName[] = Object.freeze([
  "list-recall",
  "segment-counting",
  "parity",
  "copying",
]);

/** One of {@linkcode TASK_NAMES}. */
export type TaskName = "list-recall" | "segment-counting" | "parity" | "copying";

/** Fields every example has. */
export interface BaseExample {
  /** Which task. */
  task: TaskName;
  /** The prompt text; `_PAUSE_` stands for the meta token and it ends with one. */
  prompt: string;
  /** The expected completion (without a leading space). */
  answer: string;
  /** The curriculum phase it was drawn for. */
  phase: number;
  /** GPT-2 tokens in the prompt, `_PAUSE_` counted as one. */
  promptTokens: number;
}

/** One list of a List Recall or Segment Counting prompt. */
export interface TaskList {
  /** The category name, the list's header. */
  category: string;
  /** The items, in order. */
  items: string[];
}

/** A List Recall example: the answer is `lists[target].items[j - 1]`. */
export interface ListRecallExample extends BaseExample {
  task: "list-recall";
  /** The lists in prompt order. */
  lists: TaskList[];
  /** Index into `lists` of the list that carries the `_PAUSE_`. */
  target: number;
  /** 1-based item position; `_PAUSE_` follows item j. */
  j: number;
}

/** A Segment Counting example: the answer is how often `item` occurs in `lists[target]`. */
export interface SegmentCountingExample extends BaseExample {
  task: "segment-counting";
  /** The lists in prompt order. */
  lists: TaskList[];
  /** Index into `lists` of the list wrapped in `_PAUSE_ … _PAUSE_`. */
  target: number;
  /** The item the question counts. */
  item: string;
}

/** A Parity example: the answer is the XOR of `bits[0 … prefixLength − 1]`. */
export interface ParityExample extends BaseExample {
  task: "parity";
  /** All bits of the prompt, 0 or 1. */
  bits: number[];
  /** L: the `_PAUSE_` follows bit L (1-based). */
  prefixLength: number;
}

/**
 * A Copying example: the passage is the whitespace-separated words of Brown
 * corpus file `document` from word `start`; the span (the answer) is the
 * `spanWords` words after the first `prefixWords`.
 */
export interface CopyingExample extends BaseExample {
  task: "copying";
  /** Brown corpus file name, e.g. `ca01`. */
  document: string;
  /** Index of the passage's first word in the document's word list. */
  start: number;
  /** Words before the opening `_PAUSE_`. */
  prefixWords: number;
  /** Words of the bracketed span. */
  spanWords: number;
  /** Words between the closing `_PAUSE_` and the question. */
  suffixWords: number;
  /** C: tokens of the span (encoded after a space). */
  copyTokens: number;
  /** D: tokens between the closing `_PAUSE_` and `Q:`. */
  distanceTokens: number;
}

/** Any task's example. */
export type TaskExample = ListRecallExample | SegmentCountingExample | ParityExample | CopyingExample;
