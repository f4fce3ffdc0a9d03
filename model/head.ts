/**
 * The language-model head fused with its cross-entropy: logits = x · wteᵀ,
 * loss = mean over kept targets of −log softmax(logits)[target].
 *
 * The (N × V) logits of a GPT-2 batch are 2048 × 50304 floats (412 MB), and
 * most of a small model's step is this head. The fused op walks the rows in
 * chunks: each chunk's logits are computed, turned into loss and into the
 * logit gradient at once (as llm.c's fused classifier does), and folded into
 * d x and d wte, so no full logits tensor ever exists. The gradients are
 * computed for d loss = 1 during forward and scaled by the real d loss in
 * backward (one multiply, no second pass over the vocabulary). Rows whose
 * target is ignored are left out before the head runs.
 *
 * @module
 */

import {
  apply,
  defineOp,
  empty,
  formatShape,
  isGradEnabled,
  type OpDef,
  type Tensor,
  tensor,
} from "@metatokens/tensor";

/** Rows per chunk: (256 × 50304) logits = 51 MB of scratch. */
const CHUNK = 256;

/** Attributes of the fused head: the host targets (N), −1 where ignored. */
export interface LmHeadAttrs {
  /** (N) target ids. They stay on the host: the op picks the kept rows without a readback. */
  targets: Int32Array;
}

/** The fused head op: inputs `[x (N, C), wte (V, C)]`, host targets → scalar loss. */
export const lmHeadLossOp: OpDef<LmHeadAttrs> = defineOp<LmHeadAttrs>({
  name: "model.lmHeadLoss",
  forward([x, wte], { targets: host }) {
    const backend = x.backend;
    const k = backend.kernels;
    const [n, c] = x.shape, v = wte.shape[0];
    // Rows whose target is ignored (−1: the token before a meta token) cost nothing: gather the
    // others into a compact block first (10% of the head's work in meta pre-training).
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if (host[i] !== -1) keep.push(i);
    const count = keep.length;
    const needDx = isGradEnabled() && x.requiresGrad, needDw = isGradEnabled() && wte.requiresGrad;
    const dx = needDx ? empty([n, c], "f32", { backend }) : null; // (N, C): d loss / d x for d loss = 1
    const dw = needDw ? empty([v, c], "f32", { backend }) : null; // (V, C): d loss / d wte
    const out = empty([], "f32", { backend });
    if (count === 0) return { out, saved: [dx, dw].filter((t): t is Tensor => t !== null) };
    const rowIds = tensor(Int32Array.from(keep), [count], { dtype: "i32", backend });
    const kept = tensor(Int32Array.from(keep, (i) => host[i]), [count], { dtype: "i32", backend });
    const xc = empty([count, c], "f32", { backend }); // (count, C) rows with a target
    k.embeddingForward(xc.storage, x.storage, rowIds.storage, count, c);
    const dxc = dx ? empty([count, c], "f32", { backend }) : null;
    const rows = Math.min(CHUNK, count);
    const logits = empty([rows, v], "f32", { backend }); // (R, V) scratch
    const dlogits = dx || dw ? empty([rows, v], "f32", { backend }) : null;
    const lse = empty([rows], "f32", { backend });
    const chunkLoss = empty([1], "f32", { backend }), chunkScale = empty([1], "f32", { backend });
    k.fill(out.storage, 0, 1);
    for (let r0 = 0; r0 < count; r0 += CHUNK) {
      const r = Math.min(CHUNK, count - r0);
      const xs = backend.slice(xc.storage, r0 * c, r * c);
      const ts = backend.slice(kept.storage, r0, r);
      k.gemm(logits.storage, xs, wte.storage, null, {
        batch: 1,
        m: r,
        n: v,
        k: c,
        transA: false,
        transB: true,
        accumulate: false,
      });
      k.crossEntropyForward(chunkLoss.storage, lse.storage, logits.storage, ts, r, v);
      k.axpy(out.storage, chunkLoss.storage, r / count, 1); // loss += (r / count) · chunk mean, on device
      if (!dlogits) continue;
      // The kernel averages over the chunk's r rows; scale so the mean is over all kept rows.
      k.fill(chunkScale.storage, r / count, 1); // a kernel, not a host write: no GPU flush per chunk
      k.fill(dlogits.storage, 0, r * v);
      k.crossEntropyBackward(dlogits.storage, chunkScale.storage, lse.storage, logits.storage, ts, r, v);
      if (dxc) {
        k.gemm(backend.slice(dxc.storage, r0 * c, r * c), dlogits.storage, wte.storage, null, {
          batch: 1,
          m: r,
          n: c,
          k: v,
          transA: false,
          transB: false,
          accumulate: false,
        });
      }
      if (dw) {
        k.gemm(dw.storage, dlogits.storage, xs, null, {
          batch: 1,
          m: v,
          n: c,
          k: r,
          transA: true,
          transB: false,
          accumulate: r0 > 0,
        });
      }
    }
    // Scatter the compact row gradients back; ignored rows keep a zero gradient.
    if (dx && dxc) k.embeddingBackward(dx.storage, dxc.storage, rowIds.storage, count, c);
    for (const t of [rowIds, kept, xc, dxc, logits, dlogits, lse, chunkLoss, chunkScale]) t?.dispose();
    return { out, saved: [dx, dw].filter((t): t is Tensor => t !== null) };
  },
  backward({ grads: [dx, dw], dout, inputs: [x, wte], saved }) {
    // forward: the saved tensors are d loss / d x and d loss / d wte for d loss = 1
    const k = dout.backend.kernels;
    let i = 0;
    for (const [grad, needed] of [[dx, x.requiresGrad], [dw, wte.requiresGrad]] as const) {
      if (!needed) continue;
      const g = saved[i++];
      if (!grad || !g) continue;
      k.scaleBy(g.storage, dout.storage, g.size);
      k.axpy(grad.storage, g.storage, 1, g.size);
    }
  },
});

/**
 * Mean cross-entropy of `x · wteᵀ` against `targets` (−1 ignored), fused.
 * x (N, C), wte (V, C), targets (N) host ids.
 *
 * @example
 * ```ts
 * import { tensor } from "@metatokens/tensor";
 * import { lmHeadLoss } from "@metatokens/model";
 * const x = tensor([1, 0, 0, 1], [2, 2]);
 * const wte = tensor([0, 0, 0, 0, 0, 0], [3, 2]);
 * console.log(lmHeadLoss(x, wte, Int32Array.from([2, -1])).item()); // ≈ ln 3 = 1.0986
 * ```
 */
export function lmHeadLoss(x: Tensor, wte: Tensor, targets: Int32Array): Tensor {
  const [n, c] = x.shape;
  if (x.rank !== 2 || wte.rank !== 2 || wte.shape[1] !== c || targets.length !== n) {
    throw new RangeError(
      `Cannot apply the head to x ${formatShape(x.shape)}, wte ${
        formatShape(wte.shape)
      } and ${targets.length} ` +
        `targets: expected [N, C], [V, C], N`,
    );
  }
  const t = targets;
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== -1 && (t[i] < 0 || t[i] >= wte.shape[0])) {
      throw new RangeError(
        `Cannot use target ${t[i]} at position ${i}: expected −1 or an id in [0, ${wte.shape[0]})`,
      );
    }
  }
  return apply(lmHeadLossOp, [x, wte], { targets });
}
