// The `webgpu` backend's own contract: buffers, views, pooling, ordering, limits,
// error reporting, workgroup splitting, and one training step at the tensor level.
// Kernel parity and op gradients run in kernels_test.ts and gradcheck_test.ts.

import assert from "node:assert/strict";
import { backward } from "../../autograd.ts";
import type { Backend } from "../../backend.ts";
import { crossEntropy } from "../../ops/cross_entropy.ts";
import { gelu } from "../../ops/gelu.ts";
import { layernorm } from "../../ops/layernorm.ts";
import { matmul } from "../../ops/matmul.ts";
import { AdamW } from "../../optim/adamw.ts";
import { clipGradNorm } from "../../optim/clip.ts";
import { Rng } from "../../rng.ts";
import { randn, scope, type Tensor, tensor } from "../../tensor.ts";
import { assertClose, testBackends, webgpuTestBackend } from "../../_testing/harness.ts";
import { webgpuAdapter, webgpuBackend } from "./backend.ts";
import { sizeClass } from "./_pool.ts";
import { MAX_WORKGROUPS_PER_DIM, workgroupGrid } from "./_wgsl.ts";

const gpu = await webgpuTestBackend();
const ignore = gpu === null;

Deno.test("workgroupGrid splits counts over y and z and never exceeds 65535 per dimension", () => {
  for (const count of [0, 1, 65535, 65536, 100000, 65535 * 65535, 65535 * 65535 + 1, 5e9]) {
    const [x, y, z] = workgroupGrid(count);
    assert.ok(x <= MAX_WORKGROUPS_PER_DIM && y <= MAX_WORKGROUPS_PER_DIM && z <= MAX_WORKGROUPS_PER_DIM);
    assert.ok(x * y * z >= count, `${count} → [${x}, ${y}, ${z}]`);
    assert.ok(count === 0 || x * y * z - count < x * y, `${count} → [${x}, ${y}, ${z}] wastes a whole plane`);
  }
  assert.throws(() => workgroupGrid(-1), /Cannot split -1 workgroups/);
});

Deno.test("size classes are 16-byte aligned, at most 25 % slack, and capped at the limit", () => {
  for (let bytes = 4; bytes < 1 << 22; bytes = Math.ceil(bytes * 1.37) * 4) {
    const cls = sizeClass(bytes, 1 << 30);
    assert.ok(
      cls >= bytes && cls % 16 === 0 && (cls <= 256 || cls <= bytes * 1.25 + 16),
      `${bytes} → ${cls}`,
    );
  }
  assert.equal(sizeClass(1000 * 1000 * 4, 4_000_000), 4_000_000);
});

Deno.test("webgpuAdapter reports an adapter or says why not", async () => {
  const probe = await webgpuAdapter();
  assert.equal(typeof probe.reason, "string");
  assert.ok(probe.reason.length > 0);
  assert.equal(probe.adapter === null, gpu === null);
});

Deno.test({
  name: "webgpuBackend rejects with the reason when requestAdapter() returns null",
  ignore: !("gpu" in navigator),
  async fn() {
    Object.defineProperty(navigator.gpu, "requestAdapter", {
      value: () => Promise.resolve(null),
      configurable: true,
    });
    try {
      const probe = await webgpuAdapter();
      assert.deepEqual(probe, {
        adapter: null,
        reason: "navigator.gpu.requestAdapter() returned null",
        fallback: false,
      });
      await assert.rejects(
        () => webgpuBackend(),
        /Cannot create the webgpu backend: navigator.gpu.requestAdapter\(\) returned null/,
      );
    } finally {
      delete (navigator.gpu as unknown as Record<string, unknown>).requestAdapter; // back to the prototype's
    }
    assert.equal((await webgpuAdapter()).adapter === null, gpu === null, "the stub is gone again");
  },
});

Deno.test({
  name: "webgpuBackend({ allowFallback: false }) refuses a software adapter, naming it",
  ignore,
  async fn() {
    const probe = await webgpuAdapter();
    if (probe.fallback) {
      await assert.rejects(
        () => webgpuBackend({ allowFallback: false }),
        /software one \(.+\) and allowFallback is false/,
      );
    } else {
      (await webgpuBackend({ allowFallback: false })).dispose();
    }
  },
});

Deno.test({
  name: "webgpu round-trips f32 and i32 data, through views at any element offset",
  ignore,
  async fn() {
    const b = gpu!;
    const f = b.alloc("f32", 7), i = b.alloc("i32", 5);
    const fv = new Float32Array([1.5, -0, NaN, Infinity, 3e-40, -7, 1e30]);
    b.write(f, fv);
    b.write(i, new Int32Array([-1, 0, 2147483647, -2147483648, 42]));
    assert.deepEqual(await b.read(f, "f32", 7), fv);
    assert.deepEqual([...await b.read(i, "i32", 5)], [-1, 0, 2147483647, -2147483648, 42]);
    const view = b.slice(f, 3, 3);
    b.write(view, new Float32Array([10, 11]));
    assert.deepEqual([...await b.read(view, "f32", 3)], [10, 11, -7]);
    assert.deepEqual([...await b.read(b.slice(view, 1, 2), "f32", 2)], [11, -7]);
    assert.deepEqual([...await b.read(f, "f32", 7)], [1.5, -0, NaN, 10, 11, -7, 1e30].map(Math.fround));
    assert.throws(() => b.write(view, new Float32Array(4)), /Cannot write 4 elements into a buffer of 3/);
    assert.throws(() => b.slice(f, 5, 3), /Cannot slice 3 elements at offset 5 from a buffer of 7/);
    b.free(f);
    b.free(i);
  },
});

Deno.test({
  name: "webgpu kernels read and write views at odd offsets (the whole buffer is bound)",
  ignore,
  async fn() {
    const b = gpu!;
    const host = Float32Array.from({ length: 40 }, (_, i) => i + 1);
    const buf = b.alloc("f32", 40);
    b.write(buf, host);
    b.kernels.add(b.slice(buf, 1, 6), b.slice(buf, 11, 6), b.slice(buf, 21, 3), 6, 3);
    const got = await b.read(buf, "f32", 40);
    for (let j = 0; j < 6; j++) assert.equal(got[1 + j], host[11 + j] + host[21 + (j % 3)]);
    assert.equal(got[0], 1);
    assert.equal(got[7], 8);
    // gemm on views whose offsets rule out vec4 loads, against ref on the same numbers.
    const { ref } = testBackends();
    const run = async (be: Backend): Promise<Float32Array> => {
      const a = be.alloc("f32", 1 + 8 * 12), c = be.alloc("f32", 3 + 8 * 16);
      be.write(a, Float32Array.from({ length: 1 + 8 * 12 }, (_, i) => Math.sin(i)));
      be.kernels.gemm(be.slice(c, 3, 128), be.slice(a, 1, 96), be.slice(a, 5, 64), null, {
        batch: 1,
        m: 8,
        n: 16,
        k: 4,
        transA: false,
        transB: true,
        accumulate: false,
      });
      return await be.read(c, "f32", 3 + 128) as Float32Array;
    };
    assertClose(await run(b), await run(ref), { atol: 1e-5, rtol: 1e-5 }, "gemm on views");
  },
});

Deno.test({
  name: "webgpu alloc returns zeros, also from a pooled buffer that held data",
  ignore,
  async fn() {
    const b = gpu!;
    const first = b.alloc("f32", 1000);
    b.kernels.fill(first, 3, 1000);
    b.free(first);
    b.free(first); // a second free is ignored, so the buffer is not pooled twice
    const again = b.alloc("f32", 1000), other = b.alloc("f32", 1000);
    assert.ok((await b.read(again, "f32", 1000)).every((x) => x === 0));
    b.kernels.fill(other, 1, 1000);
    assert.ok(
      (await b.read(again, "f32", 1000)).every((x) => x === 0),
      "two live allocations share a buffer",
    );
    b.free(again);
    b.free(other);
  },
});

Deno.test({
  name: "webgpu keeps call order: a write to a recycled buffer never overtakes earlier kernels",
  ignore,
  async fn() {
    const b = gpu!;
    const src = b.alloc("f32", 256), dst = b.alloc("f32", 256);
    b.write(src, new Float32Array(256).fill(5));
    b.kernels.copy(dst, src, 256); // recorded, not yet submitted
    b.free(src);
    const reused = b.alloc("f32", 256); // same size class: the pool hands back src's buffer
    b.write(reused, new Float32Array(256).fill(-1));
    assert.ok((await b.read(dst, "f32", 256)).every((x) => x === 5));
    assert.ok((await b.read(reused, "f32", 256)).every((x) => x === -1));
    b.free(dst);
    b.free(reused);
  },
});

Deno.test({
  name: "webgpu alloc beyond the device's buffer limits throws a RangeError naming bytes and limit",
  ignore,
  fn() {
    const b = gpu!;
    const limit = Math.min(
      b.gpu.device.limits.maxStorageBufferBindingSize,
      b.gpu.device.limits.maxBufferSize,
    );
    const elements = Math.floor(limit / 4) + 1;
    assert.throws(
      () => b.alloc("f32", elements),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes(`${elements * 4} bytes`) &&
        e.message.includes(`${limit}`),
    );
  },
});

Deno.test({
  name: "webgpu pointwise kernels cover more than 65535 workgroups (grid split over y)",
  ignore,
  async fn() {
    const b = gpu!;
    const n = MAX_WORKGROUPS_PER_DIM * 256 + 300;
    const big = b.alloc("f32", n);
    b.kernels.fill(big, 2.5, n);
    assert.deepEqual([...await b.read(b.slice(big, n - 4, 4), "f32", 4)], [2.5, 2.5, 2.5, 2.5]);
    b.free(big);
    assert.throws(
      () =>
        b.gpu.dispatch({ key: "fill", wgsl: () => "", buffers: [], params: [], workgroups: [65536, 1, 1] }),
      /each count must be an integer in \[0, 65535\]/,
    );
  },
});

Deno.test({
  name: "webgpu reports a WGSL error on the next call, then keeps working",
  ignore,
  async fn() {
    const b = gpu!;
    const x = b.alloc("f32", 4);
    b.gpu.dispatch({
      key: "broken-for-test",
      wgsl: () => "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }",
      buffers: [x],
      params: [],
      workgroups: [1, 1, 1],
    });
    await assert.rejects(() => b.sync(), /WebGPU error: .*/);
    b.kernels.fill(x, 1, 4);
    assert.deepEqual([...await b.read(x, "f32", 4)], [1, 1, 1, 1]);
    b.free(x);
  },
});

Deno.test({
  name: "webgpu device loss makes the next call throw instead of hanging",
  ignore,
  async fn() {
    const b = await webgpuBackend();
    const x = b.alloc("f32", 16);
    b.kernels.fill(x, 1, 16);
    const pending = b.read(x, "f32", 16);
    b.gpu.device.destroy();
    // The read started before the loss either finished or fails; it never hangs.
    await pending.then(() => {}, (e) => assert.match(String(e), /WebGPU device lost/));
    await b.gpu.device.lost;
    assert.throws(() => b.kernels.fill(x, 2, 16), /WebGPU device lost: .*destroyed/);
    await assert.rejects(() => b.read(x, "f32", 16), /WebGPU device lost/);
    assert.throws(() => b.write(x, new Float32Array(16)), /WebGPU device lost/);
    b.dispose();
    assert.throws(() => b.alloc("f32", 1), /Cannot use a disposed webgpu backend/);
  },
});

Deno.test({
  name: "one training step on webgpu (no synchronous read anywhere) matches ref",
  ignore,
  async fn() {
    const { ref } = testBackends();
    const step = async (backend: Backend): Promise<Float32Array[]> => {
      const rng = new Rng(3);
      const w1 = randn([12, 8], rng, 0.3, { backend, requiresGrad: true });
      const w2 = randn([10, 12], rng, 0.3, { backend, requiresGrad: true });
      const lnw = randn([12], rng, 0.1, { backend, requiresGrad: true });
      const lnb = randn([12], rng, 0.1, { backend, requiresGrad: true });
      const x = randn([6, 8], rng, 1, { backend });
      const y = tensor([1, 4, -1, 9, 0, 3], [6], { dtype: "i32", backend });
      const params = [w1, w2, lnw, lnb];
      const opt = new AdamW(params, { lr: 0.01 });
      const loss = scope(() => {
        const h = layernorm(gelu(matmul(x, w1, { transB: true })), lnw, lnb);
        const l = crossEntropy(matmul(h, w2, { transB: true }), y);
        backward(l);
        return l;
      });
      const { sumSquares } = clipGradNorm(params, 0.5);
      opt.step();
      const read = (t: Tensor): Promise<Float32Array> => t.data() as Promise<Float32Array>;
      return await Promise.all([read(loss), read(sumSquares), ...params.map(read)]);
    };
    const [want, got] = [await step(ref), await step(gpu!)];
    want.forEach((w, i) => assertClose(got[i], w, { atol: 1e-5, rtol: 1e-4 }, `output ${i}`));
  },
});

Deno.test({
  name: "webgpu tensors refuse synchronous reads with a pointer to data()",
  ignore,
  async fn() {
    const t = tensor([1, 2], [2], { backend: gpu! });
    assert.throws(
      () => t.dataSync(),
      /Cannot read synchronously from backend "webgpu": use await tensor.data\(\)/,
    );
    assert.deepEqual([...await t.data()], [1, 2]);
    t.dispose();
  },
});
