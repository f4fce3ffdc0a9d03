/**
 * Attention benchmark: causal attention forward + backward GFLOP/s next to
 * the 1-thread matmul figure, and the time meta-attention's core adds to it
 * (sparse vs dense) at k = 10% meta tokens.
 *
 * FLOP count (stated, as the issue asks): forward = 4·B·NH·T²·HS / 2 (q·kᵀ and
 * p·v, causal half), backward = 2.5 × forward; GFLOP/s = (fwd + bwd) / time.
 *
 * With `--device webgpu` (or `auto` on a hardware adapter) it measures the
 * `webgpu` backend only, at the same shapes, against the GPU's own
 * 1024×768×768 matmul; a GPU figure is the time of back-to-back calls until
 * the GPU is done (`backend.sync()`), per call.
 *
 * ```sh
 * deno task bench:attention            # table
 * deno task bench:attention --json     # one JSON object per line
 * deno task bench:attention [--threads N] [--repeat R] [--quick] [--device cpu|webgpu|auto]
 * ```
 *
 * @module
 */

import { type Backend, Rng, type Storage, wasmBackend } from "../tensor/mod.ts";
import { attentionKernels, flatIndices, metaFlags, metaPositions } from "../attention/mod.ts";
import { benchFlags, gpuDevice, reporter, timeAsync } from "./_bench.ts";

const flags = benchFlags(Deno.args);
const { threads, repeat } = flags;
const report = reporter(flags);
const gpu = await gpuDevice(flags);
const best = async (backend: Backend, fn: () => void): Promise<number> =>
  (await timeAsync(fn, repeat, { backend })).best;

function random(backend: Backend, n: number, rng: Rng): Storage {
  const s = backend.alloc("f32", n);
  backend.write(s, rng.fillNormal(new Float32Array(n)));
  return s;
}

/** The 1-thread (or GPU) matmul figure the attention figure is compared with (1024×768×768). */
async function matmulGflops(backend: Backend): Promise<number> {
  const rng = new Rng(0);
  const [m, k, n] = [1024, 768, 768];
  const [a, b, c] = [random(backend, m * k, rng), random(backend, k * n, rng), backend.alloc("f32", m * n)];
  const t = await best(backend, () =>
    backend.kernels.gemm(c, a, b, null, {
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: false,
      accumulate: false,
    }));
  return (2 * m * n * k) / t / 1e9;
}

/** The JSON field that says where a row ran: `threads` on the CPU, `backend` on a GPU. */
function where(backend: Backend): Record<string, string | number> {
  return gpu ? { backend: backend.name } : { threads: backend.threads };
}

/** The same in text: `2t`, or `webgpu`. */
function label(backend: Backend): string {
  return gpu ? backend.name : `${backend.threads}t`;
}

interface Core {
  fwd: () => void;
  bwd: () => void;
}

/** Forward and backward of causal attention (meta flags optional) on (B, T, C, NH). */
function causalCore(
  backend: Backend,
  b: number,
  t: number,
  c: number,
  nh: number,
  meta: Storage | null,
): Core {
  const rng = new Rng(1);
  const k = attentionKernels(backend);
  const qkv = random(backend, b * t * 3 * c, rng), dout = random(backend, b * t * c, rng);
  const out = backend.alloc("f32", b * t * c), lse = backend.alloc("f32", b * nh * t);
  const dqkv = backend.alloc("f32", b * t * 3 * c);
  const d = { b, t, c, nh };
  return {
    fwd: () => k.attentionForward(out, lse, qkv, meta, d),
    bwd: () => k.attentionBackward(dqkv, dout, out, lse, qkv, meta, d),
  };
}

async function benchCausal(
  backend: Backend,
  b: number,
  nh: number,
  t: number,
  hs: number,
  matmul: number,
): Promise<void> {
  const core = causalCore(backend, b, t, nh * hs, nh, null);
  const fwdFlops = (4 * b * nh * t * t * hs) / 2;
  const tf = await best(backend, core.fwd), tb = await best(backend, core.bwd);
  const gflops = (3.5 * fwdFlops) / (tf + tb) / 1e9;
  report(
    {
      bench: "causal_attention",
      b,
      nh,
      t,
      hs,
      ...where(backend),
      gflops: +gflops.toFixed(2),
      fwd_gflops: +(fwdFlops / tf / 1e9).toFixed(2),
      bwd_gflops: +((2.5 * fwdFlops) / tb / 1e9).toFixed(2),
      [gpu ? "of_matmul" : "of_matmul_1t"]: +(gflops / matmul).toFixed(3),
    },
    `causal attention (B ${b}, NH ${nh}, T ${t}, HS ${hs}) ${label(backend)}: fwd+bwd ${
      gflops.toFixed(1)
    } GFLOP/s ` +
      `(fwd ${(fwdFlops / tf / 1e9).toFixed(1)}, bwd ${((2.5 * fwdFlops) / tb / 1e9).toFixed(1)}) = ` +
      `${((100 * gflops) / matmul).toFixed(0)}% of ${gpu ? "the GPU's" : "1-thread"} matmul`,
  );
}

/** Time of meta-attention's core, sparse (gather, ragged attention, scatter) or dense (masked full attention). */
async function benchMeta(
  backend: Backend,
  b: number,
  nh: number,
  t: number,
  hs: number,
  k: number,
): Promise<void> {
  const c = nh * hs;
  const rng = new Rng(2);
  const rows = Array.from({ length: b }, () => {
    const s = new Set<number>();
    while (s.size < Math.round(k * t)) s.add(rng.int(t));
    return [...s].sort((x, y) => x - y);
  });
  const meta = metaPositions(rows, t);
  const causal = causalCore(backend, b, t, c, nh, null);
  const tCausal = await best(backend, () => {
    causal.fwd();
    causal.bwd();
  });
  // Dense: the same attention over all T positions under the meta mask.
  const flagStore = backend.alloc("i32", b * t);
  backend.write(flagStore, metaFlags(meta));
  const dense = causalCore(backend, b, t, c, nh, flagStore);
  const tDense = await best(backend, () => {
    dense.fwd();
    dense.bwd();
  });
  // Sparse: gather the meta rows of qkv, attend per row among them, scatter the output back; backward mirrors it.
  const n = meta.positions.length;
  const index = backend.alloc("i32", n);
  backend.write(index, flatIndices(meta));
  const kk = backend.kernels, ak = attentionKernels(backend);
  const full = random(backend, b * t * 3 * c, rng), fullOut = backend.alloc("f32", b * t * c);
  const dFull = random(backend, b * t * c, rng), dFullQkv = backend.alloc("f32", b * t * 3 * c);
  const qkv = backend.alloc("f32", n * 3 * c),
    out = backend.alloc("f32", n * c),
    lse = backend.alloc("f32", nh * n);
  const dout = backend.alloc("f32", n * c), dqkv = backend.alloc("f32", n * 3 * c);
  const segments = (fn: (s: number, len: number) => void): void => {
    for (let r = 0; r < b; r++) {
      const s = meta.offsets[r], len = meta.offsets[r + 1] - s;
      if (len > 0) fn(s, len);
    }
  };
  const tSparse = await best(backend, () => {
    kk.embeddingForward(qkv, full, index, n, 3 * c); // gather
    segments((s, len) =>
      ak.attentionForward(
        backend.slice(out, s * c, len * c),
        backend.slice(lse, nh * s, nh * len),
        backend.slice(qkv, s * 3 * c, len * 3 * c),
        null,
        { b: 1, t: len, c, nh },
      )
    );
    kk.fill(fullOut, 0, b * t * c);
    kk.embeddingBackward(fullOut, out, index, n, c); // scatter
    kk.embeddingForward(dout, dFull, index, n, c); // backward: gather the output gradient
    kk.fill(dqkv, 0, n * 3 * c);
    segments((s, len) =>
      ak.attentionBackward(
        backend.slice(dqkv, s * 3 * c, len * 3 * c),
        backend.slice(dout, s * c, len * c),
        backend.slice(out, s * c, len * c),
        backend.slice(lse, nh * s, nh * len),
        backend.slice(qkv, s * 3 * c, len * 3 * c),
        null,
        { b: 1, t: len, c, nh },
      )
    );
    kk.embeddingBackward(dFullQkv, dqkv, index, n, 3 * c); // scatter-add into the full gradient
  });
  for (const [impl, time] of [["sparse", tSparse], ["dense", tDense]] as const) {
    const ratio = (tCausal + time) / tCausal;
    report(
      { bench: "meta_overhead", b, nh, t, hs, k, impl, ...where(backend), ratio: +ratio.toFixed(4) },
      `meta-attention core, ${impl.padEnd(6)} (B ${b}, NH ${nh}, T ${t}, k ${k}) ${label(backend)}: ` +
        `causal ${(tCausal * 1e3).toFixed(1)} ms + meta ${(time * 1e3).toFixed(2)} ms → ratio ${
          ratio.toFixed(3)
        }`,
    );
  }
}

const shapes: [number, number, number, number][] = flags.quick
  ? [[2, 2, 128, 64]]
  : [[8, 4, 256, 64], [4, 12, 1024, 64]];
const [mb, mnh, mt, mhs] = shapes.at(-1)!;
if (gpu) {
  const { backend, description } = gpu;
  report(
    { bench: "device", device: flags.device, backend: backend.name, adapter: description },
    `metatokens attention benchmark — ${description}, best of ${repeat}`,
  );
  const matmul = await matmulGflops(backend);
  report(
    { bench: "matmul", m: 1024, k: 768, n: 768, backend: backend.name, gflops: +matmul.toFixed(2) },
    `matmul 1024×768×768 ${backend.name}: ${matmul.toFixed(1)} GFLOP/s (the reference figure)`,
  );
  for (const [b, nh, t, hs] of shapes) await benchCausal(backend, b, nh, t, hs, matmul);
  await benchMeta(backend, mb, mnh, mt, mhs, 0.1);
  backend.dispose();
} else {
  const one = wasmBackend({ threads: 1 });
  const all = threads > 1 ? wasmBackend({ threads }) : null;
  const matmul = await matmulGflops(one);
  report(
    { bench: "matmul", m: 1024, k: 768, n: 768, threads: 1, gflops: +matmul.toFixed(2) },
    `matmul 1024×768×768 1t: ${matmul.toFixed(1)} GFLOP/s (the reference figure)`,
  );
  for (const [b, nh, t, hs] of shapes) {
    for (const backend of [one, all]) if (backend) await benchCausal(backend, b, nh, t, hs, matmul);
  }
  for (const backend of [one, all]) if (backend) await benchMeta(backend, mb, mnh, mt, mhs, 0.1);
  one.dispose();
  all?.dispose();
}
