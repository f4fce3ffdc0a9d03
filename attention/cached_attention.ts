/**
 * Attention over a KV cache, for decoding: the rows given are the newest of
 * their sequences; their keys and values are appended to the cache and each
 * attends causally over everything its sequence has cached. The same op
 * serves the causal attention (one segment per batch row) and meta-attention
 * (one segment of gathered meta rows per batch row, over a cache of meta keys
 * only — the sparse rule: a meta token attends to the earlier meta tokens and
 * itself). Forward only: nothing differentiates through decoding.
 *
 * @module
 */

import { apply, defineOp, empty, formatShape, type OpDef, reshape, type Tensor } from "@metatokens/tensor";
import { attentionKernels } from "./dispatch.ts";

/** Where a cached attention call keeps its keys and values. */
export interface AttentionCache {
  /** Keys (R, S, C): R cache rows (one per sequence), S rows of capacity each. */
  readonly k: Tensor;
  /** Values (R, S, C). */
  readonly v: Tensor;
  /** The cache row of each segment. */
  readonly rows: ArrayLike<number>;
  /** Rows each segment's cache row holds before the call. */
  readonly past: ArrayLike<number>;
}

interface CachedAttrs {
  /** (segments + 1) offsets into the rows of qkv. */
  offsets: ArrayLike<number>;
  rows: ArrayLike<number>;
  past: ArrayLike<number>;
  c: number;
  nh: number;
  capacity: number;
}

/** Inputs `[qkv (N, 3C), k cache (R, S, C), v cache (R, S, C)]` → (N, C); the caches are written. */
const cachedAttentionOp: OpDef<CachedAttrs> = defineOp<CachedAttrs>({
  name: "attention.cached",
  forward([qkv, k, v], { offsets, rows, past, c, nh, capacity }) {
    const backend = qkv.backend;
    const n = qkv.size / (3 * c);
    const out = empty([n, c], "f32", { backend }); // (N, C)
    const kernels = attentionKernels(backend);
    for (let s = 0; s + 1 < offsets.length; s++) {
      const start = offsets[s], len = offsets[s + 1] - start;
      if (len === 0) continue;
      const row = rows[s] * capacity * c;
      kernels.attentionCachedForward(
        backend.slice(out.storage, start * c, len * c),
        backend.slice(k.storage, row, capacity * c),
        backend.slice(v.storage, row, capacity * c),
        backend.slice(qkv.storage, start * 3 * c, len * 3 * c),
        { t: len, past: past[s], c, nh },
      );
    }
    return { out, saved: [] };
  },
  backward() {
    throw new Error("Cannot differentiate through cached attention: it serves decoding only (use noGrad)");
  },
});

/**
 * Appends the keys and values of `qkv` to `cache` and attends: segment s of
 * qkv's rows (`offsets[s]` … `offsets[s + 1] − 1`, all rows when `offsets` is
 * omitted and qkv is (B, T, 3C): one segment per batch row) is the newest rows
 * of cache row `cache.rows[s]`, which held `cache.past[s]` rows before; row i
 * of a segment attends to that cache row's rows 0 … past + i. Returns
 * (…, C) in qkv's leading shape. Call {@linkcode AttentionCache}'s owner to
 * advance `past` afterwards.
 *
 * @example
 * ```ts
 * import { noGrad, randn, Rng, zeros } from "@metatokens/tensor";
 * import { cachedAttention, causalAttention } from "@metatokens/attention";
 * const qkv = randn([1, 5, 3 * 8], new Rng(0));
 * const k = zeros([1, 5, 8]), v = zeros([1, 5, 8]);
 * const y = noGrad(() => cachedAttention(qkv, { k, v, rows: [0], past: [0] }, 2));
 * const ref = causalAttention(qkv, 2).dataSync();
 * console.log(Math.abs(y.dataSync()[39] - ref[39]) < 1e-5); // true
 * ```
 */
export function cachedAttention(
  qkv: Tensor,
  cache: AttentionCache,
  nHead: number,
  offsets?: ArrayLike<number>,
): Tensor {
  const c3 = qkv.shape[qkv.rank - 1];
  if (qkv.rank < 2 || c3 % 3 !== 0 || qkv.dtype !== "f32") {
    throw new RangeError(
      `Cannot attend over qkv of shape ${formatShape(qkv.shape)} (${qkv.dtype}): expected f32 [..., 3C]`,
    );
  }
  const c = c3 / 3;
  if (!Number.isInteger(nHead) || nHead < 1 || c % nHead !== 0) {
    throw new RangeError(
      `Cannot split width ${c} into ${nHead} heads: the head count must be a positive divisor of the width`,
    );
  }
  const [r, capacity, kc] = cache.k.shape;
  if (kc !== c) throw new RangeError(`Cannot use a cache of width ${kc} for qkv of width ${c}`);
  for (const [name, t] of [["keys", cache.k], ["values", cache.v]] as const) {
    if (t.rank !== 3 || t.shape[0] !== r || t.shape[1] !== capacity || t.shape[2] !== c) {
      throw new RangeError(
        `Cannot use cached ${name} of shape ${formatShape(t.shape)}: expected [R, S, C] like the keys`,
      );
    }
  }
  let segments = offsets;
  if (segments === undefined) {
    if (qkv.rank !== 3) {
      throw new RangeError(`Cannot split qkv of shape ${formatShape(qkv.shape)} into rows: pass offsets`);
    }
    const [b, t] = qkv.shape;
    segments = Int32Array.from({ length: b + 1 }, (_, i) => i * t);
  }
  const n = qkv.size / c3;
  const count = segments.length - 1;
  if (count < 0 || segments[0] !== 0 || segments[count] !== n) {
    throw new RangeError(`Cannot use segment offsets that do not cover the ${n} rows of qkv`);
  }
  if (cache.rows.length !== count || cache.past.length !== count) {
    throw new RangeError(
      `Cannot attend ${count} segments with ${cache.rows.length} cache rows and ${cache.past.length} past lengths`,
    );
  }
  for (let s = 0; s < count; s++) {
    const len = segments[s + 1] - segments[s], row = cache.rows[s], past = cache.past[s];
    if (!(len >= 0) || !Number.isInteger(row) || row < 0 || row >= r) {
      throw new RangeError(`Cannot use cache row ${row} for segment ${s}: expected 0 … ${r - 1}`);
    }
    if (!Number.isInteger(past) || past < 0 || past + len > capacity) {
      throw new RangeError(
        `Cannot append ${len} rows after ${past} to a cache of ${capacity} rows (segment ${s})`,
      );
    }
  }
  const out = apply(cachedAttentionOp, [qkv, cache.k, cache.v], {
    offsets: segments,
    rows: cache.rows,
    past: cache.past,
    c,
    nh: nHead,
    capacity,
  });
  return qkv.rank === 2 ? out : reshape(out, [...qkv.shape.slice(0, -1), c]);
}
