/**
 * Meta-attention (paper §3, Appendix A): attention with its own q/k/v/o
 * weights in which only meta tokens attend, and only to earlier meta tokens
 * (mask P[b,i,j] = 0 iff i and j are both meta tokens, −∞ otherwise, plus the
 * causal mask). Every other position receives only the output bias.
 *
 * Two implementations that agree up to float rounding:
 * - {@linkcode metaAttention}, the real one: per batch row, gather the meta
 *   positions, project only those rows through `c_attn`, attend among them
 *   causally (by original position), project with `c_proj`, scatter back.
 * - {@linkcode denseMetaAttention}, the reference: project every position and
 *   run masked attention over the full (T × T) pattern.
 *
 * @module
 */

import {
  add,
  apply,
  defineOp,
  embedding,
  empty,
  formatShape,
  matmul,
  type OpDef,
  reshape,
  type Tensor,
  tensor,
  zeros,
} from "@metatokens/tensor";
import { type AttentionCache, cachedAttention } from "./cached_attention.ts";
import { maskedMetaAttention } from "./causal_attention.ts";
import { attentionKernels } from "./dispatch.ts";
import { flatIndices, metaFlags, type MetaPositions } from "./meta_positions.ts";
import { applyRope, type RopeTables } from "./rope.ts";
import { gatherRows, scatterRows } from "./rows.ts";

/** Weights of one meta-attention block, in `nn.Linear` layout (out, in). */
export interface MetaAttentionParams {
  /** (3C, C). */
  cAttnWeight: Tensor;
  /** (3C), or null without biases. */
  cAttnBias: Tensor | null;
  /** (C, C). */
  cProjWeight: Tensor;
  /** (C), or null without biases. */
  cProjBias: Tensor | null;
}

/** Options of the meta-attention functions. */
export interface MetaAttentionOptions {
  /** Heads NH (must divide C). */
  nHead: number;
  /** RoPE tables for all B·T tokens in order (the same ones the causal attention uses). */
  rope?: RopeTables;
  /**
   * Decoding: a cache of meta keys and values per batch row (`past` counts each row's cached
   * meta tokens); the meta tokens of x are appended and attend over their row's cached ones.
   */
  cache?: AttentionCache;
}

/** Attributes of the ragged attention node. */
interface RaggedAttrs {
  /** (B + 1) segment offsets into the gathered rows. */
  offsets: Int32Array;
  /** Width C. */
  c: number;
  /** Heads NH. */
  nh: number;
}

/** Causal attention over each segment of gathered rows (N, 3C) → (N, C); saves lse (NH · N). */
const raggedAttentionOp: OpDef<RaggedAttrs> = defineOp<RaggedAttrs>({
  name: "attention.ragged",
  forward([qkv], { offsets, c, nh }) {
    const backend = qkv.backend;
    const n = qkv.shape[0];
    const out = empty([n, c], "f32", { backend }); // (N, C)
    const lse = empty([nh * n], "f32", { backend }); // per segment: (NH, len)
    const k = attentionKernels(backend);
    for (let b = 0; b + 1 < offsets.length; b++) {
      const start = offsets[b], len = offsets[b + 1] - start;
      if (len === 0) continue;
      k.attentionForward(
        backend.slice(out.storage, start * c, len * c),
        backend.slice(lse.storage, nh * start, nh * len),
        backend.slice(qkv.storage, start * 3 * c, len * 3 * c),
        null,
        { b: 1, t: len, c, nh },
      );
    }
    return { out, saved: [lse] };
  },
  backward({ grads: [dqkv], dout, inputs: [qkv], out, saved: [lse], attrs: { offsets, c, nh } }) {
    if (!dqkv) return;
    const backend = dout.backend;
    const k = attentionKernels(backend);
    // forward: per segment, out = causal attention of its own rows
    for (let b = 0; b + 1 < offsets.length; b++) {
      const start = offsets[b], len = offsets[b + 1] - start;
      if (len === 0) continue;
      k.attentionBackward(
        backend.slice(dqkv.storage, start * 3 * c, len * 3 * c),
        backend.slice(dout.storage, start * c, len * c),
        backend.slice(out.storage, start * c, len * c),
        backend.slice(lse.storage, nh * start, nh * len),
        backend.slice(qkv.storage, start * 3 * c, len * 3 * c),
        null,
        { b: 1, t: len, c, nh },
      );
    }
  },
});

function check(
  x: Tensor,
  meta: MetaPositions,
  p: MetaAttentionParams,
  nHead: number,
): [number, number, number] {
  const [b, t, c] = x.shape;
  if (x.rank !== 3) {
    throw new RangeError(
      `Cannot run meta-attention on x of shape ${formatShape(x.shape)}: expected [B, T, C]`,
    );
  }
  if (meta.batch !== b || meta.length !== t) {
    throw new RangeError(
      `Cannot use meta positions for [${meta.batch}, ${meta.length}] with x of shape ${formatShape(x.shape)}`,
    );
  }
  if (!Number.isInteger(nHead) || nHead < 1 || c % nHead !== 0) {
    throw new RangeError(
      `Cannot split width ${c} into ${nHead} heads: the head count must be a positive divisor of the width`,
    );
  }
  const expect = (w: Tensor | null, shape: number[], what: string): void => {
    if (w && (w.rank !== shape.length || w.shape.some((d, i) => d !== shape[i]))) {
      throw new RangeError(
        `Cannot use ${what} of shape ${formatShape(w.shape)}: expected ${formatShape(shape)}`,
      );
    }
  };
  expect(p.cAttnWeight, [3 * c, c], "c_attn weight");
  expect(p.cAttnBias, [3 * c], "c_attn bias");
  expect(p.cProjWeight, [c, c], "c_proj weight");
  expect(p.cProjBias, [c], "c_proj bias");
  return [b, t, c];
}

/**
 * Sparse, ragged meta-attention: cost proportional to the number of meta
 * tokens, not to T. x (B, T, C) → (B, T, C).
 *
 * @example
 * ```ts
 * import { randn, Rng } from "@metatokens/tensor";
 * import { metaAttention, metaPositions } from "@metatokens/attention";
 * const rng = new Rng(0);
 * const x = randn([2, 6, 8], rng);
 * const params = {
 *   cAttnWeight: randn([24, 8], rng, 0.02), cAttnBias: null,
 *   cProjWeight: randn([8, 8], rng, 0.02), cProjBias: null,
 * };
 * const y = metaAttention(x, metaPositions([[1, 4], [0]], 6), params, { nHead: 2 });
 * console.log(y.shape); // [2, 6, 8]
 * ```
 */
export function metaAttention(
  x: Tensor,
  meta: MetaPositions,
  p: MetaAttentionParams,
  options: MetaAttentionOptions,
): Tensor {
  const [b, t, c] = check(x, meta, p, options.nHead);
  const backend = x.backend;
  const flat = reshape(x, [b * t, c]);
  let out: Tensor;
  if (meta.positions.length === 0) {
    out = zeros([b * t, c], { backend }); // no meta token: nothing attends
  } else {
    const index = tensor(flatIndices(meta), [meta.positions.length], { dtype: "i32", backend });
    let qkv = matmul(gatherRows(flat, index), p.cAttnWeight, {
      transB: true,
      bias: p.cAttnBias ?? undefined,
    });
    if (options.rope) {
      // Rotate each gathered token by its original position.
      const rows = { cos: embedding(options.rope.cos, index), sin: embedding(options.rope.sin, index) };
      qkv = applyRope(qkv, rows, options.nHead);
    }
    const attended = options.cache
      ? cachedAttention(qkv, options.cache, options.nHead, meta.offsets)
      : apply(raggedAttentionOp, [qkv], { offsets: meta.offsets, c, nh: options.nHead });
    out = scatterRows(matmul(attended, p.cProjWeight, { transB: true }), index, b * t);
  }
  // Every position receives the c_proj bias, as in the dense form.
  if (p.cProjBias) out = add(out, p.cProjBias);
  return reshape(out, [b, t, c]);
}

/**
 * Dense meta-attention, the reference: every position is projected and the
 * full masked (T × T) attention runs. x (B, T, C) → (B, T, C).
 *
 * @example
 * ```ts
 * import { randn, Rng } from "@metatokens/tensor";
 * import { denseMetaAttention, metaPositions } from "@metatokens/attention";
 * const rng = new Rng(0);
 * const x = randn([1, 4, 8], rng);
 * const params = {
 *   cAttnWeight: randn([24, 8], rng, 0.02), cAttnBias: null,
 *   cProjWeight: randn([8, 8], rng, 0.02), cProjBias: null,
 * };
 * console.log(denseMetaAttention(x, metaPositions([[1, 3]], 4), params, { nHead: 2 }).shape); // [1, 4, 8]
 * ```
 */
export function denseMetaAttention(
  x: Tensor,
  meta: MetaPositions,
  p: MetaAttentionParams,
  options: MetaAttentionOptions,
): Tensor {
  const [b, t] = check(x, meta, p, options.nHead);
  if (options.cache) {
    throw new Error("Cannot decode with a cache through dense meta-attention: use metaAttention");
  }
  let qkv = matmul(x, p.cAttnWeight, { transB: true, bias: p.cAttnBias ?? undefined });
  if (options.rope) qkv = applyRope(qkv, options.rope, options.nHead);
  const flags = tensor(metaFlags(meta), [b, t], { dtype: "i32", backend: x.backend });
  const attended = maskedMetaAttention(qkv, flags, options.nHead);
  return matmul(attended, p.cProjWeight, { transB: true, bias: p.cProjBias ?? undefined });
}
