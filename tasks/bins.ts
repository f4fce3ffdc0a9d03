/**
 * Length bins of tokenized prompt length (paper §4.2: examples are binned
 * by instance length): (0, 128], (128, 256], …, (4096, 8192].
 *
 * @module
 */

/**
 * Upper edges of the length bins, in tokens.
 *
 * @example
 * ```ts
 * import { LENGTH_BINS } from "@metatokens/tasks/bins";
 * console.log(LENGTH_BINS); // [128, 256, 512, 1024, 2048, 4096, 8192]
 * ```
 */
export const LENGTH_BINS: readonly number[] = Object.freeze([128, 256, 512, 1024, 2048, 4096, 8192]);

/**
 * The bin (its upper edge) of a prompt of `tokens` tokens: the smallest edge
 * ≥ tokens. More than 8192 tokens, or not a non-negative integer, is an error.
 *
 * @example
 * ```ts
 * import { lengthBin } from "@metatokens/tasks/bins";
 * console.log(lengthBin(100), lengthBin(128), lengthBin(129), lengthBin(2048)); // 128 128 256 2048
 * ```
 */
export function lengthBin(tokens: number): number {
  if (!Number.isInteger(tokens) || tokens < 0) {
    throw new RangeError(`Cannot bin a prompt of ${tokens} tokens: expected a non-negative integer`);
  }
  const bin = LENGTH_BINS.find((b) => tokens <= b);
  if (bin === undefined) {
    throw new RangeError(
      `Cannot bin a prompt of ${tokens} tokens: the largest bin is ≤${LENGTH_BINS[LENGTH_BINS.length - 1]}`,
    );
  }
  return bin;
}

/**
 * The label of a bin, `≤512`; an unknown edge is an error listing the bins.
 *
 * @example
 * ```ts
 * import { lengthBinLabel } from "@metatokens/tasks/bins";
 * console.log(lengthBinLabel(512)); // "≤512"
 * ```
 */
export function lengthBinLabel(bin: number): string {
  lengthBinRange(bin);
  return `≤${bin}`;
}

/**
 * The inclusive token range `{ lo, hi }` a bin covers; an unknown edge is an
 * error listing the bins.
 *
 * @example
 * ```ts
 * import { lengthBinRange } from "@metatokens/tasks/bins";
 * console.log(lengthBinRange(128), lengthBinRange(1024)); // { lo: 0, hi: 128 } { lo: 513, hi: 1024 }
 * ```
 */
export function lengthBinRange(bin: number): { lo: number; hi: number } {
  const i = LENGTH_BINS.indexOf(bin);
  if (i < 0) {
    throw new RangeError(
      `Unknown length bin ${JSON.stringify(bin)}: expected one of ${LENGTH_BINS.join(", ")}`,
    );
  }
  return { lo: i === 0 ? 0 : LENGTH_BINS[i - 1] + 1, hi: bin };
}
