/**
 * Meta-token positions of a batch: a ragged list per batch row, stored as
 * CSR (offsets into one array of positions), validated once.
 *
 * @module
 */

import { metaTokenPositions } from "@metatokens/data/meta-tokens";

/** Sorted meta-token positions of each batch row (CSR). */
export interface MetaPositions {
  /** Batch rows B. */
  readonly batch: number;
  /** Sequence length T. */
  readonly length: number;
  /** (B + 1) offsets: row b's positions are `positions[offsets[b] … offsets[b + 1])`. */
  readonly offsets: Int32Array;
  /** Strictly increasing positions in [0, T) per row, rows concatenated. */
  readonly positions: Int32Array;
}

/**
 * Validates per-row position lists and packs them. Each list must be
 * strictly increasing with values in [0, length).
 *
 * @example
 * ```ts
 * import { metaPositions } from "@metatokens/attention";
 * const meta = metaPositions([[1, 4], [], [0]], 5);
 * console.log(meta.offsets, meta.positions); // Int32Array [0, 2, 2, 3] Int32Array [1, 4, 0]
 * ```
 */
export function metaPositions(rows: readonly (readonly number[])[], length: number): MetaPositions {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(
      `Cannot use sequence length ${length} for meta positions: expected a positive integer`,
    );
  }
  const offsets = new Int32Array(rows.length + 1);
  const total = rows.reduce((n, r) => n + r.length, 0);
  const positions = new Int32Array(total);
  let k = 0;
  rows.forEach((row, b) => {
    row.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 0 || p >= length) {
        throw new RangeError(
          `Cannot use meta position ${p} in batch row ${b}: expected an integer in [0, ${length})`,
        );
      }
      if (i > 0 && p <= row[i - 1]) {
        throw new RangeError(
          `Cannot use meta positions of batch row ${b}: ${row[i - 1]} then ${p} is ${
            p === row[i - 1] ? "duplicated" : "unsorted"
          }; expected strictly increasing positions`,
        );
      }
      positions[k++] = p;
    });
    offsets[b + 1] = k;
  });
  return { batch: rows.length, length, offsets, positions };
}

/**
 * Meta positions from a (B, T) array of token ids: every position holding `metaId`.
 *
 * @example
 * ```ts
 * import { metaPositionsFromTokens } from "@metatokens/attention";
 * const meta = metaPositionsFromTokens(Int32Array.from([5, 9, 5, 9]), 2, 2, 9);
 * console.log(meta.positions); // Int32Array [1, 1]
 * ```
 */
export function metaPositionsFromTokens(
  tokens: Int32Array,
  batch: number,
  length: number,
  metaId: number,
): MetaPositions {
  if (tokens.length !== batch * length) {
    throw new RangeError(`Cannot read meta positions from ${tokens.length} tokens as [${batch}, ${length}]`);
  }
  const rows = Array.from(
    { length: batch },
    (_, b) => metaTokenPositions(tokens, metaId, b * length, (b + 1) * length),
  );
  return metaPositions(rows, length);
}

/** Flat row indices `b·T + position` of every meta token (Σ counts). */
export function flatIndices(meta: MetaPositions): Int32Array {
  const out = new Int32Array(meta.positions.length);
  for (let b = 0; b < meta.batch; b++) {
    for (let i = meta.offsets[b]; i < meta.offsets[b + 1]; i++) out[i] = b * meta.length + meta.positions[i];
  }
  return out;
}

/** (B, T) flags: 1 at meta positions, 0 elsewhere (the dense mask's input). */
export function metaFlags(meta: MetaPositions): Int32Array {
  const flags = new Int32Array(meta.batch * meta.length);
  for (const i of flatIndices(meta)) flags[i] = 1;
  return flags;
}
