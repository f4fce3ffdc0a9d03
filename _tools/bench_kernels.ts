/**
 * Kernel benchmark: matmul GFLOP/s on `ref`, `wasm` with 1 thread and `wasm`
 * with every thread, and the GB/s of the memory-bound kernels next to a
 * memcpy measured in the same run.
 *
 * With `--device webgpu` (or `auto` on a hardware adapter) it measures the
 * `webgpu` backend only: the adapter, matmul GFLOP/s (and TFLOP/s) on the
 * same shapes plus 4096×4096×4096 (the target: ≥ 40% of the fp32 peak, which
 * `--peak-tflops X` prints), the transposed products, and the memory-bound
 * kernels in GB/s next to the GPU's own copy. A GPU figure is the time of
 * back-to-back calls until the GPU is done (`backend.sync()`), per call.
 *
 * ```sh
 * deno task bench:kernels                 # table
 * deno task bench:kernels --json          # one JSON object per line
 * deno task bench:kernels --threads 2 --repeat 7 --quick
 * deno task bench:kernels [--device cpu|webgpu|auto] [--peak-tflops X]
 * deno task bench:kernels --device webgpu --peak-tflops 67   # H100 SXM fp32 peak
 * ```
 *
 * @module
 */

import { type Backend, refBackend, type Storage, wasmBackend } from "../tensor/mod.ts";
import { benchFlags, gpuDevice, positiveNumber, reporter, timeAsync } from "./_bench.ts";

const flags = benchFlags(Deno.args, { "peak-tflops": undefined });
const { threads, repeat } = flags;
const report = reporter(flags);
const peakTflops = flags.extra["peak-tflops"] === undefined
  ? null
  : positiveNumber(flags.extra["peak-tflops"], "--peak-tflops");
const gpu = await gpuDevice(flags);

/** A matmul shape: M × K times K × N. */
const SHAPES: readonly [number, number, number][] = flags.quick
  ? [[256, 256, 256]]
  : [[1024, 768, 768], [1024, 768, 3072], [1024, 3072, 768], [2048, 256, 50304]];
/** On a GPU, also the issue's target shape (f32 matmul ≥ 40% of the fp32 peak at 4096³). */
const GPU_SHAPES: readonly [number, number, number][] = flags.quick
  ? SHAPES
  : [...SHAPES, [4096, 4096, 4096]];
/** ref is ~1 GFLOP/s: it runs the first REF_ROWS rows only (the rate does not depend on M). */
const REF_ROWS = 32;

function filled(backend: Backend, n: number): Storage {
  const s = backend.alloc("f32", n);
  const host = new Float32Array(n);
  for (let i = 0; i < n; i++) host[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  backend.write(s, host);
  return s;
}

async function benchMatmul(
  backend: Backend,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Promise<void> {
  const rows = backend.name === "ref" ? Math.min(m, REF_ROWS) : m;
  const [a, b, c] = [filled(backend, rows * k), filled(backend, k * n), backend.alloc("f32", rows * n)];
  const reps = backend.name === "ref" ? 1 : repeat;
  const t = await timeAsync(
    () => backend.kernels.gemm(c, a, b, null, { batch: 1, m: rows, n, k, transA, transB, accumulate: false }),
    reps,
    { backend },
  );
  const gflops = (2 * rows * n * k) / t.best / 1e9;
  const median = (2 * rows * n * k) / t.median / 1e9;
  const shape = `${m}×${k}×${n}${transA ? " Aᵀ" : ""}${transB ? " Bᵀ" : ""}`;
  if (gpu) {
    const ofPeak = peakTflops === null ? null : gflops / 1e3 / peakTflops;
    report(
      {
        bench: "matmul",
        m,
        k,
        n,
        transA: +transA,
        transB: +transB,
        backend: backend.name,
        gflops: +gflops.toFixed(2),
        gflops_median: +median.toFixed(2),
        tflops: +(gflops / 1e3).toFixed(3),
        ...(ofPeak === null ? {} : { of_peak: +ofPeak.toFixed(3) }),
      },
      `matmul ${shape}  ${backend.name}  ${gflops.toFixed(1).padStart(8)} GFLOP/s = ${
        (gflops / 1e3).toFixed(2)
      } TFLOP/s (median ${median.toFixed(1)} GFLOP/s)` +
        (ofPeak === null ? "" : `, ${(100 * ofPeak).toFixed(1)}% of ${peakTflops} TFLOP/s peak`),
    );
  } else {
    report(
      {
        bench: "matmul",
        m,
        k,
        n,
        transA: +transA,
        transB: +transB,
        backend: backend.name,
        threads: backend.threads,
        gflops: +gflops.toFixed(2),
        gflops_median: +median.toFixed(2),
        ...(rows !== m ? { rows_measured: rows } : {}),
      },
      `matmul ${shape}  ${backend.name.padEnd(4)} ${backend.threads}t  ` +
        `${gflops.toFixed(1).padStart(6)} GFLOP/s (median ${median.toFixed(1)})${
          rows !== m ? ` [${rows} rows]` : ""
        }`,
    );
  }
  for (const s of [a, b, c]) backend.free(s);
}

/** Memory-bound kernels: bytes moved per element, and the call. */
async function benchMemory(backend: Backend): Promise<void> {
  const rows = flags.quick ? 1024 : 16384, c = 768, n = rows * c;
  const k = backend.kernels;
  const [x, y, w, b, mean, rstd, m, v] = [
    filled(backend, n),
    backend.alloc("f32", n),
    filled(backend, c),
    filled(backend, c),
    backend.alloc("f32", rows),
    backend.alloc("f32", rows),
    backend.alloc("f32", n),
    backend.alloc("f32", n),
  ];
  const hp = {
    lr: 1e-4,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0.1,
    biasCorrection1: 0.1,
    biasCorrection2: 0.05,
  };
  const cases: [string, number, () => void][] = [
    ["copy (memcpy)", 8, () => k.copy(y, x, n)],
    ["layernorm", 8, () => k.layernormForward(y, mean, rstd, x, w, b, rows, c, 1e-5)],
    ["gelu", 8, () => k.geluForward(y, x, n)],
    ["softmax", 8, () => k.softmaxForward(y, x, rows, c)],
    ["adamw", 28, () => k.adamw(y, x, m, v, null, n, hp)],
  ];
  let memcpy = 0;
  for (const [name, bytes, fn] of cases) {
    const t = await timeAsync(fn, repeat, { backend });
    const gbps = (bytes * n) / t.best / 1e9;
    if (name.startsWith("copy")) memcpy = gbps;
    report(
      {
        bench: name.split(" ")[0],
        backend: backend.name,
        ...(gpu ? {} : { threads: backend.threads }),
        n,
        gbps: +gbps.toFixed(2),
        of_memcpy: +(gbps / memcpy).toFixed(3),
      },
      `${name.padEnd(14)} ${gpu ? backend.name : `${backend.name.padEnd(4)} ${backend.threads}t`}  ${
        gbps.toFixed(1).padStart(6)
      } GB/s  ` +
        `(${((100 * gbps) / memcpy).toFixed(0)}% of ${gpu ? "the GPU's copy" : "memcpy"})`,
    );
  }
  for (const s of [x, y, w, b, mean, rstd, m, v]) backend.free(s);
  if (gpu) return;
  // The host's own memcpy for reference (TypedArray.prototype.set on the same sizes).
  const src = new Float32Array(n), dst = new Float32Array(n);
  const t = await timeAsync(() => dst.set(src), repeat);
  const gbps = (8 * n) / t.best / 1e9;
  report(
    { bench: "host_memcpy", n, gbps: +gbps.toFixed(2) },
    `host memcpy (TypedArray.set)  ${gbps.toFixed(1)} GB/s`,
  );
}

if (gpu) {
  const { backend, description } = gpu;
  report(
    { bench: "device", device: flags.device, backend: backend.name, adapter: description },
    `metatokens kernel benchmark — ${description}, best of ${repeat} (each sample: calls back to back ` +
      `until the GPU is done)\n`,
  );
  for (const [m, k, n] of GPU_SHAPES) await benchMatmul(backend, m, k, n, false, false);
  // The other two products of training: forward through nn.Linear (Bᵀ) and the weight gradient (Aᵀ).
  for (const [m, k, n] of flags.quick ? SHAPES : [...SHAPES.slice(0, 2), [4096, 4096, 4096]]) {
    await benchMatmul(backend, m, k, n, false, true);
    await benchMatmul(backend, m, k, n, true, false);
  }
  await benchMemory(backend);
  backend.dispose();
} else {
  const ref = refBackend();
  const wasm1 = wasmBackend({ threads: 1 });
  const wasmAll = threads > 1 ? wasmBackend({ threads }) : null;
  if (!flags.json) {
    console.log(
      `metatokens kernel benchmark — ${navigator.hardwareConcurrency} cores visible, ${threads} threads, ` +
        `best of ${repeat} (ref: 1 run)\n`,
    );
  }
  for (const [m, k, n] of SHAPES) {
    for (const backend of [ref, wasm1, wasmAll]) {
      if (backend) await benchMatmul(backend, m, k, n, false, false);
    }
  }
  // The other two products of training: forward through nn.Linear (Bᵀ) and the weight gradient (Aᵀ).
  for (const [m, k, n] of SHAPES.slice(0, 2)) {
    for (const backend of [wasm1, wasmAll]) {
      if (backend) {
        await benchMatmul(backend, m, k, n, false, true);
        await benchMatmul(backend, m, k, n, true, false);
      }
    }
  }
  for (const backend of [wasm1, wasmAll]) if (backend) await benchMemory(backend);
  wasm1.dispose();
  wasmAll?.dispose();
}
