/**
 * Attention of a few new rows over a KV cache on the `webgpu` backend
 * (decoding): the `attentionCachedForward` kernel of the contract.
 *
 * One workgroup of {@linkcode DECODE_THREADS} threads owns one new row i and
 * one head h. It writes its own row's key and value into the cache (row
 * past + i) and reads the keys of the other new rows straight from qkv, so no
 * workgroup waits for another's append: key j is cache row j for j < past and
 * qkv row j − past otherwise. Pass 1: the threads stride over the keys for
 * the row maximum m of s_j = q·k_j/√HS (a tree reduction in workgroup memory).
 * Pass 2, in chunks of {@linkcode DECODE_THREADS} keys: thread t computes
 * p = exp(s_j − m) for key j0 + t into workgroup memory, then each thread adds
 * Σ_t p_t·v_t for its own head columns (d = lid, lid + 64, …, at most
 * {@linkcode MAX_DECODE_HEAD_SIZE} / 64 of them) and l = Σ p. Finally
 * out_i = acc / l. Plain `array<f32>` bindings; every buffer may be a view
 * (its element offset is in the uniforms).
 *
 * @module
 */

import type { Backend, Storage } from "@metatokens/tensor";
import type { CachedAttentionDims } from "../../kernels.ts";
import { splitYZ } from "./_wgsl.ts";

/** Threads of one workgroup (one new row, one head). */
export const DECODE_THREADS = 64;
/** Largest head size the kernel takes (each thread keeps HS / 64 accumulators). */
export const MAX_DECODE_HEAD_SIZE = 256;

const WGSL = `
struct Params { t: u32, past: u32, c: u32, nh: u32, o_out: u32, o_k: u32, o_v: u32, o_qkv: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (T, C)
@group(0) @binding(1) var<storage, read_write> kc: array<f32>; // (≥ past + T, C)
@group(0) @binding(2) var<storage, read_write> vc: array<f32>; // (≥ past + T, C)
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>; // (T, 3C)
@group(0) @binding(4) var<uniform> p: Params;
const WG = ${DECODE_THREADS}u;
const ACC = ${MAX_DECODE_HEAD_SIZE / DECODE_THREADS}u;
var<workgroup> red: array<f32, ${DECODE_THREADS}>;

// Element of key (v = false) or value (v = true) row j, head column hc: the cache below past,
// the new rows of qkv from past on.
fn kv(j: u32, hc: u32, v: bool) -> f32 {
  if (j < p.past) {
    if (v) { return vc[p.o_v + j * p.c + hc]; }
    return kc[p.o_k + j * p.c + hc];
  }
  let base = p.o_qkv + (j - p.past) * 3u * p.c + p.c + hc;
  if (v) { return qkv[base + p.c]; }
  return qkv[base];
}

@compute @workgroup_size(${DECODE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wid.x;
  let h = wid.y + 65535u * wid.z;
  if (i >= p.t || h >= p.nh) { return; }
  let hs = p.c / p.nh;
  let scale = 1.0 / sqrt(f32(hs));
  let q0 = p.o_qkv + i * 3u * p.c + h * hs;
  // append this row's key and value: cache row past + i
  for (var d = lid.x; d < hs; d += WG) {
    kc[p.o_k + (p.past + i) * p.c + h * hs + d] = qkv[q0 + p.c + d];
    vc[p.o_v + (p.past + i) * p.c + h * hs + d] = qkv[q0 + 2u * p.c + d];
  }
  let keys = p.past + i + 1u;
  // pass 1: m = max_j s_j
  var m = -3.0e38;
  for (var j = lid.x; j < keys; j += WG) {
    var dot = 0.0;
    for (var d = 0u; d < hs; d++) { dot += qkv[q0 + d] * kv(j, h * hs + d, false); }
    m = max(m, dot * scale);
  }
  red[lid.x] = m;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w / 2u) {
    if (lid.x < w) { red[lid.x] = max(red[lid.x], red[lid.x + w]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  // pass 2: l = Σ p_j and acc = Σ p_j·v_j, in chunks of WG keys
  var acc: array<f32, ACC>;
  for (var r = 0u; r < ACC; r++) { acc[r] = 0.0; }
  var l = 0.0;
  for (var j0 = 0u; j0 < keys; j0 += WG) {
    let j = j0 + lid.x;
    var pj = 0.0;
    if (j < keys) {
      var dot = 0.0;
      for (var d = 0u; d < hs; d++) { dot += qkv[q0 + d] * kv(j, h * hs + d, false); }
      pj = exp(dot * scale - m);
    }
    red[lid.x] = pj;
    workgroupBarrier();
    let n = min(WG, keys - j0);
    for (var t = 0u; t < n; t++) {
      let pt = red[t];
      l += pt;
      for (var r = 0u; r < ACC; r++) {
        let d = lid.x + r * WG;
        if (d < hs) { acc[r] += pt * kv(j0 + t, h * hs + d, true); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ACC; r++) {
    let d = lid.x + r * WG;
    if (d < hs) { out[p.o_out + i * p.c + h * hs + d] = acc[r] / l; }
  }
}
`;

/** The webgpu `attentionCachedForward(out, kCache, vCache, qkv, d)` of `backend`. */
export function webgpuCachedAttention(
  backend: Backend,
): (out: Storage, kCache: Storage, vCache: Storage, qkv: Storage, d: CachedAttentionDims) => void {
  const gpu = backend.gpu;
  if (!gpu) {
    throw new Error(`Cannot run webgpu cached attention on backend "${backend.name}": it has no GPU hooks`);
  }
  return (out, kCache, vCache, qkv, d) => {
    const hs = d.c / d.nh;
    if (hs > MAX_DECODE_HEAD_SIZE) {
      throw new RangeError(
        `Cannot run webgpu cached attention with head size ${hs}: at most ${MAX_DECODE_HEAD_SIZE}`,
      );
    }
    if (d.t === 0) return;
    if (d.t > 65535) throw new RangeError(`Cannot attend ${d.t} new rows at once: at most 65535`);
    gpu.dispatch({
      key: "attention.cached",
      wgsl: () => WGSL,
      buffers: [out, kCache, vCache, qkv],
      params: [
        d.t,
        d.past,
        d.c,
        d.nh,
        gpu.offset(out),
        gpu.offset(kCache),
        gpu.offset(vCache),
        gpu.offset(qkv),
      ],
      workgroups: [d.t, ...splitYZ(d.nh)],
    });
  };
}
