/**
 * GELU, exact erf form (PyTorch `approximate="none"`, the GPT-2 MLP in nanoGPT).
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";
import { unaryOp } from "./_unary.ts";

/** The gelu op: `out = 0.5 · x · (1 + erf(x / √2))`. */
export const geluOp: OpDef<null> = unaryOp("gelu");

/**
 * GELU of every element.
 *
 * @example
 * ```ts
 * import { gelu, tensor } from "@metatokens/tensor";
 * console.log(gelu(tensor([0, 1])).dataSync()); // ≈ Float32Array [0, 0.8413]
 * ```
 */
export function gelu(x: Tensor): Tensor {
  assertF32("gelu", x);
  return apply(geluOp, [x], null);
}
