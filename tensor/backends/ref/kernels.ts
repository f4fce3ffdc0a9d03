/**
 * The `ref` kernels: plain TypeScript loops with f64 accumulation. They are the
 * oracle every fast kernel (`wasm`, `webgpu`) is tested against
 * (`tensor/backends/kernels_test.ts`), so they favour being obviously right
 * over being fast. Written in llm.c's manner: every buffer carries its shape,
 * every kernel states the formula it computes, and every backward kernel
 * quotes the forward line it differentiates.
 *
 * Conventions (see `tensor/kernels.ts`): buffers are row-major f32
 * (`Float32Array`) or int32 (`Int32Array`); arithmetic runs in JavaScript
 * numbers (f64) and rounds once on store. Forward kernels overwrite their
 * outputs; backward kernels take `(dinputs…, dout, caches…, inputs…, dims)`
 * and **accumulate** (`+=`) into the gradients. Shape letters: N rows,
 * C columns (channels), V vocabulary, R leading rows, M × K · K × N for
 * matrix products, B independent batches of a matrix product.
 *
 * @module
 */

import {
  type AdamWParams,
  type GemmDims,
  INT8_ACTIVATION_MAX,
  INT8_WEIGHT_MAX,
  int8RowBytes,
  type Kernels,
  type PermuteDims,
} from "../../kernels.ts";
import { randomUniform } from "../../rng.ts";
import { adamwStep } from "../../optim/adamw_rule.ts";

type F = Float32Array;
type I = Int32Array;

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf(x) in f64: the Maclaurin series below |x| = 2.5 and a continued fraction
 * for erfc above (modified Lentz), both run to f64 round-off; ±1 beyond |x| = 6.
 * JavaScript has no Math.erf, and the oracle must be more exact than f32.
 */
export function erf(x: number): number {
  // Series for small |x|, continued fraction for erfc beyond.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) (Lentz)
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : d;
    c = ax + an / c;
    c = c === 0 ? 1e-300 : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

// ---------------------------------------------------------------------------
// matrix product

/**
 * c = op(a) · op(b) + bias, batched; op(x) = xᵀ when the flag is set.
 *   c[p, i, j] (=|+=) Σ_l op(a)[p, i, l] · op(b)[p, l, j] + bias[j]
 */
function gemm(
  c: F, // (B, M, N)
  a: F, // (B, M, K), or (B, K, M) when transA
  b: F, // (B, K, N), or (B, N, K) when transB (the nn.Linear weight layout)
  bias: F | null, // (N) broadcast over rows, or null
  d: GemmDims,
): void {
  const { batch, m, n, k, transA, transB, accumulate } = d;
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k, bo = p * k * n, co = p * m * n; // batch p's offsets into a, b, c
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0; // f64: Σ_l op(a)[i, l] · op(b)[l, j]
        for (let l = 0; l < k; l++) {
          const av = transA ? a[ao + l * m + i] : a[ao + i * k + l];
          const bv = transB ? b[bo + j * k + l] : b[bo + l * n + j];
          acc += av * bv;
        }
        if (bias) acc += bias[j];
        c[co + i * n + j] = accumulate ? c[co + i * n + j] + acc : acc;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// int8 weight-only linear

const f32 = Math.fround;

/** Rounds to the nearest integer, ties to even (WebAssembly's `nearest`, WGSL's `round`). */
export function roundTiesToEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  return x - Math.floor(x) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** q = roundTiesToEven(f32(x / s)) clamped to ±limit; 0 when s is 0 (an all-zero row). */
function quantize(x: number, s: number, limit: number): number {
  if (s === 0) return 0;
  return Math.max(-limit, Math.min(limit, roundTiesToEven(f32(x / s))));
}

/** f32(max_i |x[o + i]| / limit) over i < k: the per-row scale. */
function rowScale(x: F, o: number, k: number, limit: number): number {
  let amax = 0;
  for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(x[o + i]));
  return f32(amax / limit);
}

/**
 * Per-output-row symmetric int8 quantization (layout: `int8Words` in kernels.ts):
 *   scales[r] = f32(max_k |w[r, k]| / 127)
 *   q[r, k]   = clamp(roundTiesToEven(f32(w[r, k] / scales[r])), ±127), 0 for k ≥ K (padding)
 *   sums[r]   = Σ_k q[r, k]
 */
function quantizeInt8(
  q: I, // (N, Kp / 4) packed bytes, then (N) row sums
  scales: F, // (N)
  w: F, // (N, K)
  n: number,
  k: number,
): void {
  const words = int8RowBytes(k) / 4; // words per packed row
  for (let r = 0; r < n; r++) {
    const s = rowScale(w, r * k, k, INT8_WEIGHT_MAX);
    scales[r] = s;
    let sum = 0;
    for (let wd = 0; wd < words; wd++) {
      let word = 0;
      for (let b = 0; b < 4; b++) {
        const kk = 4 * wd + b;
        const v = kk < k ? quantize(w[r * k + kk], s, INT8_WEIGHT_MAX) : 0;
        sum += v;
        word |= (v & 255) << (8 * b);
      }
      q[r * words + wd] = word;
    }
    q[n * words + r] = sum;
  }
}

/**
 * Int8 weight-only linear with activations quantized per row to 7 bits:
 *   sx[i]   = f32(max_k |a[i, k]| / 63),  x[i, k] = clamp(roundTiesToEven(f32(a[i, k] / sx[i])), ±63)
 *   d[i, j] = Σ_k q[j, k] · x[i, k]                        (exact integers)
 *   c[i, j] = f32(f32(d) · f32(scales[j] · sx[i])) + bias[j]   (each step rounded to f32)
 */
function linearInt8(
  c: F, // (M, N)
  a: F, // (M, K)
  q: I, // packed (N, K) from quantizeInt8
  scales: F, // (N)
  bias: F | null, // (N) or null
  m: number,
  n: number,
  k: number,
): void {
  const words = int8RowBytes(k) / 4;
  const bytes = new Int8Array(q.buffer, q.byteOffset, n * words * 4); // q[j, kk] = bytes[j·Kp + kk]
  const kp = words * 4;
  const x = new Int32Array(k); // (K) quantized activation row
  for (let i = 0; i < m; i++) {
    const sx = rowScale(a, i * k, k, INT8_ACTIVATION_MAX);
    for (let kk = 0; kk < k; kk++) x[kk] = quantize(a[i * k + kk], sx, INT8_ACTIVATION_MAX);
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let kk = 0; kk < k; kk++) d += bytes[j * kp + kk] * x[kk];
      let v = f32(f32(d) * f32(scales[j] * sx));
      if (bias) v = f32(v + bias[j]);
      c[i * n + j] = v;
    }
  }
}

// ---------------------------------------------------------------------------
// normalisation

/**
 * LayerNorm over the last axis with the biased variance (PyTorch, llm.c):
 *   mean[r] = Σ_j x[r, j] / C
 *   rstd[r] = 1 / √(Σ_j (x[r, j] − mean[r])² / C + eps)
 *   out[r, j] = (x[r, j] − mean[r]) · rstd[r] · weight[j] + bias[j]
 */
function layernormForward(
  out: F, // (N, C)
  mean: F, // (N) cache for backward
  rstd: F, // (N) cache for backward
  inp: F, // (N, C)
  weight: F, // (C)
  bias: F, // (C)
  n: number,
  c: number,
  eps: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * c; // row r's offset
    let s = 0;
    for (let j = 0; j < c; j++) s += inp[o + j];
    const mu = s / c; // mean[r]
    let v = 0;
    for (let j = 0; j < c; j++) v += (inp[o + j] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / c + eps); // rstd[r]
    for (let j = 0; j < c; j++) {
      out[o + j] = (inp[o + j] - mu) * rs * weight[j] + bias[j];
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

/**
 * LayerNorm backward (llm.c `layernorm_backward`), per row r with
 * norm = (x − mean) · rstd and dnorm = weight · dout:
 *   dbias[j]   += dout[r, j]
 *   dweight[j] += norm[j] · dout[r, j]
 *   dinp[r, j] += rstd · (dnorm[j] − mean_j(dnorm) − norm[j] · mean_j(dnorm · norm))
 */
function layernormBackward(
  dinp: F, // (N, C)
  dweight: F, // (C)
  dbias: F, // (C)
  dout: F, // (N, C)
  mean: F, // (N) forward cache
  rstd: F, // (N) forward cache
  inp: F, // (N, C) forward input
  weight: F, // (C) forward input
  n: number,
  c: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * c; // row r's offset
    const mu = mean[r], rs = rstd[r];
    // forward: out = norm · weight + bias, norm = (x − mean) · rstd
    // two reductions first: mean_j(dnorm) and mean_j(dnorm · norm)
    let dnormMean = 0, dnormNormMean = 0;
    for (let j = 0; j < c; j++) {
      const norm = (inp[o + j] - mu) * rs;
      const dnorm = weight[j] * dout[o + j];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= c;
    dnormNormMean /= c;
    // then every element: the three gradient terms
    for (let j = 0; j < c; j++) {
      const norm = (inp[o + j] - mu) * rs;
      const dnorm = weight[j] * dout[o + j];
      dbias[j] += dout[o + j]; // forward: out = … + bias
      dweight[j] += norm * dout[o + j]; // forward: out = norm · weight + …
      dinp[o + j] += (dnorm - dnormMean - norm * dnormNormMean) * rs; // through norm, mean and rstd
    }
  }
}

// ---------------------------------------------------------------------------
// helpers

/** log Σ_j exp(x[o + j]) over one row of C, max-subtracted: mx + log Σ exp(x − mx). */
function rowLogSumExp(
  x: F, // (…, C): the row starts at o
  o: number,
  c: number,
): number {
  let mx = -Infinity;
  for (let j = 0; j < c; j++) mx = Math.max(mx, x[o + j]);
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(x[o + j] - mx);
  return mx + Math.log(s);
}

/** Rows whose target is not −1 (the ignore index): the cross-entropy's divisor. */
function validCount(
  targets: I, // (N)
  n: number,
): number {
  let count = 0;
  for (let r = 0; r < n; r++) if (targets[r] !== -1) count++;
  return count;
}

/** Dropout's mask bit for element i: uniform(key, offset + i) ≥ p (regenerated in backward). */
function keep(key: number, offset: number, i: number, p: number): boolean {
  return randomUniform(key, (offset + i) >>> 0) >= p;
}

// ---------------------------------------------------------------------------
// the table

/** The plain-TypeScript kernel table. */
export const refKernels: Kernels<F, I> = {
  gemm,
  quantizeInt8,
  linearInt8,

  // ---- elementwise ------------------------------------------------------------
  // out (N), inp (N): out[i] = value
  fill(out, value, n) {
    out.fill(value, 0, n);
  },
  // out (N), inp (N): out[i] = inp[i]
  copy(out, inp, n) {
    for (let i = 0; i < n; i++) out[i] = inp[i];
  },
  // out (N), a (N), b (NB) with N a multiple of NB: out[i] = a[i] + b[i mod NB]
  add(out, a, b, n, nb) {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i % nb];
  },
  // out (N), a (N), b (NB): out[i] = a[i] · b[i mod NB]
  mul(out, a, b, n, nb) {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i % nb];
  },
  // out (N), a (N): out[i] = s · a[i]
  scale(out, a, s, n) {
    for (let i = 0; i < n; i++) out[i] = s * a[i];
  },
  // y (N), x (N): y[i] += alpha · x[i]
  axpy(y, x, alpha, n) {
    for (let i = 0; i < n; i++) y[i] += alpha * x[i];
  },
  // y (N), x (N), b (NB): y[i] += x[i] · b[i mod NB] (mul's backward)
  mulAcc(y, x, b, n, nb) {
    for (let i = 0; i < n; i++) y[i] += x[i] * b[i % nb];
  },
  // y (N), s (1): y[i] *= s[0] (a scale read on the device, e.g. the clip factor)
  scaleBy(y, s, n) {
    const f = s[0];
    for (let i = 0; i < n; i++) y[i] *= f;
  },

  // ---- reductions ---------------------------------------------------------------
  // out (R), inp (R, C): out[i] (=|+=) alpha · Σ_j inp[i, j]
  sumLast(out, inp, r, c, alpha, accumulate) {
    for (let i = 0; i < r; i++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += inp[i * c + j];
      out[i] = (accumulate ? out[i] : 0) + alpha * s;
    }
  },
  // y (R, C), x (R): y[i, j] += alpha · x[i] (sumLast's backward)
  broadcastLast(y, x, alpha, r, c) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) y[i * c + j] += alpha * x[i];
    }
  },
  // out (C), inp (R, C): out[j] (=|+=) Σ_i inp[i, j] (a broadcast operand's gradient)
  sumLeading(out, inp, r, c, accumulate) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += inp[i * c + j];
      out[j] = (accumulate ? out[j] : 0) + s;
    }
  },
  // out (C), x (R, C), a (R, C): out[j] += Σ_i x[i, j] · a[i, j] (a broadcast factor's gradient)
  mulSumLeading(out, x, a, r, c) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += x[i * c + j] * a[i * c + j];
      out[j] += s;
    }
  },
  // out (1), x (N): out[0] (=|+=) Σ_i x[i]²
  sumSquares(out, x, n, accumulate) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    out[0] = (accumulate ? out[0] : 0) + s;
  },
  // scale (1), sumsq (1): scale[0] = min(1, maxNorm / (√sumsq[0] + 1e-6)), as torch's clip_grad_norm_
  clipScale(scale, sumsq, maxNorm) {
    scale[0] = Math.min(1, maxNorm / (Math.sqrt(sumsq[0]) + 1e-6));
  },

  // ---- activations --------------------------------------------------------------
  // out (N), inp (N): out = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)), the exact GELU
  geluForward(out, inp, n) {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      out[i] = 0.5 * x * (1 + erf(x * SQRT1_2));
    }
  },
  // dinp (N), dout (N), inp (N): dinp += dout · (Φ(x) + x · φ(x)), φ(x) = exp(−x²/2) / √(2π)
  geluBackward(dinp, dout, inp, n) {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      // forward: out[i] = 0.5 * x * (1 + erf(x * SQRT1_2)), so dout/dx = Φ(x) + x · φ(x)
      const cdf = 0.5 * (1 + erf(x * SQRT1_2)); // Φ(x)
      const pdf = Math.exp(-0.5 * x * x) * INV_SQRT_2PI; // φ(x)
      dinp[i] += dout[i] * (cdf + x * pdf);
    }
  },
  // out (N), inp (N): out = max(x, 0)
  reluForward(out, inp, n) {
    for (let i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
  },
  // dinp (N), dout (N), inp (N): dinp += dout · [x > 0]
  reluBackward(dinp, dout, inp, n) {
    // forward: out[i] = inp[i] > 0 ? inp[i] : 0
    for (let i = 0; i < n; i++) if (inp[i] > 0) dinp[i] += dout[i];
  },

  // ---- normalisation ------------------------------------------------------------
  layernormForward,
  layernormBackward,

  // out (N, C), inp (N, C): out[r, j] = exp(x[r, j] − lse[r]), lse[r] = log Σ_j exp(x[r, j])
  softmaxForward(out, inp, n, c) {
    for (let r = 0; r < n; r++) {
      const o = r * c; // row r's offset
      const lse = rowLogSumExp(inp, o, c);
      for (let j = 0; j < c; j++) out[o + j] = Math.exp(inp[o + j] - lse);
    }
  },
  // dinp (N, C), dout (N, C), out (N, C) forward output: dinp += out · (dout − Σ_j dout · out)
  softmaxBackward(dinp, dout, out, n, c) {
    for (let r = 0; r < n; r++) {
      const o = r * c; // row r's offset
      // forward: out[o + j] = Math.exp(inp[o + j] - lse) ⇒ dx = out · (dout − Σ dout · out)
      let dot = 0; // Σ_j dout[r, j] · out[r, j]
      for (let j = 0; j < c; j++) dot += dout[o + j] * out[o + j];
      for (let j = 0; j < c; j++) dinp[o + j] += out[o + j] * (dout[o + j] - dot);
    }
  },

  // ---- loss ---------------------------------------------------------------------
  // loss (1), lse (N) cache, logits (N, V), targets (N) int32 (−1 = ignore):
  //   lse[r] = log Σ_j exp(logits[r, j]);  loss[0] = mean over kept rows of (lse[r] − logits[r, t_r])
  crossEntropyForward(loss, lse, logits, targets, n, v) {
    let sum = 0; // f64: Σ over kept rows of lse[r] − logits[r, t_r]
    for (let r = 0; r < n; r++) {
      lse[r] = rowLogSumExp(logits, r * v, v);
      const t = targets[r];
      if (t !== -1) sum += lse[r] - logits[r * v + t];
    }
    const count = validCount(targets, n);
    loss[0] = count === 0 ? 0 : sum / count;
  },
  // dlogits (N, V), dloss (1), lse (N) cache, logits (N, V), targets (N):
  //   dlogits[r, j] += dloss[0] / count · (softmax(logits[r])[j] − [j = t_r]) on kept rows
  crossEntropyBackward(dlogits, dloss, lse, logits, targets, n, v) {
    const count = validCount(targets, n);
    if (count === 0) return;
    // forward: if (t !== -1) sum += lse[r] - logits[r * v + t]; loss[0] = sum / count
    const g = dloss[0] / count;
    for (let r = 0; r < n; r++) {
      const t = targets[r];
      if (t === -1) continue; // ignored rows get no gradient
      const o = r * v; // row r's offset
      for (let j = 0; j < v; j++) {
        const p = Math.exp(logits[o + j] - lse[r]); // softmax(logits[r])[j], from the cached lse
        dlogits[o + j] += g * (p - (j === t ? 1 : 0));
      }
    }
  },

  // ---- embedding ----------------------------------------------------------------
  // out (N, C), weight (V, C), ids (N) int32: out[r, :] = weight[ids[r], :]
  embeddingForward(out, weight, ids, n, c) {
    for (let r = 0; r < n; r++) {
      const src = ids[r] * c; // row ids[r] of weight
      for (let j = 0; j < c; j++) out[r * c + j] = weight[src + j];
    }
  },
  // dweight (V, C), dout (N, C), ids (N): dweight[ids[r], :] += dout[r, :] (scatter-add)
  embeddingBackward(dweight, dout, ids, n, c) {
    // forward: out[r * c + j] = weight[ids[r] * c + j]
    for (let r = 0; r < n; r++) {
      const dst = ids[r] * c; // row ids[r] of dweight; repeated ids add up
      for (let j = 0; j < c; j++) dweight[dst + j] += dout[r * c + j];
    }
  },

  // ---- layout -------------------------------------------------------------------
  // out (shape[perm[0]], …, shape[perm[3]]), inp (shape[0], …, shape[3]):
  //   out[i0, i1, i2, i3] (=|+=) inp at index i_a on axis perm[a]
  permute(out, inp, d: PermuteDims) {
    const { shape, perm, accumulate } = d;
    const istride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1]; // inp's strides
    const os = [shape[perm[0]], shape[perm[1]], shape[perm[2]], shape[perm[3]]]; // out's shape
    let o = 0; // out is walked in order
    for (let i0 = 0; i0 < os[0]; i0++) {
      for (let i1 = 0; i1 < os[1]; i1++) {
        for (let i2 = 0; i2 < os[2]; i2++) {
          for (let i3 = 0; i3 < os[3]; i3++, o++) {
            const src = i0 * istride[perm[0]] + i1 * istride[perm[1]] +
              i2 * istride[perm[2]] + i3 * istride[perm[3]];
            out[o] = accumulate ? out[o] + inp[src] : inp[src];
          }
        }
      }
    }
  },

  // ---- regularisation -------------------------------------------------------------
  // out (N), inp (N): out[i] = keep(i) ? inp[i] / (1 − p) : 0, keep(i) = uniform(key, offset + i) ≥ p
  dropoutForward(out, inp, n, p, key, offset) {
    const s = Math.fround(1 / (1 - p)); // the f32 scale every backend uses
    for (let i = 0; i < n; i++) out[i] = keep(key, offset, i, p) ? inp[i] * s : 0;
  },
  // dinp (N), dout (N): dinp[i] += keep(i) ? dout[i] / (1 − p) : 0, the mask regenerated from (key, offset)
  dropoutBackward(dinp, dout, n, p, key, offset) {
    // forward: out[i] = keep(key, offset, i, p) ? inp[i] * s : 0
    const s = Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) if (keep(key, offset, i, p)) dinp[i] += dout[i] * s;
  },

  // ---- optimiser ----------------------------------------------------------------
  // param, grad, m, v (N); gradScale (1) or null: one AdamW step (the rule in optim/adamw_rule.ts)
  //   g = grad · gradScale;  m = β₁ m + (1 − β₁) g;  v = β₂ v + (1 − β₂) g²
  //   param −= lr · ((m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε) + λ · param)
  adamw(param, grad, m, v, gradScale, n, h: AdamWParams) {
    adamwStep(param, grad, m, v, gradScale ? gradScale[0] : 1, n, h);
  },
};
