import assert from "node:assert/strict";
import {
  add,
  type Backend,
  backward,
  matmul,
  mergeHeads,
  noGrad,
  randn,
  reshape,
  Rng,
  scale,
  scope,
  softmax,
  splitHeads,
  type Tensor,
  tensor,
} from "@metatokens/tensor";
import { attentionOp, causalAttention } from "./causal_attention.ts";
import { assertNear, attentionBackends, label } from "./_testing/backends.ts";

/** The textbook dense attention from core ops: softmax(q·kᵀ/√HS + causal mask)·v, T × T per head. */
export function denseCausal(qkv: Tensor, nh: number): Tensor {
  const [b, t, c3] = qkv.shape;
  const c = c3 / 3;
  const cols = (i: number): Tensor => {
    // q, k or v block (B, T, C) through a matmul with a 0/1 selector: keeps everything differentiable.
    const sel = new Float32Array(c3 * c);
    for (let j = 0; j < c; j++) sel[(i * c + j) * c + j] = 1;
    return matmul(qkv, tensor(sel, [c3, c], { backend: qkv.backend }));
  };
  const [q, k, v] = [0, 1, 2].map((i) => splitHeads(cols(i), nh));
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -Infinity;
  const s = add(
    scale(matmul(q, k, { transB: true }), 1 / Math.sqrt(c / nh)),
    tensor(mask, [t, t], { backend: qkv.backend }),
  );
  return reshape(mergeHeads(matmul(softmax(s), v)), [b, t, c]);
}

/** Output and qkv gradient (for a fixed random upstream gradient) of an attention function. */
function run(
  fn: (qkv: Tensor) => Tensor,
  backend: Backend,
  shape: number[],
  seed: number,
): [Float32Array, Float32Array] {
  const rng = new Rng(seed);
  const qkv = randn(shape, rng, 1, { backend, requiresGrad: true });
  const dout = randn([shape[0], shape[1], shape[2] / 3], rng, 1, { backend });
  const out = scope(() => {
    const y = fn(qkv);
    backward(y, dout);
    return y;
  });
  return [out.dataSync() as Float32Array, qkv.grad!.dataSync() as Float32Array];
}

const [ref, ...wasm] = attentionBackends();
const SHAPES: [number, number, number, number][] = [ // B, T, C, NH
  [1, 1, 8, 2],
  [2, 3, 8, 1],
  [1, 17, 16, 2],
  [2, 64, 32, 2],
  [1, 65, 64, 1],
  [1, 127, 16, 4],
];

Deno.test("ref causal attention matches the dense T×T formulation in output and gradient", () => {
  for (const [b, t, c, nh] of [...SHAPES, [1, 512, 8, 2]] as const) {
    const [y, g] = run((qkv) => causalAttention(qkv, nh), ref, [b, t, 3 * c], t);
    const [yd, gd] = run((qkv) => denseCausal(qkv, nh), ref, [b, t, 3 * c], t);
    assertNear(y, yd, `out (B ${b}, T ${t}, C ${c}, NH ${nh})`);
    assertNear(g, gd, `dqkv (B ${b}, T ${t}, C ${c}, NH ${nh})`);
  }
});

for (const backend of wasm) {
  Deno.test(`${label(backend)} causal attention matches ref up to T = 512, odd T included`, () => {
    for (const [b, t, c, nh] of [...SHAPES, [2, 255, 64, 2], [1, 511, 128, 2], [1, 512, 64, 1]] as const) {
      const [y, g] = run((qkv) => causalAttention(qkv, nh), backend, [b, t, 3 * c], t);
      const [yr, gr] = run((qkv) => causalAttention(qkv, nh), ref, [b, t, 3 * c], t);
      assertNear(y, yr, `out (B ${b}, T ${t}, C ${c}, NH ${nh})`);
      assertNear(g, gr, `dqkv (B ${b}, T ${t}, C ${c}, NH ${nh})`, 5e-5, 2e-4);
    }
  });
}

Deno.test("3 threads give bit-identical attention to 1 thread", () => {
  const [one, three] = wasm;
  const [y1, g1] = run((qkv) => causalAttention(qkv, 4), one, [2, 100, 3 * 64], 5);
  const [y3, g3] = run((qkv) => causalAttention(qkv, 4), three, [2, 100, 3 * 64], 5);
  assert.deepEqual(new Int32Array(y3.buffer), new Int32Array(y1.buffer));
  assert.deepEqual(new Int32Array(g3.buffer), new Int32Array(g1.buffer));
});

Deno.test("causal attention saves only the log-sum-exp (B, NH, T) for backward", () => {
  for (const backend of attentionBackends()) {
    const qkv = randn([2, 33, 3 * 16], new Rng(1), 1, { backend, requiresGrad: true });
    const y = causalAttention(qkv, 4);
    assert.equal(y.node!.saved.length, 1);
    assert.deepEqual(y.node!.saved[0].shape, [2, 4, 33]);
    // What backward needs besides that is its input (qkv) and output (y): O(B·NH·T) extra, no T×T.
    y.dispose();
  }
});

Deno.test("attention rejects head counts that do not divide the width and malformed qkv", () => {
  const qkv = randn([1, 4, 3 * 10], new Rng(0), 1, { backend: ref });
  assert.throws(() => causalAttention(qkv, 3), /Cannot split width 10 into 3 heads/);
  assert.throws(
    () => causalAttention(randn([4, 30], new Rng(0), 1, { backend: ref }), 2),
    /expected \[B, T, 3C\]/,
  );
  assert.throws(
    () => causalAttention(randn([1, 4, 31], new Rng(0), 1, { backend: ref }), 1),
    /expected \[B, T, 3C\]/,
  );
});

Deno.test("wasm attention refuses head sizes that are not a multiple of 4, naming the size", () => {
  const qkv = randn([1, 4, 3 * 6], new Rng(0), 1, { backend: wasm[0] });
  assert.throws(() => causalAttention(qkv, 3), /head size 2: the kernel needs a multiple of 4/);
});

Deno.test("noGrad attention records nothing", () => {
  const qkv = randn([1, 5, 12], new Rng(0), 1, { backend: ref, requiresGrad: true });
  const y = noGrad(() => causalAttention(qkv, 2));
  assert.equal(y.node, null);
  assert.equal(attentionOp.name, "attention.causal");
});
