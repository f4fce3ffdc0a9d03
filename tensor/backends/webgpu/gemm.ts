/**
 * The matrix product of the `webgpu` backend: C (B, M, N) (+)= op(A) · op(B) + bias.
 *
 * One workgroup of 16 × 16 threads computes a BM × BN tile of C
 * (BM = 16·TM, BN = 16·TN): each thread owns a TM × TN register block held
 * as TM · TN / 4 `vec4` accumulators. K is walked in steps of BK; per step
 * the workgroup stages an A tile (BK × BM) and a B tile (BK × BN) in
 * workgroup memory, both k-major, so the inner loop reads `vec4`s of A and B
 * and does `vec4` FMAs (TM · TN FMAs per TM/4 + TN/4 workgroup loads).
 *
 * Staging is software-pipelined through registers: every thread fetches
 * exactly four values of A and four of B per step (BM · BK = BN · BK = 1024),
 * and fetches the next step's values before computing on the current tile,
 * so global latency hides behind the FMAs. Global loads are one `vec4` where
 * an operand's contiguous axis is a multiple of 4 (and its view offset too),
 * else four scalars; which of the four layouts (scalar or vec4, transposed or
 * not) is a uniform of the pipeline, so one pipeline per tile shape serves
 * every transpose combination. Out-of-range rows, columns and k are
 * zero-filled on load and skipped on store, so every shape, transpose, batch,
 * bias and accumulate combination is exact.
 *
 * Two tile shapes: 128 × 128 × 8 with 8 × 8 per thread for large products
 * (the classic SGEMM register blocking), 64 × 64 × 16 with 4 × 4 per thread
 * when M or N is small.
 *
 * Products with at most {@linkcode GEMV_MAX_ROWS} rows against (N, K)
 * weights (`transB && !transA`, decoding's linears and tied head) run a
 * matrix–vector shader instead ({@linkcode gemvWgsl}): one workgroup per
 * output column reads its weight row once, coalesced, for all M rows.
 *
 * @module
 */

import type { Storage } from "../../backend.ts";
import type { GemmDims, Kernels } from "../../kernels.ts";
import type { Dispatcher } from "./_call.ts";
import { declareBindings, WGSL_LINEAR_WORKGROUP, workgroupGrid } from "./_wgsl.ts";

type K = Kernels<Storage, Storage>;

/** The constants one gemm pipeline is specialised for (transposes and vector loads are uniforms). */
export interface GemmTile {
  /** Rows of C per thread (multiple of 4). */
  tm: number;
  /** Columns of C per thread (multiple of 4). */
  tn: number;
  /** K per staged tile (multiple of 4; 16 · TM · BK = 16 · TN · BK = 1024). */
  bk: number;
}

/**
 * How an operand is staged, a uniform of the pipeline (one uniform branch per
 * K step), in terms of its staged rows (M for A; N for B, staged as (N, K)):
 * rows contiguous along k, scalar (0) or vec4 (2); stored (K, rows), scalar (1)
 * or vec4 along the rows (3).
 */
const LoadMode = { Plain: 0, Transposed: 1, PlainVec4: 2, TransposedVec4: 3 } as const;
type LoadMode = typeof LoadMode[keyof typeof LoadMode];

const THREADS = 256; // 16 × 16, each staging 4 values of each operand per K step

/** Pipeline key of a tile shape. */
export function gemmKey(t: GemmTile): string {
  return `gemm_${t.tm}x${t.tn}k${t.bk}`;
}

/**
 * WGSL `fetch_<x>(k0, t, origin, base) -> vec4<f32>` and `stash_<x>(v, t)` of one
 * operand: the four values thread t stages from K step k0, and where they go in
 * the k-major workgroup tile `dst[k · rows/4 + row/4][row % 4]`.
 * `extent` is the operand's row count (p.M or p.N), `mode` its uniform.
 */
function stagingWgsl(
  x: string,
  src: string,
  dst: string,
  mode: string,
  rows: number,
  bk: number,
  extent: string,
): string {
  const r4 = rows / 4, kq4 = bk / 4;
  const scalar = (i: string): string => `${src}[(${i}) >> 2u][(${i}) & 3u]`;
  return `
fn fetch_${x}(k0: u32, t: u32, origin: u32, base: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  switch ${mode} {
    case 0u: { // (rows, K): consecutive threads walk k
      for (var r = 0u; r < 4u; r++) {
        let e = t + r * ${THREADS}u;
        let g = origin + e / ${bk}u; let gk = k0 + e % ${bk}u;
        if (g < ${extent} && gk < p.K) { v[r] = ${scalar(`base + g * p.K + gk`)}; }
      }
    }
    case 1u: { // (K, rows): consecutive threads walk the rows
      for (var r = 0u; r < 4u; r++) {
        let e = t + r * ${THREADS}u;
        let g = origin + e % ${rows}u; let gk = k0 + e / ${rows}u;
        if (g < ${extent} && gk < p.K) { v[r] = ${scalar(`base + gk * ${extent} + g`)}; }
      }
    }
    case 2u: { // (rows, K), one vec4 along k
      let g = origin + t / ${kq4}u; let gk = k0 + (t % ${kq4}u) * 4u;
      if (g < ${extent} && gk < p.K) { v = ${src}[(base + g * p.K + gk) >> 2u]; }
    }
    default: { // (K, rows), one vec4 along the rows
      let g = origin + (t % ${r4}u) * 4u; let gk = k0 + t / ${r4}u;
      if (g < ${extent} && gk < p.K) { v = ${src}[(base + gk * ${extent} + g) >> 2u]; }
    }
  }
  return v;
}

fn stash_${x}(v: vec4<f32>, t: u32) {
  switch ${mode} {
    case 0u: {
      for (var r = 0u; r < 4u; r++) {
        let e = t + r * ${THREADS}u; let row = e / ${bk}u;
        ${dst}[(e % ${bk}u) * ${r4}u + row / 4u][row % 4u] = v[r];
      }
    }
    case 1u: {
      for (var r = 0u; r < 4u; r++) {
        let e = t + r * ${THREADS}u; let row = e % ${rows}u;
        ${dst}[(e / ${rows}u) * ${r4}u + row / 4u][row % 4u] = v[r];
      }
    }
    case 2u: { // transposed into k-major: four scalar stores
      let row = t / ${kq4}u; let c = row % 4u;
      let s = (t % ${kq4}u) * 4u * ${r4}u + row / 4u;
      ${dst}[s][c] = v.x; ${dst}[s + ${r4}u][c] = v.y; ${dst}[s + ${2 * r4}u][c] = v.z; ${dst}[s + ${
    3 * r4
  }u][c] = v.w;
    }
    default: {
      ${dst}[(t / ${r4}u) * ${r4}u + t % ${r4}u] = v;
    }
  }
}`;
}

/**
 * WGSL of one tile shape. Bindings: cmat (B, M, N); amat (B, M, K) or (B, K, M)
 * and bmat (B, N, K) or (B, K, N), both bound as vec4 arrays; bias (N). Params:
 * M, N, K, the four view offsets, has_bias, accumulate, a_mode, b_mode.
 */
export function gemmWgsl(tile: GemmTile): string {
  const { tm, tn, bk } = tile;
  const bm = 16 * tm, bn = 16 * tn;
  if (bm * bk !== 4 * THREADS || bn * bk !== 4 * THREADS || tm % 4 || tn % 4) {
    throw new RangeError(
      `Cannot build a gemm of tile ${tm} × ${tn} × ${bk}: expected 16·tm·bk = 16·tn·bk = 1024`,
    );
  }
  const bm4 = bm / 4, bn4 = bn / 4;
  const comp = ["x", "y", "z", "w"];
  const acc = (i: number, q: number): string => `acc_${i}_${q}`;
  const each = (f: (i: number, q: number) => string): string =>
    Array.from({ length: tm }, (_, i) => Array.from({ length: tn / 4 }, (_, q) => f(i, q))).flat().join("\n");
  const range = (n: number, f: (r: number) => string): string =>
    Array.from({ length: n }, (_, r) => f(r)).join("\n");
  return `// C (B, M, N) (+)= op(A) · op(B) + bias (N); tiles ${bm} × ${bn} × ${bk}, ${tm} × ${tn} per thread
${
    declareBindings([["cmat", "f32"], ["amat", "vec4<f32>"], ["bmat", "vec4<f32>"], ["bias", "f32"]], [
      "M",
      "N",
      "K",
      "cmat_off",
      "amat_off",
      "bmat_off",
      "bias_off",
      "has_bias",
      "accumulate",
      "a_mode",
      "b_mode",
    ])
  }
var<workgroup> As: array<vec4<f32>, ${bk * bm4}>; // [k][m / 4]
var<workgroup> Bs: array<vec4<f32>, ${bk * bn4}>; // [k][n / 4]
${stagingWgsl("a", "amat", "As", "p.a_mode", bm, bk, "p.M")}
${stagingWgsl("b", "bmat", "Bs", "p.b_mode", bn, bk, "p.N")}

/** C[row, col … col + 3] = acc (+ bias) (+ C), skipping what lies outside (M, N). */
fn store4(cbase: u32, row: u32, col: u32, acc: vec4<f32>) {
  if (row >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    let j = col + c;
    if (j < p.N) {
      var x = acc[c];
      if (p.has_bias == 1u) { x += bias[p.bias_off + j]; }
      let o = cbase + row * p.N + j;
      if (p.accumulate == 1u) { x += cmat[o]; }
      cmat[o] = x;
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * ${bm}u;
  let col0 = wid.x * ${bn}u;
  let abase = p.amat_off + wid.z * p.M * p.K;
  let bbase = p.bmat_off + wid.z * p.K * p.N;
  let cbase = p.cmat_off + wid.z * p.M * p.N;
${each((i, q) => `  var ${acc(i, q)} = vec4<f32>(0.0);`)}
  var next_a = fetch_a(0u, t, row0, abase);
  var next_b = fetch_b(0u, t, col0, bbase);
  for (var k0 = 0u; k0 < p.K; k0 += ${bk}u) {
    stash_a(next_a, t);
    stash_b(next_b, t);
    workgroupBarrier();
    if (k0 + ${bk}u < p.K) { // fetch the next step while this one computes
      next_a = fetch_a(k0 + ${bk}u, t, row0, abase);
      next_b = fetch_b(k0 + ${bk}u, t, col0, bbase);
    }
    for (var kk = 0u; kk < ${bk}u; kk++) {
${range(tm / 4, (r) => `      let a${r} = As[kk * ${bm4}u + ty * ${tm / 4}u + ${r}u];`)}
${range(tn / 4, (q) => `      let b${q} = Bs[kk * ${bn4}u + tx * ${tn / 4}u + ${q}u];`)}
${each((i, q) => `      ${acc(i, q)} = fma(vec4<f32>(a${i >> 2}.${comp[i & 3]}), b${q}, ${acc(i, q)});`)}
    }
    workgroupBarrier();
  }
${
    each((i, q) =>
      `  store4(cbase, row0 + ty * ${tm}u + ${i}u, col0 + tx * ${tn}u + ${4 * q}u, ${acc(i, q)});`
    )
  }
}`;
}

/** Most rows per batch the matrix–vector shader serves (its accumulator is one `vec4`). */
export const GEMV_MAX_ROWS = 4;

/** Threads of one gemv workgroup (one output column). */
const GEMV_THREADS = 64;

/**
 * WGSL of the matrix–vector product C (B, M, N) (+)= A (B, M, K) · B (B, N, K)ᵀ + bias
 * for M ≤ 4: workgroup g owns column j = g mod N of batch g / N; its 64 threads stride
 * over K (consecutive threads read consecutive weights), each keeping the M partial sums
 * in one `vec4`, then reduce the 64 partial sums in workgroup memory; threads 0…M−1
 * store. Params: M, N, K, batch, the four view offsets, has_bias, accumulate.
 */
export function gemvWgsl(): string {
  return `// C (B, M, N) (+)= A (B, M, K) · B (B, N, K)ᵀ + bias (N), M ≤ 4: one workgroup per column
${
    declareBindings([["cmat", "f32"], ["amat", "f32"], ["bmat", "f32"], ["bias", "f32"]], [
      "M",
      "N",
      "K",
      "batch",
      "cmat_off",
      "amat_off",
      "bmat_off",
      "bias_off",
      "has_bias",
      "accumulate",
    ])
  }
${WGSL_LINEAR_WORKGROUP}
var<workgroup> part: array<vec4<f32>, ${GEMV_THREADS}>; // per thread: partial sums of rows 0..3

@compute @workgroup_size(${GEMV_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let g = linear_workgroup(wid, nwg);
  if (g >= p.N * p.batch) { return; } // uniform: the whole workgroup leaves
  let j = g % p.N;
  let q = g / p.N;
  let abase = p.amat_off + q * p.M * p.K;
  let bbase = p.bmat_off + (q * p.N + j) * p.K;
  var acc = vec4<f32>(0.0);
  for (var k = t; k < p.K; k += ${GEMV_THREADS}u) {
    let w = bmat[bbase + k];
    for (var r = 0u; r < p.M; r++) { acc[r] = fma(amat[abase + r * p.K + k], w, acc[r]); }
  }
  part[t] = acc;
  workgroupBarrier();
  for (var s = ${GEMV_THREADS / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t < p.M) {
    var x = part[0][t];
    if (p.has_bias == 1u) { x += bias[p.bias_off + j]; }
    let o = p.cmat_off + (q * p.M + t) * p.N + j;
    if (p.accumulate == 1u) { x += cmat[o]; }
    cmat[o] = x;
  }
}`;
}

/** Large tiles for large products, small ones otherwise. */
function tiling(m: number, n: number): GemmTile {
  return m >= 128 && n >= 128 ? { tm: 8, tn: 8, bk: 8 } : { tm: 4, tn: 4, bk: 16 };
}

/**
 * Load modes of A and B. B is staged as (N, K) rows, so its untransposed
 * layout (K, N) is the "transposed" one of the staging code.
 */
function loadModes(d: GemmDims, aOff: number, bOff: number): [LoadMode, LoadMode] {
  const { m, n, k, transA, transB } = d;
  const a = transA
    ? (m % 4 === 0 && aOff % 4 === 0 ? LoadMode.TransposedVec4 : LoadMode.Transposed)
    : (k % 4 === 0 && aOff % 4 === 0 ? LoadMode.PlainVec4 : LoadMode.Plain);
  const b = transB
    ? (k % 4 === 0 && bOff % 4 === 0 ? LoadMode.PlainVec4 : LoadMode.Plain)
    : (n % 4 === 0 && bOff % 4 === 0 ? LoadMode.TransposedVec4 : LoadMode.Transposed);
  return [a, b];
}

/** The gemm kernel on a dispatcher. */
export function gemmKernels(rt: Dispatcher): Pick<K, "gemm"> {
  return {
    gemm(c, a, b, bias, d: GemmDims) {
      const { batch, m, n, k } = d;
      if (batch === 0 || m === 0 || n === 0) return;
      if (d.transB && !d.transA && m <= GEMV_MAX_ROWS) {
        rt.dispatch({
          key: "gemv",
          wgsl: gemvWgsl,
          buffers: [c, a, b, bias],
          params: [
            m,
            n,
            k,
            batch,
            rt.offset(c),
            rt.offset(a),
            rt.offset(b),
            rt.offset(bias),
            bias ? 1 : 0,
            d.accumulate ? 1 : 0,
          ],
          workgroups: workgroupGrid(n * batch),
        });
        return;
      }
      const aOff = rt.offset(a), bOff = rt.offset(b);
      const tile = tiling(m, n);
      const [aMode, bMode] = loadModes(d, aOff, bOff);
      rt.dispatch({
        key: gemmKey(tile),
        wgsl: () => gemmWgsl(tile),
        buffers: [c, a, b, bias],
        params: [
          m,
          n,
          k,
          rt.offset(c),
          aOff,
          bOff,
          rt.offset(bias),
          bias ? 1 : 0,
          d.accumulate ? 1 : 0,
          aMode,
          bMode,
        ],
        workgroups: [Math.ceil(n / (16 * tile.tn)), Math.ceil(m / (16 * tile.tm)), batch],
      });
    },
  };
}
