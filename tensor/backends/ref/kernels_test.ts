import assert from "node:assert/strict";
import { erf } from "./kernels.ts";

Deno.test("the reference erf matches tabulated values to 1e-12 (Abramowitz & Stegun table 7.1)", () => {
  const table: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [2.5, 0.999593047982555],
    [3, 0.9999779095030014],
    [4, 0.9999999845827421],
  ];
  for (const [x, want] of table) {
    assert.ok(Math.abs(erf(x) - want) < 1e-12, `erf(${x}) = ${erf(x)}, expected ${want}`);
    assert.ok(Math.abs(erf(-x) + want) < 1e-12, `erf(${-x}) = ${erf(-x)}`);
  }
});
