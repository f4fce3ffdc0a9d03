/**
 * What `reproduce` runs at each scale: the three models, the four tasks, the
 * ablations, the budgets, and the plan's text with a cost estimate.
 *
 * @module
 */

import type { Ablation, GptConfig } from "@metatokens/model";
import type { BinScore } from "@metatokens/tasks";

/** The scales `reproduce` knows. */
export type Scale = "micro" | "tiny" | "paper";

/** One of the three pre-trained models. */
export interface ModelSpec {
  /** Folder name. */
  name: string;
  /** Label in tables and figures. */
  label: string;
  /** Meta-attention and meta-token injection on or off. */
  meta: boolean;
  /** Positional encoding. */
  pos: "ape" | "rope";
}

/** The paper's three models (its GPT-Neo baseline is an outside checkpoint, not trained here). */
export const MODELS: readonly ModelSpec[] = [
  { name: "gpt2-ape", label: "GPT-2 (APE)", meta: false, pos: "ape" },
  { name: "meta-ape", label: "Meta-attention (APE)", meta: true, pos: "ape" },
  { name: "meta-rope", label: "Meta-attention (RoPE)", meta: true, pos: "rope" },
];

/** The four tasks, in the paper's order. */
export const TASKS: readonly { name: string; label: string }[] = [
  { name: "list-recall", label: "List Recall" },
  { name: "segment-counting", label: "Segment Counting" },
  { name: "parity", label: "Parity" },
  { name: "copying", label: "Copying" },
];

/** Ablations of Tables 11–14, run on the meta models. */
export const ABLATIONS: readonly { name: string; label: string; ablation: Ablation }[] = [
  { name: "full", label: "Full", ablation: {} },
  { name: "no-pos", label: "No Pos", ablation: { noPosAtMeta: true } },
  { name: "no-embed", label: "No Embed", ablation: { noEmbedAtMeta: true } },
  { name: "neither", label: "Neither", ablation: { noPosAtMeta: true, noEmbedAtMeta: true } },
];

/** Everything one scale runs. */
export interface ScalePlan {
  /** Its name. */
  scale: Scale;
  /** Model preset and overrides, shared by the three models. */
  preset: string;
  model: Partial<GptConfig>;
  /** Pre-training budget (the same for every model). */
  pretrain: {
    steps: number;
    batchSize: number;
    gradAccum: number;
    lr: number;
    minLr: number;
    warmup: number;
    evalEvery: number;
  };
  /** The three maximum train lengths of fine-tuning. */
  trainLengths: readonly number[];
  /** Fine-tuning per (model, task, train length): examples and steps per phase, batch, learning rates. */
  finetune: { n: number; steps: number; batchSize: number; lr: number; minLr: number; warmup: number };
  /** Test set: curriculum phases and examples per phase. */
  eval: { phases: readonly number[]; n: number };
  /** Analysis: prompts, VIB examples and epochs. */
  analysis: { n: number; vibN: number; vibEpochs: number };
  /** What the scale is for. */
  purpose: string;
}

/** The built-in scales. */
export const SCALES: Readonly<Record<Scale, ScalePlan>> = {
  micro: {
    scale: "micro",
    preset: "tiny",
    model: { nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 256 },
    pretrain: { steps: 30, batchSize: 4, gradAccum: 1, lr: 3e-3, minLr: 3e-4, warmup: 5, evalEvery: 15 },
    trainLengths: [128, 192, 256],
    finetune: { n: 60, steps: 4, batchSize: 4, lr: 1e-3, minLr: 1e-4, warmup: 1 },
    eval: { phases: [1, 2], n: 3 },
    analysis: { n: 3, vibN: 10, vibEpochs: 2 },
    purpose: "an end-to-end check of every stage (CI); its numbers mean nothing",
  },
  tiny: {
    scale: "tiny",
    preset: "tiny",
    model: {},
    pretrain: { steps: 150, batchSize: 8, gradAccum: 1, lr: 1e-3, minLr: 1e-4, warmup: 10, evalEvery: 50 },
    trainLengths: [128, 192, 256],
    finetune: { n: 400, steps: 15, batchSize: 8, lr: 3e-4, minLr: 3e-5, warmup: 3 },
    eval: { phases: [1, 2, 3], n: 8 },
    analysis: { n: 20, vibN: 50, vibEpochs: 5 },
    purpose: "the paper's pipeline on a 2-core CPU in about 90 minutes",
  },
  paper: {
    scale: "paper",
    preset: "meta-gpt2",
    model: {},
    pretrain: {
      steps: 200_000,
      batchSize: 12,
      gradAccum: 40,
      lr: 6e-4,
      minLr: 6e-5,
      warmup: 2000,
      evalEvery: 2000,
    },
    trainLengths: [128, 256, 512],
    finetune: { n: 90_000, steps: 2000, batchSize: 16, lr: 3e-4, minLr: 3e-5, warmup: 100 },
    eval: { phases: [1, 2, 3, 4], n: 500 },
    analysis: { n: 200, vibN: 50, vibEpochs: 5 },
    purpose:
      'the paper\'s scale (Table 4, 200k steps ≈ 98B tokens: its "fewer than 100B"): a GPU host with C4 shards',
  },
};

/**
 * Model FLOPs per token of a forward pass: 2 per weight of the blocks, the
 * attention scores and mixing (2·2·C·T/2 per layer, causal), and the head
 * (2·V·C) where `head` is true. Training costs three times the forward.
 */
function forwardFlops(config: GptConfig, body: number, t: number, head: boolean): number {
  return 2 * body + 2 * config.nLayer * config.nEmbd * t + (head ? 2 * config.vocabSize * config.nEmbd : 0);
}

/**
 * The plan as text: stages, their sizes, and a cost estimate (model FLOPs,
 * and the time at an effective throughput).
 */
export function describePlan(plan: ScalePlan, config: GptConfig, nParams: number, cpuFlops: number): string {
  const p = plan.pretrain, f = plan.finetune;
  const embeddings = config.vocabSize * config.nEmbd +
    (config.posEncoding === "ape" ? config.blockSize * config.nEmbd : 0);
  const body = nParams - embeddings;
  const pretrainTokens = p.steps * p.batchSize * p.gradAccum * config.blockSize;
  const pre = MODELS.length * 3 * forwardFlops(config, body, config.blockSize, true) * pretrainTokens;
  // Fine-tuning: padded rows of the train length through the blocks; the head only sees answer tokens.
  const phases = plan.trainLengths.map((l) => l <= 200 ? 1 : l <= 300 ? 2 : 3);
  const ft = MODELS.length * TASKS.length * plan.trainLengths.reduce(
    (s, l, i) => s + phases[i] * f.steps * f.batchSize * l * 3 * forwardFlops(config, body, l, false),
    0,
  );
  // Evaluation: a prefill and a teacher-forced pass over each prompt (≈ 150·phase tokens on average).
  const meanPrompt = plan.eval.phases.reduce((s, ph) => s + [150, 250, 600, 770, 1540][ph - 1], 0) /
    plan.eval.phases.length;
  const runs = MODELS.reduce((s, m) => s + (m.meta ? ABLATIONS.length : 1), 0);
  const ev = runs * TASKS.length * plan.trainLengths.length * plan.eval.phases.length * plan.eval.n * 2 *
    meanPrompt * forwardFlops(config, body, meanPrompt, false);
  const total = pre + ft + ev;
  const hours = (flops: number, rate: number): string => {
    const s = flops / rate;
    return s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
  };
  return [
    `reproduce --scale ${plan.scale}: ${plan.purpose}`,
    `models: ${MODELS.map((m) => m.label).join(", ")} — ${config.nLayer} layers, width ${config.nEmbd}, ` +
    `${config.nHead} heads, context ${config.blockSize}, ${(nParams / 1e6).toFixed(1)}M parameters (meta)`,
    `1. pre-train each: ${
      p.steps.toLocaleString("en-US")
    } steps × ${p.batchSize} × ${config.blockSize} tokens = ` +
    `${(pretrainTokens / 1e6).toFixed(2)}M tokens`,
    `2. fine-tune each on ${TASKS.length} tasks at train lengths ${plan.trainLengths.join(", ")}: ` +
    `${f.steps} steps × ${f.batchSize} examples per phase, ${f.n} examples generated per phase`,
    `   evaluate on phases ${plan.eval.phases.join(", ")} (${plan.eval.n} examples each), meta models also ` +
    `under ${ABLATIONS.slice(1).map((a) => a.label).join(", ")}`,
    `3. analyse the pre-trained meta models: ${plan.analysis.n} prompts, VIB on ${plan.analysis.vibN} ` +
    `List Recall examples × ${plan.analysis.vibEpochs} epochs × 7 β`,
    `cost: ≈ ${(total / 1e15).toFixed(3)} PFLOP (pre-training ${(pre / 1e15).toFixed(3)}, fine-tuning ` +
    `${(ft / 1e15).toFixed(3)}, evaluation ${(ev / 1e15).toFixed(3)}); ≈ ${hours(total, cpuFlops)} at ` +
    `${(cpuFlops / 1e9).toFixed(0)} GFLOP/s (this CPU), ≈ ${
      hours(total, 25e12)
    } at 25 TFLOP/s (a GPU at ~40% of fp32 peak)`,
  ].join("\n");
}

/** What one (model, task, train length) stage records. */
export interface FinetuneResult {
  model: string;
  task: string;
  trainLength: number;
  phases: { phase: number; examples: number; loss: number }[];
  /** Per ablation name (`full` for every model): bins, and examples an APE model had to skip. */
  eval: Record<string, { bins: BinScore[]; skipped: number }>;
  seconds: number;
}

/** What the pre-training stage records. */
export interface PretrainResult {
  model: string;
  valLosses: [number, number][];
  seconds: number;
}
