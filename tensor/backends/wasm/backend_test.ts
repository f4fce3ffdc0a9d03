import assert from "node:assert/strict";
import type { Storage } from "../../backend.ts";
import { defaultThreads, parseThreads, wasmBackend, wasmSupport } from "./backend.ts";

Deno.test("this engine has WebAssembly SIMD, relaxed SIMD and shared memory", () => {
  const support = wasmSupport();
  assert.deepEqual(support, { simd: true, relaxed: true, threads: true, reason: "" });
});

Deno.test("a kernel that traps on every thread throws instead of hanging, and the pool keeps working", () => {
  const backend = wasmBackend({ threads: 3, parallelThreshold: 1 });
  try {
    // A view far outside the backend's memory: every thread's share is out of bounds.
    const outside = new Float32Array(new ArrayBuffer(256 << 20), 200 << 20, 4096) as unknown as Storage;
    assert.throws(() => backend.kernels.fill(outside, 1, 4096), /out of bounds|trapped/);
    const ok = backend.alloc("f32", 4096);
    backend.kernels.fill(ok, 2, 4096);
    assert.equal((backend.readSync!(ok, "f32", 4096) as Float32Array)[4095], 2);
  } finally {
    backend.dispose();
  }
});

Deno.test("the portable (no relaxed SIMD) kernels give the same matmul as the relaxed ones within rounding", () => {
  const relaxed = wasmBackend({ threads: 1, relaxed: true });
  const portable = wasmBackend({ threads: 1, relaxed: false });
  try {
    const run = (backend: typeof relaxed): Float32Array => {
      const host = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i));
      const a = backend.alloc("f32", host.length), c = backend.alloc("f32", host.length);
      backend.write(a, host);
      backend.kernels.gemm(c, a, a, null, {
        batch: 1,
        m: 64,
        n: 64,
        k: 64,
        transA: false,
        transB: true,
        accumulate: false,
      });
      return backend.readSync!(c, "f32", host.length) as Float32Array;
    };
    const [x, y] = [run(relaxed), run(portable)];
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-4 * (1 + Math.abs(x[i])));
  } finally {
    relaxed.dispose();
    portable.dispose();
  }
});

Deno.test("thread counts come from METATOKENS_THREADS and bad values are refused with the value", () => {
  const previous = Deno.env.get("METATOKENS_THREADS");
  try {
    Deno.env.set("METATOKENS_THREADS", "3");
    assert.equal(defaultThreads(), 3);
    Deno.env.set("METATOKENS_THREADS", "two");
    assert.throws(() => defaultThreads(), /Cannot use METATOKENS_THREADS=two: expected an integer/);
  } finally {
    if (previous === undefined) Deno.env.delete("METATOKENS_THREADS");
    else Deno.env.set("METATOKENS_THREADS", previous);
  }
  assert.throws(() => parseThreads("0", "--threads"), /--threads=0/);
  assert.throws(() => wasmBackend({ threads: 1.5 }), /threads=1\.5/);
});
