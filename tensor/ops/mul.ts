/**
 * Elementwise product with suffix broadcasting of the second operand.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, type Tensor } from "../tensor.ts";
import { assertF32, assertSuffixBroadcast } from "./_check.ts";

/** The mul op: `out[i] = a[i] · b[i % b.size]`. */
export const mulOp: OpDef<null> = {
  name: "mul",
  forward([a, b]) {
    const out = empty(a.shape, "f32", { backend: a.backend });
    a.backend.kernels.mul(out.storage, a.storage, b.storage, a.size, b.size);
    return { out };
  },
  backward({ grads: [da, db], dout, inputs: [a, b] }) {
    const { mulAcc, mulSumLeading } = dout.backend.kernels;
    // forward: out[i] = a[i] · b[i % nb]
    if (da) mulAcc(da.storage, dout.storage, b.storage, a.size, b.size);
    if (db) mulSumLeading(db.storage, dout.storage, a.storage, a.size / b.size, b.size);
  },
};

/**
 * `a · b` elementwise, where `b` has `a`'s shape, a suffix of it, or one element.
 *
 * @example
 * ```ts
 * import { mul, tensor } from "@metatokens/tensor";
 * console.log(mul(tensor([1, 2, 3]), tensor([2])).dataSync()); // Float32Array [2, 4, 6]
 * ```
 */
export function mul(a: Tensor, b: Tensor): Tensor {
  assertF32("mul", a, b);
  assertSuffixBroadcast("mul", a, b);
  return apply(mulOp, [a, b], null);
}
