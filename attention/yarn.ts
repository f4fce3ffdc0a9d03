/**
 * YaRN context extension for RoPE (Peng et al. 2023) with the paper's
 * Appendix C parameters: extrapolation_factor 1, attn_factor 1, beta_fast 32,
 * beta_slow 1. For head size d, base b, original context L and scale
 * s = L′/L (docs/ARCHITECTURE.md §4):
 *
 * ```text
 * r(β)    = d · ln(L / (2π β)) / (2 ln b)
 * low     = max(floor(r(beta_fast)), 0),  high = min(ceil(r(beta_slow)), d − 1)
 * ramp_i  = clamp((i − low) / (high − low), 0, 1),  mask_i = (1 − ramp_i) · extrapolation_factor
 * θ′_i    = (θ_i / s)(1 − mask_i) + θ_i · mask_i,    θ_i = b^(−2i/d)
 * mscale  = (0.1 · ln s + 1) · attn_factor            (multiplies cos and sin)
 * ```
 *
 * @module
 */

/** YaRN settings. */
export interface YarnOptions {
  /** s = L′ / L ≥ 1. */
  scale: number;
  /** L: the context the model was pre-trained with (not the extended one). */
  originalContext: number;
  /** Default 1. */
  extrapolationFactor?: number;
  /** Default 1. */
  attnFactor?: number;
  /** Default 32. */
  betaFast?: number;
  /** Default 1. */
  betaSlow?: number;
}

/** The dimension index where rotations of `beta` turns fit in the context (YaRN's correction dim). */
function correctionDim(headSize: number, base: number, context: number, beta: number): number {
  return (headSize * Math.log(context / (2 * Math.PI * beta))) / (2 * Math.log(base));
}

/**
 * YaRN's ramp bounds: dimensions below `low` keep their frequency
 * (extrapolate), above `high` are interpolated by 1/s.
 *
 * @example
 * ```ts
 * import { yarnRange } from "@metatokens/attention";
 * console.log(yarnRange(64, 1e4, { scale: 4, originalContext: 1024 })); // { low: 5, high: 18 }
 * ```
 */
export function yarnRange(headSize: number, base: number, yarn: YarnOptions): { low: number; high: number } {
  const low = Math.max(
    Math.floor(correctionDim(headSize, base, yarn.originalContext, yarn.betaFast ?? 32)),
    0,
  );
  const high = Math.min(
    Math.ceil(correctionDim(headSize, base, yarn.originalContext, yarn.betaSlow ?? 1)),
    headSize - 1,
  );
  return { low, high };
}

/**
 * YaRN's attention temperature factor on cos and sin: (0.1·ln s + 1)·attnFactor, 1 for s ≤ 1.
 *
 * @example
 * ```ts
 * import { yarnMscale } from "@metatokens/attention";
 * console.log(yarnMscale(4).toFixed(5)); // "1.13863"
 * ```
 */
export function yarnMscale(scale: number, attnFactor = 1): number {
  return scale <= 1 ? attnFactor : (0.1 * Math.log(scale) + 1) * attnFactor;
}

/** Checks YaRN settings, naming the bad value. */
export function validateYarn(yarn: YarnOptions): void {
  if (!(yarn.scale >= 1) || !Number.isFinite(yarn.scale)) {
    throw new RangeError(`Cannot use YaRN scale ${yarn.scale}: expected a finite number ≥ 1 (L′ / L)`);
  }
  if (!Number.isInteger(yarn.originalContext) || yarn.originalContext < 1) {
    throw new RangeError(
      `Cannot use YaRN original context ${yarn.originalContext}: expected the pre-training block size`,
    );
  }
}

/**
 * Per-pair rotation frequencies θ′_i (HS/2 of them), YaRN-adjusted when `yarn` is given.
 *
 * @example
 * ```ts
 * import { ropeFrequencies } from "@metatokens/attention";
 * console.log(ropeFrequencies(4, 10000)); // Float64Array [1, 0.01]
 * ```
 */
export function ropeFrequencies(headSize: number, base: number, yarn?: YarnOptions): Float64Array {
  const half = headSize / 2;
  const theta = new Float64Array(half);
  for (let i = 0; i < half; i++) theta[i] = base ** ((-2 * i) / headSize);
  if (!yarn) return theta;
  validateYarn(yarn);
  const { low, high } = yarnRange(headSize, base, yarn);
  const span = high === low ? 0.001 : high - low; // as the reference implementation, avoid 0/0
  const extrapolation = yarn.extrapolationFactor ?? 1;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(Math.max((i - low) / span, 0), 1);
    const mask = (1 - ramp) * extrapolation;
    theta[i] = (theta[i] / yarn.scale) * (1 - mask) + theta[i] * mask;
  }
  return theta;
}
