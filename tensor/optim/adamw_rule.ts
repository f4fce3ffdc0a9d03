/**
 * The AdamW update rule, once: `torch.optim.AdamW`'s per-element step. The
 * `ref` backend's `adamw` kernel (the oracle every other backend is checked
 * against) is this function over a tensor, and optimisers outside the tensor
 * graph (the VIB heads of `@metatokens/analysis`) call it element by element,
 * so both follow one formula:
 *
 * ```text
 * m = β₁ m + (1 − β₁) g
 * v = β₂ v + (1 − β₂) g²
 * θ −= lr · ( (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε) + λ θ )
 * ```
 *
 * With `weightDecay` λ = 0 it is plain Adam (`torch.optim.Adam`).
 *
 * @module
 */

import type { AdamWParams } from "../kernels.ts";

/** Host arrays the rule updates in place (f32 parameters, or f64 where a caller wants exact sums). */
export type AdamWArray = Float32Array | Float64Array;

/**
 * The hyperparameters of step `t` (from 1): {@linkcode AdamWParams} with the
 * bias corrections `1 − β₁ᵗ` and `1 − β₂ᵗ` filled in.
 *
 * @example
 * ```ts
 * import { adamwStepParams } from "@metatokens/tensor/optim/adamw-rule";
 * const h = adamwStepParams({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, 1);
 * console.log(h.biasCorrection1.toFixed(2)); // 0.10
 * ```
 */
export function adamwStepParams(
  options: Omit<AdamWParams, "biasCorrection1" | "biasCorrection2">,
  step: number,
): AdamWParams {
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`Cannot compute AdamW step ${step}: expected an integer ≥ 1`);
  }
  return {
    ...options,
    biasCorrection1: 1 - options.beta1 ** step,
    biasCorrection2: 1 - options.beta2 ** step,
  };
}

/**
 * One AdamW step of element `i`: updates `m[i]`, `v[i]` and `param[i]` from
 * the gradient value `g` (already scaled).
 *
 * @example
 * ```ts
 * import { adamwStepAt, adamwStepParams } from "@metatokens/tensor/optim/adamw-rule";
 * const p = new Float64Array([1]), m = new Float64Array(1), v = new Float64Array(1);
 * adamwStepAt(p, m, v, 0, 0.5, adamwStepParams({ lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0 }, 1));
 * console.log(p[0].toFixed(6)); // 0.900000: the first step moves by lr · sign(g)
 * ```
 */
export function adamwStepAt(
  param: AdamWArray,
  m: AdamWArray,
  v: AdamWArray,
  i: number,
  g: number,
  h: AdamWParams,
): void {
  m[i] = h.beta1 * m[i] + (1 - h.beta1) * g; // m = β₁ m + (1 − β₁) g
  v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g; // v = β₂ v + (1 − β₂) g²
  // Read back: the stored moments (rounded to f32 in an f32 array) drive the step.
  const mhat = m[i] / h.biasCorrection1, vhat = v[i] / h.biasCorrection2;
  param[i] -= h.lr * (mhat / (Math.sqrt(vhat) + h.eps) + h.weightDecay * param[i]);
}

/**
 * One AdamW step of the first `n` elements: {@linkcode adamwStepAt} with
 * gradient `grad[i] · gradScale`.
 *
 * @example
 * ```ts
 * import { adamwStep, adamwStepParams } from "@metatokens/tensor/optim/adamw-rule";
 * const p = new Float32Array([1, 1]), g = new Float32Array([1, -1]);
 * const m = new Float32Array(2), v = new Float32Array(2);
 * adamwStep(p, g, m, v, 1, 2, adamwStepParams({ lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0 }, 1));
 * console.log(Array.from(p, (x) => x.toFixed(1))); // ["0.9", "1.1"]
 * ```
 */
export function adamwStep(
  param: AdamWArray,
  grad: AdamWArray,
  m: AdamWArray,
  v: AdamWArray,
  gradScale: number,
  n: number,
  h: AdamWParams,
): void {
  for (let i = 0; i < n; i++) adamwStepAt(param, m, v, i, grad[i] * gradScale, h);
}
