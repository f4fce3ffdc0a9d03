/**
 * Inverted dropout with a mask regenerated from the counter-based RNG.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import type { Rng } from "../rng.ts";
import { empty, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";

/** Attributes of a dropout node: the probability and the RNG block its mask uses. */
export interface DropoutAttrs {
  /** Probability of zeroing an element. */
  p: number;
  /** Stream key ({@linkcode Rng.key}). */
  key: number;
  /** First draw of the block. */
  offset: number;
}

/** The dropout op; no mask is stored, backward recomputes it from (key, offset). */
export const dropoutOp: OpDef<DropoutAttrs> = {
  name: "dropout",
  forward([x], { p, key, offset }) {
    const out = empty(x.shape, "f32", { backend: x.backend });
    x.backend.kernels.dropoutForward(out.storage, x.storage, x.size, p, key, offset);
    return { out };
  },
  backward({ grads: [dx], dout, attrs: { p, key, offset } }) {
    // forward: out[i] = keep(i) ? x[i] / (1 − p) : 0
    if (dx) dout.backend.kernels.dropoutBackward(dx.storage, dout.storage, dout.size, p, key, offset);
  },
};

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1−p).
 * Returns `x` itself when `p` is 0 or `training` is false.
 *
 * @example
 * ```ts
 * import { dropout, Rng, tensor } from "@metatokens/tensor";
 * const y = dropout(tensor([1, 1, 1, 1]), 0.5, new Rng(0));
 * console.log(y.dataSync()); // each element 0 or 2
 * ```
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  assertF32("dropout", x);
  if (!(p >= 0 && p < 1)) {
    throw new RangeError(`Cannot dropout with probability ${p}: expected a number in [0, 1)`);
  }
  if (p === 0 || !training) return x;
  return apply(dropoutOp, [x], { p, key: rng.key, offset: rng.take(x.size) });
}
