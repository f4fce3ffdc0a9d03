/**
 * Learned absolute position embeddings (APE), the "no position" and
 * "no embedding" ablations at meta tokens, and Gaussian noise on the
 * positional encoding (paper Tables 11–17).
 *
 * @module
 */

import { add, embedding, formatShape, reshape, type Rng, type Tensor, tensor } from "@metatokens/tensor";
import { flatIndices, type MetaPositions } from "./meta_positions.ts";
import { zeroRows } from "./rows.ts";

/** The positional encodings a model can use. */
export type PositionalEncoding = "ape" | "rope" | "none";

/** Options of {@linkcode apeEncoding}. */
export interface ApeOptions {
  /** Omit `wpe` at these tokens (the "no position" ablation). */
  zeroAt?: MetaPositions;
  /** Add N(0, σ²) noise to every encoding element. */
  noiseStd?: number;
  /** Generator for the noise. */
  rng?: Rng;
  /** Position of each row's first token (decoding with a cache: the rows already cached); default 0. */
  start?: ArrayLike<number>;
}

/**
 * The APE rows for a (B, T) batch: `wpe[t]` for every token, (B, T, C),
 * differentiable in `wpe`.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { apeEncoding, metaPositions } from "@metatokens/attention";
 * const wpe = tensor([1, 1, 2, 2, 3, 3], [3, 2]);
 * const pe = apeEncoding(wpe, 1, 3, { zeroAt: metaPositions([[1]], 3) });
 * console.log(pe.dataSync()); // Float32Array [1, 1, 0, 0, 3, 3]
 * ```
 */
export function apeEncoding(wpe: Tensor, batch: number, length: number, options: ApeOptions = {}): Tensor {
  if (wpe.rank !== 2) {
    throw new RangeError(`Cannot use a position table of shape ${formatShape(wpe.shape)}: expected [T, C]`);
  }
  const start = options.start;
  if (start && start.length !== batch) {
    throw new RangeError(`Cannot start ${batch} rows at ${start.length} positions: expected one per row`);
  }
  const last = length + (start ? Math.max(0, ...Array.from(start)) : 0);
  if (last > wpe.shape[0]) {
    throw new RangeError(
      `Cannot encode ${last} positions with APE: the model's block size is ${
        wpe.shape[0]
      } (use RoPE or NoPE to go longer)`,
    );
  }
  const ids = new Int32Array(batch * length);
  for (let i = 0; i < ids.length; i++) ids[i] = (start?.[Math.floor(i / length)] ?? 0) + (i % length);
  let pe = reshape(embedding(wpe, tensor(ids, [batch, length], { dtype: "i32", backend: wpe.backend })), [
    batch,
    length,
    wpe.shape[1],
  ]);
  if (options.noiseStd !== undefined && options.noiseStd !== 0) {
    if (!(options.noiseStd > 0) || !options.rng) {
      throw new RangeError(`Cannot add position noise σ = ${options.noiseStd}: expected σ > 0 and an rng`);
    }
    const noise = options.rng.fillNormal(new Float32Array(pe.size), 0, options.noiseStd);
    pe = add(pe, tensor(noise, pe.shape, { backend: wpe.backend }));
  }
  return options.zeroAt ? zeroAtMeta(pe, options.zeroAt) : pe;
}

/**
 * x (B, T, C) with the rows of meta tokens zeroed (the "no embedding" ablation on the token
 * embedding, or "no position" on a positional encoding).
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { metaPositions, zeroAtMeta } from "@metatokens/attention";
 * const x = tensor([1, 2, 3, 4], [2, 2, 1]);
 * console.log(zeroAtMeta(x, metaPositions([[0], []], 2)).dataSync()); // Float32Array [0, 2, 3, 4]
 * ```
 */
export function zeroAtMeta(x: Tensor, meta: MetaPositions): Tensor {
  if (x.rank !== 3 || x.shape[0] !== meta.batch || x.shape[1] !== meta.length) {
    throw new RangeError(
      `Cannot zero meta rows of a tensor of shape ${
        formatShape(x.shape)
      } with positions for [${meta.batch}, ${meta.length}]`,
    );
  }
  if (meta.positions.length === 0) return x;
  return zeroRows(
    x,
    tensor(flatIndices(meta), [meta.positions.length], { dtype: "i32", backend: x.backend }),
  );
}
