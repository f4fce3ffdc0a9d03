/**
 * The option tables of every subcommand: the single description from which
 * arguments are parsed, checked and `--help` is written. Adding an option is
 * a row here and its use in `commands.ts`.
 *
 * @module
 */

import { defaultThreads } from "@metatokens/tensor";
import { PRESETS } from "@metatokens/model";
import { PHASES, TASK_NAMES } from "@metatokens/tasks";
import { DEFAULT_VAL_N, pretrainDefaults, type PretrainSettings, SCALES } from "@metatokens/experiments";
import type { CommandSpec, OptionSpec, OptionTable } from "./args.ts";

const LAST_PHASE = PHASES.length;
const taskSpelling = (t: string): string => t.replaceAll("_", "-");

/** `--device` and `--threads`, taken by every command that runs a model. */
export const DEVICE_OPTIONS: OptionTable = {
  device: { type: "string", default: "cpu", choices: ["cpu", "webgpu", "auto"], doc: "where the model runs" },
  threads: {
    type: "integer",
    default: defaultThreads(),
    min: 1,
    doc: "CPU worker threads",
    note: "METATOKENS_THREADS or the core count",
  },
};

const task = (required: boolean, fallback?: string): OptionSpec => ({
  type: "string",
  choices: TASK_NAMES,
  normalize: taskSpelling,
  ...(required ? { required } : { default: fallback }),
  doc: "synthetic task (list_recall spelling accepted)",
});

const phases = (fallback: number[], doc: string): OptionSpec => ({
  type: "integers",
  default: fallback,
  min: 1,
  max: LAST_PHASE,
  doc,
});

const checkpoint: OptionSpec = {
  type: "string",
  required: true,
  placeholder: "DIR",
  doc: "a checkpoint folder (a run folder's checkpoint/)",
};

/**
 * One line of doc and the range of every pre-training setting. Typed by the
 * settings themselves, so a setting added to `PretrainSettings` (or model's
 * `TrainOptions`) does not compile until it has a row here.
 */
const PRETRAIN_ROWS: {
  [K in Exclude<keyof PretrainSettings, "decaySteps">]-?: Omit<OptionSpec, "type"> & {
    type?: OptionSpec["type"];
  };
} = {
  preset: { choices: Object.keys(PRESETS), doc: "model preset the other defaults come from" },
  meta: { doc: "meta-attention and meta-token injection" },
  pos: { choices: ["ape", "rope", "none"], doc: "positional encoding" },
  data: {
    placeholder: "GLOBS",
    doc: "corpus files, comma-separated globs (empty: the embedded Brown corpus)",
  },
  initFrom: { placeholder: "FILE", doc: "a Hugging Face GPT-2 model.safetensors to start from" },
  extendFrom: { placeholder: "DIR", doc: "a RoPE checkpoint to YaRN-extend (use deno task extend)" },
  yarnScale: { min: 1, doc: "YaRN scale s = L′/L of an extension (use deno task extend)" },
  out: { placeholder: "DIR", doc: "run folder: metrics.jsonl and checkpoint/" },
  seed: { min: 0, doc: "seed of initialisation, dropout and batches" },
  batchSize: { min: 1, doc: "sequences per micro-batch" },
  checkpointEvery: { min: 0, doc: "save a checkpoint every N steps", note: "0: only at the end" },
  valFraction: { above: 0, below: 1, doc: "share of the corpus held out for validation" },
  vocabSize: { min: 1, doc: "vocabulary rows of the embedding" },
  blockSize: { min: 1, doc: "context length in tokens" },
  nLayer: { min: 1, doc: "transformer blocks" },
  nHead: { min: 1, doc: "attention heads per block" },
  nEmbd: { min: 1, doc: "model width" },
  dropout: { min: 0, below: 1, doc: "dropout probability" },
  bias: { doc: "biases in linears and layer norms" },
  ropeTheta: { above: 1, doc: "RoPE base θ" },
  yarn: { doc: 'YaRN parameters, e.g. {"scale":2,"originalContext":256}' },
  activation: { choices: ["gelu", "relu"], doc: "MLP activation" },
  metaTokenId: { min: 0, doc: "token id of the meta token _PAUSE_" },
  steps: { min: 1, doc: "optimizer steps in total" },
  gradAccum: { min: 1, doc: "micro-batches per optimizer step" },
  lr: { above: 0, doc: "peak learning rate" },
  minLr: { min: 0, doc: "final learning rate of the cosine" },
  warmup: { min: 0, doc: "linear warm-up steps" },
  weightDecay: { min: 0, doc: "decoupled weight decay on ≥ 2-D tensors" },
  beta1: { min: 0, below: 1, doc: "AdamW β1" },
  beta2: { min: 0, below: 1, doc: "AdamW β2" },
  gradClip: { min: 0, doc: "global gradient-norm clip", note: "0: no clipping" },
  evalEvery: { min: 0, doc: "evaluate every N steps", note: "0: never" },
  evalBatches: { min: 1, doc: "validation batches per evaluation" },
  maxLoss: {
    type: "number",
    above: 0,
    doc: "stop before a step whose training loss exceeds this (a diverging run); the last checkpoint stays",
    note: "absent: off",
  },
};

/** `--max-loss`, the loss spike guard of pre-training and fine-tuning (no default: off). */
const MAX_LOSS: OptionSpec = { ...PRETRAIN_ROWS.maxLoss, type: "number" };

/** Settings that are whole numbers. */
const INTEGER_SETTINGS = new Set([
  "seed",
  "batchSize",
  "checkpointEvery",
  "vocabSize",
  "blockSize",
  "nLayer",
  "nHead",
  "nEmbd",
  "metaTokenId",
  "steps",
  "gradAccum",
  "warmup",
  "evalEvery",
  "evalBatches",
]);

/** The option table of pre-training, its defaults those of `preset`. */
export function pretrainOptions(preset = "tiny"): OptionTable {
  const defaults = pretrainDefaults(preset) as unknown as Record<string, OptionSpec["default"]>;
  const table: Record<string, OptionSpec> = {};
  for (const [key, row] of Object.entries(PRETRAIN_ROWS) as [string, Partial<OptionSpec>][]) {
    const value = defaults[key];
    // A setting without a default (optional, absent unless given) names its type in its row.
    const type: OptionSpec["type"] = row.type ??
      (typeof value === "number"
        ? (INTEGER_SETTINGS.has(key) ? "integer" : "number")
        : typeof value === "boolean"
        ? "boolean"
        : typeof value === "string"
        ? "string"
        : "json");
    table[key] = { doc: "", ...row, type, default: value };
  }
  return {
    ...table,
    resume: { type: "boolean", default: false, doc: "continue the run in --out from its checkpoint" },
    ...DEVICE_OPTIONS,
  };
}

const PRESET_NOTE = `Defaults shown are --preset tiny's; --preset ${
  Object.keys(PRESETS).filter((p) => p !== "tiny").join("|")
} changes the model and optimisation defaults (Table 4).`;

/** `pretrain`. */
export const PRETRAIN: CommandSpec = {
  name: "pretrain",
  summary:
    "Pre-train a GPT (meta-attention on by default) on a corpus, or resume a run. Ctrl-C saves a checkpoint.",
  options: pretrainOptions(),
  config: true,
  epilog: `${PRESET_NOTE}\nexample: deno task pretrain --steps 600 --pos rope --out runs/rope`,
};

/** `extend`. */
export const EXTEND: CommandSpec = {
  name: "extend",
  summary: "YaRN-extend a RoPE checkpoint by --scale and continue pre-training at the new length.",
  options: {
    checkpoint: { ...checkpoint, doc: "the RoPE checkpoint folder to extend" },
    scale: { type: "number", required: true, min: 1, doc: "YaRN scale s: the new context is s × the old" },
    ...Object.fromEntries(
      Object.entries(pretrainOptions()).filter(([k]) => !["extendFrom", "yarnScale"].includes(k)),
    ),
    out: { type: "string", default: "runs/extend", placeholder: "DIR", doc: "run folder" },
  },
  config: true,
  epilog: PRESET_NOTE,
};

/** `finetune`. */
export const FINETUNE: CommandSpec = {
  name: "finetune",
  summary: "Fine-tune a checkpoint on a synthetic task, phase by phase (a checkpoint after each phase).",
  options: {
    checkpoint,
    task: task(true),
    phases: phases([1], `curriculum phases in order, 1…${LAST_PHASE}`),
    maxLength: { type: "integer", default: 128, min: 1, doc: "longest training sequence, in tokens" },
    n: { type: "integer", default: 2000, min: 1, doc: "training examples generated per phase" },
    steps: { type: "integer", default: 100, min: 1, doc: "optimizer steps per phase" },
    batchSize: { type: "integer", default: 8, min: 1, doc: "examples per batch" },
    lr: { type: "number", default: 3e-4, above: 0, doc: "peak learning rate" },
    minLr: { type: "number", default: 3e-5, min: 0, doc: "final learning rate of the cosine" },
    warmup: { type: "integer", default: 10, min: 0, doc: "warm-up steps" },
    out: { type: "string", default: "runs/finetune", placeholder: "DIR", doc: "run folder" },
    seed: { type: "integer", default: 1337, min: 0, doc: "seed of the data and batches" },
    evalEvery: {
      type: "integer",
      default: 0,
      min: 0,
      doc: "validation loss on held-out examples every N steps of a phase (and at its start and end)",
      note: "0: never",
    },
    valN: {
      type: "integer",
      default: DEFAULT_VAL_N,
      min: 1,
      doc: "held-out examples per phase for the validation loss",
    },
    maxLoss: MAX_LOSS,
    ...DEVICE_OPTIONS,
  },
  config: true,
};

/** `eval`. */
export const EVAL: CommandSpec = {
  name: "eval",
  summary: "Per-length-bin accuracy of a checkpoint on a task's test set, optionally ablated.",
  options: {
    checkpoint,
    task: task(true),
    phases: phases([1], `phases the test prompts come from, 1…${LAST_PHASE}`),
    n: { type: "integer", default: 50, min: 1, doc: "test examples per phase" },
    seed: { type: "integer", default: 7, min: 0, doc: "seed of the test set" },
    zeroPosAtMeta: {
      type: "boolean",
      default: false,
      doc: "ablation: no positional encoding at meta tokens",
    },
    zeroEmbedAtMeta: { type: "boolean", default: false, doc: "ablation: zero embedding at meta tokens" },
    peNoise: {
      type: "number",
      default: 0,
      min: 0,
      doc: "ablation: Gaussian noise σ on positional encodings",
    },
    out: {
      type: "string",
      default: "",
      placeholder: "DIR",
      doc: "write eval.json and eval.md here (empty: none)",
    },
    ...DEVICE_OPTIONS,
  },
  config: true,
};

/** `analyze`. */
export const ANALYZE: CommandSpec = {
  name: "analyze",
  summary: "Every analysis of the paper's §4.4–5 on one checkpoint, written as SVG + JSON/CSV.",
  options: {
    checkpoint,
    task: task(false, "list-recall"),
    phase: { type: "integer", default: 1, min: 1, max: LAST_PHASE, doc: "curriculum phase of the prompts" },
    n: { type: "integer", default: 20, min: 1, doc: "prompts analysed" },
    vibN: {
      type: "integer",
      default: 50,
      min: 0,
      doc: "List Recall examples of the VIB sweep",
      note: "0: none",
    },
    vibEpochs: { type: "integer", default: 5, min: 1, doc: "VIB epochs" },
    betas: {
      type: "numbers",
      default: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
      above: 0,
      doc: "β values of the VIB sweep",
    },
    seed: { type: "integer", default: 7, min: 0, doc: "seed of prompts and VIB runs" },
    out: { type: "string", default: "runs/analyze", placeholder: "DIR", doc: "output folder" },
    ...DEVICE_OPTIONS,
  },
  config: true,
};

/** `reproduce`. */
export const REPRODUCE: CommandSpec = {
  name: "reproduce",
  summary: "Every stage of a scale's plan (pre-training, fine-tuning, evaluations) and the report.",
  options: {
    scale: {
      type: "string",
      choices: Object.keys(SCALES),
      doc: "how large a reproduction; without it (or --yes) only the plan is printed",
    },
    yes: { type: "boolean", default: false, doc: "run the default scale (tiny) without --scale" },
    plan: { type: "boolean", default: false, doc: "print the plan and its cost, then stop" },
    out: { type: "string", default: "", placeholder: "DIR", doc: "run folder (empty: runs/SCALE)" },
    data: { type: "string", default: "", placeholder: "GLOBS", doc: "pre-training corpus (empty: Brown)" },
    shard: { type: "string", default: "", placeholder: "i/n", doc: "run only shard i of n (no report)" },
    ...DEVICE_OPTIONS,
  },
  config: true,
};

/** `score`. */
export const SCORE: CommandSpec = {
  name: "score",
  summary: "Log-probability of every token of a text under a checkpoint.",
  options: {
    checkpoint,
    text: { type: "string", required: true, placeholder: '"…"', doc: "the text to score" },
    json: { type: "boolean", default: false, doc: "print one JSON object instead of a table" },
    quantize: { type: "string", default: "none", choices: ["none", "int8"], doc: "weight-only quantization" },
    ...DEVICE_OPTIONS,
  },
  config: true,
};

/** `generate`. */
export const GENERATE: CommandSpec = {
  name: "generate",
  summary:
    "Continue a prompt (streamed) or every line of --prompts FILE (one batch); stops at <|endoftext|>.",
  options: {
    checkpoint,
    prompt: { type: "string", multiple: true, placeholder: '"…"', doc: "a prompt to continue" },
    prompts: { type: "string", placeholder: "FILE", doc: "a file of prompts, one per non-empty line" },
    maxNewTokens: { type: "integer", default: 64, min: 1, doc: "tokens to generate per prompt" },
    temperature: { type: "number", default: 0.8, min: 0, doc: "sampling temperature", note: "0: greedy" },
    topK: { type: "integer", min: 1, doc: "sample among the k most likely tokens", note: "absent: all" },
    topP: {
      type: "number",
      default: 1,
      above: 0,
      max: 1,
      doc: "nucleus sampling: the smallest set of mass p",
    },
    seed: { type: "integer", default: 1337, min: 0, doc: "sampling seed" },
    quantize: { type: "string", default: "none", choices: ["none", "int8"], doc: "weight-only quantization" },
    ...DEVICE_OPTIONS,
  },
  config: true,
  epilog: "A prompt longer than an APE model's block keeps its last block-size tokens (as nanoGPT crops).",
};

/** `tasks:generate`. */
export const TASKS_GENERATE: CommandSpec = {
  name: "tasks:generate",
  summary: "A seeded JSONL file of synthetic task examples.",
  options: {
    task: task(true),
    phase: { type: "integer", default: 1, min: 1, max: LAST_PHASE, doc: "curriculum phase" },
    split: { type: "string", default: "train", choices: ["train", "test"], doc: "which split's seed" },
    preset: { type: "string", default: "cpu", choices: ["cpu", "paper"], doc: "dataset sizes of the split" },
    n: { type: "integer", default: 0, min: 0, doc: "examples", note: "0: the preset's size for the split" },
    seed: { type: "integer", default: 0, min: 0, doc: "seed of the examples (test split: offset)" },
    out: { type: "string", required: true, placeholder: "FILE.jsonl", doc: "where to write" },
  },
  config: true,
};

/** Every subcommand, in the order `help` lists them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [
  PRETRAIN,
  EXTEND,
  FINETUNE,
  EVAL,
  ANALYZE,
  REPRODUCE,
  SCORE,
  GENERATE,
  TASKS_GENERATE,
];
