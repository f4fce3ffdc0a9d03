import assert from "node:assert/strict";
import { encodeExample, generateDataset } from "./dataset.ts";
import { evaluateTask, formatBinTable, type Predictor } from "./evaluate.ts";

const examples = [...generateDataset("list-recall", 1, 6, 2), ...generateDataset("parity", 2, 6, 3)];

/** Answers every example correctly (it looks the answer up by prompt). */
function oracle(): Predictor {
  const answers = new Map(examples.map((e) => {
    const { prompt, answer } = encodeExample(e);
    return [prompt.join(","), answer] as const;
  }));
  return {
    complete: (prompt) => Promise.resolve(answers.get(prompt.join(","))!),
    teacherForced: (_prompt, answer) => Promise.resolve(answer.slice()),
  };
}

Deno.test("a model that always answers correctly scores 100%, one that never does 0%, in every bin", async () => {
  const right = await evaluateTask(oracle(), examples);
  assert.ok(right.bins.length >= 2, "phase 1 and phase 2 prompts fall in different bins");
  for (const b of right.bins) assert.deepEqual([b.sequenceAccuracy, b.tokenAccuracy], [1, 1]);
  const wrong = await evaluateTask({
    complete: (_p, n) => Promise.resolve(new Int32Array(n).fill(0)),
    teacherForced: (_p, answer) => Promise.resolve(answer.map((t) => t + 1)),
  }, examples);
  for (const b of wrong.bins) assert.deepEqual([b.sequenceAccuracy, b.tokenAccuracy], [0, 0]);
  assert.equal(right.records.length, examples.length);
});

Deno.test("the bin table is Markdown with both labelled metrics", async () => {
  const table = formatBinTable((await evaluateTask(oracle(), examples)).bins, "Mixed");
  assert.match(table, /^### Mixed\n\n\| prompt length \| examples \| .* \(%\) \| .* \(%\) \|/);
  assert.match(table, /\| ≤128 \| 6 \| 100\.0 \| 100\.0 \|/);
});
