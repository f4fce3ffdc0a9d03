import assert from "node:assert/strict";
import { pick, randInt, shuffle } from "./_rng.ts";
import { Rng } from "@metatokens/tensor/rng";

Deno.test("same seed ⇒ same draws; different seeds differ; draws in [0, 1)", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const da = Array.from({ length: 1000 }, () => a.uniform());
  const db = Array.from({ length: 1000 }, () => b.uniform());
  const dc = Array.from({ length: 1000 }, () => c.uniform());
  assert.deepEqual(da, db);
  assert.notDeepEqual(da, dc);
  assert.ok(da.every((u) => u >= 0 && u < 1));
  const mean = da.reduce((s, u) => s + u, 0) / da.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

Deno.test("randInt covers [lo, hi] inclusive; pick and shuffle stay in the set", () => {
  const rng = new Rng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(randInt(rng, 3, 8));
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7, 8]);
  assert.ok(["a", "b"].includes(pick(rng, ["a", "b"])));
  assert.deepEqual(shuffle(rng, [1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
});

Deno.test("bad seeds are errors quoting the seed", () => {
  assert.throws(() => new Rng(-1), /Cannot seed the RNG with -1/);
  assert.throws(() => new Rng(1.5), /with 1\.5/);
});
