import assert from "node:assert/strict";
import { differenceInterval, excludesZero, seedSummary, tQuantile975, wilsonInterval } from "./interval.ts";

const close = (a: number, b: number, tol = 5e-4): void => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

Deno.test("Wilson intervals match published values and stay inside [0, 1]", () => {
  // Newcombe (1998) Table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611.
  const a = wilsonInterval(81, 263), b = wilsonInterval(15, 148), c = wilsonInterval(0, 20);
  close(a.lo, 0.2553), close(a.hi, 0.3662), close(b.lo, 0.0624), close(b.hi, 0.1605);
  assert.equal(c.lo, 0), close(c.hi, 0.1611);
  assert.equal(wilsonInterval(20, 20).hi, 1);
  for (let n = 1; n < 60; n += 7) {
    for (let h = 0; h <= n; h++) {
      const w = wilsonInterval(h, n);
      assert.ok(w.lo >= 0 && w.lo <= w.estimate && w.estimate <= w.hi && w.hi <= 1, `${h}/${n}`);
    }
  }
});

Deno.test("Newcombe's difference interval matches his worked examples", () => {
  // Newcombe (1998) Table II, method 10: 56/70 − 48/80 → 0.0524 … 0.3339; 9/10 − 3/10 → 0.1705 … 0.8090.
  const d = differenceInterval(56, 70, 48, 80);
  close(d.estimate, 0.2), close(d.lo, 0.0524), close(d.hi, 0.3339);
  const e = differenceInterval(9, 10, 3, 10);
  close(e.lo, 0.1705), close(e.hi, 0.809);
  assert.ok(excludesZero(d));
  assert.ok(!excludesZero(differenceInterval(50, 100, 45, 100)));
});

Deno.test("seed summaries: mean, sd, t interval; bad counts are refused by value", () => {
  const s = seedSummary([0.9, 0.95, 1]);
  close(s.mean, 0.95), close(s.sd, 0.05), close(s.hi - s.mean, 4.303 * 0.05 / Math.sqrt(3));
  assert.deepEqual([seedSummary([0.4]).lo, seedSummary([0.4]).hi], [0.4, 0.4]);
  assert.equal(tQuantile975(1000), 1.959963984540054);
  assert.throws(() => wilsonInterval(5, 3), /5 hits of 3/);
  assert.throws(() => wilsonInterval(0, 0), /over 0 examples/);
  assert.throws(() => seedSummary([]), /zero seeds/);
});
