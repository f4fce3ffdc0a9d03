import assert from "node:assert/strict";
import { PHASES, phaseSpec } from "./phases.ts";

Deno.test("Table 6: m and n distributions and token windows per phase", () => {
  assert.deepEqual(PHASES.map((p) => [p.lists.lo, p.lists.hi]), [[3, 8], [8, 12], [12, 19], [15, 20], [
    15,
    20,
  ]]);
  assert.deepEqual(PHASES.map((p) => p.items.map((n) => [n.lo, n.hi])), [
    [[3, 10]],
    [[3, 7], [12, 16]],
    [[3, 8], [9, 16], [17, 25]],
    [[40, 60]],
    [[90, 110]],
  ]);
  assert.deepEqual(PHASES.map((p) => [p.tokens.lo, p.tokens.hi]), [
    [100, 200],
    [200, 300],
    [500, 700],
    [513, 1024],
    [1025, 2048],
  ]);
  // Copying's C and D grow with the phase.
  for (let i = 1; i < PHASES.length; i++) {
    assert.ok(PHASES[i].copyTokens.hi > PHASES[i - 1].copyTokens.hi);
    assert.ok(PHASES[i].distanceTokens.hi > PHASES[i - 1].distanceTokens.hi);
  }
});

Deno.test("phaseSpec: numbers 1–5, custom specs checked, anything else an error with the choices", () => {
  assert.equal(phaseSpec(4).phase, 4);
  const custom = { ...PHASES[4], phase: 6, tokens: { lo: 2049, hi: 4096 }, items: [{ lo: 190, hi: 220 }] };
  assert.equal(phaseSpec(custom), custom);
  assert.throws(() => phaseSpec(1.5), /Unknown phase 1\.5: expected one of 1, 2, 3, 4, 5/);
  assert.throws(() => phaseSpec({ ...custom, items: [] }), /Invalid items per list \[\]/);
  assert.throws(() => phaseSpec({ ...custom, tokens: { lo: 0, hi: 10 } }), /Invalid prompt token window/);
});
