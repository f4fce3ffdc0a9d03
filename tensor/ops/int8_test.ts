// The int8 weight-only linear: quantization round trip, error against the f32 linear,
// relaxed vs portable wasm bit for bit, shapes and errors. Kernel parity with `ref` over odd
// shapes lives in tensor/backends/kernels_test.ts.

import assert from "node:assert/strict";
import { backward } from "../autograd.ts";
import type { Backend } from "../backend.ts";
import { wasmBackend, wasmSupport } from "../backends/wasm/backend.ts";
import { int8RowBytes } from "../kernels.ts";
import { Rng } from "../rng.ts";
import { randn, tensor } from "../tensor.ts";
import { testBackends, webgpuTestBackend } from "../_testing/harness.ts";
import { linearInt8, type QuantizedLinear, quantizeLinear } from "./int8.ts";
import { matmul } from "./matmul.ts";
import { sum } from "./sum.ts";

const { ref, wasm1, wasm3 } = testBackends();
const gpu = await webgpuTestBackend();
const backends: Backend[] = [ref, wasm1, wasm3, ...(gpu ? [gpu] : [])];

/** The int8 values (N, K) of a quantized weight. */
async function values(qw: QuantizedLinear): Promise<Int8Array> {
  const words = (await qw.q.data()) as Int32Array;
  const bytes = new Int8Array(words.buffer, words.byteOffset, words.byteLength);
  const { outFeatures: n, inFeatures: k } = qw;
  const kp = int8RowBytes(k);
  const out = new Int8Array(n * k);
  for (let r = 0; r < n; r++) out.set(bytes.subarray(r * kp, r * kp + k), r * k);
  return out;
}

/** √(Σ (a − b)² / Σ b²). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2;
    s += b[i] ** 2;
  }
  return Math.sqrt(e / s);
}

Deno.test("quantizeLinear round-trips every weight within half a step: |w − scale·q| ≤ scale/2", async () => {
  for (const backend of backends) {
    for (const [n, k] of [[1, 1], [7, 33], [65, 255], [3, 1000]]) {
      const w = randn([n, k], new Rng(n * 1000 + k), 0.05, { backend });
      const qw = quantizeLinear(w);
      const [host, q, scales] = [(await w.data()) as Float32Array, await values(qw), await qw.scales.data()];
      for (let r = 0; r < n; r++) {
        let amax = 0;
        for (let c = 0; c < k; c++) amax = Math.max(amax, Math.abs(host[r * k + c]));
        assert.ok(Math.abs(scales[r] - amax / 127) <= 1e-6 * amax, `${backend.name} scale of row ${r}`);
        for (let c = 0; c < k; c++) {
          const err = Math.abs(host[r * k + c] - scales[r] * q[r * k + c]);
          assert.ok(
            err <= scales[r] * (0.5 + 1e-5),
            `${backend.name} [${n}, ${k}] w[${r}, ${c}] = ${host[r * k + c]}: error ${err} > scale/2`,
          );
        }
      }
      qw.dispose();
      w.dispose();
    }
  }
});

Deno.test("linearInt8 is within 2% (relative, Frobenius) of the f32 linear, with bias and leading axes", async () => {
  for (const backend of backends) {
    const rng = new Rng(7);
    const [n, k] = [257, 300];
    const w = randn([n, k], rng, 0.02, { backend });
    const x = randn([2, 3, k], rng, 1, { backend });
    const b = randn([n], rng, 0.1, { backend });
    const qw = quantizeLinear(w);
    const y = linearInt8(x, qw, b);
    assert.deepEqual(y.shape, [2, 3, n]);
    const exact = (await matmul(x, w, { transB: true, bias: b }).data()) as Float32Array;
    const err = relativeError((await y.data()) as Float32Array, exact);
    assert.ok(err < 0.02, `${backend.name}: relative error ${err}`);
    assert.ok(err > 1e-4, `${backend.name}: relative error ${err} is too small to be quantized`);
    qw.dispose();
  }
});

Deno.test({
  name: "linearInt8 on relaxed and portable wasm gives identical bits (exact integer dot products)",
  ignore: !wasmSupport().relaxed,
  async fn() {
    const relaxed = wasmBackend({ threads: 1, relaxed: true });
    const portable = wasmBackend({ threads: 1, relaxed: false });
    try {
      for (const [m, n, k] of [[1, 33, 17], [4, 50, 256], [5, 31, 300], [9, 7, 1025]]) {
        const out: Float32Array[] = [];
        for (const backend of [relaxed, portable]) {
          const rng = new Rng(m + n + k);
          const qw = quantizeLinear(randn([n, k], rng, 0.05, { backend }));
          out.push((await linearInt8(randn([m, k], rng, 1, { backend }), qw).data()) as Float32Array);
          qw.dispose();
        }
        assert.deepEqual(
          new Int32Array(out[0].buffer),
          new Int32Array(out[1].buffer),
          `[${m}, ${n}, ${k}] relaxed vs portable`,
        );
      }
    } finally {
      relaxed.dispose();
      portable.dispose();
    }
  },
});

Deno.test("linearInt8 has no gradient: backward through it throws", () => {
  const qw = quantizeLinear(tensor([1, 2, 3, 4], [2, 2]));
  const x = tensor([1, 1], [1, 2], { requiresGrad: true });
  assert.throws(() => backward(sum(linearInt8(x, qw))), /Cannot differentiate through an int8 linear/);
  qw.dispose();
});

Deno.test("quantizeLinear and linearInt8 reject bad shapes and disposed weights", () => {
  assert.throws(() => quantizeLinear(tensor([1, 2, 3], [3])), /Cannot quantize a weight of shape \[3\]/);
  const qw = quantizeLinear(tensor([1, 2, 3, 4, 5, 6], [2, 3]));
  assert.throws(() => linearInt8(tensor([1, 2], [1, 2]), qw), /Cannot linearInt8 an input of shape \[1, 2\]/);
  assert.throws(
    () => linearInt8(tensor([1, 2, 3], [1, 3]), qw, tensor([1], [1])),
    /Cannot add a bias of shape \[1\]/,
  );
  assert.equal(qw.bytes, 4 * (2 * 4 + 2 + 2));
  qw.dispose();
  assert.throws(() => linearInt8(tensor([1, 2, 3], [1, 3]), qw), /disposed quantized weight/);
});
