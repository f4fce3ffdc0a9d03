import assert from "node:assert/strict";
import { injectWindow, metaCount, randomSubset } from "./inject.ts";
import { META_ID } from "./tokenizer.ts";
import { mulberry32 } from "./_testing/rng.ts";

/** Raw tokens that are never the meta id: 1000, 1001, … */
function rawTokens(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => 1000 + i);
}

Deno.test("k = round(0.1·n) meta tokens for n = 1, 4, 5, 15, 256, 1024", () => {
  const rng = mulberry32(1);
  for (const n of [1, 4, 5, 15, 256, 1024]) {
    const k = Math.round(0.1 * n);
    assert.equal(metaCount(n), k);
    const w = injectWindow(rawTokens(n + 1), n, rng);
    assert.equal(w.x.length, n);
    assert.equal(w.y.length, n);
    assert.equal(w.metaPositions.length, k, `n = ${n}`);
    assert.equal(w.x.filter((t) => t === META_ID).length, k, `n = ${n}`);
    assert.equal(w.consumed, n + 1 - k);
  }
  assert.deepEqual([metaCount(1), metaCount(5), metaCount(256), metaCount(1024)], [0, 1, 26, 102]);
});

Deno.test("targets are never the meta id, and −1 exactly where the next token is meta", () => {
  const rng = mulberry32(2);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + (trial % 97);
    const w = injectWindow(rawTokens(n + 1), n, rng);
    const metaSet = new Set(w.metaPositions);
    for (let i = 0; i < n; i++) {
      assert.notEqual(w.y[i], META_ID);
      const nextIsMeta = metaSet.has(i + 1);
      assert.equal(w.y[i] === -1, nextIsMeta, `n ${n} i ${i}`);
      // Predictions made at a meta position keep their (non-meta) target.
      if (metaSet.has(i) && !nextIsMeta) assert.ok(w.y[i] >= 1000);
      assert.equal(w.x[i] === META_ID, metaSet.has(i));
      if (i + 1 < n && !nextIsMeta) assert.equal(w.y[i], w.x[i + 1]); // y is x shifted
    }
  }
});

Deno.test("non-meta tokens keep their order: the raw prefix of length consumed, in order", () => {
  const rng = mulberry32(3);
  for (const n of [5, 50, 256]) {
    const raw = rawTokens(n + 1);
    const w = injectWindow(raw, n, rng);
    // The full sequence s (n + 1): x, then the last target (−1 there means s[n] is meta).
    const last = w.y[n - 1] === -1 ? META_ID : w.y[n - 1];
    const s = [...w.x, last].filter((t) => t !== META_ID);
    assert.equal(s.length, w.consumed);
    assert.deepEqual(s, Array.from(raw.subarray(0, w.consumed)));
    assert.equal(w.metaPositions.every((p, i) => i === 0 || p > w.metaPositions[i - 1]), true);
    assert.ok(w.metaPositions.every((p) => p >= 0 && p < n));
  }
});

Deno.test("only n + 1 − k raw tokens are needed; fewer is an error naming the counts", () => {
  const w = injectWindow(rawTokens(10), 10, mulberry32(4)); // k = 1, consumed 10
  assert.equal(w.consumed, 10);
  assert.throws(
    () => injectWindow(rawTokens(9), 10, mulberry32(4)),
    /from 9 raw tokens: expected at least 10/,
  );
  assert.throws(() => injectWindow(rawTokens(5), 0, mulberry32(4)), /window of 0 positions/);
  assert.throws(() => injectWindow(rawTokens(5), 4, mulberry32(4), 5), /Cannot inject 5 meta tokens/);
  assert.throws(() => randomSubset(3, 4, mulberry32(1)), /Cannot draw 4 distinct slots from 3/);
  assert.throws(() => randomSubset(3, 1, { uniform: () => 1 }), /random draw 1: expected/);
});

Deno.test("explicit k, including 0 (plain shifted window) and k = n", () => {
  const raw = rawTokens(11);
  const plain = injectWindow(raw, 10, mulberry32(5), 0);
  assert.deepEqual(Array.from(plain.x), Array.from(raw.subarray(0, 10)));
  assert.deepEqual(Array.from(plain.y), Array.from(raw.subarray(1, 11)));
  const all = injectWindow(raw, 10, mulberry32(5), 10);
  assert.deepEqual(all.metaPositions, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(all.y), [-1, -1, -1, -1, -1, -1, -1, -1, -1, 1000]);
});

Deno.test("slot positions are uniform: χ² over 20,000 windows of n = 50, k = 5 is below the 0.999 quantile", () => {
  const n = 50, k = 5, windows = 20000;
  const rng = mulberry32(12345);
  const counts = new Float64Array(n);
  const raw = rawTokens(n + 1);
  const pairs = new Map<string, number>();
  for (let w = 0; w < windows; w++) {
    const { metaPositions } = injectWindow(raw, n, rng, k);
    for (const p of metaPositions) counts[p]++;
    const key = `${metaPositions[0]},${metaPositions[1]}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const expected = (windows * k) / n;
  let chi2 = 0;
  for (const c of counts) chi2 += (c - expected) ** 2 / expected;
  assert.ok(chi2 < 85.4, `χ² = ${chi2.toFixed(1)} with 49 dof`);
  // The subset is not just marginally uniform: the smallest slot follows the k-subset law
  // P(min = 0) = k / n.
  const min0 = [...pairs.entries()].filter(([key]) => key.startsWith("0,")).reduce((a, [, c]) => a + c, 0);
  assert.ok(Math.abs(min0 / windows - k / n) < 0.01, `P(min = 0) = ${min0 / windows}`);
});
