/**
 * Rotary position embedding (RoPE, θ = 10000 by default) in the rotate-half
 * convention of GPT-NeoX / HF Llama: pair i is dimensions i and i + HS/2.
 * Rotations are per token, from tables built on the host, so any positions
 * work: ordinary 0…T−1, identity rotation at meta tokens (the "no position"
 * ablation: position 0, which keeps only YaRN's mscale), fractional positions
 * with Gaussian noise, and the original positions of gathered meta tokens.
 *
 * @module
 */

import {
  apply,
  type Backend,
  defineOp,
  empty,
  formatShape,
  type OpDef,
  type Rng,
  type Tensor,
  tensor,
} from "@metatokens/tensor";
import { attentionDims } from "./causal_attention.ts";
import { attentionKernels } from "./dispatch.ts";
import { flatIndices, type MetaPositions } from "./meta_positions.ts";
import { ropeFrequencies, yarnMscale, type YarnOptions } from "./yarn.ts";

/** RoPE settings. */
export interface RopeOptions {
  /** Head size HS (even). */
  headSize: number;
  /** Base θ (default 10000). */
  theta?: number;
  /** YaRN context extension. */
  yarn?: YarnOptions;
}

/** Per-token rotation tables, (N, HS/2) each, mscale folded in. */
export interface RopeTables {
  /** mscale · cos(position · θ′_i). */
  cos: Tensor;
  /** mscale · sin(position · θ′_i). */
  sin: Tensor;
}

/** Options of {@linkcode tokenPositions}. */
export interface PositionOptions {
  /** Give these tokens position 0: an identity rotation (the "no position at meta tokens" ablation). */
  zeroAt?: MetaPositions;
  /** Add N(0, σ²) to every position (fractional positions). */
  noiseStd?: number;
  /** Generator for the noise. */
  rng?: Rng;
  /** Position of each row's first token (decoding with a cache: the rows already cached); default 0. */
  start?: ArrayLike<number>;
}

/**
 * Positions of a (B, T) batch as floats: start_b + t for token t of row b, with the ablations applied.
 *
 * @example
 * ```ts
 * import { metaPositions, tokenPositions } from "@metatokens/attention";
 * console.log(tokenPositions(1, 4, { zeroAt: metaPositions([[2]], 4) })); // Float64Array [0, 1, 0, 3]
 * ```
 */
export function tokenPositions(batch: number, length: number, options: PositionOptions = {}): Float64Array {
  const pos = new Float64Array(batch * length);
  const start = options.start;
  if (start && start.length !== batch) {
    throw new RangeError(`Cannot start ${batch} rows at ${start.length} positions: expected one per row`);
  }
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) pos[b * length + t] = (start?.[b] ?? 0) + t;
  }
  if (options.noiseStd !== undefined && options.noiseStd !== 0) {
    if (!(options.noiseStd > 0) || !options.rng) {
      throw new RangeError(`Cannot add position noise σ = ${options.noiseStd}: expected σ > 0 and an rng`);
    }
    for (let i = 0; i < pos.length; i++) pos[i] += options.noiseStd * options.rng.normal();
  }
  if (options.zeroAt) { for (const i of flatIndices(options.zeroAt)) pos[i] = 0; }
  return pos;
}

/** Checks a RoPE head size, naming the bad value. */
export function validateRope(options: RopeOptions): void {
  const { headSize, theta = 10000 } = options;
  if (!Number.isInteger(headSize) || headSize < 2 || headSize % 2 !== 0) {
    throw new RangeError(`Cannot use RoPE with head size ${headSize}: expected an even positive integer`);
  }
  if (!(theta > 1) || !Number.isFinite(theta)) {
    throw new RangeError(`Cannot use RoPE base θ = ${theta}: expected > 1`);
  }
}

/**
 * cos/sin tables (N, HS/2) for the given token positions.
 *
 * @example
 * ```ts
 * import { ropeTables } from "@metatokens/attention";
 * const { cos } = ropeTables([0, 1], { headSize: 4 });
 * console.log(cos.dataSync()); // ≈ Float32Array [1, 1, 0.5403, 1]
 * ```
 */
export function ropeTables(
  positions: ArrayLike<number>,
  options: RopeOptions,
  backend?: Backend,
): RopeTables {
  validateRope(options);
  const { headSize, theta = 10000, yarn } = options;
  const half = headSize / 2;
  const freq = ropeFrequencies(headSize, theta, yarn);
  const m = yarn ? yarnMscale(yarn.scale, yarn.attnFactor ?? 1) : 1;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let n = 0; n < positions.length; n++) {
    for (let i = 0; i < half; i++) {
      const angle = positions[n] * freq[i];
      cos[n * half + i] = m * Math.cos(angle);
      sin[n * half + i] = m * Math.sin(angle);
    }
  }
  const shape = [positions.length, half];
  return { cos: tensor(cos, shape, { backend }), sin: tensor(sin, shape, { backend }) };
}

/** The RoPE op: inputs `[qkv (N, 3C), cos, sin]`, attribute NH. */
export const ropeOp: OpDef<number> = defineOp<number>({
  name: "attention.rope",
  forward([qkv, cos, sin], nh) {
    const c = qkv.shape.at(-1)! / 3, n = qkv.size / (3 * c);
    const out = empty(qkv.shape, "f32", { backend: qkv.backend });
    attentionKernels(qkv.backend).ropeForward(out.storage, qkv.storage, cos.storage, sin.storage, n, c, nh);
    return { out };
  },
  backward({ grads: [dqkv], dout, inputs: [qkv, cos, sin], attrs: nh }) {
    const c = qkv.shape.at(-1)! / 3, n = qkv.size / (3 * c);
    // forward: (q, k) pairs rotated by the tables; backward rotates the gradient back
    if (dqkv) {
      attentionKernels(dout.backend).ropeBackward(
        dqkv.storage,
        dout.storage,
        cos.storage,
        sin.storage,
        n,
        c,
        nh,
      );
    }
  },
});

/**
 * Rotates the q and k blocks of qkv (…, 3C) per token with `tables` (one row
 * per token, in order); v passes through.
 *
 * @example
 * ```ts
 * import { randn, Rng } from "@metatokens/tensor";
 * import { applyRope, ropeTables, tokenPositions } from "@metatokens/attention";
 * const qkv = randn([1, 3, 12], new Rng(0));
 * const tables = ropeTables(tokenPositions(1, 3), { headSize: 2 });
 * console.log(applyRope(qkv, tables, 2).shape); // [1, 3, 12]
 * ```
 */
export function applyRope(qkv: Tensor, tables: RopeTables, nHead: number): Tensor {
  const flat = qkv.rank === 3 ? qkv : null;
  const c = qkv.shape.at(-1)! / 3;
  if (flat) attentionDims(qkv, nHead);
  else if (qkv.rank !== 2 || !Number.isInteger(c) || c % nHead !== 0) {
    throw new RangeError(`Cannot apply RoPE to qkv of shape ${formatShape(qkv.shape)} with ${nHead} heads`);
  }
  const n = qkv.size / (3 * c);
  validateRope({ headSize: c / nHead });
  const half = c / nHead / 2;
  for (const t of [tables.cos, tables.sin]) {
    if (t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== half) {
      throw new RangeError(
        `Cannot apply RoPE tables of shape ${formatShape(t.shape)} to ${n} tokens of head size ${
          2 * half
        }: expected [${n}, ${half}]`,
      );
    }
  }
  return apply(ropeOp, [qkv, tables.cos, tables.sin], nHead);
}
