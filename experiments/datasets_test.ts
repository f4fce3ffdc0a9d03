import assert from "node:assert/strict";
import { generateDataset } from "@metatokens/tasks";
import { promptLengthCounts, taskDataset } from "./datasets.ts";
import { DATASET_SIZES, TEST_SEED_OFFSET } from "./plan.ts";

Deno.test("taskDataset: preset sizes per split, a separate stream for test, snake_case names", () => {
  const o = { task: "list_recall", phase: 1, split: "train", preset: "cpu", n: 3, seed: 4 };
  const train = taskDataset(o);
  assert.equal(train.seed, 4);
  assert.deepEqual(train.examples, generateDataset("list-recall", 1, 3, 4));
  const test = taskDataset({ ...o, split: "test" });
  assert.equal(test.seed, 4 + TEST_SEED_OFFSET);
  assert.notDeepEqual(test.examples[0], train.examples[0]);
  assert.equal(
    taskDataset({ ...o, task: "parity", split: "test", n: 0 }).examples.length,
    DATASET_SIZES.cpu.test,
  );
  assert.throws(
    () => taskDataset({ ...o, preset: "huge" }),
    /Cannot use --preset huge --split train: expected presets paper or cpu and splits train or test/,
  );
  assert.throws(() => taskDataset({ ...o, split: "dev" }), /--split dev/);
});

Deno.test("promptLengthCounts: examples per length bin in first-seen order", () => {
  assert.deepEqual(
    promptLengthCounts([{ promptTokens: 300 }, { promptTokens: 100 }, { promptTokens: 400 }]),
    [
      ["≤512", 2],
      ["≤128", 1],
    ],
  );
});
