import assert from "node:assert/strict";
import { encode } from "@metatokens/data/tokenizer";
import { lengthBin } from "./bins.ts";
import { encodeExample, generateDataset, generateExample, taskName } from "./dataset.ts";
import { TASK_NAMES } from "./example.ts";
import { PHASES } from "./phases.ts";
import { Rng } from "@metatokens/tensor/rng";
import { PER_PHASE, PHASE_NUMBERS, samples } from "./_testing/samples.ts";

Deno.test("≥ 95% of each phase's examples lie in its token range, measured with the real tokenizer", () => {
  for (const task of TASK_NAMES) {
    for (const phase of PHASE_NUMBERS) {
      const { lo, hi } = PHASES[phase - 1].tokens;
      const inside = samples(task, phase).filter((e) => {
        const t = encode(e.prompt).length;
        return t >= lo && t <= hi;
      }).length;
      assert.ok(inside >= 0.95 * PER_PHASE, `${task} phase ${phase}: ${inside}/${PER_PHASE} in ${lo}–${hi}`);
    }
  }
});

Deno.test("same seed ⇒ same dataset; another seed ⇒ another", () => {
  for (const task of TASK_NAMES) {
    const a = generateDataset(task, 2, 5, 11), b = generateDataset(task, 2, 5, 11);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.notEqual(JSON.stringify(a), JSON.stringify(generateDataset(task, 2, 5, 12)));
    assert.ok(a.every((e) => e.task === task && e.phase === 2));
  }
});

Deno.test("a length bin narrows the window; a bin the phase cannot reach is an error naming both", () => {
  for (const task of TASK_NAMES) {
    const short = generateDataset(task, 1, 5, 3, { bin: 128 });
    assert.ok(short.every((e) => e.promptTokens >= 100 && lengthBin(e.promptTokens) === 128), task);
  }
  assert.throws(
    () => generateDataset("list-recall", 1, 5, 1, { bin: 512 }),
    /No list-recall example of phase 1 fits length bin ≤512: the phase's prompts have 100–200 tokens/,
  );
  assert.throws(
    () => generateDataset("parity", 1, 5, 1, { bin: 100 }),
    /Unknown length bin 100: expected one of 128/,
  );
});

Deno.test("a window the phase's lists cannot reach is an error after bounded attempts", () => {
  const spec = { ...PHASES[0], tokens: { lo: 5000, hi: 6000 } };
  assert.throws(
    () => generateExample("list-recall", new Rng(1), spec),
    /Cannot generate a list-recall example of 5000–6000 prompt tokens for phase 1/,
  );
});

Deno.test("unknown tasks and phases are errors naming them and the choices", () => {
  assert.throws(
    () => generateDataset("sorting", 1, 1, 1),
    /Unknown task "sorting": expected one of list-recall, segment-counting, parity, copying/,
  );
  assert.throws(() => generateDataset("parity", 6, 1, 1), /Unknown phase 6: expected one of 1, 2, 3, 4, 5/);
  assert.throws(() => generateDataset("parity", 0, 1, 1), /Unknown phase 0/);
  assert.throws(() => generateDataset("parity", 1, -1, 1), /Cannot generate -1 examples/);
  assert.throws(() => generateDataset("parity", 1, 1, -3), /Cannot seed the RNG with -3/);
  assert.throws(() => taskName("List Recall"), /Unknown task "List Recall"/);
  assert.equal(taskName("segment_counting"), "segment-counting");
  assert.throws(
    () => generateExample("parity", new Rng(1), { ...PHASES[0], lists: { lo: 4, hi: 2 } }),
    /Invalid list count m \{"lo":4,"hi":2\}/,
  );
});

Deno.test("encodeExample: the prompt ends with the meta id; the answer is encoded after a space", () => {
  const [ex] = generateDataset("list-recall", 1, 1, 5);
  const { prompt, answer } = encodeExample(ex);
  assert.equal(prompt.length, ex.promptTokens);
  assert.equal(prompt[prompt.length - 1], 50257);
  assert.deepEqual(answer, encode(` ${ex.answer}`));
});
