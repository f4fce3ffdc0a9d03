/**
 * Shared test data: each task's examples for every phase (40 each, seed
 * 2026), generated once per test process, and the Appendix H prompts.
 *
 * @module
 */

import { generateDataset } from "../dataset.ts";
import type { TaskExample, TaskName } from "../example.ts";
import { PHASES } from "../phases.ts";

/** Examples per phase and task in the tests. */
export const PER_PHASE = 40;

const cache = new Map<string, TaskExample[]>();

/** The examples of one task and phase (memoized). */
export function samples(task: TaskName, phase: number): TaskExample[] {
  const key = `${task}/${phase}`;
  let out = cache.get(key);
  if (out === undefined) cache.set(key, out = generateDataset(task, phase, PER_PHASE, 2026));
  return out;
}

/** Every phase number. */
export const PHASE_NUMBERS: number[] = PHASES.map((p) => p.phase);

/** Appendix H's prompts and completions, verbatim. */
export const APPENDIX_H = {
  listRecall: {
    prompt:
      "Fruits: orange peach banana plum Tools: hammer wrench level pliers Sports: boxing baseball boxing golf Spices: turmeric cardamom cumin cinnamon Animals: cat tiger wolf fox Professions: teacher nurse lawyer architect Vegetables: onion cucumber broccoli cucumber Instruments: piano clarinet violin piano Professions: teacher nurse lawyer _PAUSE_ architect Q: What is item 3 of Professions? _PAUSE_",
    completion: "lawyer",
  },
  segmentCounting: {
    prompt:
      "Fruits: orange peach banana plum Tools: _PAUSE_ hammer wrench level pliers _PAUSE_ Sports: boxing baseball boxing golf Spices: turmeric cardamom cumin cinnamon Q: How many times does wrench appear between the pauses around Tools? _PAUSE_",
    completion: "1",
  },
  parity: {
    prompt: "Bits: 0 _PAUSE_ 1 0 0 Q: What is the XOR of all bits before this pause? _PAUSE_",
    completion: "0",
  },
  copying: {
    prompt:
      "...as ever Mr _PAUSE_ . Darcy had been, was much relieved by discerning such different feelings. They had not been long together before Darcy told her that Bingley was also coming to wait on her; and she had barely time to express her satisfaction, and prepare for such a visitor, when Bingleys quick step was heard on the stairs, and in a moment he entered the room. All Elizabeths anger against him had been long done away; but had she still felt any, it could hardly have stood its ground against the unaffected cordiality with which he expressed himself on seeing her again. He inquired in a friendly, though general, way, after her family, and looked and spoke with the same _PAUSE_ good-humoured ease that he had ever done. Q: Copy the bracketed text. _PAUSE_",
  },
};
