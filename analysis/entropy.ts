/**
 * Shannon entropy of softmax distributions and the logit statistics of
 * Theorem 4.1 / Lemma G.1 (paper Appendix G): raising one logit's margin Δ
 * over the rest strictly lowers the entropy of the softmax.
 *
 * @module
 */

/**
 * Entropy in nats of softmax(logits[offset … offset + length)), computed stably
 * in f64; also returns the max logit and the log-sum-exp.
 *
 * @example
 * ```ts
 * import { softmaxStats } from "@metatokens/analysis";
 * const { entropy, maxLogit } = softmaxStats([0, 0, 0, 0]);
 * console.log(entropy.toFixed(4), maxLogit); // "1.3863" 0
 * ```
 */
export function softmaxStats(
  logits: ArrayLike<number>,
  offset = 0,
  length: number = logits.length - offset,
): { entropy: number; maxLogit: number; logSumExp: number } {
  if (length < 1) throw new RangeError(`Cannot take the entropy of ${length} logits: expected at least one`);
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, logits[offset + i]);
  if (!Number.isFinite(max)) {
    throw new RangeError(`Cannot take the entropy of logits whose maximum is ${max}: expected finite values`);
  }
  // H = lse − Σ p_i z_i with p_i = exp(z_i − lse).
  let sum = 0, weighted = 0;
  for (let i = 0; i < length; i++) {
    const e = Math.exp(logits[offset + i] - max);
    sum += e;
    weighted += e * (logits[offset + i] - max);
  }
  const logSumExp = max + Math.log(sum);
  const entropy = Math.max(0, Math.log(sum) - weighted / sum);
  return { entropy, maxLogit: max, logSumExp };
}

/**
 * Entropy in nats of a probability vector (zeros contribute nothing).
 *
 * @example
 * ```ts
 * import { entropy } from "@metatokens/analysis";
 * console.log(entropy([0.5, 0.5, 0]).toFixed(4)); // "0.6931"
 * ```
 */
export function entropy(probs: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) h -= probs[i] * Math.log(probs[i]);
  return h;
}
