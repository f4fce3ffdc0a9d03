/**
 * The attention kernel contract, its plain-TypeScript reference, and the
 * per-backend registration through the tensor extension point.
 *
 * Layout (llm.c): `qkv` is (B, T, 3C) with q, k, v in column blocks of C and
 * head h at columns h·HS … h·HS + HS − 1 of each block; `out` is (B, T, C);
 * `lse` is (B, NH, T). `meta`, when given, is an i32 (B, T) buffer of 0/1
 * flags and restricts attention to pairs of meta tokens (the paper's mask P);
 * a query with no allowed key gets a zero output and lse = −∞.
 *
 * @module
 */

import { type Backend, getKernel, registerKernel, type Storage } from "@metatokens/tensor";
import { MODULES } from "./backends/wasm/_modules.ts";
import { webgpuAttentionKernels } from "./backends/webgpu/attention.ts";

/** Sizes of one attention call. */
export interface AttentionDims {
  /** Batch rows B. */
  b: number;
  /** Sequence length T. */
  t: number;
  /** Width C = NH · HS. */
  c: number;
  /** Heads NH. */
  nh: number;
}

/** Every attention kernel a backend provides. */
export interface AttentionKernels<F, I> {
  /** out (B,T,C), lse (B,NH,T) from qkv (B,T,3C): causal softmax(q·kᵀ/√HS)·v, masked by meta when given. */
  attentionForward(out: F, lse: F, qkv: F, meta: I | null, d: AttentionDims): void;
  /** dqkv (B,T,3C) += gradient through the forward, recomputing the probabilities from lse. */
  attentionBackward(dqkv: F, dout: F, qkv: F, out: F, lse: F, meta: I | null, d: AttentionDims): void;
  /** out (N,3C): q and k blocks rotated by (cos, sin) (N, HS/2) in rotate-half pairs; v copied. */
  ropeForward(out: F, inp: F, cos: F, sin: F, n: number, c: number, nh: number): void;
  /** dinp (N,3C) += the inverse rotation of dout. */
  ropeBackward(dinp: F, dout: F, cos: F, sin: F, n: number, c: number, nh: number): void;
}

type F = Float32Array;
type I = Int32Array;

/** The plain-TypeScript kernels (f64 accumulation, O(T) scratch per query row). */
export const refAttentionKernels: AttentionKernels<F, I> = {
  attentionForward(out, lse, qkv, meta, { b: B, t: T, c: C, nh: NH }) {
    const HS = C / NH, C3 = 3 * C, scale = 1 / Math.sqrt(HS);
    const s = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        for (let i = 0; i < T; i++) {
          const q = (b * T + i) * C3 + h * HS;
          const o = (b * T + i) * C + h * HS;
          const allowedRow = meta === null || meta[b * T + i] !== 0;
          // s_ij = scale · q_i · k_j over allowed j ≤ i, then a stable softmax.
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            s[j] = -Infinity;
            if (!allowedRow || (meta !== null && meta[b * T + j] === 0)) continue;
            const k = (b * T + j) * C3 + C + h * HS;
            let dot = 0;
            for (let x = 0; x < HS; x++) dot += qkv[q + x] * qkv[k + x];
            s[j] = dot * scale;
            max = Math.max(max, s[j]);
          }
          for (let x = 0; x < HS; x++) out[o + x] = 0;
          if (max === -Infinity) {
            lse[(b * NH + h) * T + i] = -Infinity; // no allowed key: zero output
            continue;
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += Math.exp(s[j] - max);
          const l = max + Math.log(sum);
          lse[(b * NH + h) * T + i] = l;
          const acc = new Float64Array(HS);
          for (let j = 0; j <= i; j++) {
            if (s[j] === -Infinity) continue;
            const p = Math.exp(s[j] - l);
            const v = (b * T + j) * C3 + 2 * C + h * HS;
            for (let x = 0; x < HS; x++) acc[x] += p * qkv[v + x];
          }
          for (let x = 0; x < HS; x++) out[o + x] = acc[x];
        }
      }
    }
  },

  attentionBackward(dqkv, dout, qkv, out, lse, meta, { b: B, t: T, c: C, nh: NH }) {
    const HS = C / NH, C3 = 3 * C, scale = 1 / Math.sqrt(HS);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        for (let i = 0; i < T; i++) {
          const l = lse[(b * NH + h) * T + i];
          if (l === -Infinity) continue; // forward: out_i = 0, nothing flows back
          const q = (b * T + i) * C3 + h * HS;
          const o = (b * T + i) * C + h * HS;
          // D_i = Σ dout_i · out_i (the softmax backward's row term)
          let D = 0;
          for (let x = 0; x < HS; x++) D += dout[o + x] * out[o + x];
          for (let j = 0; j <= i; j++) {
            if (meta !== null && meta[b * T + j] === 0) continue;
            const k = (b * T + j) * C3 + C + h * HS;
            const v = k + C;
            // forward: p_ij = exp(s_ij − lse_i), out_i = Σ_j p_ij v_j
            let dot = 0, dp = 0;
            for (let x = 0; x < HS; x++) {
              dot += qkv[q + x] * qkv[k + x];
              dp += dout[o + x] * qkv[v + x];
            }
            const p = Math.exp(dot * scale - l);
            const ds = p * (dp - D) * scale;
            for (let x = 0; x < HS; x++) {
              dqkv[v + x] += p * dout[o + x];
              dqkv[q + x] += ds * qkv[k + x];
              dqkv[k + x] += ds * qkv[q + x];
            }
          }
        }
      }
    }
  },

  ropeForward(out, inp, cos, sin, n, c, nh) {
    rotateHalf(out, inp, cos, sin, n, c, nh, 1, false);
  },

  ropeBackward(dinp, dout, cos, sin, n, c, nh) {
    // forward: out1 = x1·c − x2·s, out2 = x2·c + x1·s is a rotation, so backward adds the
    // rotation by −θ (its transpose) of the gradient.
    rotateHalf(dinp, dout, cos, sin, n, c, nh, -1, true);
  },
};

/**
 * out (=|+=) the rotate-half rotation of the q and k blocks of inp (N, 3C) by
 * ±θ (sign of sin is `direction`); the v block is copied (or added).
 */
function rotateHalf(
  out: F,
  inp: F,
  cos: F,
  sin: F,
  n: number,
  c: number,
  nh: number,
  direction: 1 | -1,
  accumulate: boolean,
): void {
  const hs = c / nh, half = hs / 2;
  const put = accumulate ? (i: number, v: number) => (out[i] += v) : (i: number, v: number) => (out[i] = v);
  for (let r = 0; r < n; r++) {
    const row = r * 3 * c;
    for (let part = 0; part < 2; part++) {
      for (let h = 0; h < nh; h++) {
        const base = row + part * c + h * hs;
        for (let i = 0; i < half; i++) {
          const x1 = inp[base + i], x2 = inp[base + i + half];
          const co = cos[r * half + i], si = direction * sin[r * half + i];
          put(base + i, x1 * co - x2 * si);
          put(base + i + half, x2 * co + x1 * si);
        }
      }
    }
    for (let j = 2 * c; j < 3 * c; j++) put(row + j, inp[row + j]);
  }
}

/** The `wasm` kernels: `attention.wat` and `rope.wat` loaded onto the backend's threads. */
function wasmAttentionKernels(backend: Backend): AttentionKernels<Storage, Storage> {
  const wasm = backend.wasm!;
  wasm.load(MODULES);
  const p = wasm.address;
  // One workspace per backend, grown on demand: the kernels overwrite what they use, so it is
  // neither zeroed nor freed between calls.
  let workspace: { storage: Storage; bytes: number } | null = null;
  const withWorkspace = (t: number, hs: number, fn: (ws: number) => void): void => {
    if (hs % 4 !== 0) {
      throw new RangeError(
        `Cannot run wasm attention with head size ${hs}: the kernel needs a multiple of 4 (use the ref backend otherwise)`,
      );
    }
    const bytes = wasm.call("attention_ws_bytes", t, hs) * backend.threads;
    if (workspace === null || workspace.bytes < bytes) {
      if (workspace) backend.free(workspace.storage);
      workspace = { storage: backend.alloc("f32", Math.ceil(bytes / 4)), bytes };
    }
    fn(p(workspace.storage));
  };
  // Work in "elements": the flops of the call over 64, as the tensor backend counts matmuls.
  const work = (d: AttentionDims): number => (4 * d.b * d.t * d.t * d.c) / 2 / 64;
  return {
    attentionForward(out, lse, qkv, meta, d) {
      withWorkspace(
        d.t,
        d.c / d.nh,
        (ws) =>
          wasm.run("attentionForward", [p(out), p(lse), p(qkv), p(meta), d.b, d.t, d.c, d.nh, ws], work(d)),
      );
    },
    attentionBackward(dqkv, dout, qkv, out, lse, meta, d) {
      withWorkspace(d.t, d.c / d.nh, (ws) =>
        wasm.run(
          "attentionBackward",
          [p(dqkv), p(dout), p(qkv), p(out), p(lse), p(meta), d.b, d.t, d.c, d.nh, ws],
          work(d),
        ));
    },
    ropeForward: (out, inp, cos, sin, n, c, nh) =>
      wasm.run("ropeForward", [p(out), p(inp), p(cos), p(sin), n, c, nh], 3 * n * c),
    ropeBackward: (dinp, dout, cos, sin, n, c, nh) =>
      wasm.run("ropeBackward", [p(dinp), p(dout), p(cos), p(sin), n, c, nh], 3 * n * c),
  };
}

const KEY = "attention.kernels";

/**
 * The attention kernels of `backend`, registered on first use (`ref` gets the
 * TypeScript loops, `wasm` loads its WebAssembly modules).
 *
 * @example
 * ```ts
 * import { refBackend } from "@metatokens/tensor";
 * import { attentionKernels } from "@metatokens/attention";
 * console.log(typeof attentionKernels(refBackend()).attentionForward); // "function"
 * ```
 */
export function attentionKernels(backend: Backend): AttentionKernels<Storage, Storage> {
  if (!backend.extensions.has(KEY)) {
    if (backend.wasm) registerKernel(backend, KEY, wasmAttentionKernels(backend));
    else if (backend.gpu) registerKernel(backend, KEY, webgpuAttentionKernels(backend));
    else if (backend.name === "ref") registerKernel(backend, KEY, refAttentionKernels);
    else throw new Error(`Cannot run attention on backend "${backend.name}": it has no attention kernels`);
  }
  return getKernel<AttentionKernels<Storage, Storage>>(backend, KEY);
}
