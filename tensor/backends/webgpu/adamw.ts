/**
 * The fused AdamW step of the `webgpu` backend. The gradient scale of
 * clipping is read from a one-element GPU buffer, so a clipped step needs no
 * readback.
 *
 * @module
 */

import { f32Bits, type Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";

type K = Kernels<Storage, Storage>;

/**
 * For param, grad, m, v (n) and gradScale (1, optional):
 * g = grad · gradScale[0]; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * param −= lr · (m / bc1 / (√(v / bc2) + eps) + wd · param)
 */
const ADAMW: Pointwise = {
  key: "adamw",
  buffers: [["param", "f32"], ["grad", "f32"], ["m", "f32"], ["v", "f32"], ["gscale", "f32"]],
  scalars: [
    "has_scale",
    "lr",
    "beta1",
    "one_minus_beta1",
    "beta2",
    "one_minus_beta2",
    "eps",
    "wd",
    "bc1",
    "bc2",
  ],
  body: `let lr = bitcast<f32>(p.lr);
  let gs = select(1.0, gscale[p.gscale_off], p.has_scale == 1u);
  let g = grad[p.grad_off + i] * gs;
  let mi = bitcast<f32>(p.beta1) * m[p.m_off + i] + bitcast<f32>(p.one_minus_beta1) * g;
  let vi = bitcast<f32>(p.beta2) * v[p.v_off + i] + bitcast<f32>(p.one_minus_beta2) * g * g;
  m[p.m_off + i] = mi;
  v[p.v_off + i] = vi;
  let mhat = mi / bitcast<f32>(p.bc1);
  let vhat = vi / bitcast<f32>(p.bc2);
  let w = param[p.param_off + i];
  param[p.param_off + i] = w - lr * (mhat / (sqrt(vhat) + bitcast<f32>(p.eps)) + bitcast<f32>(p.wd) * w);`,
};

/** The AdamW kernel on a dispatcher. */
export function adamwKernels(rt: Dispatcher): Pick<K, "adamw"> {
  return {
    adamw(param, grad, m, v, gradScale, n, h) {
      if (n === 0) return;
      // A missing scale binds the grad buffer in its place (never read: has_scale = 0).
      runPointwise(rt, ADAMW, n, [param, grad, m, v, gradScale ?? grad], [
        gradScale ? 1 : 0,
        f32Bits(h.lr),
        f32Bits(h.beta1),
        f32Bits(1 - h.beta1),
        f32Bits(h.beta2),
        f32Bits(1 - h.beta2),
        f32Bits(h.eps),
        f32Bits(h.weightDecay),
        f32Bits(h.biasCorrection1),
        f32Bits(h.biasCorrection2),
      ]);
    },
  };
}
