/**
 * Elementwise addition with suffix broadcasting of the second operand.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, type Tensor } from "../tensor.ts";
import { assertF32, assertSuffixBroadcast } from "./_check.ts";

/** The add op: `out[i] = a[i] + b[i % b.size]`. */
export const addOp: OpDef<null> = {
  name: "add",
  forward([a, b]) {
    const out = empty(a.shape, "f32", { backend: a.backend });
    a.backend.kernels.add(out.storage, a.storage, b.storage, a.size, b.size);
    return { out };
  },
  backward({ grads: [da, db], dout }) {
    const { axpy, sumLeading } = dout.backend.kernels;
    // forward: out[i] = a[i] + b[i % nb]
    if (da) axpy(da.storage, dout.storage, 1, dout.size);
    if (db) sumLeading(db.storage, dout.storage, dout.size / db.size, db.size, true);
  },
};

/**
 * `a + b`, where `b` has `a`'s shape, a suffix of it, or one element (a bias, a positional table).
 *
 * @example
 * ```ts
 * import { add, tensor } from "@metatokens/tensor";
 * const x = tensor([1, 2, 3, 4], [2, 2]);
 * console.log(add(x, tensor([10, 20])).dataSync()); // Float32Array [11, 22, 13, 24]
 * ```
 */
export function add(a: Tensor, b: Tensor): Tensor {
  assertF32("add", a, b);
  assertSuffixBroadcast("add", a, b);
  return apply(addOp, [a, b], null);
}
