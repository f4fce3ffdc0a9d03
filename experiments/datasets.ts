/**
 * Task dataset files (`tasks:generate`): a split's size per preset, its
 * seed, and the prompt-length bins of what was generated.
 *
 * @module
 */

import { generateDataset, lengthBin, lengthBinLabel, type TaskExample } from "@metatokens/tasks";
import { DATASET_SIZES, TEST_SEED_OFFSET } from "./plan.ts";

/** Options of {@linkcode taskDataset}. */
export interface TaskDatasetOptions {
  /** Task name. */
  task: string;
  /** Curriculum phase. */
  phase: number;
  /** `train` or `test`. */
  split: string;
  /** Size preset of {@linkcode DATASET_SIZES}: `paper` or `cpu`. */
  preset: string;
  /** Examples (0: the preset's size for the split). */
  n: number;
  /** Seed; a test split draws from seed + {@linkcode TEST_SEED_OFFSET}. */
  seed: number;
}

/**
 * A split of a task's dataset; returns the examples and the seed they were
 * drawn from.
 *
 * @example
 * ```ts
 * import { taskDataset } from "@metatokens/experiments";
 * const { examples, seed } = taskDataset({ task: "parity", phase: 1, split: "test", preset: "cpu", n: 3, seed: 0 });
 * console.log(examples.length, seed); // 3 1000003
 * ```
 */
export function taskDataset(o: TaskDatasetOptions): { examples: TaskExample[]; seed: number } {
  const sizes = (DATASET_SIZES as Record<string, Record<string, number>>)[o.preset];
  const size = sizes?.[o.split];
  if (size === undefined) {
    throw new RangeError(
      `Cannot use --preset ${o.preset} --split ${o.split}: expected presets ${
        Object.keys(DATASET_SIZES).join(" or ")
      } and splits train or test`,
    );
  }
  const seed = o.split === "test" ? o.seed + TEST_SEED_OFFSET : o.seed;
  return { examples: generateDataset(o.task, o.phase, o.n === 0 ? size : o.n, seed), seed };
}

/**
 * Examples per prompt-length bin, in first-seen order.
 *
 * @example
 * ```ts
 * import { promptLengthCounts } from "@metatokens/experiments";
 * console.log(promptLengthCounts([{ promptTokens: 100 }, { promptTokens: 300 }, { promptTokens: 120 }])); // [["≤128", 2], ["≤512", 1]]
 * ```
 */
export function promptLengthCounts(examples: readonly { promptTokens: number }[]): [string, number][] {
  const bins = new Map<string, number>();
  for (const e of examples) {
    const label = lengthBinLabel(lengthBin(e.promptTokens));
    bins.set(label, (bins.get(label) ?? 0) + 1);
  }
  return [...bins];
}
