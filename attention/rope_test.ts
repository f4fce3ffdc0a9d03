import assert from "node:assert/strict";
import { type Backend, backward, noGrad, randn, Rng, scope, type Tensor, tensor } from "@metatokens/tensor";
import { applyRope, ropeTables, tokenPositions } from "./rope.ts";
import { metaPositions } from "./meta_positions.ts";
import { ropeFrequencies, yarnMscale, yarnRange } from "./yarn.ts";
import { assertNear, attentionBackends, label, read, webgpu } from "./_testing/backends.ts";

const [ref, ...wasm] = attentionBackends();

/** q·k of head 0 after rotating q at position i and k at position j. */
function score(q: Float32Array, k: Float32Array, i: number, j: number, hs: number): number {
  const qkv = new Float32Array(2 * 3 * hs);
  qkv.set(q, 0);
  qkv.set(k, 3 * hs + hs);
  const rotated = noGrad(() =>
    applyRope(tensor(qkv, [1, 2, 3 * hs], { backend: ref }), ropeTables([i, j], { headSize: hs }, ref), 1)
  ).dataSync();
  let s = 0;
  for (let x = 0; x < hs; x++) s += rotated[x] * rotated[3 * hs + hs + x];
  return s;
}

Deno.test("RoPE attention scores depend only on the distance i − j", () => {
  const rng = new Rng(4);
  const hs = 16;
  const q = rng.fillNormal(new Float32Array(hs)), k = rng.fillNormal(new Float32Array(hs));
  for (const [i, j] of [[5, 2], [9, 9], [3, 7]]) {
    const base = score(q, k, i, j, hs);
    for (const shift of [1, 10, 100]) {
      assert.ok(
        Math.abs(score(q, k, i + shift, j + shift, hs) - base) < 1e-4,
        `shift ${shift} of (${i}, ${j})`,
      );
    }
  }
  assert.ok(
    Math.abs(score(q, k, 5, 2, hs) - score(q, k, 6, 2, hs)) > 1e-3,
    "a different distance changes the score",
  );
});

Deno.test("RoPE pairs dimension i with i + HS/2 (rotate-half, GPT-NeoX / HF Llama)", () => {
  // HS = 4, position 1: pair 0 = dims (0, 2) turns by θ₀ = 1 rad, pair 1 = dims (1, 3) by θ₁ = 0.01 rad.
  const qkv = tensor([1, 0, 0, 0, /* k */ 0, 1, 0, 0, /* v */ 7, 7, 7, 7], [1, 1, 12], { backend: ref });
  const out = applyRope(qkv, ropeTables([1], { headSize: 4 }, ref), 1).dataSync();
  const want = [Math.cos(1), 0, Math.sin(1), 0, 0, Math.cos(0.01), 0, Math.sin(0.01), 7, 7, 7, 7];
  want.forEach((w, i) => assert.ok(Math.abs(out[i] - w) < 1e-6, `element ${i}: ${out[i]} vs ${w}`));
});

Deno.test("RoPE backward matches finite differences (a rotation's transpose)", () => {
  const rng = new Rng(8);
  const qkv = randn([2, 3, 24], rng, 1, { backend: ref, requiresGrad: true });
  const tables = ropeTables(tokenPositions(2, 3), { headSize: 4 }, ref);
  const w = randn([2, 3, 24], rng, 1, { backend: ref });
  scope(() => backward(applyRope(qkv, tables, 2), w));
  // The op is linear in qkv: d(Σ w·rope(x))/dx = ropeᵀ(w), so rotating back must give the gradient.
  const host = qkv.dataSync() as Float32Array;
  const g = qkv.grad!.dataSync();
  const f = (): number => {
    const y = noGrad(() => applyRope(tensor(host, [2, 3, 24], { backend: ref }), tables, 2)).dataSync();
    const wv = w.dataSync();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * wv[i];
    return s;
  };
  for (const i of [0, 5, 13, 20, 47, 70]) {
    const x0 = host[i];
    host[i] = x0 + 1e-2;
    const up = f();
    host[i] = x0 - 1e-2;
    const down = f();
    host[i] = x0;
    assert.ok(Math.abs((up - down) / 2e-2 - g[i]) < 2e-3, `element ${i}`);
  }
});

/** RoPE output and qkv gradient under a fixed upstream gradient, B·T tokens at positions 0 … T−1. */
async function ropeRun(be: Backend, [b, t, c, nh]: readonly number[]): Promise<Float32Array[]> {
  const rng = new Rng(b * t + c);
  const qkv = randn([b, t, 3 * c], rng, 1, { backend: be, requiresGrad: true });
  const dout = randn([b, t, 3 * c], rng, 1, { backend: be });
  const y = scope(() => {
    const out = applyRope(qkv, ropeTables(tokenPositions(b, t), { headSize: c / nh }, be), nh);
    backward(out, dout);
    return out;
  });
  return await Promise.all([y, qkv.grad!].map((x: Tensor) => read(x)));
}

for (
  const [name, backend, shapes] of [
    ...wasm.map((b) =>
      [label(b), b, [[1, 1, 4, 2], [2, 17, 12, 2], [1, 255, 64, 2], [3, 33, 768, 12]]] as const
    ),
    ["webgpu", webgpu, [[1, 1, 4, 2], [2, 17, 12, 2], [1, 255, 64, 2], [3, 33, 240, 12], [
      2,
      5,
      6,
      1,
    ]]] as const,
  ]
) {
  Deno.test({
    name: `${name} RoPE kernels match ref, forward and backward`,
    ignore: backend === null,
    async fn() {
      for (const shape of shapes) {
        const [got, want] = [await ropeRun(backend!, shape), await ropeRun(ref, shape)];
        assertNear(got[0], want[0], `rope out (${shape.join(", ")})`, 1e-6, 1e-5);
        assertNear(got[1], want[1], `rope dqkv (${shape.join(", ")})`, 1e-6, 1e-5);
      }
    },
  });
}

Deno.test("YaRN reproduces the worked values: HS 64, base 1e4, L 1024 → low 5, high 18, mscale 1.13863 / 1.20794", () => {
  assert.deepEqual(yarnRange(64, 1e4, { scale: 4, originalContext: 1024 }), { low: 5, high: 18 });
  assert.equal(yarnMscale(4).toFixed(5), "1.13863");
  assert.equal(yarnMscale(8).toFixed(5), "1.20794");
});

Deno.test("YaRN with s = 1 reproduces plain RoPE exactly", () => {
  const plain = ropeFrequencies(64, 1e4);
  const yarn = ropeFrequencies(64, 1e4, { scale: 1, originalContext: 1024 });
  assert.deepEqual(yarn, plain);
  const a = ropeTables([0, 5, 700], { headSize: 64 }, ref);
  const b = ropeTables([0, 5, 700], { headSize: 64, yarn: { scale: 1, originalContext: 1024 } }, ref);
  assert.deepEqual(b.cos.dataSync(), a.cos.dataSync());
  assert.deepEqual(b.sin.dataSync(), a.sin.dataSync());
});

Deno.test("YaRN keeps high-frequency pairs, divides low-frequency ones by s, and scales by mscale", () => {
  const plain = ropeFrequencies(64, 1e4);
  const yarn = ropeFrequencies(64, 1e4, { scale: 4, originalContext: 1024 });
  for (let i = 0; i <= 5; i++) assert.equal(yarn[i], plain[i]); // below low: extrapolated unchanged
  for (let i = 18; i < 32; i++) assert.ok(Math.abs(yarn[i] - plain[i] / 4) < 1e-15); // above high: interpolated
  const { cos } = ropeTables([0], { headSize: 64, yarn: { scale: 4, originalContext: 1024 } }, ref);
  assert.ok(Math.abs(cos.dataSync()[0] - 1.13863) < 1e-5);
});

Deno.test("identity rotation at meta positions and seeded position noise", () => {
  const meta = metaPositions([[2]], 4);
  assert.deepEqual([...tokenPositions(1, 4, { zeroAt: meta })], [0, 1, 0, 3]);
  const a = tokenPositions(1, 4, { noiseStd: 0.5, rng: new Rng(1) });
  const b = tokenPositions(1, 4, { noiseStd: 0.5, rng: new Rng(1) });
  assert.deepEqual(a, b);
  assert.notDeepEqual([...a], [0, 1, 2, 3]);
  // Position 0 is the identity rotation.
  const qkv = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 1, 12], { backend: ref });
  assert.deepEqual([...applyRope(qkv, ropeTables([0], { headSize: 4 }, ref), 1).dataSync()], [
    ...qkv.dataSync(),
  ]);
});

Deno.test("RoPE and YaRN refuse odd head sizes and scales below 1, naming the value", () => {
  assert.throws(() => ropeTables([0], { headSize: 5 }), /head size 5: expected an even positive integer/);
  assert.throws(
    () => ropeTables([0], { headSize: 4, yarn: { scale: 0.5, originalContext: 1024 } }),
    /YaRN scale 0\.5/,
  );
  const qkv = randn([1, 2, 18], new Rng(0), 1, { backend: ref });
  assert.throws(() => applyRope(qkv, ropeTables([0, 1], { headSize: 6 }, ref), 2), /head size 3/);
  assert.throws(() => tokenPositions(1, 3, { noiseStd: -1 }), /σ = -1/);
});
