/**
 * Multiplication by a constant.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, type Tensor } from "../tensor.ts";
import { assertF32, assertFinite } from "./_check.ts";

/** The scale op: `out = s · a`. */
export const scaleOp: OpDef<number> = {
  name: "scale",
  forward([a], s) {
    const out = empty(a.shape, "f32", { backend: a.backend });
    a.backend.kernels.scale(out.storage, a.storage, s, a.size);
    return { out };
  },
  backward({ grads: [da], dout, attrs: s }) {
    // forward: out = s · a
    if (da) dout.backend.kernels.axpy(da.storage, dout.storage, s, dout.size);
  },
};

/**
 * `s · a` for a finite number `s`.
 *
 * @example
 * ```ts
 * import { scale, tensor } from "@metatokens/tensor";
 * console.log(scale(tensor([1, -2]), 0.5).dataSync()); // Float32Array [0.5, -1]
 * ```
 */
export function scale(a: Tensor, s: number): Tensor {
  assertF32("scale", a);
  assertFinite("scale", "factor", s);
  return apply(scaleOp, [a], s);
}
