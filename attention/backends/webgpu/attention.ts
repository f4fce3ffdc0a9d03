/**
 * Causal (optionally meta-masked) multi-head attention on the `webgpu`
 * backend, flash style: WGSL built per head size, tile and mask variant,
 * online softmax in the forward, recomputation from the saved log-sum-exp in
 * the backward; no (T × T) buffer exists anywhere.
 *
 * Layout (llm.c): qkv (B, T, 3C) with q | k | v column blocks of C, head h at
 * columns h·HS … h·HS + HS − 1 of each block; out (B, T, C); lse (B, NH, T);
 * meta (B, T) i32 0/1 flags, allowed(i, j) = j ≤ i ∧ (no meta ∨ both flags set).
 * Every buffer may be a view: its element offset is passed in the uniforms and
 * added to every index.
 *
 * Tiling. Queries and keys are cut in square tiles of TB rows; a workgroup of
 * TB·TPR threads owns one tile and one (b, h). Thread (r, lane) = (lid / TPR,
 * lid % TPR) owns row r of the tile and its vec4 columns lane, lane + TPR, …
 * (NO = ⌈HV/TPR⌉ of them, HV = ⌈HS/4⌉, zero padded past HS). The TB × TB score
 * entries of a tile pair are spread over all WG threads (dot products of HV
 * vec4 from workgroup memory). TB is the largest power of two ≤ 32 whose tiles
 * fit the device's workgroup storage (16 KiB: HS 64 → TB 16 forward, 8
 * backward); TPR = min(HV, ⌊threads / TB⌋). On a software adapter the tiles
 * also stay under {@linkcode SOFTWARE_SLOTS} elements of workgroup memory
 * (llvmpipe compiles its zero-initialisation in time quadratic in the count),
 * which makes them small (HS 64 → TB 2): correct and quick to compile, not fast.
 * Where HS and every view offset are multiples of 4, qkv, out, dout and dqkv
 * are bound as `array<vec4<f32>>` (16-byte loads); otherwise as `array<f32>`.
 *
 * Forward (FlashAttention-2 order): per query tile, loop over key tiles
 * 0 … diagonal, s = SCALE·q·k (MASKED where disallowed), m_new = max(m, max_j s),
 * p = exp(s − m_new), l = α·l + Σp, acc = α·acc + Σ p·v with α = exp(m − m_new);
 * finally out = acc / l and lse = m + log l, or out = 0 and lse = −∞ for a row
 * that saw no allowed key. Query tiles are dispatched longest first.
 *
 * Backward: D_i = Σ dout_i·out_i (one pass, into a scratch (B, NH, T)); a dq
 * kernel per query tile over key tiles ≤ it, and a dk/dv kernel per key tile
 * over query tiles ≥ it, both recomputing p = exp(s − lse) and
 * ds = p·(dout·v − D). Every element of dqkv is owned by one workgroup, so the
 * `+=` needs no atomics and results are deterministic.
 *
 * @module
 */

import type { Backend, Storage } from "@metatokens/tensor";
import type { AttentionDims, AttentionKernels } from "../../kernels.ts";
import { f32Literal, grid1d, loadVec4, rowElement, splitYZ, storeVec4 } from "./_wgsl.ts";
import { webgpuRopeKernels } from "./rope.ts";
import { webgpuCachedAttention } from "./decode.ts";

/** Largest head size the kernels take (the backward tiles must fit 16 KiB of workgroup memory). */
export const MAX_HEAD_SIZE = 256;
/** Largest tile (rows) the kernels use. */
const MAX_TILE = 32;
/** Score of a disallowed pair: finite, since WGSL may assume no infinities at run time. */
/** Every kernel's first lines: which (batch row, head) this workgroup owns (grid y·z = B·NH). */
const HEAD_OF_WORKGROUP = `  let bh = wid.y + 65535u * wid.z; // b·NH + h
  if (bh >= p.bnh) { return; }
  let b = bh / p.nh;
  let h = bh % p.nh;
  let c3 = 3u * p.c;`;
const MASKED = "-3.0e38";
/** Bits of −∞ as f32, passed as a uniform (a WGSL constant may not be infinite). */
const NEG_INF_BITS = 0xff800000;

/** The three tiled kernels. */
export type AttentionKernelKind = "forward" | "dq" | "dkdv";

/** Tile shape of one attention kernel. */
export interface AttentionTiles {
  /** Rows per query tile = rows per key tile (TB). */
  readonly tb: number;
  /** Threads per tile row (TPR); the workgroup has TB·TPR threads. */
  readonly tpr: number;
}

/** Device limits the tiles are chosen under. */
export interface AttentionLimits {
  /** Bytes of workgroup memory (maxComputeWorkgroupStorageSize). */
  readonly storageBytes: number;
  /** Threads per workgroup (min of maxComputeInvocationsPerWorkgroup and maxComputeWorkgroupSizeX). */
  readonly threads: number;
  /**
   * Most leaf elements (f32, i32 or vec4) of workgroup memory one kernel may declare. Unbounded on
   * hardware; small on software adapters, where llvmpipe compiles WGSL's zero-initialisation of
   * workgroup memory in time roughly quadratic in this count (≈ 0.6 s for 256, 12 s for 1024).
   */
  readonly slots: number;
}

/** WebGPU's default limits: 16 KiB of workgroup memory, 256 threads, no element budget. */
export const DEFAULT_LIMITS: AttentionLimits = { storageBytes: 16384, threads: 256, slots: Infinity };

/** The element budget on software (fallback) adapters: every kernel compiles in about a second on llvmpipe. */
export const SOFTWARE_SLOTS = 160;

/** Workgroup memory one kernel declares for head size `hs` and tile `tb`: 4-byte words and leaf elements. */
function sharedSize(kind: AttentionKernelKind, hs: number, tb: number): { words: number; slots: number } {
  const hv = Math.ceil(hs / 4);
  // forward: qs, ks, vs (TB, HV) vec4; ss (TB, TB); qf, kf (TB)
  // dq: qs, dos, ks, vs (TB, HV) vec4; dss (TB, TB); rl, rd, rok, kf (TB)
  // dkdv: as dq plus ps (TB, TB)
  const tiles = kind === "forward" ? 3 : 4,
    squares = kind === "dkdv" ? 2 : 1,
    rows = kind === "forward" ? 2 : 4;
  return {
    words: 4 * tiles * hv * tb + squares * tb * tb + rows * tb,
    slots: tiles * hv * tb + squares * tb * tb + rows * tb,
  };
}

/**
 * The tiles a kernel uses for head size `hs` under `limits`: the largest
 * power-of-two TB ≤ 32 whose workgroup memory fits, TPR = min(⌈HS/4⌉, ⌊threads/TB⌋).
 *
 * @example
 * ```ts
 * import { attentionTiles } from "./attention.ts";
 * console.log(attentionTiles(64, "forward")); // { tb: 16, tpr: 16 }
 * console.log(attentionTiles(64, "dkdv")); // { tb: 8, tpr: 16 }
 * ```
 */
export function attentionTiles(
  hs: number,
  kind: AttentionKernelKind,
  limits: AttentionLimits = DEFAULT_LIMITS,
): AttentionTiles {
  if (!Number.isInteger(hs) || hs < 1 || hs > MAX_HEAD_SIZE) {
    throw new RangeError(
      `Cannot run webgpu attention with head size ${hs}: the kernels take head sizes 1 … ${MAX_HEAD_SIZE}`,
    );
  }
  const words = Math.floor(limits.storageBytes / 4);
  // The element budget only shrinks the tiles: one row per tile is always allowed.
  const fits = (tb: number): boolean => {
    const size = sharedSize(kind, hs, tb);
    return size.words <= words && (tb === 1 || (size.slots <= limits.slots && tb <= limits.threads));
  };
  let tb = MAX_TILE;
  while (tb > 1 && !fits(tb)) tb /= 2;
  if (!fits(tb)) {
    throw new RangeError(
      `Cannot run webgpu attention with head size ${hs}: one row of its tiles needs ${
        4 * sharedSize(kind, hs, 1).words
      } bytes of workgroup memory, the device allows ${limits.storageBytes}`,
    );
  }
  return { tb, tpr: Math.max(1, Math.min(Math.ceil(hs / 4), Math.floor(limits.threads / tb))) };
}

/** Constants of one specialised kernel. */
interface Spec {
  /** Head size HS. */
  hs: number;
  tiles: AttentionTiles;
  /** Meta flags given (the masked variant). */
  meta: boolean;
  /** qkv, out, dout, dqkv bound as `array<vec4<f32>>` (HS and their view offsets multiples of 4). */
  vec4: boolean;
}

/** The constant block every tiled kernel starts with. */
function constants({ hs, tiles: { tb, tpr } }: Spec): string {
  const hv = Math.ceil(hs / 4);
  return `const HS: u32 = ${hs}u; // head size
const HV: u32 = ${hv}u; // vec4 columns per head row, ⌈HS/4⌉ (zero padded past HS)
const TB: u32 = ${tb}u; // rows per query tile = rows per key tile
const TPR: u32 = ${tpr}u; // threads per tile row
const WG: u32 = ${tb * tpr}u; // threads per workgroup, TB·TPR
const NO: u32 = ${Math.ceil(hv / tpr)}u; // vec4 columns one thread accumulates, ⌈HV/TPR⌉
const SCALE: f32 = ${f32Literal(1 / Math.sqrt(hs))}; // 1/√HS
const MASKED: f32 = ${MASKED}; // score of a disallowed pair (finite: WGSL may assume no infinities)`;
}

/**
 * WGSL loading a (TB, HS) tile into workgroup `dst`: row rr is row
 * `row0 + rr` of batch b of a (B, T, ·) buffer with row stride `stride`, read
 * by `load` from element `base` of each row (view offset and head column
 * included); rows ≥ T are zero.
 */
function loadTile(dst: string, load: string, base: string, stride: string, row0: string): string {
  return `for (var e = lid; e < TB * HV; e += WG) {
    let rr = e / HV;
    let d4 = e % HV;
    var v = vec4<f32>(0.0);
    if (${row0} + rr < p.t) { v = ${load}(${base} + (b * p.t + ${row0} + rr) * ${stride} + 4u * d4, 4u * d4); }
    ${dst}[e] = v;
  }`;
}

/** WGSL loading the meta flags of the tile's rows row0 … row0 + TB − 1 into `dst` (0 past T). */
function loadFlags(dst: string, row0: string): string {
  return `if (lid < TB) {
    var f = 0;
    if (${row0} + lid < p.t) { f = flags[p.flags_off + b * p.t + ${row0} + lid]; }
    ${dst}[lid] = f;
  }`;
}

/** The forward kernel: out (B, T, C) and lse (B, NH, T) from qkv (B, T, 3C). */
function forwardWgsl(spec: Spec): string {
  const { meta } = spec;
  return `// attention forward, flash style: one workgroup per (b·NH + h, query tile)
${constants(spec)}
struct Params { t: u32, c: u32, nh: u32, bnh: u32, out_off: u32, lse_off: u32, qkv_off: u32, flags_off: u32, ninf: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<${rowElement(spec.vec4)}>; // out (B, T, C)
@group(0) @binding(1) var<storage, read_write> lse: array<f32>; // lse (B, NH, T)
@group(0) @binding(2) var<storage, read_write> qkv: array<${
    rowElement(spec.vec4)
  }>; // qkv (B, T, 3C): q | k | v, head h at h·HS
${meta ? "@group(0) @binding(3) var<storage, read_write> flags: array<i32>; // meta (B, T) 0/1\n" : ""}\
@group(0) @binding(${meta ? 4 : 3}) var<uniform> p: Params;

var<workgroup> qs: array<vec4<f32>, ${spec.tiles.tb * Math.ceil(spec.hs / 4)}>; // q tile (TB, HS)
var<workgroup> ks: array<vec4<f32>, ${spec.tiles.tb * Math.ceil(spec.hs / 4)}>; // k tile (TB, HS)
var<workgroup> vs: array<vec4<f32>, ${spec.tiles.tb * Math.ceil(spec.hs / 4)}>; // v tile (TB, HS)
var<workgroup> ss: array<f32, ${spec.tiles.tb ** 2}>; // scores, then probabilities (TB queries, TB keys)
${meta ? "var<workgroup> qf: array<i32, TB>; // meta flags of the tile's queries\n" : ""}\
${meta ? "var<workgroup> kf: array<i32, TB>; // meta flags of the tile's keys\n" : ""}
${loadVec4("load_qkv", "qkv", spec.hs, spec.vec4)}
${storeVec4("store_out", "out", spec.hs, false, spec.vec4)}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${HEAD_OF_WORKGROUP}
  let qt = (p.t + TB - 1u) / TB - 1u - wid.x; // query tile, the longest rows first
  let i0 = qt * TB;
  let r = lid / TPR; // this thread's query row in the tile
  let lane = lid % TPR;
  let i = i0 + r;
  ${loadTile("qs", "load_qkv", "p.qkv_off + h * HS", "c3", "i0")}
${meta ? `  ${loadFlags("qf", "i0")}\n` : ""}\
  var m = MASKED; // running max of the row's allowed scores
  var l = 0.0; // running Σ_j exp(s_ij − m)
  var acc: array<vec4<f32>, NO>; // running Σ_j exp(s_ij − m)·v_j, columns lane + k·TPR
  for (var kt = 0u; kt <= qt; kt++) {
    let j0 = kt * TB;
    workgroupBarrier(); // the previous key tile is consumed
    ${loadTile("ks", "load_qkv", "p.qkv_off + p.c + h * HS", "c3", "j0")}
    ${loadTile("vs", "load_qkv", "p.qkv_off + 2u * p.c + h * HS", "c3", "j0")}
${meta ? `    ${loadFlags("kf", "j0")}\n` : ""}\
    workgroupBarrier();
    // s_ij = SCALE · q_i·k_j for allowed pairs (j ≤ i < T${meta ? ", both meta" : ""}), MASKED otherwise
    for (var e = lid; e < TB * TB; e += WG) {
      let rr = e / TB;
      let cc = e % TB;
      var s = MASKED;
      if (j0 + cc <= i0 + rr && i0 + rr < p.t${meta ? " && qf[rr] != 0 && kf[cc] != 0" : ""}) {
        var qk = 0.0;
        for (var d4 = 0u; d4 < HV; d4++) { qk += dot(qs[rr * HV + d4], ks[cc * HV + d4]); }
        s = qk * SCALE;
      }
      ss[e] = s;
    }
    workgroupBarrier();
    // m_new = max(m, max_j s_ij) over this key tile
    var mNew = m;
    for (var cc = 0u; cc < TB; cc++) { mNew = max(mNew, ss[r * TB + cc]); }
    workgroupBarrier(); // every lane of the row has read the scores
    // p_ij = exp(s_ij − m_new), 0 where masked (each lane its own columns of its row)
    for (var cc = lane; cc < TB; cc += TPR) {
      let s = ss[r * TB + cc];
      ss[r * TB + cc] = select(0.0, exp(s - mNew), s != MASKED);
    }
    workgroupBarrier();
    // l = α·l + Σ_j p_ij, acc = α·acc + Σ_j p_ij·v_j, α = exp(m − m_new) (0 before any allowed key)
    let alpha = select(exp(m - mNew), 0.0, m == MASKED);
    l *= alpha;
    for (var k = 0u; k < NO; k++) { acc[k] *= alpha; }
    for (var cc = 0u; cc < TB; cc++) {
      let pc = ss[r * TB + cc];
      l += pc;
      for (var k = 0u; k < NO; k++) {
        let d4 = lane + k * TPR;
        if (d4 < HV) { acc[k] += pc * vs[cc * HV + d4]; }
      }
    }
    m = mNew;
  }
  if (i < p.t) {
    // out_i = acc / l, lse_i = m + log l; a row with no allowed key: out_i = 0, lse_i = −∞
    if (lane == 0u) {
      var v = bitcast<f32>(p.ninf);
      if (l > 0.0) { v = m + log(l); }
      lse[p.lse_off + bh * p.t + i] = v;
    }
    let inv = select(0.0, 1.0 / max(l, 1e-30), l > 0.0);
    let o = p.out_off + (b * p.t + i) * p.c + h * HS;
    for (var k = 0u; k < NO; k++) {
      let d4 = lane + k * TPR;
      if (d4 < HV) { store_out(o + 4u * d4, 4u * d4, acc[k] * inv); }
    }
  }
}
`;
}

/** The row term of the softmax backward: D (B, NH, T) = Σ_d dout·out. */
function rowDotWgsl(hs: number, vec4: boolean): string {
  return `// attention backward, step 1: D_i = Σ_d dout_i·out_i per (b, h, i)
const HS: u32 = ${hs}u; // head size
const HV: u32 = ${Math.ceil(hs / 4)}u; // vec4 columns per head row
struct Params { n: u32, t: u32, c: u32, nh: u32, dsum_off: u32, dout_off: u32, out_off: u32 }
@group(0) @binding(0) var<storage, read_write> dsum: array<f32>; // D (B, NH, T)
@group(0) @binding(1) var<storage, read_write> dout: array<${rowElement(vec4)}>; // dout (B, T, C)
@group(0) @binding(2) var<storage, read_write> out: array<${rowElement(vec4)}>; // out (B, T, C)
@group(0) @binding(3) var<uniform> p: Params;
${loadVec4("load_dout", "dout", hs, vec4)}
${loadVec4("load_out", "out", hs, vec4)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + nwg.x * wid.y) * 64u + lid; // (b·NH + h)·T + i
  if (n >= p.n) { return; }
  let bh = n / p.t;
  let b = bh / p.nh;
  let at = (b * p.t + n % p.t) * p.c + (bh % p.nh) * HS;
  var d = 0.0;
  for (var d4 = 0u; d4 < HV; d4++) {
    d += dot(load_dout(p.dout_off + at + 4u * d4, 4u * d4), load_out(p.out_off + at + 4u * d4, 4u * d4));
  }
  dsum[p.dsum_off + n] = d;
}
`;
}

/** Bindings, uniforms and loaders of the two tiled backward kernels. */
function backwardHeader(spec: Spec, what: string): string {
  const { meta, hs, vec4 } = spec;
  return `// attention backward, ${what}
${constants(spec)}
struct Params { t: u32, c: u32, nh: u32, bnh: u32, dqkv_off: u32, dout_off: u32, qkv_off: u32, lse_off: u32, dsum_off: u32, flags_off: u32, ninf: u32 }
@group(0) @binding(0) var<storage, read_write> dqkv: array<${
    rowElement(vec4)
  }>; // dqkv (B, T, 3C), accumulated +=
@group(0) @binding(1) var<storage, read_write> dout: array<${rowElement(vec4)}>; // dout (B, T, C)
@group(0) @binding(2) var<storage, read_write> qkv: array<${
    rowElement(vec4)
  }>; // qkv (B, T, 3C): q | k | v, head h at h·HS
@group(0) @binding(3) var<storage, read_write> lse: array<f32>; // lse (B, NH, T) of the forward
@group(0) @binding(4) var<storage, read_write> dsum: array<f32>; // D (B, NH, T) = Σ_d dout·out
${meta ? "@group(0) @binding(5) var<storage, read_write> flags: array<i32>; // meta (B, T) 0/1\n" : ""}\
@group(0) @binding(${meta ? 6 : 5}) var<uniform> p: Params;
${loadVec4("load_qkv", "qkv", hs, vec4)}
${loadVec4("load_dout", "dout", hs, vec4)}
${storeVec4("add_dqkv", "dqkv", hs, true, vec4)}
`;
}

/**
 * WGSL filling `rl`, `rd`, `rok` for the query tile starting at i0: lse_i, D_i
 * and whether row i < T has any allowed key (lse_i ≠ −∞; such a row had
 * out_i = 0 in the forward, so nothing flows back through it).
 */
const ROW_STATS = `if (lid < TB) {
      let ii = i0 + lid;
      var lv = 0.0;
      var dv = 0.0;
      var ok = 0u;
      if (ii < p.t) {
        lv = lse[p.lse_off + bh * p.t + ii];
        dv = dsum[p.dsum_off + bh * p.t + ii];
        ok = select(0u, 1u, bitcast<u32>(lv) != p.ninf);
      }
      rl[lid] = lv;
      rd[lid] = dv;
      rok[lid] = ok;
    }`;

/**
 * WGSL computing, for every pair of the tile (spread over the workgroup),
 * p_ij = exp(s_ij − lse_i) and ds_ij = p_ij·(dp_ij − D_i), writing ds (and p
 * when `pTile` is given).
 */
function probabilities(meta: boolean, pTile: string | null): string {
  return `// forward: s_ij = SCALE·q_i·k_j, p_ij = exp(s_ij − lse_i), out_i = Σ_j p_ij·v_j
    // ⇒ dp_ij = dout_i·v_j, ds_ij = p_ij·(dp_ij − D_i) (0 for disallowed pairs)
    for (var e = lid; e < TB * TB; e += WG) {
      let rr = e / TB;
      let cc = e % TB;
      var pij = 0.0;
      var ds = 0.0;
      if (j0 + cc <= i0 + rr && rok[rr] != 0u${meta ? " && kf[cc] != 0" : ""}) {
        var qk = 0.0;
        var dp = 0.0;
        for (var d4 = 0u; d4 < HV; d4++) {
          qk += dot(qs[rr * HV + d4], ks[cc * HV + d4]);
          dp += dot(dos[rr * HV + d4], vs[cc * HV + d4]);
        }
        pij = exp(qk * SCALE - rl[rr]);
        ds = pij * (dp - rd[rr]);
      }
      dss[e] = ds;${pTile ? `\n      ${pTile}[e] = pij;` : ""}
    }`;
}

/** Workgroup tiles of the backward kernels. */
function backwardShared(spec: Spec, twoTiles: boolean): string {
  const n = spec.tiles.tb * Math.ceil(spec.hs / 4);
  const tt = spec.tiles.tb ** 2;
  return `var<workgroup> qs: array<vec4<f32>, ${n}>; // q tile (TB, HS)
var<workgroup> dos: array<vec4<f32>, ${n}>; // dout tile (TB, HS)
var<workgroup> ks: array<vec4<f32>, ${n}>; // k tile (TB, HS)
var<workgroup> vs: array<vec4<f32>, ${n}>; // v tile (TB, HS)
var<workgroup> dss: array<f32, ${tt}>; // ds (TB queries, TB keys)
${twoTiles ? `var<workgroup> ps: array<f32, ${tt}>; // p (TB queries, TB keys)\n` : ""}\
var<workgroup> rl: array<f32, TB>; // lse_i of the tile's queries
var<workgroup> rd: array<f32, TB>; // D_i of the tile's queries
var<workgroup> rok: array<u32, TB>; // 1 if query i < T has an allowed key
${spec.meta ? "var<workgroup> kf: array<i32, TB>; // meta flags of the tile's keys\n" : ""}`;
}

/** The dq kernel: dqkv q block += SCALE · Σ_j ds_ij·k_j, one workgroup per (b·NH + h, query tile). */
function dqWgsl(spec: Spec): string {
  const { meta } = spec;
  return `${
    backwardHeader(spec, "dq: one workgroup per (b·NH + h, query tile), key tiles up to the diagonal")
  }
${backwardShared(spec, false)}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${HEAD_OF_WORKGROUP}
  let qt = (p.t + TB - 1u) / TB - 1u - wid.x; // query tile, the longest rows first
  let i0 = qt * TB;
  let r = lid / TPR; // this thread's query row in the tile
  let lane = lid % TPR;
  ${loadTile("qs", "load_qkv", "p.qkv_off + h * HS", "c3", "i0")}
  ${loadTile("dos", "load_dout", "p.dout_off + h * HS", "p.c", "i0")}
  ${ROW_STATS}
  var acc: array<vec4<f32>, NO>; // Σ_j ds_ij·k_j, columns lane + k·TPR
  for (var kt = 0u; kt <= qt; kt++) {
    let j0 = kt * TB;
    workgroupBarrier(); // the previous key tile is consumed
    ${loadTile("ks", "load_qkv", "p.qkv_off + p.c + h * HS", "c3", "j0")}
    ${loadTile("vs", "load_qkv", "p.qkv_off + 2u * p.c + h * HS", "c3", "j0")}
${meta ? `    ${loadFlags("kf", "j0")}\n` : ""}\
    workgroupBarrier();
    ${probabilities(meta, null)}
    workgroupBarrier();
    // forward: s_ij = SCALE·q_i·k_j ⇒ dq_i += SCALE·Σ_j ds_ij·k_j
    for (var cc = 0u; cc < TB; cc++) {
      let ds = dss[r * TB + cc];
      for (var k = 0u; k < NO; k++) {
        let d4 = lane + k * TPR;
        if (d4 < HV) { acc[k] += ds * ks[cc * HV + d4]; }
      }
    }
  }
  let i = i0 + r;
  if (i < p.t) {
    let at = p.dqkv_off + (b * p.t + i) * c3 + h * HS;
    for (var k = 0u; k < NO; k++) {
      let d4 = lane + k * TPR;
      if (d4 < HV) { add_dqkv(at + 4u * d4, 4u * d4, SCALE * acc[k]); }
    }
  }
}
`;
}

/** The dk/dv kernel: one workgroup per (b·NH + h, key tile), query tiles from the diagonal on. */
function dkdvWgsl(spec: Spec): string {
  const { meta } = spec;
  return `${
    backwardHeader(spec, "dk, dv: one workgroup per (b·NH + h, key tile), query tiles from the diagonal")
  }
${backwardShared(spec, true)}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${HEAD_OF_WORKGROUP}
  let nt = (p.t + TB - 1u) / TB;
  let kt = wid.x; // key tile: tile 0 meets every query tile, so the longest go first
  let j0 = kt * TB;
  let r = lid / TPR; // this thread's key row in the tile
  let lane = lid % TPR;
  ${loadTile("ks", "load_qkv", "p.qkv_off + p.c + h * HS", "c3", "j0")}
  ${loadTile("vs", "load_qkv", "p.qkv_off + 2u * p.c + h * HS", "c3", "j0")}
${meta ? `  ${loadFlags("kf", "j0")}\n` : ""}\
  var gk: array<vec4<f32>, NO>; // Σ_i ds_ij·q_i, columns lane + k·TPR
  var gv: array<vec4<f32>, NO>; // Σ_i p_ij·dout_i
  for (var qt = kt; qt < nt; qt++) {
    let i0 = qt * TB;
    workgroupBarrier(); // the previous query tile is consumed
    ${loadTile("qs", "load_qkv", "p.qkv_off + h * HS", "c3", "i0")}
    ${loadTile("dos", "load_dout", "p.dout_off + h * HS", "p.c", "i0")}
    ${ROW_STATS}
    workgroupBarrier();
    ${probabilities(meta, "ps")}
    workgroupBarrier();
    // forward: out_i = Σ_j p_ij·v_j ⇒ dv_j += Σ_i p_ij·dout_i
    // forward: s_ij = SCALE·q_i·k_j ⇒ dk_j += SCALE·Σ_i ds_ij·q_i
    for (var rr = 0u; rr < TB; rr++) {
      let pij = ps[rr * TB + r];
      let ds = dss[rr * TB + r];
      for (var k = 0u; k < NO; k++) {
        let d4 = lane + k * TPR;
        if (d4 < HV) {
          gv[k] += pij * dos[rr * HV + d4];
          gk[k] += ds * qs[rr * HV + d4];
        }
      }
    }
  }
  let j = j0 + r;
  if (j < p.t) {
    let at = p.dqkv_off + (b * p.t + j) * c3 + h * HS;
    for (var k = 0u; k < NO; k++) {
      let d4 = lane + k * TPR;
      if (d4 < HV) {
        add_dqkv(at + p.c + 4u * d4, 4u * d4, SCALE * gk[k]);
        add_dqkv(at + 2u * p.c + 4u * d4, 4u * d4, gv[k]);
      }
    }
  }
}
`;
}

/** The head size of a call, checked. */
function headSize(d: AttentionDims): number {
  const hs = d.c / d.nh;
  if (!Number.isInteger(hs)) {
    throw new RangeError(
      `Cannot split width ${d.c} into ${d.nh} heads: the head count must divide the width`,
    );
  }
  return hs;
}

/**
 * The limits of a device: its workgroup memory and threads, and the
 * {@linkcode SOFTWARE_SLOTS} element budget on a software (fallback) adapter.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "@metatokens/tensor";
 * import { deviceLimits } from "./attention.ts";
 * const backend = await webgpuBackend().catch(() => null);
 * if (backend) {
 *   console.log(deviceLimits(backend.gpu.device).storageBytes >= 16384); // true
 *   backend.dispose();
 * }
 * ```
 */
export function deviceLimits(device: GPUDevice): AttentionLimits {
  const l = device.limits;
  const info = (device as GPUDevice & { adapterInfo?: { isFallbackAdapter?: boolean } }).adapterInfo;
  return {
    storageBytes: l.maxComputeWorkgroupStorageSize,
    threads: Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX),
    slots: info?.isFallbackAdapter ? SOFTWARE_SLOTS : Infinity,
  };
}

/** Options of {@linkcode webgpuAttentionKernels}. */
export interface WebgpuAttentionOptions {
  /** Limits to choose tiles under (default: the device's, see {@linkcode deviceLimits}). */
  limits?: AttentionLimits;
}

/**
 * The `webgpu` attention kernels (flash forward, recomputing backward, RoPE)
 * of a backend that has GPU hooks.
 *
 * @example
 * ```ts
 * import { empty, randn, Rng, webgpuBackend } from "@metatokens/tensor";
 * import { webgpuAttentionKernels } from "./attention.ts";
 * const backend = await webgpuBackend().catch(() => null); // null without an adapter
 * if (backend) {
 *   const [B, T, C, NH] = [1, 5, 8, 2];
 *   const qkv = randn([B, T, 3 * C], new Rng(0), 1, { backend }); // (B, T, 3C)
 *   const out = empty([B, T, C], "f32", { backend }); // (B, T, C)
 *   const lse = empty([B, NH, T], "f32", { backend }); // (B, NH, T)
 *   const d = { b: B, t: T, c: C, nh: NH };
 *   webgpuAttentionKernels(backend).attentionForward(out.storage, lse.storage, qkv.storage, null, d);
 *   console.log((await out.data()).length); // 40
 *   backend.dispose();
 * }
 * ```
 */
export function webgpuAttentionKernels(
  backend: Backend,
  options: WebgpuAttentionOptions = {},
): AttentionKernels<Storage, Storage> {
  const gpu = backend.gpu;
  if (!gpu) throw new Error(`Cannot run webgpu attention on backend "${backend.name}": it has no GPU hooks`);
  const limits = options.limits ?? deviceLimits(gpu.device);
  const off = (s: Storage | null): number => gpu.offset(s);
  // Whole vec4 loads where HS and the offsets of every head-row buffer are multiples of 4.
  const vec4 = (hs: number, rows: readonly (Storage | null)[]): boolean =>
    hs % 4 === 0 && rows.every((s) => off(s) % 4 === 0);
  const spec = (kind: AttentionKernelKind, hs: number, meta: boolean, vec: boolean): Spec => ({
    hs,
    tiles: attentionTiles(hs, kind, limits),
    meta,
    vec4: vec,
  });
  const key = (kind: AttentionKernelKind, s: Spec): string =>
    `attention.${kind}/hs${s.hs}/tb${s.tiles.tb}/tpr${s.tiles.tpr}/${s.meta ? "meta" : "causal"}/${
      s.vec4 ? "vec4" : "f32"
    }`;
  const rope = webgpuRopeKernels(backend);
  const cached = webgpuCachedAttention(backend);
  return {
    attentionCachedForward: cached,
    attentionForward(out, lse, qkv, meta, d) {
      const hs = headSize(d);
      const s = spec("forward", hs, meta !== null, vec4(hs, [out, qkv]));
      const bnh = d.b * d.nh;
      if (d.t === 0 || bnh === 0) return;
      gpu.dispatch({
        key: key("forward", s),
        wgsl: () => forwardWgsl(s),
        buffers: meta === null ? [out, lse, qkv] : [out, lse, qkv, meta],
        params: [d.t, d.c, d.nh, bnh, off(out), off(lse), off(qkv), off(meta), NEG_INF_BITS],
        workgroups: [Math.ceil(d.t / s.tiles.tb), ...splitYZ(bnh)],
      });
    },

    attentionBackward(dqkv, dout, out, lse, qkv, meta, d) {
      const hs = headSize(d);
      const vec = vec4(hs, [dqkv, dout, qkv, out]);
      const dq = spec("dq", hs, meta !== null, vec), dkdv = spec("dkdv", hs, meta !== null, vec);
      const bnh = d.b * d.nh, rows = bnh * d.t;
      if (rows === 0) return;
      const dsum = backend.alloc("f32", rows); // D (B, NH, T), freed once the dispatches are recorded
      try {
        gpu.dispatch({
          key: `attention.rowdot/hs${hs}/${vec ? "vec4" : "f32"}`,
          wgsl: () => rowDotWgsl(hs, vec),
          buffers: [dsum, dout, out],
          params: [rows, d.t, d.c, d.nh, 0, off(dout), off(out)],
          workgroups: grid1d(rows, 64),
        });
        const buffers = [dqkv, dout, qkv, lse, dsum, ...(meta === null ? [] : [meta])];
        const params = [
          d.t,
          d.c,
          d.nh,
          bnh,
          off(dqkv),
          off(dout),
          off(qkv),
          off(lse),
          0,
          off(meta),
          NEG_INF_BITS,
        ];
        gpu.dispatch({
          key: key("dq", dq),
          wgsl: () => dqWgsl(dq),
          buffers,
          params,
          workgroups: [Math.ceil(d.t / dq.tiles.tb), ...splitYZ(bnh)],
        });
        gpu.dispatch({
          key: key("dkdv", dkdv),
          wgsl: () => dkdvWgsl(dkdv),
          buffers,
          params,
          workgroups: [Math.ceil(d.t / dkdv.tiles.tb), ...splitYZ(bnh)],
        });
      } finally {
        backend.free(dsum);
      }
    },

    ropeForward: rope.ropeForward,
    ropeBackward: rope.ropeBackward,
  };
}
