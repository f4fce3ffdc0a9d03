/**
 * Segment Counting (paper §4.2, Appendix D.1.2): m category lists, one of
 * them wrapped in `_PAUSE_ … _PAUSE_`; the question asks how many times an
 * item of that category occurs between the pauses. Layout as in Appendix H:
 *
 * ```text
 * Fruits: orange peach banana plum Tools: _PAUSE_ hammer wrench level pliers _PAUSE_ Sports: … Q: How many times does wrench appear between the pauses around Tools? _PAUSE_
 * ```
 *
 * So that the answers spread over 0 … n rather than piling up near n/10,
 * the generator first draws the count c ~ U(0 … n) and a queried item q from
 * the category's inventory, then fills the target list with c copies of q
 * and n − c items drawn from the other nine, shuffled. No other category
 * contains q, so the count outside the pauses is always 0.
 *
 * @module
 */

import { META_TOKEN } from "@metatokens/data/tokenizer";
import { category } from "./categories.ts";
import type { SegmentCountingExample, TaskList } from "./example.ts";
import { type PhaseSpec, phaseSpec } from "./phases.ts";
import { drawItemsPerList, drawLists, listsCanFit } from "./_lists.ts";
import { pick, randInt, shuffle, type TaskRng } from "./_rng.ts";
import { drawWithin } from "./_window.ts";

/**
 * The Segment Counting prompt: `lists[target]` wrapped in pauses, asking for
 * the count of `item`.
 *
 * @example
 * ```ts
 * import { formatSegmentCounting } from "@metatokens/tasks/segment_counting";
 * const lists = [
 *   { category: "Fruits", items: ["orange", "peach"] },
 *   { category: "Tools", items: ["hammer", "wrench"] },
 * ];
 * console.log(formatSegmentCounting(lists, 1, "wrench"));
 * // Fruits: orange peach Tools: _PAUSE_ hammer wrench _PAUSE_ Q: How many times does wrench appear between the pauses around Tools? _PAUSE_
 * ```
 */
export function formatSegmentCounting(lists: readonly TaskList[], target: number, item: string): string {
  const list = lists[target];
  if (list === undefined) {
    throw new RangeError(
      `Segment Counting target ${target} is out of range: expected 0 … ${lists.length - 1}`,
    );
  }
  const words: string[] = [];
  lists.forEach((l, i) => {
    words.push(`${l.category}:`);
    if (i === target) words.push(META_TOKEN, ...l.items, META_TOKEN);
    else words.push(...l.items);
  });
  words.push(`Q: How many times does ${item} appear between the pauses around ${list.category}?`, META_TOKEN);
  return words.join(" ");
}

/**
 * One Segment Counting example for a phase (1–5 or a custom {@linkcode PhaseSpec}).
 *
 * @example
 * ```ts
 * import { generateSegmentCounting } from "@metatokens/tasks";
 * import { Rng } from "@metatokens/tensor";
 * const ex = generateSegmentCounting(new Rng(2), 1);
 * const count = ex.lists[ex.target].items.filter((w) => w === ex.item).length;
 * console.log(ex.answer === String(count)); // true
 * ```
 */
export function generateSegmentCounting(rng: TaskRng, phase: number | PhaseSpec): SegmentCountingExample {
  const spec = phaseSpec(phase);
  return drawWithin(spec, "segment-counting", () => {
    const m = randInt(rng, spec.lists.lo, spec.lists.hi);
    const n = drawItemsPerList(rng, spec.items);
    if (!listsCanFit(spec, m, n)) return null;
    const lists = drawLists(rng, m, n);
    const target = randInt(rng, 0, m - 1);
    const inventory = category(lists[target].category).items;
    const item = pick(rng, inventory);
    const others = inventory.filter((w) => w !== item);
    const count = randInt(rng, 0, n);
    const items = Array.from({ length: n }, (_, i) => i < count ? item : pick(rng, others));
    lists[target].items = shuffle(rng, items);
    return {
      task: "segment-counting" as const,
      prompt: formatSegmentCounting(lists, target, item),
      answer: String(count),
      phase: spec.phase,
      lists,
      target,
      item,
    };
  });
}
