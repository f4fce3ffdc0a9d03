/**
 * Reshape: a view that shares the input's buffer.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { formatShape, shapeSize, Tensor } from "../tensor.ts";

/** The reshape op; its output aliases the input's buffer. */
export const reshapeOp: OpDef<readonly number[]> = {
  name: "reshape",
  forward([x], shape) {
    const out = new Tensor(x.backend, x.storage, shape, x.dtype, x.base ?? x);
    return { out };
  },
  backward({ grads: [dx], dout }) {
    // forward: out = x viewed with another shape (same elements, same order)
    if (dx) dout.backend.kernels.axpy(dx.storage, dout.storage, 1, dout.size);
  },
};

/**
 * The same data under a new shape (no copy). One dimension may be −1 and is
 * inferred.
 *
 * @example
 * ```ts
 * import { reshape, tensor } from "@metatokens/tensor";
 * console.log(reshape(tensor([1, 2, 3, 4, 5, 6]), [2, -1]).shape); // [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const holes = shape.filter((d) => d === -1).length;
  const bad = (): Error =>
    new RangeError(`Cannot reshape a tensor of shape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  if (holes > 1) throw bad();
  let resolved = shape;
  if (holes === 1) {
    const known = shapeSize(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw bad();
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (shapeSize(resolved) !== x.size) throw bad();
  return apply(reshapeOp, [x], resolved);
}
