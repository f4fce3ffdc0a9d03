/**
 * The `ref` kernels: plain TypeScript loops with f64 accumulation. They are the
 * oracle every fast kernel is tested against, so they favour being obviously
 * right over being fast.
 *
 * @module
 */

import type { AdamWParams, GemmDims, Kernels, PermuteDims } from "../../kernels.ts";
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

function gemm(c: F, a: F, b: F, bias: F | null, d: GemmDims): void {
  const { batch, m, n, k, transA, transB, accumulate } = d;
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k, bo = p * k * n, co = p * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
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

function layernormForward(
  out: F, // (N, C)
  mean: F, // (N)
  rstd: F, // (N)
  inp: F, // (N, C)
  weight: F, // (C)
  bias: F, // (C)
  n: number,
  c: number,
  eps: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let s = 0;
    for (let j = 0; j < c; j++) s += inp[o + j];
    const mu = s / c;
    let v = 0;
    for (let j = 0; j < c; j++) v += (inp[o + j] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / c + eps);
    for (let j = 0; j < c; j++) {
      out[o + j] = (inp[o + j] - mu) * rs * weight[j] + bias[j];
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

function layernormBackward(
  dinp: F, // (N, C)
  dweight: F, // (C)
  dbias: F, // (C)
  dout: F, // (N, C)
  inp: F, // (N, C)
  weight: F, // (C)
  mean: F, // (N)
  rstd: F, // (N)
  n: number,
  c: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * c;
    const mu = mean[r], rs = rstd[r];
    // forward: out = norm · weight + bias, norm = (x − mean) · rstd
    let dnormMean = 0, dnormNormMean = 0;
    for (let j = 0; j < c; j++) {
      const norm = (inp[o + j] - mu) * rs;
      const dnorm = weight[j] * dout[o + j];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= c;
    dnormNormMean /= c;
    for (let j = 0; j < c; j++) {
      const norm = (inp[o + j] - mu) * rs;
      const dnorm = weight[j] * dout[o + j];
      dbias[j] += dout[o + j];
      dweight[j] += norm * dout[o + j];
      dinp[o + j] += (dnorm - dnormMean - norm * dnormNormMean) * rs;
    }
  }
}

function rowLogSumExp(x: F, o: number, c: number): number {
  let mx = -Infinity;
  for (let j = 0; j < c; j++) mx = Math.max(mx, x[o + j]);
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(x[o + j] - mx);
  return mx + Math.log(s);
}

function validCount(targets: I, n: number): number {
  let count = 0;
  for (let r = 0; r < n; r++) if (targets[r] !== -1) count++;
  return count;
}

function keep(key: number, offset: number, i: number, p: number): boolean {
  return randomUniform(key, (offset + i) >>> 0) >= p;
}

/** The plain-TypeScript kernel table. */
export const refKernels: Kernels<F, I> = {
  gemm,

  fill(out, value, n) {
    out.fill(value, 0, n);
  },
  copy(out, inp, n) {
    for (let i = 0; i < n; i++) out[i] = inp[i];
  },
  add(out, a, b, n, nb) {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i % nb];
  },
  mul(out, a, b, n, nb) {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i % nb];
  },
  scale(out, a, s, n) {
    for (let i = 0; i < n; i++) out[i] = s * a[i];
  },
  axpy(y, x, alpha, n) {
    for (let i = 0; i < n; i++) y[i] += alpha * x[i];
  },
  mulAcc(y, x, b, n, nb) {
    for (let i = 0; i < n; i++) y[i] += x[i] * b[i % nb];
  },
  scaleBy(y, s, n) {
    const f = s[0];
    for (let i = 0; i < n; i++) y[i] *= f;
  },

  sumLast(out, inp, r, c, alpha, accumulate) {
    for (let i = 0; i < r; i++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += inp[i * c + j];
      out[i] = (accumulate ? out[i] : 0) + alpha * s;
    }
  },
  broadcastLast(y, x, alpha, r, c) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) y[i * c + j] += alpha * x[i];
    }
  },
  sumLeading(out, inp, r, c, accumulate) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += inp[i * c + j];
      out[j] = (accumulate ? out[j] : 0) + s;
    }
  },
  mulSumLeading(out, x, a, r, c) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += x[i * c + j] * a[i * c + j];
      out[j] += s;
    }
  },
  sumSquares(out, x, n, accumulate) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    out[0] = (accumulate ? out[0] : 0) + s;
  },
  clipScale(scale, sumsq, maxNorm) {
    scale[0] = Math.min(1, maxNorm / (Math.sqrt(sumsq[0]) + 1e-6));
  },

  geluForward(out, inp, n) {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      out[i] = 0.5 * x * (1 + erf(x * SQRT1_2));
    }
  },
  geluBackward(dinp, inp, dout, n) {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      // forward: out = x · Φ(x), so dout/dx = Φ(x) + x · φ(x)
      const cdf = 0.5 * (1 + erf(x * SQRT1_2));
      const pdf = Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
      dinp[i] += dout[i] * (cdf + x * pdf);
    }
  },
  reluForward(out, inp, n) {
    for (let i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
  },
  reluBackward(dinp, inp, dout, n) {
    // forward: out = max(x, 0)
    for (let i = 0; i < n; i++) if (inp[i] > 0) dinp[i] += dout[i];
  },

  layernormForward,
  layernormBackward,

  softmaxForward(out, inp, n, c) {
    for (let r = 0; r < n; r++) {
      const o = r * c;
      const lse = rowLogSumExp(inp, o, c);
      for (let j = 0; j < c; j++) out[o + j] = Math.exp(inp[o + j] - lse);
    }
  },
  softmaxBackward(dinp, dout, out, n, c) {
    for (let r = 0; r < n; r++) {
      const o = r * c;
      // forward: out = exp(x − lse) ⇒ dx = out · (dout − Σ dout · out)
      let dot = 0;
      for (let j = 0; j < c; j++) dot += dout[o + j] * out[o + j];
      for (let j = 0; j < c; j++) dinp[o + j] += out[o + j] * (dout[o + j] - dot);
    }
  },

  crossEntropyForward(loss, lse, logits, targets, n, v) {
    let sum = 0;
    for (let r = 0; r < n; r++) {
      lse[r] = rowLogSumExp(logits, r * v, v);
      const t = targets[r];
      if (t !== -1) sum += lse[r] - logits[r * v + t];
    }
    const count = validCount(targets, n);
    loss[0] = count === 0 ? 0 : sum / count;
  },
  crossEntropyBackward(dlogits, dloss, logits, lse, targets, n, v) {
    const count = validCount(targets, n);
    if (count === 0) return;
    // forward: loss = mean_r (lse[r] − logits[r, t_r])
    const g = dloss[0] / count;
    for (let r = 0; r < n; r++) {
      const t = targets[r];
      if (t === -1) continue;
      const o = r * v;
      for (let j = 0; j < v; j++) {
        const p = Math.exp(logits[o + j] - lse[r]);
        dlogits[o + j] += g * (p - (j === t ? 1 : 0));
      }
    }
  },

  embeddingForward(out, weight, ids, n, c) {
    for (let r = 0; r < n; r++) {
      const src = ids[r] * c;
      for (let j = 0; j < c; j++) out[r * c + j] = weight[src + j];
    }
  },
  embeddingBackward(dweight, dout, ids, n, c) {
    // forward: out[r, :] = weight[ids[r], :]
    for (let r = 0; r < n; r++) {
      const dst = ids[r] * c;
      for (let j = 0; j < c; j++) dweight[dst + j] += dout[r * c + j];
    }
  },

  permute(out, inp, d: PermuteDims) {
    const { shape, perm, accumulate } = d;
    const istride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
    const os = [shape[perm[0]], shape[perm[1]], shape[perm[2]], shape[perm[3]]];
    let o = 0;
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

  dropoutForward(out, inp, n, p, key, offset) {
    const s = Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) out[i] = keep(key, offset, i, p) ? inp[i] * s : 0;
  },
  dropoutBackward(dinp, dout, n, p, key, offset) {
    // forward: out[i] = keep(i) ? inp[i] / (1 − p) : 0
    const s = Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) if (keep(key, offset, i, p)) dinp[i] += dout[i] * s;
  },

  adamw(param, grad, m, v, gradScale, n, h: AdamWParams) {
    adamwStep(param, grad, m, v, gradScale ? gradScale[0] : 1, n, h);
  },
};
