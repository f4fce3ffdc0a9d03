/**
 * Scoring and sampling: per-token log-probabilities of a text, and
 * autoregressive generation of one or several prompts with a KV cache
 * (greedy, temperature, top-k, top-p; streamed token by token).
 *
 * Decoding runs through the model's own forward (`Gpt.forward` with a
 * {@linkcode KvCache}): the prompt is the first call (prefill), each later
 * step feeds one token per sequence, whose keys and values are appended to
 * the cache on the backend. A generated meta token (only with `allowMeta`)
 * goes through meta-attention over the cached meta keys like any other. One
 * readback per step: the last position's logits of every sequence, sampled on
 * the host.
 *
 * @module
 */

import { noGrad, type Rng, scope } from "@metatokens/tensor";
import type { Ablation, Gpt } from "./gpt.ts";
import { KvCache } from "./kv_cache.ts";

/** How the next token is chosen from the logits. */
export interface SamplingOptions {
  /** Softmax temperature ≥ 0; 0 means greedy (default 1). */
  temperature?: number;
  /** Sample among the k most likely tokens only (k ≥ 1). */
  topK?: number;
  /** Sample among the most likely tokens whose probabilities first reach p (0 < p ≤ 1; nucleus). */
  topP?: number;
  /** Generator for sampling (required unless greedy). */
  rng?: Rng;
  /** Allow the meta token to be sampled (default false). */
  allowMeta?: boolean;
}

/** Options of {@linkcode generate} and {@linkcode generateBatch}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to produce per prompt (at most). */
  maxNewTokens: number;
  /** Called with each new token as it is produced, and the index of its prompt. */
  onToken?: (token: number, prompt: number) => void;
  /** Stop a sequence after this token (e.g. GPT-2's `<|endoftext|>` 50256); it is returned. */
  stopToken?: number;
  /**
   * For an APE model, keep only a prompt's last tokens so that the sequence fits the block
   * (as nanoGPT crops its context); otherwise a prompt that does not fit is refused.
   */
  crop?: boolean;
  /** Inference-time ablations (paper Tables 11–17); position noise draws from `rng`. */
  ablation?: Ablation;
}

/** What {@linkcode generate} returns for each prompt. */
export interface GenerateResult {
  /** The new tokens. */
  tokens: Int32Array;
  /** Prompt tokens dropped from the front by `crop` (0 when none). */
  cropped: number;
  /** Whether the sequence ended at `stopToken`. */
  stopped: boolean;
  /** Milliseconds from the call to this prompt's first new token (prefill + one sample). */
  ttftMs: number;
  /** New tokens per second after the first (of the whole batch, per sequence). */
  tokensPerSecond: number;
}

/** log p(tokens[i+1] | tokens[0..i]) for every i, null where tokens[i+1] is the meta token. */
export interface ScoreResult {
  /** The tokens scored. */
  tokens: Int32Array;
  /** One entry per next-token prediction (length T − 1). */
  logprobs: (number | null)[];
  /** Mean negative log-probability over the non-null entries. */
  loss: number;
}

function logSoftmaxAt(logits: Float32Array, o: number, v: number, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < v; j++) max = Math.max(max, logits[o + j]);
  let sum = 0;
  for (let j = 0; j < v; j++) sum += Math.exp(logits[o + j] - max);
  return logits[o + target] - max - Math.log(sum);
}

/**
 * Scores a token sequence under the model (no loss on meta targets).
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig, score } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 }), new Rng(0));
 * const { logprobs } = await score(model, Int32Array.from([1, 2, 31, 3]));
 * console.log(logprobs.length, logprobs[1]); // 3 null
 * ```
 */
export async function score(model: Gpt, tokens: Int32Array): Promise<ScoreResult> {
  const t = tokens.length;
  if (t < 2) throw new RangeError(`Cannot score ${t} token(s): expected at least 2`);
  const v = model.config.vocabSize;
  const logits = await noGrad(() => scope(() => model.forward({ b: 1, t, x: tokens }).logits!.keep()))
    .take() as Float32Array;
  const logprobs: (number | null)[] = [];
  let sum = 0, n = 0;
  for (let i = 0; i + 1 < t; i++) {
    if (tokens[i + 1] === model.config.metaTokenId) {
      logprobs.push(null);
      continue;
    }
    const lp = logSoftmaxAt(logits, i * v, v, tokens[i + 1]);
    logprobs.push(lp);
    sum -= lp;
    n++;
  }
  return { tokens, logprobs, loss: n === 0 ? 0 : sum / n };
}

/**
 * Checks sampling options before any work, naming the bad value
 * (`generateBatch` calls it first; a CLI may call it before loading a model).
 *
 * @example
 * ```ts
 * import { checkSampling } from "@metatokens/model";
 * try {
 *   checkSampling({ temperature: -1 });
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot sample at temperature -1: expected a finite number ≥ 0 (0 = greedy)
 * }
 * ```
 */
export function checkSampling(o: SamplingOptions, needRng = false): void {
  const t = o.temperature ?? 1;
  if (!(t >= 0) || !Number.isFinite(t)) {
    throw new RangeError(`Cannot sample at temperature ${t}: expected a finite number ≥ 0 (0 = greedy)`);
  }
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) {
    throw new RangeError(`Cannot sample among the top ${o.topK}: expected an integer k ≥ 1`);
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new RangeError(`Cannot sample with top-p ${o.topP}: expected 0 < p ≤ 1`);
  }
  if ((t !== 0 || needRng) && !o.rng) {
    throw new Error("Cannot sample without an rng: pass one, or temperature 0 for greedy decoding");
  }
}

/** Weights of the row being sampled (grown to the vocabulary on first use). */
let scratch = new Float64Array(0);

/**
 * The next token from one row of logits (`logits[o … o + v)`): the argmax at
 * temperature 0, else a draw from softmax(logits / T) restricted to the top k
 * and then to the smallest set of most likely tokens whose mass reaches top-p.
 * `banned` (the meta token, unless allowed) is never chosen.
 */
export function sampleToken(
  logits: Float32Array,
  o: number,
  v: number,
  options: SamplingOptions,
  banned: number,
): number {
  const temperature = options.temperature ?? 1;
  let best = banned === 0 ? 1 : 0;
  for (let j = 0; j < v; j++) if (j !== banned && logits[o + j] > logits[o + best]) best = j;
  if (temperature === 0) return best;
  const max = logits[o + best];
  // Every weight exp((logit − max) / T) once, into a scratch row reused between calls (0 when banned).
  if (scratch.length < v) scratch = new Float64Array(v);
  const w = scratch;
  let total = 0;
  for (let j = 0; j < v; j++) {
    total += w[j] = j === banned ? 0 : Math.exp((logits[o + j] - max) / temperature);
  }
  const weight = (j: number): number => w[j];
  const p = options.topP ?? 1;
  const k = options.topK ?? v;
  if (k >= v - (banned >= 0 ? 1 : 0) && p >= 1) {
    // Plain temperature sampling: one more pass over the row, nothing allocated.
    let u = options.rng!.uniform() * total;
    for (let j = 0; j < v; j++) {
      u -= w[j];
      if (u < 0 && j !== banned) return j;
    }
    return best;
  }
  // Candidates in descending logit order (ties by id): the k most likely, or for top-p alone the
  // ids above a weight threshold θ whose mass reaches p (the nucleus is a prefix of the sorted ids,
  // so it lies among them; θ falls ×1000 until the mass suffices).
  const byLogit = (a: number, b: number): number => logits[o + b] - logits[o + a] || a - b;
  let pool: number[] = [];
  if (k < v) {
    // Insertion into a sorted list of k: most ids fall below its last entry and cost one comparison.
    for (let j = 0; j < v; j++) {
      if (j === banned) continue;
      if (pool.length === k && byLogit(pool[pool.length - 1], j) <= 0) continue;
      let at = pool.length;
      while (at > 0 && byLogit(pool[at - 1], j) > 0) at--;
      pool.splice(at, 0, j);
      if (pool.length > k) pool.pop();
    }
  } else {
    for (let theta = 1e-3;; theta *= 1e-3) {
      pool = [];
      let mass = 0;
      for (let j = 0; j < v; j++) {
        if (j === banned) continue;
        const w = weight(j);
        if (w >= theta || theta < 1e-30) {
          pool.push(j);
          mass += w;
        }
      }
      if (mass >= p * total || theta < 1e-30) break;
    }
    pool.sort(byLogit);
  }
  let weights = pool.map(weight);
  if (p < 1) {
    // The nucleus: the shortest prefix whose mass reaches p of the distribution (after top-k, of
    // the k kept; otherwise of every id, of which the thresholded candidates hold the nucleus).
    const mass = k < v ? weights.reduce((a, b) => a + b, 0) : total;
    let sum = 0, keep = 0;
    while (keep < weights.length && sum < p * mass) sum += weights[keep++];
    pool = pool.slice(0, Math.max(1, keep));
    weights = weights.slice(0, pool.length);
  }
  const kept = weights.reduce((a, b) => a + b, 0);
  let u = options.rng!.uniform() * kept;
  for (let i = 0; i < pool.length; i++) {
    u -= weights[i];
    if (u < 0) return pool[i];
  }
  return pool[pool.length - 1];
}

/**
 * Continues `prompt` by up to `maxNewTokens` tokens with a KV cache (see
 * {@linkcode generateBatch}, of which this is the one-prompt case).
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { generate, Gpt, gptConfig } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 16, vocabSize: 32, metaTokenId: 31 }), new Rng(0));
 * const { tokens } = await generate(model, Int32Array.from([1, 31, 2]), { maxNewTokens: 4, temperature: 0 });
 * console.log(tokens.length, tokens.includes(31)); // 4 false
 * ```
 */
export async function generate(
  model: Gpt,
  prompt: Int32Array,
  options: GenerateOptions,
): Promise<GenerateResult> {
  return (await generateBatch(model, [prompt], options))[0];
}

/**
 * Continues every prompt by up to `maxNewTokens` tokens, decoding all of them
 * together: each step feeds one token per unfinished sequence through the
 * model with the KV cache (one batch, so every weight is read once per step
 * for all of them) and reads back one row of logits per sequence. Prompts may
 * differ in length and contain meta tokens; the meta token is never generated
 * unless `allowMeta`. Tokens stream through `onToken` as they are sampled.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { generateBatch, Gpt, gptConfig } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 16, vocabSize: 32, metaTokenId: 31 }), new Rng(0));
 * const out = await generateBatch(model, [Int32Array.from([1, 2]), Int32Array.from([3, 31, 4, 5])], {
 *   maxNewTokens: 3,
 *   temperature: 0,
 * });
 * console.log(out.map((r) => r.tokens.length)); // [ 3, 3 ]
 * ```
 */
export async function generateBatch(
  model: Gpt,
  prompts: readonly Int32Array[],
  options: GenerateOptions,
): Promise<GenerateResult[]> {
  const { config } = model;
  const n = options.maxNewTokens, V = config.vocabSize;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot generate ${n} tokens: expected an integer ≥ 1`);
  }
  if (prompts.length === 0) throw new RangeError("Cannot generate without a prompt");
  checkSampling(options, (options.ablation?.posNoise ?? 0) > 0);
  // The last generated token is returned, never fed back: a sequence reads at most prompt + n − 1 positions.
  const cropped = prompts.map((p, r) => {
    if (p.length === 0) throw new RangeError(`Cannot generate from an empty prompt (prompt ${r})`);
    if (config.posEncoding !== "ape" || p.length + n - 1 <= config.blockSize) return 0;
    if (!options.crop || n > config.blockSize) {
      throw new RangeError(
        `Cannot generate ${n} tokens after a ${p.length}-token prompt: the APE model's block size is ${config.blockSize}`,
      );
    }
    return p.length + n - 1 - config.blockSize;
  });
  const inputs = prompts.map((p, r) => p.subarray(cropped[r]));
  const start = performance.now();
  const B = inputs.length;
  const banned = options.allowMeta ? -1 : config.metaTokenId;
  using cache = new KvCache(config, B, Math.max(...inputs.map((p) => p.length)) + n - 1, model.backend);
  const run = async (x: Int32Array, rows: number[]): Promise<Float32Array> => {
    const t = x.length / rows.length;
    const logits = noGrad(() =>
      scope(() =>
        model.forward({ b: rows.length, t, x }, {
          cache,
          cacheRows: rows,
          ablation: options.ablation,
          rng: options.rng,
          logitRows: 1,
        }).logits!.keep()
      )
    );
    return await logits.take() as Float32Array; // (rows, 1, V): the one readback of the step
  };
  const out = inputs.map(() => new Int32Array(n));
  const produced = new Int32Array(B);
  const stopped = inputs.map(() => false);
  const ttftMs = new Float64Array(B);
  const next = new Int32Array(B);
  const emit = (r: number, token: number): void => {
    out[r][produced[r]++] = token;
    options.onToken?.(token, r);
    if (token === options.stopToken) stopped[r] = true;
  };
  // Prefill, one prompt at a time (they differ in length), each into its own cache row.
  for (let r = 0; r < B; r++) {
    const logits = await run(inputs[r], [r]);
    next[r] = sampleToken(logits, 0, V, options, banned);
    ttftMs[r] = performance.now() - start;
    emit(r, next[r]);
  }
  const decodeStart = performance.now();
  let steps = 0;
  for (;;) {
    const active = Array.from({ length: B }, (_, r) => r).filter((r) => !stopped[r] && produced[r] < n);
    if (active.length === 0) break;
    const logits = await run(Int32Array.from(active, (r) => next[r]), active);
    active.forEach((r, i) => {
      next[r] = sampleToken(logits, i * V, V, options, banned);
      emit(r, next[r]);
    });
    steps++;
  }
  const seconds = (performance.now() - decodeStart) / 1000;
  return inputs.map((_, r) => ({
    tokens: out[r].slice(0, produced[r]),
    cropped: cropped[r],
    stopped: stopped[r],
    ttftMs: ttftMs[r],
    tokensPerSecond: steps > 0 ? steps / seconds : 0,
  }));
}
