/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay and bias
 * correction, one fused kernel per parameter tensor, as `torch.optim.AdamW`.
 *
 * @module
 */

import type { AdamWParams } from "../kernels.ts";
import { formatShape, type Tensor, untracked } from "../tensor.ts";

/** Hyperparameters of {@linkcode AdamW} (defaults: the paper's Table 4 / nanoGPT). */
export interface AdamWOptions {
  /** Learning rate (default 6e-4); {@linkcode AdamW.step} may override it per step. */
  lr?: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.95). */
  beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.1). */
  weightDecay?: number;
}

/** Parameters sharing a weight decay (nanoGPT decays ≥ 2-D tensors only). */
export interface ParamGroup {
  /** The tensors this group updates. */
  params: readonly Tensor[];
  /** Weight decay of the group; the optimiser's when omitted. */
  weightDecay?: number;
}

/** What a checkpoint stores of an {@linkcode AdamW}. */
export interface AdamWState {
  /** Steps taken. */
  step: number;
  /** First moments, one per parameter, in parameter order. */
  m: readonly Tensor[];
  /** Second moments, one per parameter. */
  v: readonly Tensor[];
}

interface Slot {
  param: Tensor;
  m: Tensor;
  v: Tensor;
  weightDecay: number;
}

/**
 * The AdamW optimiser.
 *
 * @example
 * ```ts
 * import { AdamW, backward, mul, sum, tensor } from "@metatokens/tensor";
 * const w = tensor([1, -1], [2], { requiresGrad: true });
 * const opt = new AdamW([w], { lr: 0.1, weightDecay: 0 });
 * backward(sum(mul(w, w)));
 * opt.step();
 * opt.zeroGrad();
 * console.log(w.dataSync()); // ≈ Float32Array [0.9, -0.9]
 * ```
 */
export class AdamW {
  /** Hyperparameters with defaults filled in. */
  readonly options: Required<AdamWOptions>;
  #step = 0;
  readonly #slots: Slot[] = [];

  /** Creates moment buffers (zeros) for every parameter. */
  constructor(params: readonly Tensor[] | readonly ParamGroup[], options: AdamWOptions = {}) {
    this.options = { lr: 6e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, ...options };
    for (const [key, value] of Object.entries(this.options)) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`Cannot create AdamW with ${key} ${value}: expected a finite number ≥ 0`);
      }
    }
    const { beta1, beta2 } = this.options;
    if (beta1 >= 1 || beta2 >= 1) {
      throw new RangeError(`Cannot create AdamW with betas (${beta1}, ${beta2}): expected values in [0, 1)`);
    }
    const groups: readonly ParamGroup[] = params.length > 0 && "params" in params[0]
      ? params as readonly ParamGroup[]
      : [{ params: params as readonly Tensor[] }];
    for (const group of groups) {
      for (const param of group.params) {
        if (param.dtype !== "f32" || !param.requiresGrad) {
          throw new TypeError(
            `Cannot optimise a tensor of shape ${formatShape(param.shape)} and dtype ${param.dtype}: ` +
              `expected an f32 tensor with requiresGrad`,
          );
        }
        this.#slots.push({
          param,
          m: untracked(param.backend, param.shape),
          v: untracked(param.backend, param.shape),
          weightDecay: group.weightDecay ?? this.options.weightDecay,
        });
      }
    }
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One update of every parameter that has a gradient. `lr` overrides the
   * learning rate (schedules); `gradScale` (a one-element tensor, e.g. from
   * {@linkcode clipGradNorm}) multiplies every gradient inside the kernel.
   */
  step(lr: number = this.options.lr, gradScale: Tensor | null = null): void {
    if (!Number.isFinite(lr) || lr < 0) {
      throw new RangeError(`Cannot step AdamW with learning rate ${lr}: expected a finite number ≥ 0`);
    }
    this.#step++;
    const { beta1, beta2, eps } = this.options;
    for (const { param, m, v, weightDecay } of this.#slots) {
      if (param.grad === null) continue;
      const h: AdamWParams = {
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        biasCorrection1: 1 - beta1 ** this.#step,
        biasCorrection2: 1 - beta2 ** this.#step,
      };
      param.backend.kernels.adamw(
        param.storage,
        param.grad.storage,
        m.storage,
        v.storage,
        gradScale?.storage ?? null,
        param.size,
        h,
      );
    }
  }

  /** Zeroes every parameter's gradient (kept allocated for the next backward). */
  zeroGrad(): void {
    for (const { param } of this.#slots) {
      if (param.grad) param.backend.kernels.fill(param.grad.storage, 0, param.grad.size);
    }
  }

  /** The state a checkpoint saves: the step and the moment tensors (live, not copies). */
  state(): AdamWState {
    return { step: this.#step, m: this.#slots.map((s) => s.m), v: this.#slots.map((s) => s.v) };
  }

  /** Restores a saved step count and moments (host arrays in parameter order). */
  loadState(step: number, m: readonly Float32Array[], v: readonly Float32Array[]): void {
    if (!Number.isInteger(step) || step < 0) {
      throw new RangeError(`Cannot restore AdamW step ${step}: expected a non-negative integer`);
    }
    if (m.length !== this.#slots.length || v.length !== this.#slots.length) {
      throw new RangeError(
        `Cannot restore AdamW state with ${m.length} first and ${v.length} second moments for ${this.#slots.length} parameters`,
      );
    }
    this.#slots.forEach((slot, i) => {
      for (const [what, host, t] of [["m", m[i], slot.m], ["v", v[i], slot.v]] as const) {
        if (host.length !== t.size) {
          throw new RangeError(
            `Cannot restore AdamW ${what} of parameter ${i}: ${host.length} values for shape ${
              formatShape(t.shape)
            }`,
          );
        }
        t.backend.write(t.storage, host);
      }
    });
    this.#step = step;
  }

  /** Frees the moment buffers; the optimizer is unusable afterwards (the parameters stay). */
  dispose(): void {
    for (const s of this.#slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }

  /** {@linkcode AdamW.dispose}, so that `using opt = new AdamW(…)` frees the moments at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
