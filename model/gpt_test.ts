import assert from "node:assert/strict";
import {
  type Backend,
  backward,
  crossEntropy,
  matmul,
  noGrad,
  randn,
  refBackend,
  Rng,
  scope,
  type Tensor,
  tensor,
  wasmBackend,
} from "@metatokens/tensor";
import { gptConfig } from "./config.ts";
import { type Batch, Gpt } from "./gpt.ts";
import { lmHeadLoss } from "./head.ts";

const ref = refBackend();
const wasm = wasmBackend({ threads: 2, parallelThreshold: 1 });

function grads(backend: Backend, fused: boolean): Float32Array[] {
  const rng = new Rng(3);
  const x = randn([300, 8], rng, 1, { backend, requiresGrad: true }); // > one 256-row chunk
  const wte = randn([37, 8], rng, 0.5, { backend, requiresGrad: true });
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? -1 : (i * 13) % 37));
  const targets = tensor(ids, [300], { dtype: "i32", backend });
  const loss = scope(() => {
    const l = fused ? lmHeadLoss(x, wte, ids) : crossEntropy(matmul(x, wte, { transB: true }), targets);
    backward(l);
    return l;
  });
  return [loss, x.grad!, wte.grad!].map((t: Tensor) => t.dataSync() as Float32Array);
}

for (const backend of [ref, wasm]) {
  Deno.test(`the fused head equals matmul + crossEntropy in loss and both gradients on ${backend.name}`, () => {
    const [a, b] = [grads(backend, true), grads(backend, false)];
    a.forEach((v, i) => {
      for (let j = 0; j < v.length; j++) {
        assert.ok(
          Math.abs(v[j] - b[i][j]) <= 1e-5 + 1e-4 * Math.abs(b[i][j]),
          `output ${i}[${j}]: ${v[j]} vs ${b[i][j]}`,
        );
      }
    });
  });
}

const micro = (over: Record<string, unknown> = {}) =>
  gptConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 12, vocabSize: 40, metaTokenId: 39, ...over });

function batchOf(rng: Rng, b: number, t: number): Batch {
  const x = Int32Array.from({ length: b * t }, () => rng.int(39));
  x[3] = 39; // meta tokens at (0, 3), (0, 7), (1, 5)
  x[7] = 39;
  x[t + 5] = 39;
  const y = Int32Array.from(
    { length: b * t },
    (_, i) => (x[i + 1] === 39 || (i + 1) % t === 0 ? -1 : x[i + 1] ?? -1),
  );
  return { b, t, x, y };
}

for (const pos of ["ape", "rope", "none"] as const) {
  Deno.test(`a micro meta-GPT (${pos}) has gradients that match finite differences`, () => {
    const model = new Gpt(micro({ posEncoding: pos }), new Rng(1), ref);
    const batch = batchOf(new Rng(2), 2, 10);
    scope(() => backward(model.forward(batch).loss!));
    const lossAt = (): number => noGrad(() => scope(() => model.forward(batch).loss!.item()));
    for (
      const name of [
        "transformer.h.1.meta_attn.c_attn.weight",
        "transformer.h.0.attn.c_attn.weight",
        "transformer.wte.weight",
        "transformer.h.1.mlp.c_fc.bias",
      ]
    ) {
      const p = model.param(name);
      const host = p.dataSync() as Float32Array;
      const g = p.grad!.dataSync();
      for (const i of [0, 17, host.length - 1]) {
        const x0 = host[i];
        host[i] = x0 + 1e-2;
        ref.write(p.storage, host);
        const up = lossAt();
        host[i] = x0 - 1e-2;
        ref.write(p.storage, host);
        const down = lossAt();
        host[i] = x0;
        ref.write(p.storage, host);
        const numeric = (up - down) / 2e-2;
        assert.ok(
          Math.abs(numeric - g[i]) <= 2e-3 + 3e-2 * Math.abs(numeric),
          `${name}[${i}]: ${g[i]} vs ${numeric}`,
        );
      }
    }
  });
}

Deno.test("the same seed gives the same model and loss on ref and wasm (within rounding)", () => {
  const batch = batchOf(new Rng(5), 2, 12);
  const losses = [ref, wasm].map((backend) =>
    new Gpt(micro({ posEncoding: "rope" }), new Rng(9), backend).forward(batch).loss!.item()
  );
  assert.ok(Math.abs(losses[0] - losses[1]) < 1e-4, `${losses}`);
  assert.ok(Math.abs(losses[0] - Math.log(40)) < 0.2, `initial loss ${losses[0]} ≈ ln V`);
});

Deno.test("an APE model refuses sequences longer than its block size", () => {
  const model = new Gpt(micro(), new Rng(1), ref);
  assert.throws(
    () => model.forward({ b: 1, t: 13, x: new Int32Array(13) }),
    /Cannot run 13 tokens through an APE model with block size 12/,
  );
});

Deno.test("logits without targets have shape (B, T, V)", () => {
  const model = new Gpt(micro({ posEncoding: "none" }), new Rng(1), ref);
  assert.deepEqual(model.forward({ b: 1, t: 5, x: new Int32Array(5) }).logits!.shape, [1, 5, 40]);
});

Deno.test("logitRows gives the last rows of the full logits; a trace records every layer", () => {
  const config = gptConfig({ nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 64, blockSize: 16, metaTokenId: 63 });
  const model = new Gpt(config, new Rng(5), ref);
  const x = Int32Array.from({ length: 2 * 9 }, (_, i) => (i % 5 === 4 ? 63 : (i * 7) % 60));
  const batch = { b: 2, t: 9, x };
  noGrad(() =>
    scope(() => {
      const full = model.forward(batch).logits!.dataSync();
      const last = model.forward(batch, { logitRows: 3 }).logits!;
      assert.deepEqual(last.shape, [2, 3, 64]);
      const got = last.dataSync();
      for (let b = 0; b < 2; b++) {
        for (let r = 0; r < 3; r++) {
          for (let v = 0; v < 64; v++) {
            const want = full[(b * 9 + 6 + r) * 64 + v], have = got[(b * 3 + r) * 64 + v];
            assert.ok(Math.abs(want - have) < 1e-5, `row ${b},${r} id ${v}: ${have} ≠ ${want}`);
          }
        }
      }
      assert.throws(() => model.forward(batch, { logitRows: 10 }), /last 10 positions of 9/);
    })
  );
  const trace = { residual: [] as Tensor[], qkv: [] as Tensor[], metaQkv: [] as Tensor[] };
  noGrad(() => scope(() => model.hidden(batch, { trace })));
  assert.equal(trace.residual.length, 3);
  assert.equal(trace.qkv.length, 2);
  assert.equal(trace.metaQkv.length, 2);
  assert.deepEqual(trace.qkv[0].shape, [2, 9, 48]);
  assert.ok(trace.residual.every((t) => !t.disposed), "traced tensors outlive the scope");
  for (const t of [...trace.residual, ...trace.qkv, ...trace.metaQkv]) t.dispose();
});
