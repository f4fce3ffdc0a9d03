import assert from "node:assert/strict";
import { add, type Backend, backward, randn, Rng, scope, tensor } from "@metatokens/tensor";
import { apeEncoding, zeroAtMeta } from "./ape.ts";
import { causalAttention } from "./causal_attention.ts";
import { metaPositions } from "./meta_positions.ts";
import { assertNear, attentionBackends, read, webgpu } from "./_testing/backends.ts";

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

Deno.test({
  name:
    "webgpu APE with the 'no position' ablation, noise and zeroed meta embeddings matches ref, gradients included",
  ignore: webgpu === null,
  async fn() {
    const go = async (backend: Backend): Promise<Float32Array[]> => {
      const rng = new Rng(3);
      const wpe = randn([6, 4], rng, 1, { backend, requiresGrad: true });
      const x = randn([2, 5, 4], rng, 1, { backend, requiresGrad: true });
      const dout = randn([2, 5, 4], rng, 1, { backend });
      const meta = metaPositions([[1, 4], [0]], 5);
      const y = scope(() => {
        const pe = apeEncoding(wpe, 2, 5, { zeroAt: meta, noiseStd: 0.1, rng: new Rng(5) });
        const out = add(zeroAtMeta(x, meta), pe);
        backward(out, dout);
        return out;
      });
      return [await read(y), await read(wpe.grad!), await read(x.grad!)];
    };
    const [got, want] = [await go(webgpu!), await go(ref)];
    ["out", "dwpe", "dx"].forEach((what, i) => assertNear(got[i], want[i], what));
  },
});
