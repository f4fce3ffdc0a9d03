/**
 * The kernel contract every backend implements.
 *
 * Kernels follow llm.c: `xForward(out, caches…, inputs…, dims)` beside
 * `xBackward(dinputs…, dout, caches…, inputs…, dims)` — every backward kernel
 * of every backend takes its buffers in exactly that order (a forward output
 * reused by backward, such as softmax's `out`, is a cache). Forward kernels
 * overwrite their outputs; backward kernels **accumulate** (`+=`) into the
 * gradients they are handed, so gradient accumulation over micro-batches is
 * free. `F` is the backend's float buffer type and `I` its int32 buffer type
 * (typed arrays for `ref` and `wasm`, GPU buffers for `webgpu`).
 *
 * Shape letters: N rows, C columns, V vocabulary, R leading rows,
 * M × K times K × N for matrix products.
 *
 * @module
 */

/** Dimensions of a (batched) matrix product `C = op(A) · op(B) (+ bias)`. */
export interface GemmDims {
  /** Number of independent products; each operand is contiguous per batch. */
  batch: number;
  /** Rows of `op(A)` and of `C`. */
  m: number;
  /** Columns of `op(B)` and of `C`. */
  n: number;
  /** Shared inner dimension. */
  k: number;
  /** `A` is stored (K, M) and used transposed. */
  transA: boolean;
  /** `B` is stored (N, K) and used transposed (the `nn.Linear` weight layout). */
  transB: boolean;
  /** Add into `C` instead of overwriting it. */
  accumulate: boolean;
}

/**
 * Bytes of one packed int8 weight row of `k` values: `k` rounded up to a
 * multiple of 16, so every row starts on a 16-byte boundary (one SIMD load).
 *
 * @example
 * ```ts
 * import { int8RowBytes } from "@metatokens/tensor";
 * console.log(int8RowBytes(17)); // 32
 * ```
 */
export function int8RowBytes(k: number): number {
  return Math.ceil(k / 16) * 16;
}

/**
 * Int32 words of the packed int8 weights of an (N, K) matrix, the `q` buffer
 * of {@linkcode Kernels.quantizeInt8} and {@linkcode Kernels.linearInt8}:
 *
 * - words `[0, N · Kp / 4)`: row r's values q[r, 0…K) as bytes at byte
 *   offset r · Kp (little-endian, four per word: byte b of word w is value
 *   4w + b), zero-padded to Kp = {@linkcode int8RowBytes}(K);
 * - words `[N · Kp / 4, N · Kp / 4 + N)`: the row sums Σ_k q[r, k], which
 *   undo the offset of the 7-bit activations (see `linearInt8`).
 *
 * @example
 * ```ts
 * import { int8Words } from "@metatokens/tensor";
 * console.log(int8Words(3, 17)); // 3 · 32 / 4 + 3 = 27
 * ```
 */
export function int8Words(n: number, k: number): number {
  return (n * int8RowBytes(k)) / 4 + n;
}

/** Largest |value| of a quantized weight (int8, symmetric: −127…127). */
export const INT8_WEIGHT_MAX = 127;
/**
 * Largest |value| of a quantized activation: 7 bits (−63…63), so that the
 * activation plus 64 lies in 1…127, the range where WebAssembly's
 * `i32x4.relaxed_dot_i8x16_i7x16_add_s` is deterministic (top bit clear).
 */
export const INT8_ACTIVATION_MAX = 63;

/** Shape and axis order of a permutation of at most four axes. */
export interface PermuteDims {
  /** Input shape, left-padded with ones to four axes. */
  shape: readonly [number, number, number, number];
  /** Output axis `i` is input axis `perm[i]`. */
  perm: readonly [number, number, number, number];
  /** Add into `out` instead of overwriting it. */
  accumulate: boolean;
}

/** Hyperparameters of one AdamW step, bias corrections already folded in. */
export interface AdamWParams {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Denominator epsilon. */
  eps: number;
  /** Decoupled weight decay (multiplied by `lr`). */
  weightDecay: number;
  /** `1 − beta1^t`. */
  biasCorrection1: number;
  /** `1 − beta2^t`. */
  biasCorrection2: number;
}

/**
 * Every kernel a backend provides. The table is exhaustive: a backend that
 * misses one does not type-check.
 */
export interface Kernels<F, I> {
  // ---- matrix product ----------------------------------------------------
  /** c (B,M,N) (+)= op(a) (B,M,K) · op(b) (B,K,N) + bias (N, broadcast over rows; null for none). */
  gemm(c: F, a: F, b: F, bias: F | null, d: GemmDims): void;

  // ---- int8 weight-only linear (inference) ---------------------------------
  /**
   * Quantizes w (N, K) per output row to int8: scales[r] = f32(max_k |w[r, k]| / 127),
   * q[r, k] = roundTiesToEven(f32(w[r, k] / scales[r])) clamped to ±127 (0 where the scale
   * is 0), packed into q ({@linkcode int8Words}(N, K) words, layout there) with the row sums.
   */
  quantizeInt8(q: I, scales: F, w: F, n: number, k: number): void;
  /**
   * c (M, N) = a (M, K) · dequant(q)ᵀ + bias (N; null for none), q and scales from
   * `quantizeInt8`. Each row of a is quantized on the fly to 7 bits: sx = f32(max_k |a[i, k]| / 63),
   * x[i, k] = roundTiesToEven(f32(a[i, k] / sx)) clamped to ±63 (0 where sx is 0); then, in
   * exact integer arithmetic, d = Σ_k q[j, k] · x[i, k] and in f32
   * c[i, j] = f32(d) · (scales[j] · sx) + bias[j]. Every backend computes exactly this (webgpu
   * within its division's rounding).
   */
  linearInt8(c: F, a: F, q: I, scales: F, bias: F | null, m: number, n: number, k: number): void;

  // ---- elementwise and broadcasting ---------------------------------------
  /** out[i] = value. */
  fill(out: F, value: number, n: number): void;
  /** out[i] = inp[i]. */
  copy(out: F, inp: F, n: number): void;
  /** out[i] = a[i] + b[i % nb]; nb divides n. */
  add(out: F, a: F, b: F, n: number, nb: number): void;
  /** out[i] = a[i] · b[i % nb]; nb divides n. */
  mul(out: F, a: F, b: F, n: number, nb: number): void;
  /** out[i] = s · a[i]. */
  scale(out: F, a: F, s: number, n: number): void;
  /** y[i] += alpha · x[i]. */
  axpy(y: F, x: F, alpha: number, n: number): void;
  /** y[i] += x[i] · b[i % nb]. */
  mulAcc(y: F, x: F, b: F, n: number, nb: number): void;
  /** y[i] *= s[0] (s is a one-element buffer, so no readback is needed). */
  scaleBy(y: F, s: F, n: number): void;

  // ---- reductions ---------------------------------------------------------
  /** out[r] (+)= alpha · Σ_c inp[r, c] over inp (R, C). */
  sumLast(out: F, inp: F, r: number, c: number, alpha: number, accumulate: boolean): void;
  /** y[r, c] += alpha · x[r] over y (R, C). */
  broadcastLast(y: F, x: F, alpha: number, r: number, c: number): void;
  /** out[c] (+)= Σ_r inp[r, c] over inp (R, C). */
  sumLeading(out: F, inp: F, r: number, c: number, accumulate: boolean): void;
  /** out[c] += Σ_r x[r, c] · a[r, c] over x, a (R, C). */
  mulSumLeading(out: F, x: F, a: F, r: number, c: number): void;
  /** out[0] (+)= Σ_i x[i]². */
  sumSquares(out: F, x: F, n: number, accumulate: boolean): void;
  /** scale[0] = min(1, maxNorm / (√sumsq[0] + 1e-6)). */
  clipScale(scale: F, sumsq: F, maxNorm: number): void;

  // ---- activations --------------------------------------------------------
  /** out = 0.5 · x · (1 + erf(x / √2)). */
  geluForward(out: F, inp: F, n: number): void;
  /** dinp += dout · (Φ(x) + x · φ(x)). */
  geluBackward(dinp: F, dout: F, inp: F, n: number): void;
  /** out = max(x, 0). */
  reluForward(out: F, inp: F, n: number): void;
  /** dinp += dout · [x > 0]. */
  reluBackward(dinp: F, dout: F, inp: F, n: number): void;

  // ---- normalisation ------------------------------------------------------
  /** out (N,C), mean (N), rstd (N) from inp (N,C), weight (C), bias (C); biased variance. */
  layernormForward(
    out: F,
    mean: F,
    rstd: F,
    inp: F,
    weight: F,
    bias: F,
    n: number,
    c: number,
    eps: number,
  ): void;
  /** dinp (N,C), dweight (C), dbias (C) += from dout (N,C) and the forward caches. */
  layernormBackward(
    dinp: F,
    dweight: F,
    dbias: F,
    dout: F,
    mean: F,
    rstd: F,
    inp: F,
    weight: F,
    n: number,
    c: number,
  ): void;
  /** out (N,C) = softmax over the last axis of inp (N,C). */
  softmaxForward(out: F, inp: F, n: number, c: number): void;
  /** dinp += out · (dout − Σ_c dout · out). */
  softmaxBackward(dinp: F, dout: F, out: F, n: number, c: number): void;

  // ---- loss ---------------------------------------------------------------
  /**
   * loss[0] = mean over rows with targets[r] ≠ −1 of (lse[r] − logits[r, targets[r]]);
   * lse (N) caches the log-sum-exp. 0 when every row is ignored.
   */
  crossEntropyForward(loss: F, lse: F, logits: F, targets: I, n: number, v: number): void;
  /** dlogits (N,V) += dloss[0] / count · (softmax(logits) − onehot(target)); ignored rows get nothing. */
  crossEntropyBackward(
    dlogits: F,
    dloss: F,
    lse: F,
    logits: F,
    targets: I,
    n: number,
    v: number,
  ): void;

  // ---- embedding ------------------------------------------------------------
  /** out[r, :] = weight[ids[r], :] for out (N,C), weight (V,C). Ids are validated by the op. */
  embeddingForward(out: F, weight: F, ids: I, n: number, c: number): void;
  /** dweight[ids[r], :] += dout[r, :] (scatter-add). */
  embeddingBackward(dweight: F, dout: F, ids: I, n: number, c: number): void;

  // ---- layout ---------------------------------------------------------------
  /** out (=|+=) inp permuted: out index [i0,i1,i2,i3] reads inp at axes perm. */
  permute(out: F, inp: F, d: PermuteDims): void;

  // ---- regularisation -------------------------------------------------------
  /**
   * out[i] = keep(i) ? inp[i] / (1 − p) : 0 with keep(i) = uniform(key, offset + i) ≥ p,
   * the counter-based stream of `rng.ts`; backward regenerates the mask.
   */
  dropoutForward(out: F, inp: F, n: number, p: number, key: number, offset: number): void;
  /** dinp[i] += keep(i) ? dout[i] / (1 − p) : 0. */
  dropoutBackward(dinp: F, dout: F, n: number, p: number, key: number, offset: number): void;

  // ---- optimiser ------------------------------------------------------------
  /**
   * One fused AdamW step over n parameters; the gradient is first multiplied by
   * gradScale[0] when gradScale is given (clipping without a readback).
   */
  adamw(param: F, grad: F, m: F, v: F, gradScale: F | null, n: number, h: AdamWParams): void;
}

/** Names of the kernels in {@linkcode Kernels}. */
export type KernelName = keyof Kernels<unknown, unknown>;
