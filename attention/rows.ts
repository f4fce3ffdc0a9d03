/**
 * Row gather and scatter by index: the ragged plumbing of sparse
 * meta-attention. Gather is the embedding lookup; scatter is its transpose.
 *
 * @module
 */

import {
  add,
  apply,
  defineOp,
  embedding,
  empty,
  formatShape,
  type OpDef,
  reshape,
  scale,
  type Tensor,
} from "@metatokens/tensor";

/**
 * Rows of x (R, C) at `index` (N) i32 → (N, C) (the embedding lookup).
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { gatherRows } from "@metatokens/attention";
 * const x = tensor([1, 2, 3], [3, 1]);
 * console.log(gatherRows(x, tensor([2, 0], [2], { dtype: "i32" })).dataSync()); // Float32Array [3, 1]
 * ```
 */
export function gatherRows(x: Tensor, index: Tensor): Tensor {
  return embedding(x, index);
}

/** The scatter op: inputs `[src (N, C), index (N) i32]`, output (rows, C), zero where no index points. */
export const scatterRowsOp: OpDef<number> = defineOp<number>({
  name: "attention.scatterRows",
  forward([src, index], rows) {
    const c = src.shape[1];
    const out = empty([rows, c], "f32", { backend: src.backend }); // zero-filled
    src.backend.kernels.embeddingBackward(out.storage, src.storage, index.storage, index.size, c);
    return { out };
  },
  backward({ grads: [dsrc], dout, inputs: [src, index] }) {
    if (!dsrc) return;
    // forward: out[index[n], :] = src[n, :], so dsrc[n, :] += dout[index[n], :]
    const { embeddingForward, axpy } = dout.backend.kernels;
    const c = src.shape[1];
    const picked = empty(src.shape, "f32", { backend: dout.backend });
    embeddingForward(picked.storage, dout.storage, index.storage, index.size, c);
    axpy(dsrc.storage, picked.storage, 1, src.size);
    picked.dispose();
  },
});

/**
 * Places row n of `src` (N, C) at row `index[n]` of a zero (rows, C) tensor.
 * Indices must be distinct and in range.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { scatterRows } from "@metatokens/attention";
 * const out = scatterRows(tensor([1, 2], [2, 1]), tensor([2, 0], [2], { dtype: "i32" }), 3);
 * console.log(out.dataSync()); // Float32Array [2, 0, 1]
 * ```
 */
export function scatterRows(src: Tensor, index: Tensor, rows: number): Tensor {
  if (src.rank !== 2 || index.rank !== 1 || index.shape[0] !== src.shape[0] || index.dtype !== "i32") {
    throw new RangeError(
      `Cannot scatter rows of shape ${formatShape(src.shape)} by an index of shape ${
        formatShape(index.shape)
      }`,
    );
  }
  // The index is validated by the gather that produced the rows (embedding checks its range).
  return apply(scatterRowsOp, [src, index], rows);
}

/**
 * x (B, T, C) with the rows at `index` (flat b·T + t) set to zero,
 * differentiably: x − scatter(gather(x)). The ablations use it to drop the
 * token or positional embedding at meta positions.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { zeroRows } from "@metatokens/attention";
 * const x = tensor([1, 2, 3, 4], [1, 2, 2]);
 * console.log(zeroRows(x, tensor([1], [1], { dtype: "i32" })).dataSync()); // Float32Array [1, 2, 0, 0]
 * ```
 */
export function zeroRows(x: Tensor, index: Tensor): Tensor {
  if (x.rank !== 3) {
    throw new RangeError(`Cannot zero rows of a tensor of shape ${formatShape(x.shape)}: expected [B, T, C]`);
  }
  const [b, t, c] = x.shape;
  const flat = reshape(x, [b * t, c]);
  const removed = scatterRows(gatherRows(flat, index), index, b * t);
  return reshape(add(flat, scale(removed, -1)), [b, t, c]);
}
