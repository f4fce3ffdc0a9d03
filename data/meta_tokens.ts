/**
 * The meta-token scan: where a token sequence holds the meta token. One
 * function for every place that needs it — the model's meta positions of a
 * batch (`@metatokens/attention`'s `metaPositionsFromTokens`), the task batch
 * sampler and the analyses. It lives in `data`, beside the tokenizer's
 * `META_ID` and the injection that puts meta tokens into sequences,
 * and imports nothing, so `attention` may import this module alone.
 *
 * @module
 */

/**
 * Positions of `metaId` in `tokens[start … end)`, counted from `start`, in
 * increasing order.
 *
 * @param tokens Token ids (one sequence, or a row-major batch).
 * @param metaId The meta token id (`META_ID` for the GPT-2 tokenizer, or a model's `metaTokenId`).
 * @param start First index scanned (a batch row's offset).
 * @param end One past the last index scanned.
 * @returns The positions, relative to `start`.
 * @throws {RangeError} When `[start, end)` is not a range inside `tokens`.
 *
 * @example
 * ```ts
 * import { metaTokenPositions } from "@metatokens/data/meta-tokens";
 * console.log(metaTokenPositions([5, 9, 5, 9], 9)); // [1, 3]
 * console.log(metaTokenPositions([5, 9, 5, 9], 9, 2, 4)); // [1]
 * ```
 */
export function metaTokenPositions(
  tokens: ArrayLike<number>,
  metaId: number,
  start = 0,
  end: number = tokens.length,
): number[] {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > tokens.length) {
    throw new RangeError(
      `Cannot scan tokens [${start}, ${end}) of a sequence of ${tokens.length}: expected 0 ≤ start ≤ end ≤ length`,
    );
  }
  const out: number[] = [];
  for (let i = start; i < end; i++) if (tokens[i] === metaId) out.push(i - start);
  return out;
}
