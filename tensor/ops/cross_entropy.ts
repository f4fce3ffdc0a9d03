/**
 * Mean cross-entropy of logits against integer targets, ignoring target −1.
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32 } from "./_check.ts";
import { assertIndices } from "./_indices.ts";

/** The cross-entropy op: inputs `[logits (N, V), targets (N) i32]`, saves the log-sum-exp (N). */
export const crossEntropyOp: OpDef<null> = {
  name: "crossEntropy",
  forward([logits, targets]) {
    const v = logits.shape.at(-1)!;
    const n = logits.size / v;
    const backend = logits.backend;
    const loss = empty([], "f32", { backend }); // (1)
    const lse = empty([n], "f32", { backend }); // (N)
    backend.kernels.crossEntropyForward(loss.storage, lse.storage, logits.storage, targets.storage, n, v);
    return { out: loss, saved: [lse] };
  },
  backward({ grads: [dlogits], dout, inputs: [logits, targets], saved: [lse] }) {
    const v = logits.shape.at(-1)!;
    // forward: loss = mean over kept rows of (lse[r] − logits[r, t_r])
    if (dlogits) {
      dout.backend.kernels.crossEntropyBackward(
        dlogits.storage,
        dout.storage,
        lse.storage,
        logits.storage,
        targets.storage,
        logits.size / v,
        v,
      );
    }
  },
};

/**
 * Mean over positions of `−log softmax(logits)[target]`; positions whose
 * target is −1 are ignored (0 when every position is). `logits` is (…, V),
 * `targets` i32 with the leading shape.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from "@metatokens/tensor";
 * const logits = tensor([0, 0, 5, 0], [2, 2]);
 * const loss = crossEntropy(logits, tensor([1, -1], [2], { dtype: "i32" }));
 * console.log(loss.item()); // ≈ 0.6931 (log 2; the second row is ignored)
 * ```
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  assertF32("crossEntropy", logits);
  const lead = logits.shape.slice(0, -1);
  if (
    logits.rank < 1 || targets.rank !== lead.length || targets.shape.some((d, i) => d !== lead[i])
  ) {
    throw new RangeError(
      `Cannot crossEntropy logits of shape ${formatShape(logits.shape)} with targets of shape ${
        formatShape(targets.shape)
      }: expected targets of shape ${formatShape(lead)}`,
    );
  }
  assertIndices("crossEntropy", "targets", targets, logits.shape.at(-1)!, true);
  return apply(crossEntropyOp, [logits, targets], null);
}
