/**
 * The `ref` attention kernels: plain TypeScript loops with f64 accumulation
 * and O(T) scratch per query row, the oracle the `wasm` and `webgpu`
 * attention kernels are tested against.
 *
 * @module
 */

import type { AttentionKernels } from "../../kernels.ts";

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

  attentionBackward(dqkv, dout, out, lse, qkv, meta, { b: B, t: T, c: C, nh: NH }) {
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

  attentionCachedForward(out, kCache, vCache, qkv, { t: T, past, c: C, nh: NH }) {
    const HS = C / NH, C3 = 3 * C, scale = 1 / Math.sqrt(HS);
    for (let i = 0; i < T; i++) {
      kCache.set(qkv.subarray(i * C3 + C, i * C3 + 2 * C), (past + i) * C);
      vCache.set(qkv.subarray(i * C3 + 2 * C, i * C3 + 3 * C), (past + i) * C);
    }
    const s = new Float64Array(past + T), acc = new Float64Array(HS);
    for (let i = 0; i < T; i++) {
      const keys = past + i + 1; // row i sits at position past + i
      for (let h = 0; h < NH; h++) {
        const q = i * C3 + h * HS;
        let max = -Infinity;
        for (let j = 0; j < keys; j++) {
          let dot = 0;
          for (let x = 0; x < HS; x++) dot += qkv[q + x] * kCache[j * C + h * HS + x];
          s[j] = dot * scale;
          max = Math.max(max, s[j]);
        }
        let sum = 0;
        acc.fill(0);
        for (let j = 0; j < keys; j++) {
          const p = Math.exp(s[j] - max);
          sum += p;
          for (let x = 0; x < HS; x++) acc[x] += p * vCache[j * C + h * HS + x];
        }
        for (let x = 0; x < HS; x++) out[i * C + h * HS + x] = acc[x] / sum;
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
