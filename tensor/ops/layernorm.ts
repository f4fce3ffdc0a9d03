/**
 * Layer normalisation over the last axis (biased variance, as PyTorch).
 *
 * @module
 */

import { apply, type OpDef } from "../autograd.ts";
import { empty, formatShape, type Tensor } from "../tensor.ts";
import { assertF32, assertFinite } from "./_check.ts";

/** The layernorm op: inputs `[x, weight, bias]`, saves mean and rstd (N). */
export const layernormOp: OpDef<number> = {
  name: "layernorm",
  forward([x, w, b], eps) {
    const c = x.shape.at(-1)!;
    const n = x.size / c;
    const backend = x.backend;
    const out = empty(x.shape, "f32", { backend });
    const mean = empty([n], "f32", { backend }); // (N)
    const rstd = empty([n], "f32", { backend }); // (N)
    backend.kernels.layernormForward(
      out.storage,
      mean.storage,
      rstd.storage,
      x.storage,
      w.storage,
      b.storage,
      n,
      c,
      eps,
    );
    return { out, saved: [mean, rstd] };
  },
  backward({ grads: [dx, dw, db], dout, inputs: [x, w], saved: [mean, rstd] }) {
    const c = x.shape.at(-1)!;
    const n = x.size / c;
    const backend = dout.backend;
    // forward: out = (x − mean) · rstd · weight + bias. The kernel adds into all
    // three gradients; scratch stands in for those nobody asked for.
    const scratch = [dx ? null : x.shape, dw ? null : [c], db ? null : [c]]
      .map((shape) => shape && empty(shape, "f32", { backend }));
    backend.kernels.layernormBackward(
      (dx ?? scratch[0]!).storage,
      (dw ?? scratch[1]!).storage,
      (db ?? scratch[2]!).storage,
      dout.storage,
      mean.storage,
      rstd.storage,
      x.storage,
      w.storage,
      n,
      c,
    );
    for (const t of scratch) t?.dispose();
  },
};

/**
 * Normalises the last axis of `x` to zero mean and unit variance, then
 * scales by `weight` and shifts by `bias` (both of that axis' length).
 *
 * @example
 * ```ts
 * import { layernorm, tensor } from "@metatokens/tensor";
 * const y = layernorm(tensor([1, 2, 3]), tensor([1, 1, 1]), tensor([0, 0, 0]));
 * console.log(y.dataSync()); // ≈ Float32Array [-1.2247, 0, 1.2247]
 * ```
 */
export function layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  assertF32("layernorm", x, weight, bias);
  assertFinite("layernorm", "eps", eps);
  if (eps <= 0) throw new RangeError(`Cannot layernorm with eps ${eps}: expected a positive number`);
  const c = x.shape.at(-1) ?? 0;
  for (const p of [weight, bias]) {
    if (p.rank !== 1 || p.shape[0] !== c) {
      throw new RangeError(
        `Cannot layernorm a tensor of shape ${formatShape(x.shape)} with a parameter of shape ${
          formatShape(p.shape)
        }: expected [${c}]`,
      );
    }
  }
  return apply(layernormOp, [x, weight, bias], eps);
}
