/**
 * ReLU.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";
import { unaryOp } from "./_unary.ts";

/** The relu op: `out = max(x, 0)`. */
export const reluOp: OpDef<null> = unaryOp("relu");

/**
 * ReLU of every element.
 *
 * @example
 * ```ts
 * import { relu, tensor } from "@metatokens/tensor";
 * console.log(relu(tensor([-1, 2])).dataSync()); // Float32Array [0, 2]
 * ```
 */
export function relu(x: Tensor): Tensor {
  assertF32("relu", x);
  return apply(reluOp, [x], null);
}
