/**
 * Attention probabilities recomputed on the host from a layer's q|k|v, for
 * attention maps at `_PAUSE_` and attention entropy per head (paper §4.4).
 * The kernels never store these (T × T) matrices; analysis rebuilds the rows
 * it needs in f64 from the traced (T, 3C) q|k|v of one sequence.
 *
 * @module
 */

import { entropy } from "./entropy.ts";

/** Sizes of one traced sequence. */
export interface QkvDims {
  /** Sequence length T. */
  t: number;
  /** Width C = NH · HS. */
  c: number;
  /** Heads NH. */
  nh: number;
}

/**
 * The attention distribution of query `i` for every head: causal softmax of
 * q_i·k_j/√HS over j ≤ i, restricted to meta pairs when `meta` flags are
 * given (meta-attention). A head row is null when no key is allowed (a
 * non-meta query in meta-attention: its output is zero).
 *
 * @example
 * ```ts
 * import { attentionRow } from "@metatokens/analysis";
 * // T = 2, C = 2, one head: q = k = v = [1, 0] at both positions.
 * const qkv = new Float32Array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
 * console.log(attentionRow(qkv, { t: 2, c: 2, nh: 1 }, 1)[0]); // Float64Array [0.5, 0.5]
 * ```
 */
export function attentionRow(
  qkv: ArrayLike<number>,
  d: QkvDims,
  i: number,
  meta: ArrayLike<number> | null = null,
): (Float64Array | null)[] {
  const { t: T, c: C, nh: NH } = d;
  if (qkv.length !== T * 3 * C) {
    throw new RangeError(
      `Cannot read attention from ${qkv.length} q|k|v values: expected T·3C = ${T * 3 * C}`,
    );
  }
  if (!Number.isInteger(i) || i < 0 || i >= T) {
    throw new RangeError(`Cannot take the attention of query ${i}: expected a position in [0, ${T})`);
  }
  const HS = C / NH, scale = 1 / Math.sqrt(HS);
  const rows: (Float64Array | null)[] = [];
  for (let h = 0; h < NH; h++) {
    if (meta && meta[i] === 0) {
      rows.push(null);
      continue;
    }
    const p = new Float64Array(i + 1);
    const q = i * 3 * C + h * HS;
    let max = -Infinity;
    for (let j = 0; j <= i; j++) {
      if (meta && meta[j] === 0) {
        p[j] = -Infinity;
        continue;
      }
      const k = j * 3 * C + C + h * HS;
      let dot = 0;
      for (let x = 0; x < HS; x++) dot += qkv[q + x] * qkv[k + x];
      p[j] = dot * scale;
      max = Math.max(max, p[j]);
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) sum += p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j] - max);
    for (let j = 0; j <= i; j++) p[j] /= sum;
    rows.push(p);
  }
  return rows;
}

/** Mean attention entropy of one head at meta and at non-meta query positions. */
export interface HeadEntropy {
  /** Head index. */
  head: number;
  /** Mean entropy (nats) over meta queries; null without meta queries. */
  meta: number | null;
  /** Mean entropy (nats) over non-meta queries; null without any (or for meta-attention). */
  nonMeta: number | null;
}

/**
 * Attention entropy per head at meta vs non-meta query positions. With
 * `restrictToMeta` the distributions are meta-attention's (only meta queries
 * have one); otherwise causal attention's.
 *
 * @example
 * ```ts
 * import { attentionEntropy } from "@metatokens/analysis";
 * const qkv = new Float32Array(3 * 6).fill(1); // T = 3, C = 2, NH = 1: uniform rows
 * const [h] = attentionEntropy(qkv, { t: 3, c: 2, nh: 1 }, [0, 0, 1]);
 * console.log(h.meta?.toFixed(4), h.nonMeta?.toFixed(4)); // "1.0986" "0.3466"
 * ```
 */
export function attentionEntropy(
  qkv: ArrayLike<number>,
  d: QkvDims,
  metaFlags: ArrayLike<number>,
  restrictToMeta = false,
): HeadEntropy[] {
  const sums = Array.from({ length: d.nh }, () => ({ meta: 0, metaN: 0, other: 0, otherN: 0 }));
  for (let i = 0; i < d.t; i++) {
    const isMeta = metaFlags[i] !== 0;
    if (restrictToMeta && !isMeta) continue;
    const rows = attentionRow(qkv, d, i, restrictToMeta ? metaFlags : null);
    rows.forEach((p, h) => {
      if (!p) return;
      const s = sums[h];
      if (isMeta) (s.meta += entropy(p), s.metaN++);
      else (s.other += entropy(p), s.otherN++);
    });
  }
  return sums.map((s, head) => ({
    head,
    meta: s.metaN > 0 ? s.meta / s.metaN : null,
    nonMeta: s.otherN > 0 ? s.other / s.otherN : null,
  }));
}
