import assert from "node:assert/strict";
import { decode, META_ID } from "@metatokens/data";
import { TaskBatchSource } from "./batches.ts";
import { encodeExample, generateDataset } from "./dataset.ts";

Deno.test("task batches train only on the answer and the end-of-text, never on the prompt or meta targets", () => {
  const examples = generateDataset("list-recall", 1, 12, 5);
  const source = new TaskBatchSource(examples, { batchSize: 3, maxLength: 512, seed: 2 });
  for (let k = 0; k < 4; k++) {
    const { b, t, x, y, meta } = source.next();
    for (let row = 0; row < b; row++) {
      const targets = [...y.subarray(row * t, (row + 1) * t)].filter((v) => v !== -1);
      // The targets decode to " <answer><|endoftext|>" of one of the examples.
      const text = decode(targets);
      assert.ok(examples.some((e) => text === ` ${e.answer}<|endoftext|>`), JSON.stringify(text));
      assert.ok(!targets.includes(META_ID));
      const metaHere = [...x.subarray(row * t, (row + 1) * t)].flatMap((v, i) => (v === META_ID ? [i] : []));
      assert.deepEqual(meta[row], metaHere);
      assert.ok(meta[row].length >= 2, "the prompt's pauses are meta positions");
    }
  }
});

Deno.test("task batches are seeded, resumable, and leave out examples longer than the maximum", () => {
  const examples = generateDataset("parity", 2, 10, 1);
  const a = new TaskBatchSource(examples, { batchSize: 2, maxLength: 400, seed: 9 });
  a.next();
  const saved = a.state();
  const next = a.next();
  const b = new TaskBatchSource(examples, { batchSize: 2, maxLength: 400, seed: 9 });
  b.restore(saved);
  assert.deepEqual(b.next(), next);
  const longest = Math.max(...examples.map((e) => {
    const { prompt, answer } = encodeExample(e);
    return prompt.length + answer.length + 1;
  }));
  assert.throws(
    () => new TaskBatchSource(examples, { batchSize: 2, maxLength: 100, seed: 0 }),
    /Cannot fine-tune at length 100: none of the 10 examples fits/,
  );
  assert.ok(new TaskBatchSource(examples, { batchSize: 2, maxLength: longest, seed: 0 }).size === 10);
});

Deno.test("TaskBatchSource.restore refuses a bad cursor, quoting at most ~200 characters of it", () => {
  const source = new TaskBatchSource(generateDataset("parity", 1, 4, 0), {
    batchSize: 2,
    maxLength: 256,
    seed: 1,
  });
  const huge = { counter: "x".repeat(100_000) };
  assert.throws(
    () => source.restore(huge),
    (e: Error) =>
      e instanceof RangeError && /^Cannot restore a task batch source from /.test(e.message) &&
      e.message.length < 300,
  );
});
