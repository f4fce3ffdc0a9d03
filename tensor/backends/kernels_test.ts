// Parity of every fast kernel with the `ref` oracle, and of 3 threads with 1;
// on a WebGPU adapter, of every `webgpu` kernel with `ref` too (llvmpipe runs
// WGSL on the CPU, so webgpu cases skip dimensions above 256 unless a case says otherwise).
//
// The case table is typed `{ [K in KernelName]: KernelCase }`: a kernel added
// to the contract without a parity case here does not compile.

import type { Storage } from "../backend.ts";
import { int8RowBytes, int8Words, type KernelName } from "../kernels.ts";
import { Rng } from "../rng.ts";
import {
  assertClose,
  assertSameBits,
  Harness,
  ODD_SIZES,
  smallDims,
  testBackends,
  type Tolerance,
  webgpuTestBackend,
} from "../_testing/harness.ts";

interface KernelCase {
  /** Problem dimensions to try. */
  dims: readonly (readonly number[])[];
  /** Runs the kernel on fresh inputs and returns reads of every output it wrote. */
  run(h: Harness, dims: readonly number[]): Promise<Float32Array>[];
  /** Tolerance against `ref` (default atol 1e-5, rtol 1e-4). */
  tol?: Tolerance;
  /** Which dims the webgpu run covers (default: every dimension ≤ 256). */
  gpu?: (dims: readonly number[]) => boolean;
}

const n1 = ODD_SIZES.map((n) => [n]);
const n1big = [...n1, [1000], [4099]];
const rc = [[1, 1], [3, 17], [17, 3], [63, 127], [255, 63], [8, 768]];
const rv = [[1, 1], [3, 17], [17, 63], [5, 1000], [2, 50304]];
const acc = [0, 1];
/**
 * (batch, N, K) of the few-row products against (N, K) weights — decoding's matrix–vector path,
 * run for M = 1…4 with flags Bᵀ ± accumulate ± bias (flag 8): N not a multiple of 2/4/8/16, K odd
 * or below one vector, batch > 1.
 */
const GEMV_SHAPES = [
  [1, 1, 1],
  [1, 3, 7],
  [1, 5, 9],
  [2, 7, 13],
  [1, 9, 4],
  [1, 17, 63],
  [2, 33, 8],
  [1, 250, 257],
  [3, 1031, 96],
];
/** webgpu filter of one-dimensional cases: cheap at every size, so all of them run. */
const everySize = (): boolean => true;

/** The packed int8 values (N, K) of `q` and its row sums (N), as floats (exact). */
async function unpackInt8(h: Harness, q: Storage, n: number, k: number): Promise<Float32Array> {
  const words = await h.backend.read(q, "i32", int8Words(n, k)) as Int32Array;
  const bytes = new Int8Array(words.buffer, words.byteOffset, words.byteLength);
  const kp = int8RowBytes(k);
  const out = new Float32Array(n * kp + n);
  for (let i = 0; i < n * kp; i++) out[i] = bytes[i];
  for (let r = 0; r < n; r++) out[n * kp + r] = words[(n * kp) / 4 + r];
  return out;
}

/** `src` (N, K) with its first row zeroed (an all-zero weight row has scale 0), as a new buffer. */
function zeroFirstRow(h: Harness, src: Storage, n: number, k: number): Storage {
  const out = h.zeros(n * k);
  h.k.copy(out, src, n * k);
  h.k.fill(h.backend.slice(out, 0, k), 0, k);
  return out;
}

/** Runs a kernel that reads `x` and writes one buffer of `n` floats (pre-filled with `init`). */
function unary(
  n: number,
  h: Harness,
  write: (out: Storage, x: Storage) => void,
  init = false,
  lo = -3,
  hi = 3,
): Promise<Float32Array>[] {
  const out = init ? h.uniform(n) : h.zeros(n);
  write(out, h.uniform(n, lo, hi));
  return [h.read(out, n)];
}

const cases: { [K in KernelName]: KernelCase } = {
  gemm: {
    dims: [
      ...ODD_SIZES.flatMap((s) => [[1, s, 17, 3], [1, 3, s, s], [2, s, 5, 63]]),
      [1, 64, 64, 64],
      [3, 33, 65, 129],
      [2, 128, 132, 68],
      [1, 130, 257, 300],
    ].flatMap(([b, m, n, k]) => [0, 1, 2, 3, 4, 5, 6, 7].map((f) => [b, m, n, k, f])).concat(
      [1, 2, 3, 4].flatMap((m) =>
        GEMV_SHAPES.flatMap(([b, n, k]) => [2, 6, 10, 14].map((f) => [b, m, n, k, f]))
      ),
    ),
    run(h, [batch, m, n, k, flags]) {
      const transA = (flags & 1) === 1, transB = (flags & 2) === 2, accumulate = (flags & 4) === 4;
      const c = h.uniform(batch * m * n);
      const bias = flags === 3 || flags === 6 || (flags & 8) === 8 ? h.uniform(n) : null;
      h.k.gemm(c, h.uniform(batch * m * k), h.uniform(batch * k * n), bias, {
        batch,
        m,
        n,
        k,
        transA,
        transB,
        accumulate,
      });
      return [h.read(c, batch * m * n)];
    },
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  quantizeInt8: {
    // [N, K, zero first row]: K not a multiple of 16 (and below one vector), N odd.
    dims: [[1, 1, 0], [3, 17, 0], [5, 16, 1], [17, 63, 0], [2, 255, 1], [7, 33, 0], [4, 300, 0]],
    tol: { atol: 0, rtol: 0 },
    run(h, [n, k, zeroRow]) {
      const src = h.uniform(n * k, -2, 2);
      const q = h.ints(int8Words(n, k), 1), scales = h.zeros(n);
      const w = zeroRow ? zeroFirstRow(h, src, n, k) : src;
      h.k.quantizeInt8(q, scales, w, n, k);
      return [unpackInt8(h, q, n, k), h.read(scales, n)];
    },
  },
  linearInt8: {
    // [M, N, K, bias]: M = 1…5 (one block of 4 and a remainder), N odd, K not a multiple of 16.
    dims: [
      [1, 1, 1, 0],
      [1, 7, 17, 1],
      [2, 5, 33, 0],
      [3, 9, 16, 1],
      [4, 13, 63, 1],
      [5, 17, 255, 0],
      [1, 250, 100, 1],
      [5, 31, 300, 1],
    ],
    tol: { atol: 0, rtol: 0 },
    run(h, [m, n, k, hasBias]) {
      const q = h.ints(int8Words(n, k), 1), scales = h.zeros(n), c = h.uniform(m * n);
      h.k.quantizeInt8(q, scales, h.normal(n * k, 0.05), n, k);
      h.k.linearInt8(c, h.normal(m * k), q, scales, hasBias ? h.uniform(n) : null, m, n, k);
      return [h.read(c, m * n)];
    },
  },
  fill: { dims: n1big, gpu: everySize, run: (h, [n]) => unary(n, h, (o) => h.k.fill(o, 0.25, n), true) },
  copy: { dims: n1big, gpu: everySize, run: (h, [n]) => unary(n, h, (o, x) => h.k.copy(o, x, n)) },
  add: {
    dims: [...n1big.map(([n]) => [n, n]), [3, 1], [255, 1], [51, 3], [1536, 768], [4099, 4099]],
    gpu: everySize,
    run(h, [n, nb]) {
      const out = h.zeros(n);
      h.k.add(out, h.uniform(n), h.uniform(nb), n, nb);
      return [h.read(out, n)];
    },
  },
  mul: {
    dims: [...n1big.map(([n]) => [n, n]), [3, 1], [255, 1], [51, 3], [1536, 768]],
    gpu: everySize,
    run(h, [n, nb]) {
      const out = h.zeros(n);
      h.k.mul(out, h.uniform(n), h.uniform(nb), n, nb);
      return [h.read(out, n)];
    },
  },
  scale: { dims: n1big, gpu: everySize, run: (h, [n]) => unary(n, h, (o, x) => h.k.scale(o, x, -0.75, n)) },
  axpy: { dims: n1big, gpu: everySize, run: (h, [n]) => unary(n, h, (y, x) => h.k.axpy(y, x, 0.5, n), true) },
  mulAcc: {
    dims: [...n1big.map(([n]) => [n, n]), [3, 1], [51, 3], [1536, 768]],
    gpu: everySize,
    run(h, [n, nb]) {
      const y = h.uniform(n);
      h.k.mulAcc(y, h.uniform(n), h.uniform(nb), n, nb);
      return [h.read(y, n)];
    },
  },
  scaleBy: {
    dims: n1big,
    gpu: everySize,
    run(h, [n]) {
      const y = h.uniform(n);
      h.k.scaleBy(y, h.from(new Float32Array([0.3])), n);
      return [h.read(y, n)];
    },
  },
  sumLast: {
    dims: rc.flatMap((d) => acc.map((a) => [...d, a])),
    run(h, [r, c, a]) {
      const out = h.uniform(r);
      h.k.sumLast(out, h.uniform(r * c), r, c, 0.5, a === 1);
      return [h.read(out, r)];
    },
  },
  broadcastLast: {
    dims: rc,
    run(h, [r, c]) {
      const y = h.uniform(r * c);
      h.k.broadcastLast(y, h.uniform(r), -2, r, c);
      return [h.read(y, r * c)];
    },
  },
  sumLeading: {
    dims: rc.flatMap((d) => acc.map((a) => [...d, a])),
    run(h, [r, c, a]) {
      const out = h.uniform(c);
      h.k.sumLeading(out, h.uniform(r * c), r, c, a === 1);
      return [h.read(out, c)];
    },
  },
  mulSumLeading: {
    dims: rc,
    run(h, [r, c]) {
      const out = h.uniform(c);
      h.k.mulSumLeading(out, h.uniform(r * c), h.uniform(r * c), r, c);
      return [h.read(out, c)];
    },
  },
  sumSquares: {
    dims: n1big.flatMap(([n]) => acc.map((a) => [n, a])),
    gpu: everySize,
    run(h, [n, a]) {
      const out = h.from(new Float32Array([1.5]));
      h.k.sumSquares(out, h.uniform(n), n, a === 1);
      return [h.read(out, 1)];
    },
  },
  clipScale: {
    dims: [[0.01], [1], [4], [100]],
    run(h, [sumsq]) {
      const scale = h.zeros(1);
      h.k.clipScale(scale, h.from(new Float32Array([sumsq])), 1);
      return [h.read(scale, 1)];
    },
  },
  geluForward: {
    dims: n1big,
    gpu: everySize,
    run: (h, [n]) => unary(n, h, (o, x) => h.k.geluForward(o, x, n), false, -8, 8),
  },
  geluBackward: {
    dims: n1big,
    gpu: everySize,
    run(h, [n]) {
      const dx = h.uniform(n);
      h.k.geluBackward(dx, h.uniform(n), h.uniform(n, -8, 8), n);
      return [h.read(dx, n)];
    },
  },
  reluForward: {
    dims: n1big,
    gpu: everySize,
    run: (h, [n]) => unary(n, h, (o, x) => h.k.reluForward(o, x, n)),
  },
  reluBackward: {
    dims: n1big,
    gpu: everySize,
    run(h, [n]) {
      const dx = h.uniform(n);
      h.k.reluBackward(dx, h.uniform(n), h.uniform(n), n);
      return [h.read(dx, n)];
    },
  },
  layernormForward: {
    dims: rc,
    run(h, [n, c]) {
      const [out, mean, rstd] = [h.zeros(n * c), h.zeros(n), h.zeros(n)];
      h.k.layernormForward(out, mean, rstd, h.uniform(n * c, -2, 3), h.uniform(c), h.uniform(c), n, c, 1e-5);
      return [h.read(out, n * c), h.read(mean, n), h.read(rstd, n)];
    },
  },
  layernormBackward: {
    dims: rc,
    run(h, [n, c]) {
      const x = h.uniform(n * c, -2, 3);
      const w = h.uniform(c);
      const [out, mean, rstd] = [h.zeros(n * c), h.zeros(n), h.zeros(n)];
      h.k.layernormForward(out, mean, rstd, x, w, h.uniform(c), n, c, 1e-5);
      const [dx, dw, db] = [h.uniform(n * c), h.uniform(c), h.uniform(c)];
      h.k.layernormBackward(dx, dw, db, h.uniform(n * c), mean, rstd, x, w, n, c);
      return [h.read(dx, n * c), h.read(dw, c), h.read(db, c)];
    },
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  softmaxForward: {
    dims: rc,
    run(h, [n, c]) {
      const out = h.zeros(n * c);
      h.k.softmaxForward(out, h.uniform(n * c, -30, 30), n, c);
      return [h.read(out, n * c)];
    },
  },
  softmaxBackward: {
    dims: rc,
    run(h, [n, c]) {
      const out = h.zeros(n * c);
      h.k.softmaxForward(out, h.uniform(n * c, -5, 5), n, c);
      const dx = h.uniform(n * c);
      h.k.softmaxBackward(dx, h.uniform(n * c), out, n, c);
      return [h.read(dx, n * c)];
    },
  },
  crossEntropyForward: {
    dims: rv,
    gpu: ([n]) => n <= 256, // V up to 50304
    run(h, [n, v]) {
      const [loss, lse] = [h.zeros(1), h.zeros(n)];
      h.k.crossEntropyForward(loss, lse, h.uniform(n * v, -20, 20), h.ints(n, v, 0.3), n, v);
      return [h.read(loss, 1), h.read(lse, n)];
    },
  },
  crossEntropyBackward: {
    dims: rv,
    gpu: ([n]) => n <= 256, // V up to 50304
    run(h, [n, v]) {
      const [loss, lse] = [h.zeros(1), h.zeros(n)];
      const logits = h.uniform(n * v, -20, 20);
      const targets = h.ints(n, v, 0.3);
      h.k.crossEntropyForward(loss, lse, logits, targets, n, v);
      const dlogits = h.uniform(n * v);
      h.k.crossEntropyBackward(dlogits, h.from(new Float32Array([0.7])), lse, logits, targets, n, v);
      return [h.read(dlogits, n * v)];
    },
  },
  embeddingForward: {
    dims: rc,
    run(h, [n, c]) {
      const out = h.zeros(n * c);
      h.k.embeddingForward(out, h.uniform(50 * c), h.ints(n, 50), n, c);
      return [h.read(out, n * c)];
    },
  },
  embeddingBackward: {
    dims: rc,
    run(h, [n, c]) {
      const dw = h.uniform(7 * c);
      h.k.embeddingBackward(dw, h.uniform(n * c), h.ints(n, 7), n, c);
      return [h.read(dw, 7 * c)];
    },
  },
  permute: {
    dims: allPermutations([0, 1, 2, 3]).flatMap((perm) =>
      [[2, 3, 5, 7], [1, 17, 3, 64], [3, 1, 63, 1]].flatMap((shape) => acc.map((a) => [...shape, ...perm, a]))
    ),
    run(h, [s0, s1, s2, s3, p0, p1, p2, p3, a]) {
      const n = s0 * s1 * s2 * s3;
      const out = h.uniform(n);
      h.k.permute(out, h.uniform(n), {
        shape: [s0, s1, s2, s3],
        perm: [p0, p1, p2, p3],
        accumulate: a === 1,
      });
      return [h.read(out, n)];
    },
  },
  dropoutForward: {
    dims: n1big.flatMap(([n]) => [0, 0.1, 0.5].map((p) => [n, p])),
    gpu: everySize,
    run(h, [n, p]) {
      const out = h.zeros(n);
      h.k.dropoutForward(out, h.uniform(n), n, p, new Rng(5).key, 4294967290);
      return [h.read(out, n)];
    },
    tol: { atol: 0, rtol: 0 },
  },
  dropoutBackward: {
    dims: n1big.flatMap(([n]) => [0, 0.1, 0.5].map((p) => [n, p])),
    gpu: everySize,
    run(h, [n, p]) {
      const dx = h.uniform(n);
      h.k.dropoutBackward(dx, h.uniform(n), n, p, new Rng(9).key, 77);
      return [h.read(dx, n)];
    },
  },
  adamw: {
    dims: n1big.flatMap(([n]) => [0, 1].map((s) => [n, s])),
    gpu: everySize,
    run(h, [n, s]) {
      const [param, m, v] = [h.uniform(n), h.uniform(n, -0.1, 0.1), h.uniform(n, 0, 0.01)];
      const hp = {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        biasCorrection1: 1 - 0.9 ** 3,
        biasCorrection2: 1 - 0.95 ** 3,
      };
      h.k.adamw(param, h.uniform(n), m, v, s ? h.from(new Float32Array([0.5])) : null, n, hp);
      return [h.read(param, n), h.read(m, n), h.read(v, n)];
    },
  },
};

function allPermutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    allPermutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest])
  );
}

const { ref, wasm1, wasm3 } = testBackends();
const gpu = await webgpuTestBackend();

/** Outputs of one case on one backend (its buffers freed afterwards). */
async function outputs(kase: KernelCase, backend: typeof ref, seed: number, dims: readonly number[]) {
  const h = new Harness(backend, seed);
  try {
    return await Promise.all(kase.run(h, dims));
  } finally {
    h.free();
  }
}

for (const [name, kase] of Object.entries(cases) as [KernelName, KernelCase][]) {
  Deno.test(`wasm kernel ${name} matches ref on odd shapes, and 3 threads match 1 bit for bit`, async () => {
    const tol = kase.tol ?? { atol: 1e-5, rtol: 1e-4 };
    for (const [i, dims] of kase.dims.entries()) {
      const seed = 1000 + i;
      const expected = await outputs(kase, ref, seed, dims);
      const one = await outputs(kase, wasm1, seed, dims);
      const three = await outputs(kase, wasm3, seed, dims);
      expected.forEach((e, j) => {
        assertClose(one[j], e, tol, `${name}${JSON.stringify(dims)} output ${j}`);
        assertSameBits(three[j], one[j], `${name}${JSON.stringify(dims)} output ${j}, 3 threads vs 1`);
      });
    }
  });
}

for (const [name, kase] of Object.entries(cases) as [KernelName, KernelCase][]) {
  Deno.test({
    name: `webgpu kernel ${name} matches ref on odd shapes`,
    ignore: gpu === null,
    async fn() {
      const tol = kase.tol ?? { atol: 1e-5, rtol: 1e-4 };
      const covered = kase.gpu ?? ((d) => smallDims(d));
      for (const [i, dims] of kase.dims.entries()) {
        if (!covered(dims)) continue;
        const seed = 1000 + i;
        const expected = await outputs(kase, ref, seed, dims);
        const actual = await outputs(kase, gpu!, seed, dims);
        expected.forEach((e, j) =>
          assertClose(actual[j], e, tol, `webgpu ${name}${JSON.stringify(dims)} output ${j}`)
        );
      }
    },
  });
}
