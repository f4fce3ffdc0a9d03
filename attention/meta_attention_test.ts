import assert from "node:assert/strict";
import { type Backend, backward, randn, Rng, scope, tensor } from "@metatokens/tensor";
import { maskedMetaAttention } from "./causal_attention.ts";
import { denseMetaAttention, metaAttention, type MetaAttentionParams } from "./meta_attention.ts";
import { type MetaPositions, metaPositions } from "./meta_positions.ts";
import { ropeTables, tokenPositions } from "./rope.ts";
import { assertNear, attentionBackends, label, read, webgpu } from "./_testing/backends.ts";

type Impl = typeof metaAttention;

/** Output and the gradients of x and all four weights under a fixed upstream gradient. */
async function run(
  impl: Impl,
  backend: Backend,
  meta: MetaPositions,
  c: number,
  nh: number,
  rope: boolean,
): Promise<Float32Array[]> {
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
    await read(y),
    ...await Promise.all(params.map((t) => t.grad ? read(t.grad) : new Float32Array(t.size))),
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

const BACKENDS: [string, Backend | null][] = [
  ...attentionBackends().map((b): [string, Backend] => [label(b), b]),
  ["webgpu", webgpu],
];

for (const [name, backend] of BACKENDS) {
  for (const rope of [false, true]) {
    Deno.test({
      name: `sparse meta-attention equals the dense form, forward and every gradient, on ${name}` +
        (rope ? " with RoPE" : ""),
      ignore: backend === null,
      async fn() {
        for (const [label, meta] of CASES) {
          const sparse = await run(metaAttention, backend!, meta, 16, 2, rope);
          const dense = await run(denseMetaAttention, backend!, meta, 16, 2, rope);
          sparse.forEach((s, i) => assertNear(s, dense[i], `${label}: ${NAMES[i]}`, 3e-5, 2e-4));
        }
      },
    });
  }
}

Deno.test("non-meta queries get exactly zero meta-attention output (no finite −1e9 fill)", async () => {
  for (const backend of [...attentionBackends(), ...(webgpu ? [webgpu] : [])]) {
    const qkv = randn([1, 6, 24], new Rng(2), 1, { backend }); // C = 8, two heads of 4
    const flags = tensor([0, 1, 0, 0, 1, 0], [1, 6], { dtype: "i32", backend });
    const y = await read(maskedMetaAttention(qkv, flags, 2));
    for (const t of [0, 2, 3, 5]) for (let j = 0; j < 8; j++) assert.equal(y[t * 8 + j], 0);
    // The first meta token attends only to itself: its output is its own value row.
    const v = await read(qkv);
    for (let j = 0; j < 8; j++) assert.ok(Math.abs(y[8 + j] - v[24 + 16 + j]) < 1e-6, label(backend));
  }
});

/** Output, lse and qkv gradient of masked meta-attention (the dense kernel with meta flags). */
async function masked(
  backend: Backend,
  [b, t, c, nh]: number[],
  flags: Int32Array,
): Promise<[Float32Array, Float32Array, Float32Array]> {
  const rng = new Rng(t + c);
  const qkv = randn([b, t, 3 * c], rng, 1, { backend, requiresGrad: true });
  const dout = randn([b, t, c], rng, 1, { backend });
  const y = maskedMetaAttention(qkv, tensor(flags, [b, t], { dtype: "i32", backend }), nh);
  const lse = await read(y.node!.saved[0]); // before backward frees it
  scope(() => backward(y, dout));
  return [await read(y), lse, await read(qkv.grad!)];
}

Deno.test({
  name:
    "webgpu meta-masked attention matches ref: zero output, −∞ lse and zero gradients without allowed keys",
  ignore: webgpu === null,
  async fn() {
    const [ref] = attentionBackends();
    for (const shape of [[2, 19, 16, 2], [3, 40, 24, 3], [1, 7, 8, 1]]) {
      const [b, t, c, nh] = shape;
      // Row 0: random meta tokens; row 1: none at all; row 2: the last token only.
      const rng = new Rng(5);
      const flags = new Int32Array(b * t);
      for (let i = 0; i < t; i++) flags[i] = rng.uniform() < 0.3 ? 1 : 0;
      if (b > 2) flags[3 * t - 1] = 1;
      const [y, lse, g] = await masked(webgpu!, shape, flags);
      const [yr, lser, gr] = await masked(ref, shape, flags);
      const what = `(B ${b}, T ${t}, C ${c}, NH ${nh})`;
      assertNear(y, yr, `out ${what}`);
      assertNear(lse, lser, `lse ${what}`);
      assertNear(g, gr, `dqkv ${what}`, 5e-5, 2e-4);
      for (let r = 0; r < b * t; r++) {
        if (flags[r] !== 0) continue;
        // A non-meta token neither attends nor is attended: zero output, −∞ lse, no gradient.
        for (let j = 0; j < c; j++) assert.equal(y[r * c + j], 0, `out row ${r} ${what}`);
        for (let h = 0; h < nh; h++) {
          assert.equal(lse[(Math.floor(r / t) * nh + h) * t + (r % t)], -Infinity, `lse row ${r} ${what}`);
        }
        for (let j = 0; j < 3 * c; j++) assert.equal(g[r * 3 * c + j], 0, `dqkv row ${r} ${what}`);
      }
    }
  },
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
