/**
 * `@metatokens/attention`: the mechanism of "Language Modeling with Learned
 * Meta-Tokens" (arXiv 2509.16278) — flash-style causal attention, sparse
 * ragged meta-attention (and its dense reference), RoPE / YaRN / APE / NoPE,
 * and the inference-time ablations. Kernels register themselves on a
 * `@metatokens/tensor` backend through its extension point.
 *
 * @example
 * ```ts
 * import { randn, Rng } from "@metatokens/tensor";
 * import { applyRope, causalAttention, ropeTables, tokenPositions } from "@metatokens/attention";
 *
 * const [B, T, C, NH] = [2, 16, 32, 4];
 * const qkv = randn([B, T, 3 * C], new Rng(0));
 * const rope = ropeTables(tokenPositions(B, T), { headSize: C / NH });
 * const y = causalAttention(applyRope(qkv, rope, NH), NH);
 * console.log(y.shape); // [2, 16, 32]
 * ```
 *
 * @module
 */

export * from "./ape.ts";
export * from "./cached_attention.ts";
export * from "./causal_attention.ts";
export * from "./kernels.ts";
export * from "./dispatch.ts";
export { refAttentionKernels } from "./backends/ref/kernels.ts";
export * from "./meta_attention.ts";
export * from "./meta_positions.ts";
export * from "./rope.ts";
export * from "./rows.ts";
export * from "./yarn.ts";
