/**
 * Embedding lookup (gather) with a scatter-add backward.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";
import { assertIndices } from "./_indices.ts";

/** The embedding op: inputs `[weight (V, C), ids (…) i32]`, output (…, C). */
export const embeddingOp: OpDef<null> = {
  name: "embedding",
  forward([weight, ids]) {
    const c = weight.shape[1];
    const out = empty([...ids.shape, c], "f32", { backend: weight.backend });
    weight.backend.kernels.embeddingForward(out.storage, weight.storage, ids.storage, ids.size, c);
    return { out };
  },
  backward({ grads: [dweight], dout, inputs: [weight, ids] }) {
    // forward: out[r, :] = weight[ids[r], :]
    if (dweight) {
      dout.backend.kernels.embeddingBackward(
        dweight.storage,
        dout.storage,
        ids.storage,
        ids.size,
        weight.shape[1],
      );
    }
  },
};

/**
 * Rows of `weight` (V, C) picked by the i32 `ids`: output shape `[...ids.shape, C]`.
 *
 * @example
 * ```ts
 * import { embedding, tensor } from "@metatokens/tensor";
 * const table = tensor([0, 1, 10, 11, 20, 21], [3, 2]);
 * const ids = tensor([2, 0], [2], { dtype: "i32" });
 * console.log(embedding(table, ids).dataSync()); // Float32Array [20, 21, 0, 1]
 * ```
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  assertF32("embedding", weight);
  if (weight.rank !== 2) {
    throw new RangeError(
      `Cannot embedding with a table of shape ${formatShape(weight.shape)}: expected [V, C]`,
    );
  }
  assertIndices("embedding", "ids", ids, weight.shape[0]);
  return apply(embeddingOp, [weight, ids], null);
}
