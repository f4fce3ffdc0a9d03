/**
 * The int8 weight-only linear of the `webgpu` backend, in WGSL with the
 * arithmetic of the `ref` oracle (see `quantizeInt8` / `linearInt8` in
 * `tensor/kernels.ts`; layout: `int8Words`):
 *
 * - `quantizeInt8`: one workgroup of 64 threads per weight row reduces
 *   max |w| in workgroup memory, then each thread packs whole words (4 signed
 *   bytes, shifts and masks) and the row sum is reduced the same way.
 * - `linearInt8`: a first dispatch quantizes each activation row to 7 bits
 *   into a scratch buffer (packed like the weights, then the row scales), a
 *   second one runs a workgroup per (output column, block of ≤ 4 activation
 *   rows): its threads stride over the packed words, unpack bytes with
 *   arithmetic shifts (`dot4I8Packed` is not assumed: llvmpipe may lack it),
 *   accumulate exact i32 dot products and reduce them in workgroup memory.
 *
 * Integer steps are exact; WGSL's f32 division may round differently from
 * IEEE (2.5 ULP), so a value on a rounding boundary can quantize one step
 * apart from `ref` — the parity tests allow for it.
 *
 * @module
 */

import type { Storage } from "../../backend.ts";
import { INT8_ACTIVATION_MAX, INT8_WEIGHT_MAX, int8RowBytes, type Kernels } from "../../kernels.ts";
import type { Dispatcher } from "./_call.ts";
import { declareBindings, WGSL_LINEAR_WORKGROUP, workgroupGrid } from "./_wgsl.ts";

type K = Kernels<Storage, Storage>;

/** Threads of one int8 workgroup. */
const T = 64;

/**
 * WGSL quantizing rows of `src` (R, K) f32 to `limit`: one workgroup per row writes the
 * packed bytes (R, Kp/4 words) at `dst[p.dst_off + r · Kp/4 …]`, the scale at
 * `scales[p.scales_off + r]` and the row sum at `dst[p.sums_off + r]`.
 */
export function quantizeRowsWgsl(limit: number): string {
  return `// rows of src (R, K) quantized to ±${limit}: packed bytes, scales, row sums
${
    declareBindings([["dst", "i32"], ["scales", "f32"], ["src", "f32"]], [
      "R",
      "K",
      "dst_off",
      "sums_off",
      "scales_off",
      "src_off",
    ])
  }
${WGSL_LINEAR_WORKGROUP}
var<workgroup> red_f: array<f32, ${T}>;
var<workgroup> red_i: array<i32, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let r = linear_workgroup(wid, nwg);
  if (r >= p.R) { return; } // uniform: the whole workgroup leaves
  let base = p.src_off + r * p.K;
  var m = 0.0;
  for (var k = t; k < p.K; k += ${T}u) { m = max(m, abs(src[base + k])); }
  red_f[t] = m;
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { red_f[t] = max(red_f[t], red_f[t + s]); }
    workgroupBarrier();
  }
  let scale = red_f[0] / ${limit}.0;
  let words = (p.K + 15u) / 16u * 4u;
  var sum = 0;
  for (var w = t; w < words; w += ${T}u) {
    var word = 0u;
    for (var b = 0u; b < 4u; b++) {
      let k = 4u * w + b;
      var v = 0;
      if (k < p.K && scale > 0.0) { v = clamp(i32(round(src[base + k] / scale)), -${limit}, ${limit}); }
      sum += v;
      word |= (bitcast<u32>(v) & 255u) << (8u * b);
    }
    dst[p.dst_off + r * words + w] = bitcast<i32>(word);
  }
  red_i[t] = sum;
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { red_i[t] += red_i[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    dst[p.sums_off + r] = red_i[0];
    scales[p.scales_off + r] = scale;
  }
}`;
}

/**
 * WGSL of the int8 product: workgroup g owns output column j = g mod N and activation rows
 * 4·(g / N) … +3 (fewer at the end). Bindings: c (M, N); q packed weights; xq packed
 * activations (M, Kp/4) then their scales (M) as bits; scales (N); bias (N).
 */
export function linearInt8Wgsl(): string {
  return `// c (M, N) = a · dequant(q)ᵀ + bias from packed int8 weights and 7-bit activations
${
    declareBindings([["cmat", "f32"], ["q", "i32"], ["xq", "i32"], ["scales", "f32"], ["bias", "f32"]], [
      "M",
      "N",
      "K",
      "cmat_off",
      "q_off",
      "scales_off",
      "bias_off",
      "has_bias",
    ])
  }
${WGSL_LINEAR_WORKGROUP}
var<workgroup> red: array<vec4<i32>, ${T}>;

/** Signed byte b (0…3) of a packed word. */
fn byte_of(word: i32, b: u32) -> i32 {
  return (word << (24u - 8u * b)) >> 24u;
}

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let g = linear_workgroup(wid, nwg);
  if (g >= p.N * ((p.M + 3u) / 4u)) { return; } // uniform: the whole workgroup leaves
  let j = g % p.N;
  let i0 = (g / p.N) * 4u;
  let mb = min(4u, p.M - i0);
  let words = (p.K + 15u) / 16u * 4u;
  let wbase = p.q_off + j * words;
  var acc = vec4<i32>(0);
  for (var w = t; w < words; w += ${T}u) {
    let qw = q[wbase + w];
    for (var r = 0u; r < mb; r++) {
      let xw = xq[(i0 + r) * words + w];
      var d = 0;
      for (var b = 0u; b < 4u; b++) { d += byte_of(qw, b) * byte_of(xw, b); }
      acc[r] += d;
    }
  }
  red[t] = acc;
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  if (t < mb) {
    let i = i0 + t;
    let sx = bitcast<f32>(xq[p.M * words + i]);
    var v = f32(red[0][t]) * (scales[p.scales_off + j] * sx);
    if (p.has_bias == 1u) { v += bias[p.bias_off + j]; }
    cmat[p.cmat_off + i * p.N + j] = v;
  }
}`;
}

/** The int8 kernels on a dispatcher. */
export function int8Kernels(rt: Dispatcher): Pick<K, "quantizeInt8" | "linearInt8"> {
  const quantizeRows = (
    dst: Storage,
    dstOff: number,
    sumsOff: number,
    scales: Storage,
    scalesOff: number,
    src: Storage,
    r: number,
    k: number,
    limit: number,
  ): void => {
    if (r === 0) return;
    rt.dispatch({
      key: `quantize_rows_${limit}`,
      wgsl: () => quantizeRowsWgsl(limit),
      buffers: [dst, scales, src],
      params: [r, k, dstOff, sumsOff, scalesOff, rt.offset(src)],
      workgroups: workgroupGrid(r),
    });
  };
  return {
    quantizeInt8(q, scales, w, n, k) {
      const qOff = rt.offset(q);
      quantizeRows(
        q,
        qOff,
        qOff + (n * int8RowBytes(k)) / 4,
        scales,
        rt.offset(scales),
        w,
        n,
        k,
        INT8_WEIGHT_MAX,
      );
    },
    linearInt8(c, a, q, scales, bias, m, n, k) {
      if (m === 0 || n === 0) return;
      const words = int8RowBytes(k) / 4;
      // scratch: packed activations (M, Kp/4), their scales (M) as bits, their sums (M, unused)
      const xq = rt.scratch(m * words + 2 * m);
      try {
        quantizeRows(xq, 0, m * words + m, xq, m * words, a, m, k, INT8_ACTIVATION_MAX);
        rt.dispatch({
          key: "linear_int8",
          wgsl: linearInt8Wgsl,
          buffers: [c, q, xq, scales, bias],
          params: [m, n, k, rt.offset(c), rt.offset(q), rt.offset(scales), rt.offset(bias), bias ? 1 : 0],
          workgroups: workgroupGrid(n * Math.ceil(m / 4)),
        });
      } finally {
        rt.release(xq);
      }
    },
  };
}
