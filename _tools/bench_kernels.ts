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
 * Decoding (CPU, 1 thread): the matrix–vector products of one token — f32
 * `gemm` with M = 1 and 4 rows against (N, K) weights, and the int8 weight-only
 * `linearInt8` (relaxed SIMD, and portable for comparison) — at the tiny
 * model's head (50304 × 256) and block shapes, in GB/s of weight bytes read
 * and as a fraction of the single-thread read bandwidth measured in the same
 * run (`readBandwidth`: a streaming sum over 256 MiB). Small weights stay in
 * the caches when called back to back, so they can exceed the DRAM figure.
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

import {
  type Backend,
  int8RowBytes,
  int8Words,
  refBackend,
  type Storage,
  wasmBackend,
  wasmSupport,
} from "../tensor/mod.ts";
import {
  benchFlags,
  gpuDevice,
  positiveNumber,
  readBandwidth,
  reporter,
  type Spread,
  timeAsync,
  timeCalls,
} from "./_bench.ts";

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

/** Decoding's (N, K) weights: the tiny model's tied head and its block linears. */
const DECODE_SHAPES: readonly [string, number, number][] = [
  ["head", 50304, 256],
  ["attn.c_attn", 768, 256],
  ["mlp.c_fc", 1024, 256],
  ["mlp.c_proj", 256, 1024],
];

/** `best (median–worst)` of a rate spread (higher is better: worst is the lowest). */
function rate(s: Spread, scale = 1, digits = 1): string {
  return `${(s.best * scale).toFixed(digits)} (${(s.median * scale).toFixed(digits)}–${
    (s.worst * scale).toFixed(digits)
  })`;
}

/** Rates (units per second) of a time spread for `units` per call. */
function rates(t: Spread, units: number): Spread {
  return { best: units / t.best, median: units / t.median, worst: units / t.worst };
}

/** Matrix–vector products of decoding on one thread, f32 and int8, against the read bandwidth. */
function benchDecode(wasm: Backend, portable: Backend | null): void {
  const bw = readBandwidth(wasm, flags.quick ? 64 << 20 : 256 << 20, repeat);
  report(
    {
      bench: "read_bandwidth",
      backend: wasm.name,
      threads: 1,
      gbps: +(bw.best / 1e9).toFixed(2),
      gbps_median: +(bw.median / 1e9).toFixed(2),
      gbps_worst: +(bw.worst / 1e9).toFixed(2),
    },
    `\nread bandwidth (streamSum, ${flags.quick ? 64 : 256} MiB, 1 thread)  ${
      rate(bw, 1e-9)
    } GB/s  best (median–worst)`,
  );
  for (const [name, n, k] of DECODE_SHAPES) {
    for (const m of [1, 4]) {
      const [w, a, c] = [filled(wasm, n * k), filled(wasm, m * k), wasm.alloc("f32", m * n)];
      const f32 = rates(
        timeCalls(
          () =>
            wasm.kernels.gemm(c, a, w, null, {
              batch: 1,
              m,
              n,
              k,
              transA: false,
              transB: true,
              accumulate: false,
            }),
          repeat,
        ),
        4 * n * k,
      );
      const int8Bytes = n * int8RowBytes(k) + 8 * n; // packed rows, row sums, scales
      const int8 = (backend: Backend): Spread => {
        const [w2, a2, c2] = backend === wasm ? [w, a, c] : [
          filled(backend, n * k),
          filled(backend, m * k),
          backend.alloc("f32", m * n),
        ];
        const [q, scales] = [backend.alloc("i32", int8Words(n, k)), backend.alloc("f32", n)];
        backend.kernels.quantizeInt8(q, scales, w2, n, k);
        const t = timeCalls(() => backend.kernels.linearInt8(c2, a2, q, scales, null, m, n, k), repeat);
        for (const s of backend === wasm ? [q, scales] : [q, scales, w2, a2, c2]) backend.free(s);
        return rates(t, int8Bytes);
      };
      const i8 = int8(wasm);
      const i8p = portable ? int8(portable) : null;
      const shape = `${name} ${n}×${k} M=${m}`;
      const f32Ms = (4 * n * k) / f32.best * 1e3, i8Ms = int8Bytes / i8.best * 1e3;
      report(
        {
          bench: "gemv_f32",
          shape: name,
          n,
          k,
          m,
          threads: 1,
          ms: +f32Ms.toFixed(4),
          gbps: +(f32.best / 1e9).toFixed(2),
          gbps_median: +(f32.median / 1e9).toFixed(2),
          gbps_worst: +(f32.worst / 1e9).toFixed(2),
          of_bandwidth: +(f32.best / bw.best).toFixed(3),
        },
        `gemv f32   ${shape.padEnd(26)} ${f32Ms.toFixed(3).padStart(7)} ms  ${rate(f32, 1e-9)} GB/s  ` +
          `= ${(100 * f32.best / bw.best).toFixed(0)}% of read bandwidth`,
      );
      report(
        {
          bench: "gemv_int8",
          shape: name,
          n,
          k,
          m,
          threads: 1,
          ms: +i8Ms.toFixed(4),
          gbps: +(i8.best / 1e9).toFixed(2),
          gbps_median: +(i8.median / 1e9).toFixed(2),
          gbps_worst: +(i8.worst / 1e9).toFixed(2),
          of_bandwidth: +(i8.best / bw.best).toFixed(3),
          speedup_vs_f32: +(f32Ms / i8Ms).toFixed(2),
          ...(i8p
            ? {
              portable_gbps: +(i8p.best / 1e9).toFixed(2),
              relaxed_vs_portable: +(i8.best / i8p.best).toFixed(2),
            }
            : {}),
        },
        `gemv int8  ${shape.padEnd(26)} ${i8Ms.toFixed(3).padStart(7)} ms  ${rate(i8, 1e-9)} GB/s  ` +
          `= ${(100 * i8.best / bw.best).toFixed(0)}% of read bandwidth, ${(f32Ms / i8Ms).toFixed(2)}× f32` +
          (i8p
            ? `; portable ${(i8p.best / 1e9).toFixed(1)} GB/s (relaxed ${(i8.best / i8p.best).toFixed(2)}×)`
            : ""),
      );
      for (const s of [w, a, c]) wasm.free(s);
    }
  }
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
  const portable = wasmSupport().relaxed ? wasmBackend({ threads: 1, relaxed: false }) : null;
  benchDecode(wasm1, portable);
  portable?.dispose();
  wasm1.dispose();
  wasmAll?.dispose();
}
