import assert from "node:assert/strict";
import { LENGTH_BINS, lengthBin, lengthBinLabel, lengthBinRange } from "./bins.ts";

Deno.test("lengthBin: the smallest edge ≥ tokens, edges inclusive", () => {
  const cases: [number, number][] = [[0, 128], [1, 128], [128, 128], [129, 256], [512, 512], [513, 1024], [
    8192,
    8192,
  ]];
  for (const [t, bin] of cases) assert.equal(lengthBin(t), bin, `${t}`);
  assert.deepEqual(LENGTH_BINS, [128, 256, 512, 1024, 2048, 4096, 8192]);
});

Deno.test("ranges tile 0 … 8192; labels read ≤N", () => {
  let next = 0;
  for (const b of LENGTH_BINS) {
    const r = lengthBinRange(b);
    assert.equal(r.lo, next);
    assert.equal(r.hi, b);
    next = b + 1;
    assert.equal(lengthBinLabel(b), `≤${b}`);
  }
});

Deno.test("out-of-range lengths and unknown bins are errors quoting the value", () => {
  assert.throws(() => lengthBin(8193), /Cannot bin a prompt of 8193 tokens: the largest bin is ≤8192/);
  assert.throws(() => lengthBin(-1), /Cannot bin a prompt of -1 tokens/);
  assert.throws(() => lengthBin(1.5), /1\.5 tokens: expected a non-negative integer/);
  assert.throws(() => lengthBinLabel(300), /Unknown length bin 300: expected one of 128, 256/);
});
