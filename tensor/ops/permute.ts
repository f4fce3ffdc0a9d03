/**
 * Axis permutations (up to four axes): transpose, and the attention head
 * split/merge (B, T, C) ⇄ (B, NH, T, HS).
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import type { PermuteDims } from "../kernels.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";
import { reshape } from "./reshape.ts";

type Four = [number, number, number, number];

/** Attributes of the permute node: input shape and order padded to four axes. */
export interface PermuteAttrs {
  /** Input shape, left-padded with ones. */
  shape: Four;
  /** Output axis i reads input axis perm[i]. */
  perm: Four;
  /** Output shape at the input's rank. */
  outShape: readonly number[];
}

/** The permute op. */
export const permuteOp: OpDef<PermuteAttrs> = {
  name: "permute",
  forward([x], { shape, perm, outShape }) {
    const out = empty(outShape, "f32", { backend: x.backend });
    x.backend.kernels.permute(out.storage, x.storage, { shape, perm, accumulate: false });
    return { out };
  },
  backward({ grads: [dx], dout, attrs: { shape, perm } }) {
    if (!dx) return;
    // forward: out[i0, i1, i2, i3] = x[i_perm⁻¹…]; so dx += dout permuted by the inverse
    const inverse = [0, 0, 0, 0] as Four;
    perm.forEach((p, i) => (inverse[p] = i));
    const d: PermuteDims = {
      shape: perm.map((p) => shape[p]) as Four,
      perm: inverse,
      accumulate: true,
    };
    dout.backend.kernels.permute(dx.storage, dout.storage, d);
  },
};

/**
 * Reorders the axes of `x` (rank ≤ 4): output axis i is input axis `perm[i]`.
 *
 * @example
 * ```ts
 * import { permute, tensor } from "@metatokens/tensor";
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * console.log(permute(x, [1, 0]).dataSync()); // Float32Array [1, 4, 2, 5, 3, 6]
 * ```
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  assertF32("permute", x);
  const sorted = [...perm].sort();
  if (x.rank > 4 || perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new RangeError(
      `Cannot permute a tensor of shape ${formatShape(x.shape)} by ${formatShape(perm)}: ` +
        `expected a permutation of 0…${x.rank - 1} for rank ≤ 4`,
    );
  }
  const pad = 4 - x.rank;
  const shape = [...Array(pad).fill(1), ...x.shape] as Four;
  const full = [...Array(pad).keys(), ...perm.map((p) => p + pad)] as Four;
  return apply(permuteOp, [x], { shape, perm: full, outShape: perm.map((p) => x.shape[p]) });
}

/**
 * Swaps two axes (negative axes count from the end).
 *
 * @example
 * ```ts
 * import { transpose, tensor } from "@metatokens/tensor";
 * console.log(transpose(tensor([1, 2, 3, 4, 5, 6], [2, 3]), 0, 1).shape); // [3, 2]
 * ```
 */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const perm = [...x.shape.keys()];
  const a = dim0 < 0 ? dim0 + x.rank : dim0;
  const b = dim1 < 0 ? dim1 + x.rank : dim1;
  if (perm[a] === undefined || perm[b] === undefined) {
    throw new RangeError(
      `Cannot transpose axes ${dim0} and ${dim1} of a tensor of shape ${formatShape(x.shape)}`,
    );
  }
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/**
 * (B, T, C) → (B, NH, T, HS) with HS = C / NH: a free reshape, then one copy.
 *
 * @example
 * ```ts
 * import { splitHeads, zeros } from "@metatokens/tensor";
 * console.log(splitHeads(zeros([2, 5, 8]), 4).shape); // [2, 4, 5, 2]
 * ```
 */
export function splitHeads(x: Tensor, nHead: number): Tensor {
  const [b, t, c] = x.shape;
  if (x.rank !== 3 || !Number.isInteger(nHead) || nHead < 1 || c % nHead !== 0) {
    throw new RangeError(
      `Cannot split a tensor of shape ${
        formatShape(x.shape)
      } into ${nHead} heads: expected [B, T, C] with C divisible by ${nHead}`,
    );
  }
  return permute(reshape(x, [b, t, nHead, c / nHead]), [0, 2, 1, 3]);
}

/**
 * (B, NH, T, HS) → (B, T, NH·HS), the inverse of {@linkcode splitHeads}.
 *
 * @example
 * ```ts
 * import { mergeHeads, zeros } from "@metatokens/tensor";
 * console.log(mergeHeads(zeros([2, 4, 5, 2])).shape); // [2, 5, 8]
 * ```
 */
export function mergeHeads(x: Tensor): Tensor {
  if (x.rank !== 4) {
    throw new RangeError(
      `Cannot merge heads of a tensor of shape ${formatShape(x.shape)}: expected [B, NH, T, HS]`,
    );
  }
  const [b, nh, t, hs] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [b, t, nh * hs]);
}
