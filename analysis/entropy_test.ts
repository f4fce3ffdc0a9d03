import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor";
import { entropy, softmaxStats } from "./entropy.ts";

Deno.test("softmaxStats matches the definition and is shift invariant", () => {
  const z = [1.5, -0.25, 3, 0.5];
  const lse = Math.log(z.reduce((s, x) => s + Math.exp(x), 0));
  const p = z.map((x) => Math.exp(x - lse));
  const stats = softmaxStats(z);
  assert.ok(Math.abs(stats.entropy - entropy(p)) < 1e-12);
  assert.ok(Math.abs(stats.logSumExp - lse) < 1e-12);
  assert.equal(stats.maxLogit, 3);
  const shifted = softmaxStats(z.map((x) => x + 1000));
  assert.ok(Math.abs(shifted.entropy - stats.entropy) < 1e-9);
  assert.equal(softmaxStats([9, 9, 9], 1, 2).entropy.toFixed(6), Math.log(2).toFixed(6));
});

// Lemma G.1 / Theorem 4.1: with logits z and one index k raised by a margin Δ over its value, the
// entropy of softmax(z + Δ·e_k) strictly decreases in Δ once k is the argmax (and for every Δ ≥ 0
// when k already is): a property over random logits, not a fixed example.
Deno.test("entropy strictly decreases as the top logit's margin Δ grows (Lemma G.1), on random logits", () => {
  const rng = new Rng(41);
  for (let trial = 0; trial < 200; trial++) {
    const v = 2 + rng.int(60);
    const z = Array.from({ length: v }, () => 3 * rng.normal());
    let k = 0;
    for (let i = 1; i < v; i++) if (z[i] > z[k]) k = i;
    let previous = softmaxStats(z).entropy;
    for (let step = 1; step <= 40; step++) {
      const delta = 0.25 * step;
      const boosted = z.map((x, i) => (i === k ? x + delta : x));
      const h = softmaxStats(boosted).entropy;
      assert.ok(h < previous, `trial ${trial}: H(Δ=${delta}) = ${h} is not below ${previous}`);
      previous = h;
    }
    assert.ok(previous >= 0);
  }
});

Deno.test("softmaxStats refuses empty and non-finite logits", () => {
  assert.throws(() => softmaxStats([]), /Cannot take the entropy of 0 logits/);
  assert.throws(() => softmaxStats([NaN, 1]), /expected finite values|maximum is/);
  assert.throws(() => softmaxStats([-Infinity]), /maximum is -Infinity/);
});
