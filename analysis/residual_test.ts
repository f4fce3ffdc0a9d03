import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor";
import { cosineToPast, pca2 } from "./residual.ts";

Deno.test("cosineToPast is 1 for itself, sign-aware, and 0 for a zero row", () => {
  const h = new Float32Array([1, 0, -2, 0, 0, 0, 3, 4]); // T = 4, C = 2
  const c = cosineToPast(h, 2, 3);
  assert.deepEqual([...c].map((x) => +x.toFixed(6)), [0.6, -0.6, 0, 1]);
  assert.throws(() => cosineToPast(h, 2, 4), /Cannot compare position 4/);
});

Deno.test("pca2 finds a planted plane: two strong directions explain almost all variance", () => {
  const rng = new Rng(9);
  const n = 200, c = 12;
  const u = rng.fillNormal(new Float32Array(c), 0, 1), v = rng.fillNormal(new Float32Array(c), 0, 1);
  const x = new Float32Array(n * c);
  for (let r = 0; r < n; r++) {
    const a = 5 * rng.normal(), b = 2 * rng.normal();
    for (let k = 0; k < c; k++) x[r * c + k] = a * u[k] + b * v[k] + 0.01 * rng.normal();
  }
  const { points, explained } = pca2(x, c);
  assert.ok(explained[0] + explained[1] > 0.999, `explained ${explained}`);
  assert.ok(explained[0] > explained[1]);
  // The projection keeps the distances within the plane: variance of the points = the explained part.
  let total = 0, kept = 0;
  const mean = new Float64Array(c);
  for (let r = 0; r < n; r++) for (let k = 0; k < c; k++) mean[k] += x[r * c + k] / n;
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < c; k++) total += (x[r * c + k] - mean[k]) ** 2;
    kept += points[2 * r] ** 2 + points[2 * r + 1] ** 2;
  }
  assert.ok(Math.abs(kept / total - (explained[0] + explained[1])) < 1e-6);
  assert.deepEqual(pca2(x, c).points, points, "deterministic");
});
