import assert from "node:assert/strict";
import { randn, Rng, tensor } from "@metatokens/tensor";
import { apeEncoding, zeroAtMeta } from "./ape.ts";
import { causalAttention } from "./causal_attention.ts";
import { metaPositions } from "./meta_positions.ts";
import { attentionBackends } from "./_testing/backends.ts";

const [ref] = attentionBackends();

Deno.test("APE gives wpe[t] for every token, shape (B, T, C)", () => {
  const wpe = tensor([0, 1, 10, 11, 20, 21, 30, 31], [4, 2], { backend: ref });
  const pe = apeEncoding(wpe, 2, 3);
  assert.deepEqual(pe.shape, [2, 3, 2]);
  assert.deepEqual([...pe.dataSync()], [0, 1, 10, 11, 20, 21, 0, 1, 10, 11, 20, 21]);
});

Deno.test("APE 'no position' omits wpe at meta tokens only; noise is seeded", () => {
  const wpe = tensor([1, 1, 2, 2, 3, 3], [3, 2], { backend: ref });
  const pe = apeEncoding(wpe, 2, 3, { zeroAt: metaPositions([[2], [0]], 3) });
  assert.deepEqual([...pe.dataSync()], [1, 1, 2, 2, 0, 0, 0, 0, 2, 2, 3, 3]);
  const a = apeEncoding(wpe, 1, 3, { noiseStd: 0.1, rng: new Rng(5) }).dataSync();
  const b = apeEncoding(wpe, 1, 3, { noiseStd: 0.1, rng: new Rng(5) }).dataSync();
  assert.deepEqual(a, b);
  assert.ok(a.some((v, i) => v !== [1, 1, 2, 2, 3, 3][i]));
});

Deno.test("zeroing the token embedding at meta positions keeps the other rows and their gradient", () => {
  const x = randn([2, 3, 4], new Rng(0), 1, { backend: ref });
  const y = zeroAtMeta(x, metaPositions([[1], []], 3)).dataSync();
  const xv = x.dataSync();
  for (let i = 0; i < 24; i++) assert.equal(y[i], i >= 4 && i < 8 ? 0 : xv[i]);
});

Deno.test("APE refuses sequences longer than its block size; NoPE attention keeps the shape", () => {
  const wpe = randn([8, 4], new Rng(0), 1, { backend: ref });
  assert.throws(
    () => apeEncoding(wpe, 1, 9),
    /Cannot encode 9 positions with APE: the model's block size is 8/,
  );
  // NoPE: attention straight on the projections, no encoding at all.
  assert.deepEqual(causalAttention(randn([2, 9, 12], new Rng(0), 1, { backend: ref }), 2).shape, [2, 9, 4]);
});
