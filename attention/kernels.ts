/**
 * The attention kernel contract: what every backend's attention kernels
 * compute, in the argument order of `@metatokens/tensor`'s kernel contract
 * (`xForward(out, caches…, inputs…, dims)`,
 * `xBackward(dinputs…, dout, caches…, inputs…, dims)`). The kernels
 * themselves live per backend (`backends/ref`, `backends/wasm`,
 * `backends/webgpu`); `attentionKernels` in `dispatch.ts` picks them.
 *
 * Layout (llm.c): `qkv` is (B, T, 3C) with q, k, v in column blocks of C and
 * head h at columns h·HS … h·HS + HS − 1 of each block; `out` is (B, T, C);
 * `lse` is (B, NH, T). `meta`, when given, is an i32 (B, T) buffer of 0/1
 * flags and restricts attention to pairs of meta tokens (the paper's mask P);
 * a query with no allowed key gets a zero output and lse = −∞.
 *
 * @module
 */

/** Sizes of one attention call. */
export interface AttentionDims {
  /** Batch rows B. */
  b: number;
  /** Sequence length T. */
  t: number;
  /** Width C = NH · HS. */
  c: number;
  /** Heads NH. */
  nh: number;
}

/** Sizes of one cached-attention call: one sequence, T new rows after `past` cached ones. */
export interface CachedAttentionDims {
  /** New rows T (queries, and the keys and values they append). */
  t: number;
  /** Rows already in the cache before the call. */
  past: number;
  /** Width C = NH · HS. */
  c: number;
  /** Heads NH. */
  nh: number;
}

/** Every attention kernel a backend provides. */
export interface AttentionKernels<F, I> {
  /** out (B,T,C), lse (B,NH,T) from qkv (B,T,3C): causal softmax(q·kᵀ/√HS)·v, masked by meta when given. */
  attentionForward(out: F, lse: F, qkv: F, meta: I | null, d: AttentionDims): void;
  /**
   * dqkv (B,T,3C) += gradient through the forward from dout (B,T,C), the forward's caches out (B,T,C)
   * and lse (B,NH,T) (the probabilities are recomputed from lse), and its inputs qkv and meta.
   */
  attentionBackward(dqkv: F, dout: F, out: F, lse: F, qkv: F, meta: I | null, d: AttentionDims): void;
  /**
   * Decoding with a KV cache, one sequence: appends the k and v blocks of qkv (T,3C) to
   * kCache, vCache (≥ past+T, C) at rows past … past+T−1, then out (T,C): row i is the causal
   * softmax(q_i·kᵀ/√HS)·v over cached rows j ≤ past + i (the forward of `attentionForward` for the
   * last T rows of a past+T sequence; no lse: nothing differentiates through decoding).
   */
  attentionCachedForward(out: F, kCache: F, vCache: F, qkv: F, d: CachedAttentionDims): void;
  /** out (N,3C): q and k blocks rotated by (cos, sin) (N, HS/2) in rotate-half pairs; v copied. */
  ropeForward(out: F, inp: F, cos: F, sin: F, n: number, c: number, nh: number): void;
  /** dinp (N,3C) += the inverse rotation of dout. */
  ropeBackward(dinp: F, dout: F, cos: F, sin: F, n: number, c: number, nh: number): void;
}
