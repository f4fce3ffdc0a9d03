/**
 * Multi-head causal self-attention on a fused (B, T, 3C) qkv, flash style:
 * backward recomputes the probabilities from the saved log-sum-exp
 * (B, NH, T) and never stores a T × T matrix.
 *
 * @module
 */

import { apply, defineOp, empty, formatShape, type OpDef, type Tensor } from "@metatokens/tensor";
import type { AttentionDims } from "./kernels.ts";
import { attentionKernels } from "./dispatch.ts";

/** The attention op: inputs `[qkv]` or `[qkv, metaFlags (B,T) i32]`; saves lse (B, NH, T). */
export const attentionOp: OpDef<AttentionDims> = defineOp<AttentionDims>({
  name: "attention.causal",
  forward([qkv, flags], d) {
    const backend = qkv.backend;
    const out = empty([d.b, d.t, d.c], "f32", { backend }); // (B, T, C)
    const lse = empty([d.b, d.nh, d.t], "f32", { backend }); // (B, NH, T)
    attentionKernels(backend).attentionForward(
      out.storage,
      lse.storage,
      qkv.storage,
      flags?.storage ?? null,
      d,
    );
    return { out, saved: [lse] };
  },
  backward({ grads: [dqkv], dout, inputs: [qkv, flags], out, saved: [lse], attrs: d }) {
    // forward: out_i = Σ_j softmax_j(q_i·k_j/√HS) v_j over allowed j ≤ i
    if (dqkv) {
      attentionKernels(dout.backend).attentionBackward(
        dqkv.storage,
        dout.storage,
        out.storage,
        lse.storage,
        qkv.storage,
        flags?.storage ?? null,
        d,
      );
    }
  },
});

/** Checks a (B, T, 3C) qkv against the head count and returns the call's sizes. */
export function attentionDims(qkv: Tensor, nHead: number): AttentionDims {
  const [b, t, c3] = qkv.shape;
  if (qkv.rank !== 3 || c3 % 3 !== 0) {
    throw new RangeError(`Cannot attend over qkv of shape ${formatShape(qkv.shape)}: expected [B, T, 3C]`);
  }
  const c = c3 / 3;
  if (!Number.isInteger(nHead) || nHead < 1 || c % nHead !== 0) {
    throw new RangeError(
      `Cannot split width ${c} into ${nHead} heads: the head count must be a positive divisor of the width`,
    );
  }
  if (qkv.dtype !== "f32") throw new TypeError(`Cannot attend over qkv of dtype ${qkv.dtype}: expected f32`);
  return { b, t, c, nh: nHead };
}

/**
 * Causal multi-head attention: qkv (B, T, 3C) → (B, T, C), scale 1/√HS.
 *
 * @example
 * ```ts
 * import { randn, Rng } from "@metatokens/tensor";
 * import { causalAttention } from "@metatokens/attention";
 * const qkv = randn([2, 5, 3 * 8], new Rng(0));
 * console.log(causalAttention(qkv, 2).shape); // [2, 5, 8]
 * ```
 */
export function causalAttention(qkv: Tensor, nHead: number): Tensor {
  return apply(attentionOp, [qkv], attentionDims(qkv, nHead));
}

/**
 * The dense meta-attention core: causal attention restricted to pairs of
 * meta tokens (`flags` (B, T) i32, 1 at meta positions); queries that are not
 * meta tokens get a zero output. The sparse path computes the same thing on
 * the meta tokens alone.
 *
 * @example
 * ```ts
 * import { randn, Rng, tensor } from "@metatokens/tensor";
 * import { maskedMetaAttention } from "@metatokens/attention";
 * const qkv = randn([1, 4, 12], new Rng(0)); // C = 4: one head of 4
 * const flags = tensor([0, 1, 0, 1], [1, 4], { dtype: "i32" });
 * console.log(maskedMetaAttention(qkv, flags, 1).dataSync().slice(0, 4)); // Float32Array [0, 0, 0, 0]
 * ```
 */
export function maskedMetaAttention(qkv: Tensor, flags: Tensor, nHead: number): Tensor {
  const d = attentionDims(qkv, nHead);
  if (flags.dtype !== "i32" || flags.rank !== 2 || flags.shape[0] !== d.b || flags.shape[1] !== d.t) {
    throw new RangeError(
      `Cannot use meta flags of shape ${
        formatShape(flags.shape)
      } and dtype ${flags.dtype}: expected i32 [${d.b}, ${d.t}]`,
    );
  }
  return apply(attentionOp, [qkv, flags], d);
}
