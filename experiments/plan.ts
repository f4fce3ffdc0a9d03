/**
 * What the experiments run, as plain data: the three models, the four tasks,
 * the ablations, every scale's budgets, the seeds and the task dataset sizes.
 * Change an experiment's settings here; the functions of this package read
 * nothing else.
 *
 * @example
 * ```ts
 * import { SCALES } from "@metatokens/experiments/plan";
 * console.log(SCALES.tiny.pretrain, SCALES.tiny.trainLengths); // null [ 128 ]
 * ```
 *
 * @module
 */

import type { Ablation, GptConfig } from "@metatokens/model";
import { TASK_NAMES, type TaskName } from "@metatokens/tasks";
import type { FinetuneOptions } from "./finetune.ts";

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

/** The label of each task in tables and figures. */
export const TASK_LABELS: Readonly<Record<TaskName, string>> = {
  "list-recall": "List Recall",
  "segment-counting": "Segment Counting",
  "parity": "Parity",
  "copying": "Copying",
};

/** The four tasks in the paper's order (the tasks package's own list), with their labels. */
export const TASKS: readonly { name: TaskName; label: string }[] = TASK_NAMES.map((name) => ({
  name,
  label: TASK_LABELS[name],
}));

/** Ablations of Tables 11–14, run on the meta models (the first, `full`, on every model). */
export const ABLATIONS: readonly { name: string; label: string; ablation: Ablation }[] = [
  { name: "full", label: "Full", ablation: {} },
  { name: "no-pos", label: "No Pos", ablation: { noPosAtMeta: true } },
  { name: "no-embed", label: "No Embed", ablation: { noEmbedAtMeta: true } },
  { name: "neither", label: "Neither", ablation: { noPosAtMeta: true, noEmbedAtMeta: true } },
];

/** The model keys a plan may override (meta-attention and positions come from {@linkcode MODELS}). */
export type ModelOverrides = Partial<Omit<GptConfig, "metaAttention" | "posEncoding">>;

/** A pre-training budget (the same for every model). */
export interface PretrainBudget {
  steps: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  minLr: number;
  warmup: number;
  evalEvery: number;
}

/** Everything one scale runs. */
export interface ScalePlan {
  /** Its name. */
  scale: Scale;
  /** Model preset (`@metatokens/model` `PRESETS`), shared by the three models. */
  preset: string;
  /** Overrides of the preset. */
  model: ModelOverrides;
  /** Pre-training budget, or null: every model is fine-tuned from its random initialisation. */
  pretrain: PretrainBudget | null;
  /** The maximum train lengths of fine-tuning. */
  trainLengths: readonly number[];
  /**
   * Fine-tuning per (model, task, train length, seed): examples generated and steps per phase, batch,
   * learning rates; `inBin` draws the training prompts from the train length's own length bin (so every
   * generated example fits), otherwise from each phase's whole window (those that fit are kept).
   */
  finetune:
    & Pick<FinetuneOptions, "n" | "steps" | "batchSize" | "lr" | "minLr" | "warmup" | "evalEvery" | "valN">
    & {
      inBin: boolean;
    };
  /**
   * Seeds of fine-tuning (data, batches, and the initialisation when there is no pre-training): every
   * (model, task) runs the first; the tasks listed run every seed (the headline comparison).
   */
  seeds: { values: readonly number[]; tasks: readonly TaskName[] };
  /** Test set: `n` examples in each length bin (upper edges of `LENGTH_BINS`), the same for every model. */
  eval: { bins: readonly number[]; n: number };
  /**
   * Analysis (Figures 2–3): prompts, VIB examples and epochs, of the pre-trained meta models or of the
   * meta models fine-tuned on List Recall (first seed, first train length).
   */
  analysis: { n: number; vibN: number; vibEpochs: number; of: "pretrained" | "finetuned" };
  /** What the scale is for. */
  purpose: string;
  /** Every deviation from the paper's settings, with its reason (listed in the report). */
  deviations: readonly string[];
}

/** The built-in scales. */
export const SCALES: Readonly<Record<Scale, ScalePlan>> = {
  micro: {
    scale: "micro",
    preset: "tiny",
    model: { nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 256 },
    pretrain: { steps: 30, batchSize: 4, gradAccum: 1, lr: 3e-3, minLr: 3e-4, warmup: 5, evalEvery: 15 },
    trainLengths: [128],
    finetune: {
      n: 60,
      steps: 4,
      batchSize: 4,
      lr: 1e-3,
      minLr: 1e-4,
      warmup: 1,
      evalEvery: 2,
      valN: 8,
      inBin: true,
    },
    seeds: { values: [0, 1], tasks: ["list-recall"] },
    eval: { bins: [128, 256], n: 3 },
    analysis: { n: 3, vibN: 10, vibEpochs: 2, of: "finetuned" },
    purpose: "an end-to-end check of every stage (CI); its numbers mean nothing",
    deviations: [
      "Everything is cut to a few steps and examples: the scale checks the pipeline, not the paper.",
    ],
  },
  tiny: {
    scale: "tiny",
    preset: "tiny",
    model: { nLayer: 2, nHead: 4, nEmbd: 128, blockSize: 256 },
    pretrain: null,
    trainLengths: [128],
    finetune: {
      n: 8000,
      steps: 1000,
      batchSize: 16,
      lr: 1e-3,
      minLr: 1e-4,
      warmup: 20,
      evalEvery: 100,
      valN: 64,
      inBin: true,
    },
    seeds: { values: [0, 1, 2], tasks: ["list-recall"] },
    eval: { bins: [128, 256], n: 200 },
    analysis: { n: 20, vibN: 50, vibEpochs: 5, of: "finetuned" },
    purpose: "the paper's comparisons on a 2-core CPU: fine-tuning from scratch at train length 128, " +
      "tested at 1× and 2× it",
    deviations: [
      "No pre-training: the models are fine-tuned from random initialisation. The paper pre-trains 152M " +
      "models on ≈ 98B tokens; the few hundred CPU steps we can afford per model did not help fine-tuning " +
      "(EXPERIMENTS.md), so the budget goes to fine-tuning, and the meta-token effect measured is that of the " +
      "architecture (meta-attention over `_PAUSE_`), not of pre-training with injected meta tokens.",
      "Models: 2 layers, width 128, 4 heads, context 256 (7.0M parameters with meta-attention, 6.4M of them the GPT-2 token embedding), " +
      "the GPT-2 vocabulary and the paper's prompt text unchanged: the size that learns List Recall in " +
      "≈ 750 steps on this CPU (EXPERIMENTS.md, bisection).",
      "Fine-tuning: one train length (128), phase-1 prompts of ≤ 128 tokens, 1,000 steps × 16 examples, " +
      "AdamW lr 1e-3 → 1e-4 (warm-up 20), instead of the paper's 128/256/512 with 3e-4 and its larger budget; " +
      "the same for every model and task.",
      "Test: 200 prompts at ≤ 128 tokens (1× the train length) and 200 at 129–256 (2×) per task, drawn " +
      "from the curriculum phases whose windows meet each bin; the paper tests up to 1,024 (APE models with a " +
      "256-token context cannot go further here).",
      "Seeds: List Recall, the headline comparison, runs 3 seeds (initialisation, data and batch order); the " +
      "other tasks 1.",
      "Analysis (Figures 2–3) on the meta models fine-tuned on List Recall (seed 0): without pre-training " +
      "there is no pre-trained meta model to analyse.",
    ],
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
    finetune: {
      n: 90_000,
      steps: 2000,
      batchSize: 16,
      lr: 3e-4,
      minLr: 3e-5,
      warmup: 100,
      evalEvery: 200,
      valN: 256,
      inBin: false,
    },
    seeds: { values: [1337], tasks: [] },
    eval: { bins: [128, 256, 512, 1024], n: 500 },
    analysis: { n: 200, vibN: 50, vibEpochs: 5, of: "pretrained" },
    purpose:
      'the paper\'s scale (Table 4, 200k steps ≈ 98B tokens: its "fewer than 100B"): a GPU host with C4 shards',
    deviations: [
      "Fine-tuning steps (2,000 × 16 per phase) and the test set size (500 per length bin) are ours: the " +
      "paper does not state them.",
    ],
  },
};

/** The seeds `reproduce` uses (every model sees the same data). */
export const REPRODUCE_SEEDS: Readonly<{
  /** Pre-training batches and initialisation. */
  pretrain: number;
  /** Test examples (phase p uses seed · 1000 + p) and sampling during evaluation. */
  eval: number;
  /** Analysis prompts, VIB examples and VIB runs. */
  analysis: { examples: number; vib: number; run: number };
}> = { pretrain: 1337, eval: 7, analysis: { examples: 11, vib: 12, run: 3 } };

/** Examples per task dataset file (`tasks:generate`): the paper's D.1 (90,000 / 10,000) or a CPU size. */
export const DATASET_SIZES: Readonly<Record<"paper" | "cpu", Readonly<{ train: number; test: number }>>> = {
  paper: { train: 90_000, test: 10_000 },
  cpu: { train: 2_000, test: 200 },
};

/** Added to the seed of a test split, so test data comes from another stream than training data. */
export const TEST_SEED_OFFSET = 1_000_003;
