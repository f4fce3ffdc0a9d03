import assert from "node:assert/strict";
import { lowbias32, randomU32, Rng } from "./rng.ts";

Deno.test("lowbias32 follows its definition, maps 0 to 0 and never collides on 100k inputs", () => {
  assert.equal(lowbias32(0), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 100000; i++) seen.add(lowbias32(i));
  assert.equal(seen.size, 100000);
  // A step computed by hand: x = 1 → x ^= 0 → 0x7feb352d → ^ >>> 15 → · 0x846ca68b → ^ >>> 16.
  let x = 0x7feb352d;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  assert.equal(lowbias32(1), x);
});

Deno.test("the same seed gives the same stream, another seed another", () => {
  const a = new Rng(1337), b = new Rng(1337), c = new Rng(1338);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 100 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.nextU32()), xs);
});

Deno.test("saved RNG state restores the exact continuation, also into a fresh generator", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 37; i++) rng.normal();
  const saved = rng.state();
  const next = Array.from({ length: 20 }, () => rng.uniform());
  rng.restore(saved);
  assert.deepEqual(Array.from({ length: 20 }, () => rng.uniform()), next);
  const fresh = new Rng(0);
  fresh.restore(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual(Array.from({ length: 20 }, () => fresh.uniform()), next);
});

Deno.test("take() reserves a block that kernels index with randomU32(key, offset + i)", () => {
  const rng = new Rng(3);
  rng.uniform();
  const offset = rng.take(10);
  assert.equal(offset, 1);
  assert.equal(rng.state().counter, 11);
  const direct = new Rng(3);
  direct.restore({ seed: 3, counter: 1 });
  assert.equal(direct.nextU32(), randomU32(rng.key, offset));
});

Deno.test("uniform and normal draws have the right moments", () => {
  const rng = new Rng(99);
  const n = 200000;
  let su = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.005, `uniform mean ${su / n}`);
  assert.ok(Math.abs(sn / n) < 0.01, `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 0.02, `normal variance ${sn2 / n}`);
});

Deno.test("bad seeds and states are rejected with the value", () => {
  assert.throws(() => new Rng(-1), /seed the RNG with -1/);
  assert.throws(() => new Rng(1.5), /1\.5/);
  assert.throws(() => new Rng(0).restore({ seed: 0, counter: -3 }), /counter -3/);
});

Deno.test("the stream is pinned: these draws are what data and task samplers saw before they shared this Rng", () => {
  const r = new Rng(42);
  assert.deepEqual([r.uniform(), r.uniform(), r.uniform()], [
    0.3754269480705261,
    0.39863836765289307,
    0.7186638116836548,
  ]);
  const s = new Rng(0);
  s.restore({ seed: 0, counter: 1000 });
  assert.equal(s.uniform(), 0.4382563829421997);
  assert.throws(() => new Rng(2 ** 32), /Cannot seed the RNG with 4294967296/);
});

Deno.test("Rng: a seed from untrusted input is quoted in at most ~200 characters", () => {
  const huge = "9".repeat(1_000_000) as unknown as number;
  assert.throws(() => new Rng(huge), (e: Error) => e instanceof RangeError && e.message.length < 300);
});
