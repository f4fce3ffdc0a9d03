import assert from "node:assert/strict";
import { type Backend, backward, randn, Rng, scope, tensor } from "@metatokens/tensor";
import { maskedMetaAttention } from "./causal_attention.ts";
import { denseMetaAttention, metaAttention, type MetaAttentionParams } from "./meta_attention.ts";
import { type MetaPositions, metaPositions } from "./meta_positions.ts";
import { ropeTables, tokenPositions } from "./rope.ts";
import { assertNear, attentionBackends, label } from "./_testing/backends.ts";

type Impl = typeof metaAttention;

/** Output and the gradients of x and all four weights under a fixed upstream gradient. */
function run(
  impl: Impl,
  backend: Backend,
  meta: MetaPositions,
  c: number,
  nh: number,
  rope: boolean,
): Float32Array[] {
  const rng = new Rng(11);
  const [b, t] = [meta.batch, meta.length];
  const x = randn([b, t, c], rng, 1, { backend, requiresGrad: true });
  const p: MetaAttentionParams = {
    cAttnWeight: randn([3 * c, c], rng, 0.3, { backend, requiresGrad: true }),
    cAttnBias: randn([3 * c], rng, 0.1, { backend, requiresGrad: true }),
    cProjWeight: randn([c, c], rng, 0.3, { backend, requiresGrad: true }),
    cProjBias: randn([c], rng, 0.1, { backend, requiresGrad: true }),
  };
  const dout = randn([b, t, c], rng, 1, { backend });
  const tables = rope ? ropeTables(tokenPositions(b, t), { headSize: c / nh }, backend) : undefined;
  const y = scope(() => {
    const out = impl(x, meta, p, { nHead: nh, rope: tables });
    backward(out, dout);
    return out;
  });
  const params = [x, p.cAttnWeight, p.cAttnBias!, p.cProjWeight, p.cProjBias!];
  // A weight the sparse path never reaches (no meta token) has no gradient buffer: it is zero.
  return [
    y.dataSync() as Float32Array,
    ...params.map((t) => (t.grad?.dataSync() ?? new Float32Array(t.size)) as Float32Array),
  ];
}

function randomRows(rng: Rng, b: number, t: number, k: number): number[][] {
  return Array.from({ length: b }, () => {
    const chosen = new Set<number>();
    while (chosen.size < Math.round(k * t)) chosen.add(rng.int(t));
    return [...chosen].sort((x, y) => x - y);
  });
}

const CASES: [string, MetaPositions][] = [
  ["no meta token in a row", metaPositions([[], [2, 5]], 8)],
  ["exactly one meta token", metaPositions([[3]], 7)],
  ["every position a meta token", metaPositions([[0, 1, 2, 3, 4]], 5)],
  ["meta tokens at 0 and T−1", metaPositions([[0, 9], [9]], 10)],
  ["different counts per row", metaPositions([[1], [0, 2, 4, 6], [], [3, 5]], 7)],
  ["k = 10% of T = 100", metaPositions(randomRows(new Rng(3), 2, 100, 0.1), 100)],
  ["no meta token anywhere", metaPositions([[], []], 4)],
];
const NAMES = ["output", "dx", "dc_attn.weight", "dc_attn.bias", "dc_proj.weight", "dc_proj.bias"];

for (const backend of attentionBackends()) {
  for (const rope of [false, true]) {
    Deno.test(
      `sparse meta-attention equals the dense form, forward and every gradient, on ${label(backend)}` +
        (rope ? " with RoPE" : ""),
      () => {
        for (const [label, meta] of CASES) {
          const sparse = run(metaAttention, backend, meta, 16, 2, rope);
          const dense = run(denseMetaAttention, backend, meta, 16, 2, rope);
          sparse.forEach((s, i) => assertNear(s, dense[i], `${label}: ${NAMES[i]}`, 3e-5, 2e-4));
        }
      },
    );
  }
}

Deno.test("non-meta queries get exactly zero meta-attention output (no finite −1e9 fill)", () => {
  for (const backend of attentionBackends()) {
    const qkv = randn([1, 6, 24], new Rng(2), 1, { backend }); // C = 8, two heads of 4
    const flags = tensor([0, 1, 0, 0, 1, 0], [1, 6], { dtype: "i32", backend });
    const y = maskedMetaAttention(qkv, flags, 2).dataSync();
    for (const t of [0, 2, 3, 5]) for (let j = 0; j < 8; j++) assert.equal(y[t * 8 + j], 0);
    // The first meta token attends only to itself: its output is its own value row.
    const v = qkv.dataSync();
    for (let j = 0; j < 8; j++) assert.ok(Math.abs(y[8 + j] - v[24 + 16 + j]) < 1e-6);
  }
});

Deno.test("meta positions that are unsorted, duplicated or out of range are refused with the value", () => {
  assert.throws(() => metaPositions([[3, 1]], 5), /3 then 1 is unsorted/);
  assert.throws(() => metaPositions([[2, 2]], 5), /2 then 2 is duplicated/);
  assert.throws(
    () => metaPositions([[0], [5]], 5),
    /meta position 5 in batch row 1: expected an integer in \[0, 5\)/,
  );
  assert.throws(() => metaPositions([[-1]], 5), /meta position -1/);
  const [ref] = attentionBackends();
  const x = randn([1, 4, 8], new Rng(0), 1, { backend: ref });
  const p = {
    cAttnWeight: randn([24, 8], new Rng(0), 1, { backend: ref }),
    cAttnBias: null,
    cProjWeight: randn([8, 8], new Rng(0), 1, { backend: ref }),
    cProjBias: null,
  };
  assert.throws(() => metaAttention(x, metaPositions([[1]], 5), p, { nHead: 2 }), /positions for \[1, 5\]/);
  assert.throws(
    () => metaAttention(x, metaPositions([[1]], 4), p, { nHead: 3 }),
    /Cannot split width 8 into 3 heads/,
  );
});
