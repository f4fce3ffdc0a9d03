/**
 * Softmax over the last axis.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";

/** The softmax op; backward uses the output it computed. */
export const softmaxOp: OpDef<null> = {
  name: "softmax",
  forward([x]) {
    const c = x.shape.at(-1)!;
    const out = empty(x.shape, "f32", { backend: x.backend });
    x.backend.kernels.softmaxForward(out.storage, x.storage, x.size / c, c);
    return { out };
  },
  backward({ grads: [dx], dout, out }) {
    const c = out.shape.at(-1)!;
    // forward: out = exp(x − logsumexp(x))
    if (dx) dout.backend.kernels.softmaxBackward(dx.storage, dout.storage, out.storage, out.size / c, c);
  },
};

/**
 * Softmax of the last axis (numerically stable).
 *
 * @example
 * ```ts
 * import { softmax, tensor } from "@metatokens/tensor";
 * console.log(softmax(tensor([0, 0])).dataSync()); // Float32Array [0.5, 0.5]
 * ```
 */
export function softmax(x: Tensor): Tensor {
  assertF32("softmax", x);
  if (x.rank === 0 || x.shape.at(-1) === 0) {
    throw new RangeError(`Cannot softmax a tensor of shape ${formatShape(x.shape)}: the last axis is empty`);
  }
  return apply(softmaxOp, [x], null);
}
