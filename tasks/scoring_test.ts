import assert from "node:assert/strict";
import { exactMatch, METRIC_LABELS, scoreByLengthBin, tokenAccuracy } from "./scoring.ts";

Deno.test("exactMatch trims whitespace on both sides and nothing else", () => {
  assert.equal(exactMatch("lawyer", "lawyer"), true);
  assert.equal(exactMatch("  lawyer \n", " lawyer"), true);
  assert.equal(exactMatch("Lawyer", "lawyer"), false);
  assert.equal(exactMatch("law yer", "lawyer"), false);
  assert.equal(exactMatch("", ""), true);
});

Deno.test("tokenAccuracy: fraction of matching positions; length mismatch and empty answers are errors", () => {
  assert.equal(tokenAccuracy([1, 2, 3], [1, 2, 3]), 1);
  assert.equal(tokenAccuracy(Int32Array.from([1, 0]), Int32Array.from([1, 2])), 0.5);
  assert.equal(tokenAccuracy([9], [1]), 0);
  assert.throws(() => tokenAccuracy([1], [1, 2]), /Cannot score 1 predicted tokens against 2 answer tokens/);
  assert.throws(() => tokenAccuracy([], []), /empty answer/);
});

Deno.test("scoreByLengthBin: both metrics per bin, ascending, labelled; token accuracy pooled over tokens", () => {
  const rows = scoreByLengthBin([
    { promptTokens: 2000, answer: "a", predicted: "b" },
    {
      promptTokens: 100,
      answer: "x y",
      predicted: " x y ",
      predictedTokens: [1, 2, 3],
      answerTokens: [1, 2, 3],
    },
    { promptTokens: 120, answer: "z", predicted: "q", predictedTokens: [9], answerTokens: [8] },
    { promptTokens: 300, answer: "1", predictedTokens: [5, 6], answerTokens: [5, 7] },
  ]);
  assert.deepEqual(rows.map((r) => r.bin), [128, 512, 2048]);
  assert.deepEqual(rows.map((r) => r.label), ["≤128", "≤512", "≤2048"]);
  assert.deepEqual(rows.map((r) => r.count), [2, 1, 1]);
  assert.deepEqual(rows.map((r) => r.sequenceAccuracy), [0.5, null, 0]);
  assert.deepEqual(rows.map((r) => r.tokenAccuracy), [0.75, 0.5, null]);
  assert.equal(rows[0].metrics, METRIC_LABELS);
  assert.match(METRIC_LABELS.sequenceAccuracy, /exact match/);
  assert.match(METRIC_LABELS.tokenAccuracy, /teacher-forced/);
  assert.deepEqual(scoreByLengthBin([]), []);
});

Deno.test("scoreByLengthBin: half a token pair, or an unbinnable length, is an error", () => {
  assert.throws(
    () => scoreByLengthBin([{ promptTokens: 10, answer: "a", predictedTokens: [1] }]),
    /answer "a" has predicted tokens only/,
  );
  assert.throws(() => scoreByLengthBin([{ promptTokens: 9000, answer: "a", predicted: "a" }]), /9000 tokens/);
});
