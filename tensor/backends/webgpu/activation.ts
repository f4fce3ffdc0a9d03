/**
 * Activations and dropout of the `webgpu` backend, one thread per element.
 *
 * GELU is the erf form (`erf_f32` from fdlibm). Dropout regenerates the keep
 * mask from the counter-based stream of `rng.ts` with the same u32 hash, and
 * compares the 24-bit draw with an integer threshold, so its mask is bit for
 * bit the one of `ref` and `wasm`.
 *
 * @module
 */

import { f32Bits, type Storage } from "../../backend.ts";
import type { Kernels } from "../../kernels.ts";
import { type Dispatcher, type Pointwise, runPointwise } from "./_call.ts";
import { WGSL_ERF, WGSL_RNG } from "./_wgsl.ts";

type K = Kernels<Storage, Storage>;

/** out (n) = 0.5 · x · (1 + erf(x / √2)) for x = inp (n) */
const GELU_FORWARD: Pointwise = {
  key: "geluForward",
  buffers: [["out", "f32"], ["inp", "f32"]],
  helpers: WGSL_ERF,
  body: `let x = inp[p.inp_off + i];
  out[p.out_off + i] = 0.5 * x * (1.0 + erf_f32(x * 0.70710678118654752));`,
};

/** dinp (n) += dout (n) · (Φ(x) + x · φ(x)) */
const GELU_BACKWARD: Pointwise = {
  key: "geluBackward",
  buffers: [["dinp", "f32"], ["dout", "f32"], ["inp", "f32"]],
  helpers: WGSL_ERF,
  // forward: out = x · Φ(x), so dout/dx = Φ(x) + x · φ(x)
  body: `let x = inp[p.inp_off + i];
  let cdf = 0.5 * (1.0 + erf_f32(x * 0.70710678118654752));
  let pdf = exp(-0.5 * x * x) * 0.39894228040143268;
  dinp[p.dinp_off + i] += dout[p.dout_off + i] * (cdf + x * pdf);`,
};

/** out (n) = max(inp (n), 0) */
const RELU_FORWARD: Pointwise = {
  key: "reluForward",
  buffers: [["out", "f32"], ["inp", "f32"]],
  body: `let x = inp[p.inp_off + i];
  out[p.out_off + i] = select(0.0, x, x > 0.0);`,
};

/** dinp (n) += dout (n) · [inp > 0] */
const RELU_BACKWARD: Pointwise = {
  key: "reluBackward",
  buffers: [["dinp", "f32"], ["dout", "f32"], ["inp", "f32"]],
  // forward: out = max(x, 0)
  body: `if (inp[p.inp_off + i] > 0.0) { dinp[p.dinp_off + i] += dout[p.dout_off + i]; }`,
};

/** out (n) = keep(i) ? inp (n) · s : 0, keep(i) = draw(key, offset + i) ≥ p, s = f32(1 / (1 − p)) */
const DROPOUT_FORWARD: Pointwise = {
  key: "dropoutForward",
  buffers: [["out", "f32"], ["inp", "f32"]],
  scalars: ["threshold", "scale", "key", "offset"],
  helpers: WGSL_RNG,
  body: `let keep = (lowbias32(lowbias32(p.offset + i) ^ p.key) >> 8u) >= p.threshold;
  out[p.out_off + i] = select(0.0, inp[p.inp_off + i] * bitcast<f32>(p.scale), keep);`,
};

/** dinp (n) += keep(i) ? dout (n) · s : 0 */
const DROPOUT_BACKWARD: Pointwise = {
  key: "dropoutBackward",
  buffers: [["dinp", "f32"], ["dout", "f32"]],
  scalars: ["threshold", "scale", "key", "offset"],
  helpers: WGSL_RNG,
  // forward: out[i] = keep(i) ? inp[i] / (1 − p) : 0
  body: `let keep = (lowbias32(lowbias32(p.offset + i) ^ p.key) >> 8u) >= p.threshold;
  if (keep) { dinp[p.dinp_off + i] += dout[p.dout_off + i] * bitcast<f32>(p.scale); }`,
};

/**
 * The dropout uniforms: the 24-bit draw k keeps an element iff k · 2⁻²⁴ ≥ p,
 * i.e. k ≥ ⌈p · 2²⁴⌉ (exact: no f32 rounding of p), and the scale f32(1 / (1 − p)).
 */
function dropoutScalars(p: number, key: number, offset: number): number[] {
  return [Math.ceil(p * 2 ** 24), f32Bits(Math.fround(1 / (1 - p))), key >>> 0, offset >>> 0];
}

/** The activation and dropout kernels on a dispatcher. */
export function activationKernels(
  rt: Dispatcher,
): Pick<
  K,
  "geluForward" | "geluBackward" | "reluForward" | "reluBackward" | "dropoutForward" | "dropoutBackward"
> {
  return {
    geluForward: (out, inp, n) => runPointwise(rt, GELU_FORWARD, n, [out, inp]),
    geluBackward: (dinp, dout, inp, n) => runPointwise(rt, GELU_BACKWARD, n, [dinp, dout, inp]),
    reluForward: (out, inp, n) => runPointwise(rt, RELU_FORWARD, n, [out, inp]),
    reluBackward: (dinp, dout, inp, n) => runPointwise(rt, RELU_BACKWARD, n, [dinp, dout, inp]),
    dropoutForward: (out, inp, n, p, key, offset) =>
      runPointwise(rt, DROPOUT_FORWARD, n, [out, inp], dropoutScalars(p, key, offset)),
    dropoutBackward: (dinp, dout, n, p, key, offset) =>
      runPointwise(rt, DROPOUT_BACKWARD, n, [dinp, dout], dropoutScalars(p, key, offset)),
  };
}
