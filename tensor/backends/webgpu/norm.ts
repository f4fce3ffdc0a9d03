/**
 * LayerNorm and softmax of the `webgpu` backend: one workgroup of 256 per
 * row with tree reductions (two-pass mean and variance, as `ref`), and the
 * LayerNorm parameter gradients as deterministic column reductions.
 *
 * @module
 */

import { f32Bits, type Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import type { Dispatcher } from "./_call.ts";
import { type ColumnReduce, rowKernel, runColumns, runRows } from "./reduce.ts";

type K = Kernels<Storage, Storage>;

/**
 * out (N, C), mean (N), rstd (N) from inp (N, C), weight (C), bias (C):
 * out = (x − mean) · rstd · weight + bias, rstd = 1 / √(var + eps), biased variance.
 */
const LAYERNORM_FORWARD = (): string =>
  rowKernel(
    [["out", "f32"], ["mean", "f32"], ["rstd", "f32"], ["inp", "f32"], ["weight", "f32"], ["bias", "f32"]],
    ["c", "eps"],
    `let base = p.inp_off + row * p.c;
  let ob = p.out_off + row * p.c;
  var s = 0.0;
  for (var j = lid; j < p.c; j += T) { s += inp[base + j]; }
  let mu = block_sum(s, lid) / f32(p.c);
  var v = 0.0;
  for (var j = lid; j < p.c; j += T) { let d = inp[base + j] - mu; v += d * d; }
  let rs = 1.0 / sqrt(block_sum(v, lid) / f32(p.c) + bitcast<f32>(p.eps));
  for (var j = lid; j < p.c; j += T) {
    out[ob + j] = (inp[base + j] - mu) * rs * weight[p.weight_off + j] + bias[p.bias_off + j];
  }
  if (lid == 0u) {
    mean[p.mean_off + row] = mu;
    rstd[p.rstd_off + row] = rs;
  }`,
  );

/**
 * dinp (N, C) += from dout (N, C), mean (N), rstd (N), inp (N, C), weight (C).
 * forward: out = norm · weight + bias, norm = (x − mean) · rstd, so
 * dx = (dnorm − mean(dnorm) − norm · mean(dnorm · norm)) · rstd with dnorm = weight · dout.
 */
const LAYERNORM_BACKWARD_INPUT = (): string =>
  rowKernel(
    [["dinp", "f32"], ["dout", "f32"], ["mean", "f32"], ["rstd", "f32"], ["inp", "f32"], ["weight", "f32"]],
    ["c"],
    `let mu = mean[p.mean_off + row];
  let rs = rstd[p.rstd_off + row];
  let xb = p.inp_off + row * p.c;
  let gb = p.dout_off + row * p.c;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = lid; j < p.c; j += T) {
    let norm = (inp[xb + j] - mu) * rs;
    let dnorm = weight[p.weight_off + j] * dout[gb + j];
    s1 += dnorm;
    s2 += dnorm * norm;
  }
  let dnorm_mean = block_sum(s1, lid) / f32(p.c);
  let dnorm_norm_mean = block_sum(s2, lid) / f32(p.c);
  let db = p.dinp_off + row * p.c;
  for (var j = lid; j < p.c; j += T) {
    let norm = (inp[xb + j] - mu) * rs;
    let dnorm = weight[p.weight_off + j] * dout[gb + j];
    dinp[db + j] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rs;
  }`,
  );

/**
 * dweight (C) += Σ_r norm · dout, dbias (C) += Σ_r dout over rows of (N, C).
 * forward: out = norm · weight + bias
 */
const LAYERNORM_BACKWARD_PARAMS: ColumnReduce = {
  key: "layernormBackwardParams",
  buffers: [["dweight", "f32"], ["dbias", "f32"], ["dout", "f32"], ["mean", "f32"], ["rstd", "f32"], [
    "inp",
    "f32",
  ]],
  terms: [
    "(inp[p.inp_off + idx] - mean[p.mean_off + r]) * rstd[p.rstd_off + r] * dout[p.dout_off + idx]",
    "dout[p.dout_off + idx]",
  ],
  epilogue: `dweight[p.dweight_off + j] += total0;
    dbias[p.dbias_off + j] += total1;`,
};

/** out (N, C) = exp(x − lse) with lse = max + log Σ exp(x − max) over each row of inp (N, C) */
const SOFTMAX_FORWARD = (): string =>
  rowKernel(
    [["out", "f32"], ["inp", "f32"]],
    ["c"],
    `let base = p.inp_off + row * p.c;
  var m = -3.4028234663852886e38;
  for (var j = lid; j < p.c; j += T) { m = max(m, inp[base + j]); }
  let mx = block_max(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.c; j += T) { s += exp(inp[base + j] - mx); }
  let lse = mx + log(block_sum(s, lid));
  let ob = p.out_off + row * p.c;
  for (var j = lid; j < p.c; j += T) { out[ob + j] = exp(inp[base + j] - lse); }`,
  );

/**
 * dinp (N, C) += out · (dout − Σ_c dout · out) from dout (N, C), out (N, C).
 * forward: out = exp(x − lse)
 */
const SOFTMAX_BACKWARD = (): string =>
  rowKernel(
    [["dinp", "f32"], ["dout", "f32"], ["out", "f32"]],
    ["c"],
    `let gb = p.dout_off + row * p.c;
  let yb = p.out_off + row * p.c;
  var d = 0.0;
  for (var j = lid; j < p.c; j += T) { d += dout[gb + j] * out[yb + j]; }
  let dot = block_sum(d, lid);
  let db = p.dinp_off + row * p.c;
  for (var j = lid; j < p.c; j += T) { dinp[db + j] += out[yb + j] * (dout[gb + j] - dot); }`,
  );

/** The normalisation kernels on a dispatcher. */
export function normKernels(
  rt: Dispatcher,
): Pick<K, "layernormForward" | "layernormBackward" | "softmaxForward" | "softmaxBackward"> {
  return {
    layernormForward: (out, mean, rstd, inp, weight, bias, n, c, eps) =>
      runRows(rt, "layernormForward", LAYERNORM_FORWARD, n, [out, mean, rstd, inp, weight, bias], [
        c,
        f32Bits(eps),
      ]),
    layernormBackward(dinp, dweight, dbias, dout, mean, rstd, inp, weight, n, c) {
      runRows(rt, "layernormBackwardInput", LAYERNORM_BACKWARD_INPUT, n, [
        dinp,
        dout,
        mean,
        rstd,
        inp,
        weight,
      ], [
        c,
      ]);
      runColumns(rt, LAYERNORM_BACKWARD_PARAMS, n, c, [dweight, dbias, dout, mean, rstd, inp]);
    },
    softmaxForward: (out, inp, n, c) => runRows(rt, "softmaxForward", SOFTMAX_FORWARD, n, [out, inp], [c]),
    softmaxBackward: (dinp, dout, out, n, c) =>
      runRows(rt, "softmaxBackward", SOFTMAX_BACKWARD, n, [dinp, dout, out], [c]),
  };
}
