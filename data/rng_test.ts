import assert from "node:assert/strict";
import { CounterRng } from "./rng.ts";

Deno.test("the sampler's generator reproduces @metatokens/tensor Rng draws (values taken from it)", () => {
  const r = new CounterRng(42);
  assert.deepEqual([r.uniform(), r.uniform(), r.uniform()], [
    0.3754269480705261,
    0.39863836765289307,
    0.7186638116836548,
  ]);
  const s = new CounterRng(0);
  s.counter = 1000;
  assert.equal(s.uniform(), 0.4382563829421997);
  assert.throws(() => new CounterRng(2 ** 32), /Cannot seed the generator with 4294967296/);
});
