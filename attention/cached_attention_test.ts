import assert from "node:assert/strict";
import { type Backend, noGrad, Rng, scope, type Tensor, tensor, zeros } from "@metatokens/tensor";
import { cachedAttention } from "./cached_attention.ts";
import { causalAttention } from "./causal_attention.ts";
import { assertNear, attentionBackends, label, read, webgpu } from "./_testing/backends.ts";

const BACKENDS: [string, Backend | null][] = [
  ...attentionBackends().map((b): [string, Backend] => [label(b), b]),
  ["webgpu", webgpu],
];

/**
 * Feeds each of B sequences (length T) through the cache in the chunks given
 * (a prefill, then single rows, …) and returns every chunk's output in
 * sequence order, (B, T, C): it must equal causal attention over the whole
 * sequence.
 */
async function chunked(
  backend: Backend,
  data: Float32Array,
  [b, t, c, nh]: number[],
  chunks: number[],
  rowOrder: number[],
): Promise<Float32Array> {
  const out = new Float32Array(b * t * c);
  const k = zeros([b, t + 3, c], { backend }).keep(), v = zeros([b, t + 3, c], { backend }).keep();
  const past = new Int32Array(b);
  for (const len of chunks) {
    // All rows advance by `len`, with the batch rows mapped to cache rows in rowOrder.
    const qkv = new Float32Array(b * len * 3 * c);
    for (let i = 0; i < b; i++) {
      const row = rowOrder[i];
      qkv.set(
        data.subarray((row * t + past[row]) * 3 * c, (row * t + past[row] + len) * 3 * c),
        i * len * 3 * c,
      );
    }
    const y = await read(
      noGrad(() =>
        scope(() =>
          cachedAttention(tensor(qkv, [b, len, 3 * c], { backend }), {
            k,
            v,
            rows: rowOrder,
            past: rowOrder.map((r) => past[r]),
          }, nh).keep()
        )
      ),
    );
    for (let i = 0; i < b; i++) {
      const row = rowOrder[i];
      out.set(y.subarray(i * len * c, (i + 1) * len * c), (row * t + past[row]) * c);
      past[row] += len;
    }
  }
  k.dispose();
  v.dispose();
  return out;
}

for (const [name, backend] of BACKENDS) {
  Deno.test({
    name: `cached attention in chunks equals causal attention over the whole sequence, on ${name}`,
    ignore: backend === null,
    async fn() {
      for (
        const [shape, chunks] of [
          [[1, 9, 8, 2], [4, 1, 1, 3]],
          [[2, 13, 16, 4], [1, 1, 5, 1, 2, 1, 1, 1]],
          [[3, 40, 24, 3], [33, 1, 1, 1, 4]],
          [[1, 70, 64, 1], [1, 68, 1]],
        ] as const
      ) {
        const [b, t, c] = shape;
        const data = new Rng(7).fillNormal(new Float32Array(b * t * 3 * c), 0, 1);
        const full = await read(
          noGrad(() =>
            scope(() => causalAttention(tensor(data, [b, t, 3 * c], { backend: backend! }), shape[3]).keep())
          ),
        );
        // Cache rows in reverse batch order: segment s must use rows[s], not s.
        const order = Array.from({ length: b }, (_, i) => b - 1 - i);
        const got = await chunked(backend!, data, [...shape], [...chunks], order);
        assertNear(got, full, `shape [${shape}] chunks [${chunks}]`, 2e-5, 1e-4);
      }
    },
  });
}

Deno.test("cached attention names what does not fit: a full cache, a bad row, a mismatched width", () => {
  const k = zeros([2, 4, 8]), v = zeros([2, 4, 8]);
  const qkv = (t: number): Tensor => zeros([1, t, 24]);
  noGrad(() => {
    assert.throws(() => cachedAttention(qkv(2), { k, v, rows: [0], past: [3] }, 2), /append 2 rows after 3/);
    assert.throws(() => cachedAttention(qkv(1), { k, v, rows: [2], past: [0] }, 2), /cache row 2/);
    assert.throws(() => cachedAttention(zeros([1, 1, 12]), { k, v, rows: [0], past: [0] }, 2), /width/);
    assert.throws(() => cachedAttention(qkv(1), { k, v, rows: [0], past: [0] }, 3), /3 heads/);
  });
});
