/**
 * Cross-entropy of the `webgpu` backend, with ignored targets (−1).
 *
 * Forward: one workgroup per row computes the log-sum-exp over V (up to
 * 50304: 256 threads stride the row twice, max then Σ exp), then one
 * workgroup averages `lse − logit[target]` over the rows that count. The loss
 * stays in a one-element GPU buffer; nothing is read back.
 *
 * @module
 */

import type { Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";
import { rowKernel, runRows } from "./reduce.ts";

type K = Kernels<Storage, Storage>;

/** lse (N) = log Σ_v exp(logits (N, V)) per row */
const CE_LSE = (): string =>
  rowKernel(
    [["lse", "f32"], ["logits", "f32"]],
    ["v"],
    `let base = p.logits_off + row * p.v;
  var m = -3.4028234663852886e38;
  for (var j = lid; j < p.v; j += T) { m = max(m, logits[base + j]); }
  let mx = block_max(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.v; j += T) { s += exp(logits[base + j] - mx); }
  let total = block_sum(s, lid);
  if (lid == 0u) { lse[p.lse_off + row] = mx + log(total); }`,
  );

/** loss[0] = mean over rows with targets (N) ≠ −1 of lse (N) − logits (N, V)[r, target]; 0 if none */
const CE_MEAN = (): string =>
  rowKernel(
    [["loss", "f32"], ["lse", "f32"], ["logits", "f32"], ["targets", "i32"]],
    ["n", "v"],
    `var s = 0.0;
  var count = 0.0;
  for (var r = lid; r < p.n; r += T) {
    let t = targets[p.targets_off + r];
    if (t != -1) {
      s += lse[p.lse_off + r] - logits[p.logits_off + r * p.v + u32(t)];
      count += 1.0;
    }
  }
  let total = block_sum(s, lid);
  let valid = block_sum(count, lid);
  if (lid == 0u) { loss[p.loss_off] = select(total / valid, 0.0, valid == 0.0); }`,
  );

/** g[0] = dloss[0] / count of rows with targets (N) ≠ −1 (0 when none) */
const CE_GRAD_SCALE = (): string =>
  rowKernel(
    [["g", "f32"], ["dloss", "f32"], ["targets", "i32"]],
    ["n"],
    `var count = 0.0;
  for (var r = lid; r < p.n; r += T) { if (targets[p.targets_off + r] != -1) { count += 1.0; } }
  let valid = block_sum(count, lid);
  if (lid == 0u) { g[p.g_off] = select(dloss[p.dloss_off] / valid, 0.0, valid == 0.0); }`,
  );

/**
 * dlogits (N, V) += g · (softmax(logits) − onehot(target)) for rows whose target ≠ −1.
 * forward: loss = mean_r (lse[r] − logits[r, t_r])
 */
const CE_BACKWARD: Pointwise = {
  key: "crossEntropyBackward",
  buffers: [["dlogits", "f32"], ["g", "f32"], ["lse", "f32"], ["logits", "f32"], ["targets", "i32"]],
  scalars: ["v"],
  body: `let r = i / p.v;
  let t = targets[p.targets_off + r];
  if (t == -1) { return; }
  let j = i - r * p.v;
  let prob = exp(logits[p.logits_off + i] - lse[p.lse_off + r]);
  dlogits[p.dlogits_off + i] += g[p.g_off] * (prob - select(0.0, 1.0, j == u32(t)));`,
};

/** The cross-entropy kernels on a dispatcher. */
export function lossKernels(rt: Dispatcher): Pick<K, "crossEntropyForward" | "crossEntropyBackward"> {
  return {
    crossEntropyForward(loss, lse, logits, targets, n, v) {
      runRows(rt, "crossEntropyLse", CE_LSE, n, [lse, logits], [v]);
      runRows(rt, "crossEntropyMean", CE_MEAN, 1, [loss, lse, logits, targets], [n, v]);
    },
    crossEntropyBackward(dlogits, dloss, lse, logits, targets, n, v) {
      const g = rt.scratch(1);
      runRows(rt, "crossEntropyGradScale", CE_GRAD_SCALE, 1, [g, dloss, targets], [n]);
      runPointwise(rt, CE_BACKWARD, n * v, [dlogits, g, lse, logits, targets], [v]);
      rt.release(g);
    },
  };
}
