import assert from "node:assert/strict";
import { backward, noGrad } from "./autograd.ts";
import { wasmBackend } from "./backends/wasm/backend.ts";
import { add } from "./ops/add.ts";
import { crossEntropy } from "./ops/cross_entropy.ts";
import { embedding } from "./ops/embedding.ts";
import { layernorm } from "./ops/layernorm.ts";
import { matmul } from "./ops/matmul.ts";
import { mul } from "./ops/mul.ts";
import { reshape } from "./ops/reshape.ts";
import { scale } from "./ops/scale.ts";
import { sum } from "./ops/sum.ts";
import { full, scope, tensor, zeros } from "./tensor.ts";
import { testBackends } from "./_testing/harness.ts";

const { ref, wasm1 } = testBackends();

for (const backend of [ref, wasm1]) {
  Deno.test(`reshape on ${backend.name} is a view: it shares the buffer, no copy`, () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend });
    const v = reshape(x, [3, 2]);
    assert.equal(v.base, x);
    backend.kernels.fill(x.storage, 9, 6);
    assert.deepEqual([...v.dataSync()], [9, 9, 9, 9, 9, 9]);
  });

  Deno.test(`gradients accumulate across backward calls on ${backend.name}`, () => {
    const w = tensor([2, 3], [2], { backend, requiresGrad: true });
    backward(sum(mul(w, w)));
    backward(sum(mul(w, w)));
    assert.deepEqual([...w.grad!.dataSync()], [8, 12]);
  });

  Deno.test(`scope frees temporaries but keeps results, inputs and gradients on ${backend.name}`, () => {
    const w = tensor([1, 2], [2], { backend, requiresGrad: true });
    let temp = w;
    const out = scope(() => {
      temp = mul(w, w);
      const loss = sum(temp);
      backward(loss);
      return loss;
    });
    assert.ok(temp.disposed);
    assert.ok(!out.disposed && !w.disposed);
    assert.equal(out.item(), 5);
    assert.deepEqual([...w.grad!.dataSync()], [2, 4]);
    assert.throws(() => temp.dataSync(), /Cannot use a disposed tensor of shape \[2\]/);
  });
}

Deno.test("noGrad records nothing and the result does not require grad", () => {
  const w = tensor([1], [1], { backend: ref, requiresGrad: true });
  const y = noGrad(() => scale(w, 2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
});

Deno.test("a tensor used twice gets both gradient contributions", () => {
  const x = tensor([3], [1], { backend: ref, requiresGrad: true });
  backward(sum(add(mul(x, x), x))); // d/dx (x² + x) = 2x + 1
  assert.equal(x.grad!.item(), 7);
});

Deno.test("shape mismatches name the op and both shapes", () => {
  const a = zeros([2, 3], { backend: ref }), b = zeros([4, 5], { backend: ref });
  assert.throws(() => matmul(a, b), { message: "Cannot matmul tensors of shape [2, 3] and [4, 5]" });
  assert.throws(() => add(a, b), /Cannot add tensors of shape \[2, 3\] and \[4, 5\]/);
  assert.throws(() => reshape(a, [4, 2]), /Cannot reshape a tensor of shape \[2, 3\] to \[4, 2\]/);
  assert.throws(
    () => matmul(a, zeros([3, 4], { backend: ref }), { bias: zeros([3], { backend: ref }) }),
    /bias of shape \[3\].*expected \[4\]/,
  );
  assert.throws(
    () => layernorm(a, zeros([2], { backend: ref }), zeros([3], { backend: ref })),
    /parameter of shape \[2\]: expected \[3\]/,
  );
});

Deno.test("wrong dtypes, bad ids and NaN-producing arguments are refused with the value", () => {
  const ids = tensor([0, 1], [2], { backend: ref, dtype: "i32" });
  const table = zeros([2, 3], { backend: ref });
  assert.throws(() => matmul(ids, table), /dtype i32 .*expected f32/);
  assert.throws(
    () => embedding(table, tensor([0, 1], [2], { backend: ref })),
    /ids of dtype f32.*expected i32/,
  );
  assert.throws(
    () => embedding(table, tensor([0, 2], [2], { backend: ref, dtype: "i32" })),
    /ids\[1\] = 2: expected a value in \[0, 2\)/,
  );
  assert.throws(
    () => crossEntropy(table, tensor([0, -2], [2], { backend: ref, dtype: "i32" })),
    /targets\[1\] = -2: expected a value in \[0, 3\) or -1/,
  );
  assert.throws(() => scale(table, NaN), /Cannot scale with factor NaN: expected a finite number/);
  assert.throws(
    () => layernorm(table, zeros([3], { backend: ref }), zeros([3], { backend: ref }), 0),
    /eps 0/,
  );
  assert.throws(() => tensor([1.5], [1], { backend: ref, dtype: "i32" }), /Cannot store 1\.5/);
  assert.throws(
    () => tensor([1, 2, 3], [2, 2], { backend: ref }),
    /shape \[2, 2\] \(4 elements\) from 3 values/,
  );
});

Deno.test("backward on a tensor without grad says so", () => {
  const x = full([1], 2, { backend: ref });
  assert.throws(() => backward(x), /does not require grad/);
  const w = tensor([1, 2], [2], { backend: ref, requiresGrad: true });
  assert.throws(() => backward(mul(w, w)), /expected one element, or pass its gradient/);
});

Deno.test("allocating beyond the WASM memory limit names the size asked for", () => {
  const backend = wasmBackend({ threads: 1 });
  try {
    assert.throws(
      () => zeros([5, 1024, 1024, 256], { backend }),
      /Cannot allocate 5\.00 GiB for a tensor of 1342177280 f32 elements in WASM memory: the limit is 4\.00 GiB/,
    );
    // The backend still works afterwards.
    assert.equal(full([3], 1, { backend }).dataSync()[2], 1);
  } finally {
    backend.dispose();
  }
});

Deno.test("tensors on different backends cannot be mixed", () => {
  assert.throws(
    () => add(zeros([2], { backend: ref }), zeros([2], { backend: wasm1 })),
    /Cannot add tensors on backends "ref" and "wasm"/,
  );
});

Deno.test("a scope never frees tensors made outside it, even when it returns them", () => {
  const x = tensor([1, 2], [2], { backend: wasm1 });
  const y = scope(() => {
    scope(() => x);
    return null;
  });
  assert.equal(y, null);
  assert.ok(!x.disposed);
});

Deno.test("a returned view keeps its base alive and hands it to the enclosing scope", () => {
  let base = tensor([0], [1], { backend: wasm1 });
  const outer = scope(() => {
    const view = scope(() => {
      base = scale(tensor([1, 2, 3, 4], [4], { backend: wasm1 }), 2);
      return reshape(base, [2, 2]);
    });
    assert.ok(!base.disposed);
    assert.deepEqual([...view.dataSync()], [2, 4, 6, 8]);
    return null;
  });
  assert.equal(outer, null);
  assert.ok(base.disposed, "the outer scope freed the base once nothing returned it");
});

Deno.test("a second backward through a freed graph is an error, not a silent no-op", () => {
  const w = tensor([2], [1], { backend: ref, requiresGrad: true });
  const loss = sum(mul(w, w));
  backward(loss);
  assert.throws(() => backward(loss), /Cannot run backward twice .*the first backward freed its graph/);
});

Deno.test("take() reads the data back and frees the tensor", async () => {
  const t = tensor([1, 2, 3]);
  assert.deepEqual(await t.take(), new Float32Array([1, 2, 3]));
  assert.ok(t.disposed);
});
