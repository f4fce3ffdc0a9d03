/**
 * What the experiments run, as plain data: the three models, the four tasks,
 * the ablations, every scale's budgets, the seeds and the task dataset sizes.
 * Change an experiment's settings here; the functions of this package read
 * nothing else.
 *
 * @example
 * ```ts
 * import { SCALES } from "@metatokens/experiments/plan";
 * console.log(SCALES.tiny.pretrain.steps, SCALES.tiny.trainLengths); // 150 [128, 192, 256]
 * ```
 *
 * @module
 */

import type { Ablation, GptConfig } from "@metatokens/model";
import { TASK_NAMES, type TaskName } from "@metatokens/tasks";

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

/** Everything one scale runs. */
export interface ScalePlan {
  /** Its name. */
  scale: Scale;
  /** Model preset (`@metatokens/model` `PRESETS`), shared by the three models. */
  preset: string;
  /** Overrides of the preset. */
  model: ModelOverrides;
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

/** The seeds `reproduce` uses (every model sees the same data). */
export const REPRODUCE_SEEDS: Readonly<{
  /** Pre-training batches and initialisation. */
  pretrain: number;
  /** Fine-tuning data (phase p uses seed + p) and batches. */
  finetune: number;
  /** Test examples (phase p uses seed · 1000 + p) and sampling during evaluation. */
  eval: number;
  /** Analysis prompts, VIB examples and VIB runs. */
  analysis: { examples: number; vib: number; run: number };
}> = { pretrain: 1337, finetune: 1337, eval: 7, analysis: { examples: 11, vib: 12, run: 3 } };

/** Examples per task dataset file (`tasks:generate`): the paper's D.1 (90,000 / 10,000) or a CPU size. */
export const DATASET_SIZES: Readonly<Record<"paper" | "cpu", Readonly<{ train: number; test: number }>>> = {
  paper: { train: 90_000, test: 10_000 },
  cpu: { train: 2_000, test: 200 },
};

/** Added to the seed of a test split, so test data comes from another stream than training data. */
export const TEST_SEED_OFFSET = 1_000_003;
