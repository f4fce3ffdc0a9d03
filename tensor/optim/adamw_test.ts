import assert from "node:assert/strict";
import { tensor } from "../tensor.ts";
import { testBackends } from "../_testing/harness.ts";
import { AdamW } from "./adamw.ts";
import { clipGradNorm, gradSumSquares } from "./clip.ts";

// Worked by hand for w0 = 1, grads 0.5, −0.25, 1.0, lr 0.1, betas (0.9, 0.95), wd 0.1:
// step 1: m = 0.05, v = 0.0125, m̂ = 0.5, v̂ = 0.25, w = 1 − 0.1·(0.5/0.5 + 0.1·1) = 0.89
// step 2: m = 0.02, v = 0.015, m̂ = 0.02/0.19, v̂ = 0.015/0.0975, w = 0.89 − 0.1·(0.268369 + 0.089) = 0.854263
// step 3: m = 0.118, v = 0.06425, m̂ = 0.118/0.271, v̂ = 0.06425/0.142625, w = 0.854263 − 0.1·(0.648745 + 0.0854263) = 0.780846
const EXPECTED = [[0.89, 0.05, 0.0125], [0.854263, 0.02, 0.015], [0.780846, 0.118, 0.06425]];

const { ref, wasm1, wasm3 } = testBackends();
for (const backend of [ref, wasm1, wasm3]) {
  Deno.test(`AdamW matches three hand-computed steps on ${backend.name} (${backend.threads} threads)`, () => {
    const w = tensor([1, 1, 1], [3], { backend, requiresGrad: true });
    const opt = new AdamW([w], { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    [0.5, -0.25, 1.0].forEach((g, i) => {
      w.grad = tensor([g, g, g], [3], { backend });
      opt.step();
      const [wv, m, v] = EXPECTED[i];
      const state = opt.state();
      for (const [what, got, want] of [["w", w, wv], ["m", state.m[0], m], ["v", state.v[0], v]] as const) {
        for (const x of got.dataSync()) {
          assert.ok(Math.abs(x - want) < 2e-6, `step ${i + 1}: ${what} is ${x}, expected ${want}`);
        }
      }
    });
    assert.equal(opt.stepCount, 3);
  });
}

Deno.test("AdamW without weight decay on a group leaves decay out of that group", () => {
  const a = tensor([2], [1], { backend: ref, requiresGrad: true });
  const b = tensor([2], [1], { backend: ref, requiresGrad: true });
  const opt = new AdamW([{ params: [a] }, { params: [b], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.5 });
  a.grad = tensor([0], [1], { backend: ref });
  b.grad = tensor([0], [1], { backend: ref });
  opt.step();
  assert.ok(Math.abs(a.item() - 2 * (1 - 0.1 * 0.5)) < 1e-6, `decayed a is ${a.item()}`);
  assert.equal(b.item(), 2);
});

Deno.test("AdamW rejects bad hyperparameters and parameters without grad, naming them", () => {
  const w = tensor([1], [1], { backend: ref, requiresGrad: true });
  assert.throws(() => new AdamW([w], { lr: NaN }), /lr NaN/);
  assert.throws(() => new AdamW([w], { beta2: 1 }), /betas \(0\.9, 1\)/);
  assert.throws(() => new AdamW([tensor([1], [1], { backend: ref })]), /requiresGrad/);
  assert.throws(() => new AdamW([w]).step(-1), /learning rate -1/);
});

Deno.test("AdamW state round-trips through loadState", () => {
  const w = tensor([1, 2], [2], { backend: ref, requiresGrad: true });
  const opt = new AdamW([w]);
  opt.loadState(5, [new Float32Array([0.1, 0.2])], [new Float32Array([0.3, 0.4])]);
  assert.equal(opt.stepCount, 5);
  assert.deepEqual([...opt.state().v[0].dataSync()], [Math.fround(0.3), Math.fround(0.4)]);
  assert.throws(
    () => opt.loadState(1, [new Float32Array(3)], [new Float32Array(2)]),
    /3 values for shape \[2\]/,
  );
});

for (const backend of [ref, wasm1]) {
  Deno.test(`clipGradNorm scales gradients to the max norm on ${backend.name}`, () => {
    const a = tensor([0, 0], [2], { backend, requiresGrad: true });
    const b = tensor([0], [1], { backend, requiresGrad: true });
    a.grad = tensor([3, 0], [2], { backend });
    b.grad = tensor([4], [1], { backend });
    assert.equal(gradSumSquares([a, b]).item(), 25);
    const { sumSquares, scale } = clipGradNorm([a, b], 2.5);
    assert.equal(sumSquares.item(), 25);
    assert.ok(Math.abs(scale.item() - 0.5) < 1e-6);
    assert.ok(Math.abs(a.grad.dataSync()[0] - 1.5) < 1e-6);
    assert.ok(Math.abs(b.grad.dataSync()[0] - 2) < 1e-6);
    // Below the limit nothing changes.
    assert.equal(clipGradNorm([a, b], 100).scale.item(), 1);
  });
}

Deno.test("AdamW: `using` frees both moment buffers at the end of the block (wasm live bytes)", () => {
  const backend = wasm1;
  const w = tensor([1, 2, 3, 4], [4], { backend, requiresGrad: true });
  const before = backend.wasm!.bytesInUse();
  {
    using opt = new AdamW([w], { lr: 0.1 });
    assert.ok(backend.wasm!.bytesInUse() > before, "the moments take memory");
    opt.zeroGrad();
  }
  assert.equal(backend.wasm!.bytesInUse(), before);
  w.dispose();
});
