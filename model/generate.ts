/**
 * Scoring and sampling: per-token log-probabilities of a text, and
 * autoregressive generation with a KV cache (greedy, temperature, top-k).
 *
 * Decoding feeds one token at a time. Generated tokens are never meta tokens
 * (the meta id is masked out unless asked for), and a token that is not a meta
 * token receives only the `c_proj` bias from meta-attention, so after the
 * prompt (which runs through the full model, meta-attention included) each
 * step needs only the causal attention over the cache.
 *
 * @module
 */

import { add, embedding, matmul, noGrad, type Rng, scope, type Tensor, tensor } from "@metatokens/tensor";
import { applyRope, ropeTables } from "@metatokens/attention";
import type { Ablation, Gpt, KvCache } from "./gpt.ts";

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** Tokens to produce. */
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy (default 1). */
  temperature?: number;
  /** Sample among the k most likely tokens only. */
  topK?: number;
  /** Generator for sampling (required unless greedy). */
  rng?: Rng;
  /** Allow the meta token to be sampled (default false). */
  allowMeta?: boolean;
  /** Called with each new token as it is produced. */
  onToken?: (token: number) => void;
  /** Inference-time ablations (paper Tables 11–17); position noise draws from `rng`. */
  ablation?: Ablation;
}

/** What {@linkcode generate} returns. */
export interface GenerateResult {
  /** The new tokens. */
  tokens: Int32Array;
  /** Milliseconds from the call to the first new token (prefill + one sample). */
  ttftMs: number;
  /** New tokens per second after the first. */
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

function sample(logits: Float32Array, o: GenerateOptions, banned: number): number {
  const temperature = o.temperature ?? 1;
  const v = logits.length;
  let best = banned === 0 ? 1 : 0;
  for (let j = 0; j < v; j++) if (j !== banned && logits[j] > logits[best]) best = j;
  if (temperature === 0) return best;
  // Candidates: every allowed id, or the k most likely (a partial sort is enough).
  let pool: number[];
  if (o.topK !== undefined && o.topK < v) {
    const order = Array.from({ length: v }, (_, j) => j).filter((j) => j !== banned);
    order.sort((a, b) => logits[b] - logits[a]);
    pool = order.slice(0, Math.max(1, o.topK));
  } else {
    pool = [];
    for (let j = 0; j < v; j++) if (j !== banned) pool.push(j);
  }
  const max = logits[best];
  const weights = new Float64Array(pool.length);
  let total = 0;
  for (let i = 0; i < pool.length; i++) total += weights[i] = Math.exp((logits[pool[i]] - max) / temperature);
  let u = o.rng!.uniform() * total;
  for (let i = 0; i < pool.length; i++) {
    u -= weights[i];
    if (u < 0) return pool[i];
  }
  return pool[pool.length - 1];
}

/**
 * One token through the model at `position`, attending over the cache (which
 * it extends). Each layer's q|k|v is read back for the host-side attention
 * over the cache, so the graph is cut into per-layer pieces with the
 * residual stream kept between them.
 */
async function decodeStep(
  model: Gpt,
  token: number,
  position: number,
  cache: KvCache,
  noise?: { std: number; rng: Rng },
): Promise<Float32Array> {
  const { config, backend } = model;
  const C = config.nEmbd, nh = config.nHead, hs = C / nh;
  const run = (fn: () => Tensor): Tensor => noGrad(() => scope(() => fn().keep()));
  let x = run(() => {
    const x = embedding(
      model.param("transformer.wte.weight"),
      tensor([token], [1, 1], { dtype: "i32", backend }),
    );
    // The decoded token is never a meta token, so only the position-noise ablation applies here.
    if (config.posEncoding !== "ape") return x;
    let pe = embedding(
      model.param("transformer.wpe.weight"),
      tensor([position], [1, 1], { dtype: "i32", backend }),
    );
    if (noise) {
      pe = add(pe, tensor(noise.rng.fillNormal(new Float32Array(C), 0, noise.std), [1, 1, C], { backend }));
    }
    return add(x, pe);
  });
  const at = noise && config.posEncoding === "rope" ? position + noise.std * noise.rng.normal() : position;
  const L = position + 1;
  for (let i = 0; i < config.nLayer; i++) {
    const h = `transformer.h.${i}`;
    const row = await (run(() => {
      const qkv = model.linear(model.layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`); // (1, 1, 3C)
      if (config.posEncoding !== "rope") return qkv;
      const rope = ropeTables(
        [at],
        { headSize: hs, theta: config.ropeTheta, yarn: config.yarn ?? undefined },
        backend,
      );
      return applyRope(qkv, rope, nh);
    })).take() as Float32Array;
    cache.k[i].set(row.subarray(C, 2 * C), position * C);
    cache.v[i].set(row.subarray(2 * C, 3 * C), position * C);
    // softmax(q·kᵀ/√HS)·v over the cache, per head (one query: plain loops).
    const y = new Float32Array(C), s = new Float64Array(L);
    for (let hd = 0; hd < nh; hd++) {
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        let dot = 0;
        for (let d = 0; d < hs; d++) dot += row[hd * hs + d] * cache.k[i][j * C + hd * hs + d];
        s[j] = dot / Math.sqrt(hs);
        max = Math.max(max, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < L; j++) sum += s[j] = Math.exp(s[j] - max);
      for (let j = 0; j < L; j++) {
        const p = s[j] / sum;
        for (let d = 0; d < hs; d++) y[hd * hs + d] += p * cache.v[i][j * C + hd * hs + d];
      }
    }
    const next = run(() => {
      let z = add(x, model.linear(tensor(y, [1, 1, C], { backend }), `${h}.attn.c_proj`));
      // A non-meta token gets no meta-attention, only its output bias.
      const metaBias = model.params.get(`${h}.meta_attn.c_proj.bias`);
      if (config.metaAttention && metaBias) z = add(z, metaBias);
      return add(z, model.mlp(z, i));
    });
    x.dispose();
    x = next;
  }
  cache.length = L;
  const logits = run(() =>
    matmul(model.layerNorm(x, "transformer.ln_f"), model.param("transformer.wte.weight"), { transB: true })
  );
  x.dispose();
  return await logits.take() as Float32Array;
}

/**
 * Continues `prompt` by `maxNewTokens` tokens with a KV cache. The prompt may
 * contain meta tokens; the meta token is never generated unless `allowMeta`.
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
  const { config } = model;
  const total = prompt.length + options.maxNewTokens;
  if (prompt.length === 0) throw new RangeError("Cannot generate from an empty prompt");
  // The last generated token is returned, never fed back: the model reads at most total − 1 positions.
  if (config.posEncoding === "ape" && total - 1 > config.blockSize) {
    throw new RangeError(
      `Cannot generate ${options.maxNewTokens} tokens after a ${prompt.length}-token prompt: ` +
        `the APE model's block size is ${config.blockSize}`,
    );
  }
  if (((options.temperature ?? 1) !== 0 || (options.ablation?.posNoise ?? 0) > 0) && !options.rng) {
    throw new Error("Cannot sample without an rng: pass one, or temperature 0 for greedy decoding");
  }
  const start = performance.now();
  const C = config.nEmbd;
  const cache: KvCache = {
    k: Array.from({ length: config.nLayer }, () => new Float32Array(total * C)),
    v: Array.from({ length: config.nLayer }, () => new Float32Array(total * C)),
    length: 0,
  };
  const banned = options.allowMeta ? -1 : config.metaTokenId;
  // The whole sequence through the full model (meta-attention included), refilling the cache:
  // the prefill, and the step after a sampled meta token (the cache holds no meta-attention).
  const fullForward = async (seq: Int32Array): Promise<Float32Array> => {
    const trace = { qkv: [] as Tensor[] };
    const logits = noGrad(() =>
      scope(() =>
        model.forward({ b: 1, t: seq.length, x: seq }, {
          trace,
          ablation: options.ablation,
          rng: options.rng,
          logitRows: 1,
        }).logits!.keep()
      )
    );
    // Refill the cache from every layer's q|k|v (T, 3C): keys and values of every position.
    for (const [i, qkv] of trace.qkv.entries()) {
      const rows = await qkv.take() as Float32Array;
      for (let t = 0; t < seq.length; t++) {
        cache.k[i].set(rows.subarray(t * 3 * C + C, t * 3 * C + 2 * C), t * C);
        cache.v[i].set(rows.subarray(t * 3 * C + 2 * C, t * 3 * C + 3 * C), t * C);
      }
    }
    cache.length = seq.length;
    return await logits.take() as Float32Array;
  };
  const logits = await fullForward(prompt);
  const out = new Int32Array(options.maxNewTokens);
  let next = sample(logits, options, banned);
  const ttftMs = performance.now() - start;
  const decodeStart = performance.now();
  for (let i = 0; i < options.maxNewTokens; i++) {
    out[i] = next;
    options.onToken?.(next);
    if (i + 1 === options.maxNewTokens) break;
    let logits: Float32Array;
    if (next === config.metaTokenId && config.metaAttention) {
      logits = await fullForward(Int32Array.from([...prompt, ...out.subarray(0, i + 1)]));
    } else {
      const std = options.ablation?.posNoise ?? 0;
      logits = await decodeStep(
        model,
        next,
        prompt.length + i,
        cache,
        std > 0 ? { std, rng: options.rng! } : undefined,
      );
    }
    next = sample(logits, options, banned);
  }
  const seconds = (performance.now() - decodeStart) / 1000;
  return {
    tokens: out,
    ttftMs,
    tokensPerSecond: options.maxNewTokens > 1 ? (options.maxNewTokens - 1) / seconds : 0,
  };
}
