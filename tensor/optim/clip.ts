/**
 * Global gradient norm and clipping (`torch.nn.utils.clip_grad_norm_`),
 * computed on the backend without reading back.
 *
 * @module
 */

import { type Tensor, untracked } from "../tensor.ts";

/** What {@linkcode clipGradNorm} computed, as one-element tensors on the backend. */
export interface ClipResult {
  /** Σ‖g‖² over all gradients before clipping. */
  sumSquares: Tensor;
  /** The factor the gradients were multiplied by: min(1, maxNorm / (‖g‖ + 1e-6)). */
  scale: Tensor;
}

/**
 * Σ‖g‖² over the gradients of `params` (those without a gradient count as zero),
 * as a one-element tensor; `Math.sqrt(t.item())` is the global norm.
 *
 * @example
 * ```ts
 * import { gradSumSquares, tensor } from "@metatokens/tensor";
 * const w = tensor([0, 0], [2], { requiresGrad: true });
 * w.grad = tensor([3, 4]);
 * console.log(Math.sqrt(gradSumSquares([w]).item())); // 5
 * ```
 */
export function gradSumSquares(params: readonly Tensor[]): Tensor {
  if (params.length === 0) throw new RangeError("Cannot take the gradient norm of no parameters");
  const backend = params[0].backend;
  const out = untracked(backend, [1]);
  for (const p of params) {
    if (p.grad) backend.kernels.sumSquares(out.storage, p.grad.storage, p.grad.size, true);
  }
  return out;
}

/**
 * Scales every gradient so the global L2 norm is at most `maxNorm`.
 *
 * @example
 * ```ts
 * import { clipGradNorm, tensor } from "@metatokens/tensor";
 * const w = tensor([0, 0], [2], { requiresGrad: true });
 * w.grad = tensor([3, 4]);
 * const { sumSquares } = clipGradNorm([w], 1);
 * console.log(Math.sqrt(sumSquares.item()), w.grad.dataSync()); // 5 ≈ Float32Array [0.6, 0.8]
 * ```
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): ClipResult {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new RangeError(`Cannot clip gradients to norm ${maxNorm}: expected a finite number > 0`);
  }
  const sumSquares = gradSumSquares(params);
  const backend = sumSquares.backend;
  const scale = untracked(backend, [1]);
  backend.kernels.clipScale(scale.storage, sumSquares.storage, maxNorm);
  for (const p of params) if (p.grad) backend.kernels.scaleBy(p.grad.storage, scale.storage, p.grad.size);
  return { sumSquares, scale };
}
