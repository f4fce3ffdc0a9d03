import assert from "node:assert/strict";
import { encodeExample, lengthBin, type Predictor, type TaskExample } from "@metatokens/tasks";
import { ABLATIONS } from "./plan.ts";
import {
  evaluate,
  evaluateAblations,
  evaluatePredictor,
  evaluateTestSet,
  evaluationMarkdown,
  testExamples,
  writeEvaluation,
} from "./evaluate.ts";
import { liveBytes, testBackend, tinyModel, warmAttention } from "./_testing/tiny.ts";

/** A stand-in model: the right answer for the prompts in `right`, the answer's first token repeated otherwise. */
function standIn(examples: readonly TaskExample[], right: Set<number>): Predictor {
  const answers = new Map(examples.map((e, i) => {
    const { prompt, answer } = encodeExample(e);
    return [prompt.join(), { answer, right: right.has(i) }];
  }));
  const wrong = (answer: Int32Array): Int32Array => answer.map(() => answer[0] === 15 ? 16 : 15);
  return {
    complete(prompt) {
      const a = answers.get(prompt.join())!;
      return Promise.resolve(a.right ? a.answer : wrong(a.answer));
    },
    teacherForced(prompt, answer) {
      return Promise.resolve(answers.get(prompt.join())!.right ? answer : wrong(answer));
    },
  };
}

Deno.test("evaluatePredictor: per-bin counts and accuracies of a stand-in predictor, long examples skipped", async () => {
  const examples = testExamples({ task: "list-recall", phases: [1, 2, 3], n: 4, seed: 3 });
  const right = new Set([0, 2, 5, 6, 9, 11]);
  const maxTokens = 400;
  const lengths = examples.map((e) => {
    const { prompt, answer } = encodeExample(e);
    return { prompt: prompt.length, total: prompt.length + answer.length - 1 };
  });
  // Expected per bin, computed here from the prompts alone.
  const expected = new Map<number, { count: number; right: number }>();
  lengths.forEach((l, i) => {
    if (l.total > maxTokens) return;
    const bin = lengthBin(l.prompt);
    const e = expected.get(bin) ?? { count: 0, right: 0 };
    e.count++;
    if (right.has(i)) e.right++;
    expected.set(bin, e);
  });
  const { bins, skipped } = await evaluatePredictor(standIn(examples, right), examples, maxTokens);
  assert.equal(skipped, lengths.filter((l) => l.total > maxTokens).length);
  assert.ok(skipped > 0 && skipped < examples.length, `${skipped} skipped`);
  assert.deepEqual(bins.map((b) => b.bin), [...expected.keys()].sort((a, b) => a - b));
  for (const b of bins) {
    const e = expected.get(b.bin)!;
    assert.equal(b.count, e.count, b.label);
    assert.equal(b.sequenceAccuracy, e.right / e.count, b.label);
    assert.equal(b.tokenAccuracy, e.right / e.count, `${b.label}: every token right or every token wrong`);
  }
  assert.deepEqual(await evaluatePredictor(standIn(examples, right), examples, 10), {
    bins: [],
    skipped: examples.length,
  });
});

Deno.test("evaluate: an APE model skips prompts past its block size, a RoPE model reads them; both free what they use", async () => {
  const backend = testBackend();
  warmAttention(backend, 1024);
  const examples = testExamples({ task: "parity", phases: [1, 2], n: 2, seed: 7 });
  const tooLong = examples.filter((e) => {
    const { prompt, answer } = encodeExample(e);
    return prompt.length + answer.length - 1 > 128;
  }).length;
  assert.ok(tooLong > 0);
  using ape = tinyModel({ blockSize: 128 });
  using rope = tinyModel({ pos: "rope", blockSize: 128 });
  const baseline = liveBytes(backend);
  const a = await evaluate(ape, examples, { seed: 7 });
  const r = await evaluate(rope, examples, { seed: 7, ablation: { noPosAtMeta: true } });
  assert.equal(liveBytes(backend), baseline);
  assert.equal(a.skipped, tooLong);
  assert.equal(a.bins.reduce((n, b) => n + b.count, 0), examples.length - tooLong);
  assert.equal(r.skipped, 0);
  assert.equal(r.bins.reduce((n, b) => n + b.count, 0), examples.length);
});

Deno.test("evaluateAblations: every ablation on a meta model, only `full` on a baseline", async () => {
  const examples = testExamples({ task: "parity", phases: [1], n: 1, seed: 7 });
  using meta = tinyModel();
  using baseline = tinyModel({ meta: false });
  const logs: string[] = [];
  const m = await evaluateAblations(meta, examples, ABLATIONS, { seed: 7, log: (l) => logs.push(l) });
  assert.deepEqual(Object.keys(m), ["full", "no-pos", "no-embed", "neither"]);
  assert.match(logs[0], /^eval Full: ≤\d+ \d+%$/);
  const b = await evaluateAblations(baseline, examples, ABLATIONS, { seed: 7 });
  assert.deepEqual(Object.keys(b), ["full"]);
});

Deno.test("evaluateTestSet: titles, files, and refusals (ablations on a baseline, nothing readable)", async () => {
  using baseline = tinyModel({ meta: false, blockSize: 128 });
  const set = { task: "parity", phases: [1], n: 2, seed: 7 };
  await assert.rejects(
    () => evaluateTestSet(baseline, { ...set, ablation: { noEmbedAtMeta: true }, source: "ck" }),
    /Cannot run meta-token ablations on "ck": the model has no meta-attention/,
  );
  await assert.rejects(
    () => evaluateTestSet(baseline, { ...set, phases: [3] }),
    /Cannot evaluate: all 2 examples are longer than the APE model's block size 128/,
  );
  using meta = tinyModel();
  const e = await evaluateTestSet(meta, {
    ...set,
    task: "parity",
    ablation: { noPosAtMeta: true, posNoise: 0.5 },
  });
  assert.equal(e.title, "parity, phases 1, 2 examples (no pos at meta, PE noise σ=0.5)");
  assert.match(evaluationMarkdown(e), /^### parity, phases 1/);
  const dir = await Deno.makeTempDir();
  const [md, json] = await writeEvaluation(`${dir}/eval`, e, "ck");
  assert.equal(await Deno.readTextFile(md), evaluationMarkdown(e));
  const record = JSON.parse(await Deno.readTextFile(json));
  assert.deepEqual([record.checkpoint, record.task, record.phases], ["ck", "parity", "1"]);
  assert.equal(record.bins.reduce((n: number, b: { count: number }) => n + b.count, 0), 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("testExamples: the same examples every call, each phase its own stream", () => {
  const a = testExamples({ task: "copying", phases: [1, 2], n: 2, seed: 7 });
  assert.deepEqual(a, testExamples({ task: "copying", phases: [1, 2], n: 2, seed: 7 }));
  assert.deepEqual(a.map((e) => e.phase), [1, 1, 2, 2]);
  assert.notDeepEqual(a[0], testExamples({ task: "copying", phases: [1], n: 1, seed: 8 })[0]);
});
