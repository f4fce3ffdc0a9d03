import assert from "node:assert/strict";
import { metaTokenPositions } from "./meta_tokens.ts";

Deno.test("metaTokenPositions finds every meta token of a range, counted from its start", () => {
  const tokens = Int32Array.from([7, 1, 7, 7, 2, 7]);
  assert.deepEqual(metaTokenPositions(tokens, 7), [0, 2, 3, 5]);
  assert.deepEqual(metaTokenPositions(tokens, 7, 3, 6), [0, 2]);
  assert.deepEqual(metaTokenPositions(tokens, 7, 4, 4), []);
  assert.deepEqual(metaTokenPositions([1, 2], 7), []);
});

Deno.test("metaTokenPositions refuses a range outside the tokens", () => {
  assert.throws(() => metaTokenPositions([1, 2], 7, 1, 3), /Cannot scan tokens \[1, 3\) of a sequence of 2/);
  assert.throws(() => metaTokenPositions([1, 2], 7, 2, 1), /expected 0 ≤ start ≤ end ≤ length/);
});
