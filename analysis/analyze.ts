/**
 * The analyses of paper §4.4–5 on one model and a set of task prompts:
 * logit boost and entropy drop at meta positions when the meta embedding is
 * zeroed (Fig. 2 left/middle, Theorem 4.1), attention entropy per layer and
 * head, cosine similarity of the last meta token's residual stream to the
 * past (Fig. 2 right), attention maps at `_PAUSE_`, the residual stream per
 * layer in 2-D (Fig. 3 left), and the VIB rate–distortion sweep (Fig. 3
 * right). {@linkcode analyzeModel} computes the numbers;
 * {@linkcode writeAnalysis} writes them as JSON/CSV and SVG figures.
 *
 * @module
 */

import { noGrad, scope, type Tensor } from "@metatokens/tensor";
import type { Gpt } from "@metatokens/model";
import { metaTokenPositions } from "@metatokens/data/meta-tokens";
import { encodeExample, type TaskExample } from "@metatokens/tasks";
import { attentionEntropy, attentionRow, type QkvDims } from "./attention_maps.ts";
import { softmaxStats } from "./entropy.ts";
import { cosineToPast, pca2 } from "./residual.ts";
import { PAPER_BETAS, type VibResult, vibSweep } from "./vib.ts";

/** Logit statistics at one meta position, with and without the meta token's embedding. */
export interface LogitBoostRecord {
  /** Index of the example. */
  example: number;
  /** Position of the meta token in the prompt. */
  position: number;
  /** Max output logit at the meta position, as is. */
  maxLogit: number;
  /** … with every meta embedding zeroed. */
  maxLogitZeroed: number;
  /** Output entropy (nats) at the meta position, as is. */
  entropy: number;
  /** … with every meta embedding zeroed. */
  entropyZeroed: number;
  /** maxLogit − maxLogitZeroed: the boost the meta embedding gives the top logit. */
  logitBoost: number;
  /** entropyZeroed − entropy: how much the meta embedding sharpens the output. */
  entropyDrop: number;
}

/** Attention entropy of one layer, per head (nats). */
export interface LayerEntropy {
  /** Layer index. */
  layer: number;
  /** Causal attention, per head, at meta and non-meta queries (mean over examples). */
  causal: { head: number; meta: number | null; nonMeta: number | null }[];
  /** Meta-attention, per head, at meta queries (mean over examples). */
  meta: { head: number; meta: number | null }[];
}

/** Everything {@linkcode analyzeModel} measures. */
export interface Analysis {
  /** The task the prompts come from. */
  task: string;
  /** Number of prompts analysed. */
  examples: number;
  /** One record per meta position of every prompt. */
  logitBoost: LogitBoostRecord[];
  /** Means of the boost and the drop over all records. */
  means: { logitBoost: number; entropyDrop: number };
  /** Attention entropy per layer and head. */
  attentionEntropy: LayerEntropy[];
  /** The prompt the per-sequence figures use: its tokens and meta positions. */
  focus: { example: number; tokens: number[]; metaPositions: number[]; query: number };
  /** (nLayer + 1) × (query + 1): cos(residual at the last meta token, residual at j) per layer. */
  cosine: number[][];
  /** nLayer × (query + 1): causal attention of the last meta token, mean over heads. */
  causalMap: number[][];
  /** nLayer × (query + 1): meta-attention of the last meta token, mean over heads (0 off meta keys). */
  metaMap: number[][];
  /** Per residual layer: every position's 2-D PCA coordinates and the explained variance. */
  residualPca: { layer: number; points: [number, number][]; explained: [number, number] }[];
  /** VIB sweeps at the last meta token and at the last non-meta token, or null when skipped. */
  vib: { meta: VibResult[]; lastToken: VibResult[] } | null;
}

/** Options of {@linkcode analyzeModel}. */
export interface AnalyzeOptions {
  /** The task the prompts come from (for labels). */
  task: string;
  /** Examples for the VIB sweep (the paper: 50 List Recall examples); none skips it. */
  vibExamples?: readonly TaskExample[];
  /** β values of the sweep (default the paper's seven). */
  betas?: readonly number[];
  /** VIB epochs (default 5). */
  vibEpochs?: number;
  /** VIB latent size (default the VIB module's). */
  vibLatent?: number;
  /** Seed of the VIB runs. */
  seed?: number;
  /** Progress messages. */
  log?: (message: string) => void;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/**
 * Runs every analysis on `model` over the prompts of `examples` (each must
 * contain `_PAUSE_`; the model must have meta-attention).
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { generateDataset } from "@metatokens/tasks";
 * import { analyzeModel } from "@metatokens/analysis";
 * const model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 256 }), new Rng(0));
 * const examples = generateDataset("parity", 1, 2, 3);
 * const a = await analyzeModel(model, examples, { task: "parity" });
 * console.log(a.logitBoost.length > 0, a.cosine.length); // true 2
 * ```
 */
export async function analyzeModel(
  model: Gpt,
  examples: readonly TaskExample[],
  options: AnalyzeOptions,
): Promise<Analysis> {
  const { config } = model;
  if (!config.metaAttention) {
    throw new RangeError(
      "Cannot run meta-token analyses on a model without meta-attention (a baseline checkpoint): " +
        "use a checkpoint pre-trained with meta-tokens",
    );
  }
  if (examples.length === 0) throw new RangeError("Cannot analyse 0 examples: expected at least one prompt");
  const betas = options.betas ?? PAPER_BETAS;
  if (options.vibExamples && options.vibExamples.length > 0 && betas.length === 0) {
    throw new RangeError("Cannot run the VIB sweep with an empty β list: expected at least one β > 0");
  }
  const log = options.log ?? (() => {});
  const C = config.nEmbd, NH = config.nHead, L = config.nLayer, V = config.vocabSize;
  const prompts = examples.map((e, i) => {
    const tokens = encodeExample(e).prompt;
    const meta = metaTokenPositions(tokens, config.metaTokenId);
    if (meta.length === 0) {
      throw new RangeError(
        `Cannot analyse example ${i} ("${e.prompt.slice(0, 60)}…"): its prompt has no _PAUSE_ meta token`,
      );
    }
    return { tokens, meta };
  });

  // ---- logit boost and entropy drop (Fig. 2 left, middle) -------------------
  log(`logit boost and entropy drop over ${prompts.length} prompts`);
  const records: LogitBoostRecord[] = [];
  for (const [example, { tokens, meta }] of prompts.entries()) {
    const batch = { b: 1, t: tokens.length, x: tokens };
    // scope(): the forward's intermediates are freed here, not left to the garbage collector.
    const full = await noGrad(() => scope(() => model.forward(batch).logits!.keep())).take() as Float32Array;
    const zeroed = await noGrad(() =>
      scope(() => model.forward(batch, { ablation: { noEmbedAtMeta: true } }).logits!.keep())
    ).take() as Float32Array;
    for (const position of meta) {
      const a = softmaxStats(full, position * V, V), z = softmaxStats(zeroed, position * V, V);
      records.push({
        example,
        position,
        maxLogit: a.maxLogit,
        maxLogitZeroed: z.maxLogit,
        entropy: a.entropy,
        entropyZeroed: z.entropy,
        logitBoost: a.maxLogit - z.maxLogit,
        entropyDrop: z.entropy - a.entropy,
      });
    }
  }

  // ---- traces: attention entropy, maps, cosine, residual PCA ----------------
  log("attention entropy, attention maps, cosine similarity and the residual stream");
  const entropySums = Array.from({ length: L }, () => ({
    causal: Array.from({ length: NH }, () => ({ meta: [] as number[], nonMeta: [] as number[] })),
    meta: Array.from({ length: NH }, () => [] as number[]),
  }));
  let focus: Analysis["focus"] | null = null;
  let cosine: number[][] = [], causalMap: number[][] = [], metaMap: number[][] = [];
  let residualPca: Analysis["residualPca"] = [];
  for (const [example, { tokens, meta }] of prompts.entries()) {
    const T = tokens.length, d: QkvDims = { t: T, c: C, nh: NH };
    const trace = { residual: [] as Tensor[], qkv: [] as Tensor[], metaQkv: [] as Tensor[] };
    noGrad(() =>
      scope(() => {
        model.hidden({ b: 1, t: T, x: tokens }, { trace }).dispose();
        return trace; // kept: the traced tensors outlive the scope, the rest is freed
      })
    );
    const residual = await Promise.all(trace.residual.map((t) => t.take() as Promise<Float32Array>));
    const qkv = await Promise.all(trace.qkv.map((t) => t.take() as Promise<Float32Array>));
    const metaQkv = await Promise.all(trace.metaQkv.map((t) => t.take() as Promise<Float32Array>));
    const flags = new Uint8Array(T);
    for (const p of meta) flags[p] = 1;
    for (let l = 0; l < L; l++) {
      attentionEntropy(qkv[l], d, flags).forEach((h) => {
        if (h.meta !== null) entropySums[l].causal[h.head].meta.push(h.meta);
        if (h.nonMeta !== null) entropySums[l].causal[h.head].nonMeta.push(h.nonMeta);
      });
      attentionEntropy(metaQkv[l], d, flags, true).forEach((h) => {
        if (h.meta !== null) entropySums[l].meta[h.head].push(h.meta);
      });
    }
    if (example !== 0) continue;
    // The per-sequence figures use the first prompt and its last meta token (the `_PAUSE_` the
    // answer follows).
    const query = meta[meta.length - 1];
    focus = { example, tokens: [...tokens], metaPositions: meta, query };
    cosine = residual.map((h) => [...cosineToPast(h, C, query)]);
    const headMean = (rows: (Float64Array | null)[]): number[] => {
      const out = new Array<number>(query + 1).fill(0);
      for (const r of rows) if (r) r.forEach((p, j) => (out[j] += p / NH));
      return out;
    };
    causalMap = qkv.map((q) => headMean(attentionRow(q, d, query)));
    metaMap = metaQkv.map((q) => headMean(attentionRow(q, d, query, flags)));
    residualPca = residual.map((h, layer) => {
      const { points, explained } = pca2(h, C);
      return {
        layer,
        points: Array.from({ length: T }, (_, i) => [points[2 * i], points[2 * i + 1]] as [number, number]),
        explained,
      };
    });
  }
  const attention: LayerEntropy[] = entropySums.map((s, layer) => ({
    layer,
    causal: s.causal.map((h, head) => ({
      head,
      meta: h.meta.length ? mean(h.meta) : null,
      nonMeta: h.nonMeta.length ? mean(h.nonMeta) : null,
    })),
    meta: s.meta.map((h, head) => ({ head, meta: h.length ? mean(h) : null })),
  }));

  // ---- VIB rate–distortion (Fig. 3 right) -----------------------------------
  let vib: Analysis["vib"] = null;
  if (options.vibExamples && options.vibExamples.length > 0) {
    const n = options.vibExamples.length;
    log(`VIB rate–distortion: ${betas.length} β × ${options.vibEpochs ?? 5} epochs on ${n} examples`);
    const atMeta = new Float32Array(n * C), atLast = new Float32Array(n * C), targets = new Int32Array(n);
    for (const [i, e] of options.vibExamples.entries()) {
      const { prompt, answer } = encodeExample(e);
      const meta = metaTokenPositions(prompt, config.metaTokenId);
      if (meta.length === 0) {
        throw new RangeError(
          `Cannot run the VIB sweep on example ${i}: its prompt has no _PAUSE_ meta token`,
        );
      }
      const m = meta[meta.length - 1];
      let last = prompt.length - 1;
      while (last >= 0 && prompt[last] === config.metaTokenId) last--;
      if (last < 0) {
        throw new RangeError(`Cannot run the VIB sweep on example ${i}: its prompt is all meta tokens`);
      }
      const h = await noGrad(() => scope(() => model.hidden({ b: 1, t: prompt.length, x: prompt }).keep()))
        .take() as Float32Array;
      atMeta.set(h.subarray(m * C, (m + 1) * C), i * C);
      atLast.set(h.subarray(last * C, (last + 1) * C), i * C);
      targets[i] = answer[0];
    }
    const sweep = (features: Float32Array): VibResult[] =>
      vibSweep(features, targets, {
        dim: C,
        vocab: V,
        betas,
        epochs: options.vibEpochs,
        latent: options.vibLatent,
        seed: options.seed ?? 0,
      });
    vib = { meta: sweep(atMeta), lastToken: sweep(atLast) };
  }
  return {
    task: options.task,
    examples: examples.length,
    logitBoost: records,
    means: {
      logitBoost: mean(records.map((r) => r.logitBoost)),
      entropyDrop: mean(records.map((r) => r.entropyDrop)),
    },
    attentionEntropy: attention,
    focus: focus!,
    cosine,
    causalMap,
    metaMap,
    residualPca,
    vib,
  };
}
