/**
 * List Recall (paper §4.2, Appendix D.1.1): m category lists, one of which
 * carries a `_PAUSE_` after its j-th item; the question asks for item j of
 * that category. Layout as in Appendix H — one line, single spaces,
 * `Category: item item …` lists back to back, then the question:
 *
 * ```text
 * Fruits: orange peach banana plum Tools: hammer wrench _PAUSE_ level pliers Q: What is item 2 of Tools? _PAUSE_
 * ```
 *
 * The answer is the item *before* the pause (item j), as in the Appendix H
 * example and docs/ARCHITECTURE.md §7; D.1.1's prose ("the item immediately following the
 * meta-token") disagrees with its own example, and we follow the example.
 * The pause is placed in the target list where it stands among the m
 * lists; Appendix H's example also repeats the target list, pause included,
 * just before the question — {@linkcode formatListRecall} can lay that out
 * (it takes any lists), but the generator draws m distinct categories.
 *
 * @module
 */

import { META_TOKEN } from "@metatokens/data/tokenizer";
import type { ListRecallExample, TaskList } from "./example.ts";
import { type PhaseSpec, phaseSpec } from "./phases.ts";
import { drawItemsPerList, drawLists, listsCanFit } from "./_lists.ts";
import { randInt, type TaskRng } from "./_rng.ts";
import { drawWithin } from "./_window.ts";

/**
 * The List Recall prompt for these lists, `_PAUSE_` after item `j` (1-based)
 * of `lists[target]`.
 *
 * @example
 * ```ts
 * import { formatListRecall } from "@metatokens/tasks/list_recall";
 * const lists = [
 *   { category: "Fruits", items: ["orange", "peach"] },
 *   { category: "Tools", items: ["hammer", "wrench", "level"] },
 * ];
 * console.log(formatListRecall(lists, 1, 2));
 * // Fruits: orange peach Tools: hammer wrench _PAUSE_ level Q: What is item 2 of Tools? _PAUSE_
 * ```
 */
export function formatListRecall(lists: readonly TaskList[], target: number, j: number): string {
  const list = lists[target];
  if (list === undefined) {
    throw new RangeError(`List Recall target ${target} is out of range: expected 0 … ${lists.length - 1}`);
  }
  if (!Number.isInteger(j) || j < 1 || j > list.items.length) {
    throw new RangeError(`List Recall item ${j} is out of range: expected 1 … ${list.items.length}`);
  }
  const words: string[] = [];
  lists.forEach((l, i) => {
    words.push(`${l.category}:`);
    if (i === target) words.push(...l.items.slice(0, j), META_TOKEN, ...l.items.slice(j));
    else words.push(...l.items);
  });
  words.push(`Q: What is item ${j} of ${list.category}?`, META_TOKEN);
  return words.join(" ");
}

/**
 * One List Recall example for a phase (1–5 or a custom {@linkcode PhaseSpec}),
 * drawn from `rng` until its prompt fits the phase's token window.
 *
 * @example
 * ```ts
 * import { generateListRecall } from "@metatokens/tasks";
 * import { Rng } from "@metatokens/tensor";
 * const ex = generateListRecall(new Rng(1), 1);
 * console.log(ex.prompt.endsWith(`of ${ex.lists[ex.target].category}? _PAUSE_`)); // true
 * console.log(ex.answer === ex.lists[ex.target].items[ex.j - 1]); // true
 * console.log(ex.promptTokens >= 100 && ex.promptTokens <= 200); // true
 * ```
 */
export function generateListRecall(rng: TaskRng, phase: number | PhaseSpec): ListRecallExample {
  const spec = phaseSpec(phase);
  return drawWithin(spec, "list-recall", () => {
    const m = randInt(rng, spec.lists.lo, spec.lists.hi);
    const n = drawItemsPerList(rng, spec.items);
    if (!listsCanFit(spec, m, n)) return null;
    const lists = drawLists(rng, m, n);
    const target = randInt(rng, 0, m - 1);
    const j = randInt(rng, 1, n);
    return {
      task: "list-recall" as const,
      prompt: formatListRecall(lists, target, j),
      answer: lists[target].items[j - 1],
      phase: spec.phase,
      lists,
      target,
      j,
    };
  });
}
