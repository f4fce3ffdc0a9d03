/**
 * Fine-tuning on a task phase by phase and evaluating per length bin: the
 * two steps `finetune`, `eval` and `reproduce` share.
 *
 * @module
 */

import { Rng } from "@metatokens/tensor";
import { type Ablation, type Gpt, PAPER_TRAIN_OPTIONS, Trainer } from "@metatokens/model";
import { modelPredictor } from "@metatokens/analysis";
import {
  type BinScore,
  encodeExample,
  evaluateTask,
  generateDataset,
  phaseSpec,
  TaskBatchSource,
  type TaskExample,
} from "@metatokens/tasks";

/** Settings of {@linkcode finetuneOnTask}. */
export interface FinetuneSettings {
  /** Task name (`list-recall`, …). */
  task: string;
  /** Curriculum phases in order (default: every phase whose shortest prompt fits `maxLength`). */
  phases?: readonly number[];
  /** Longest training sequence (prompt + answer + end of text), in tokens. */
  maxLength: number;
  /** Examples generated per phase. */
  n: number;
  /** Optimizer steps per phase. */
  steps: number;
  /** Examples per batch. */
  batchSize: number;
  /** Peak and final learning rate, warm-up steps. */
  lr: number;
  minLr: number;
  warmup: number;
  /** Seed of the data and the batches. */
  seed: number;
}

/** The phases of the built-in curriculum (1–5) whose shortest prompt fits `maxLength` tokens. */
export function phasesFitting(maxLength: number): number[] {
  const out: number[] = [];
  for (let phase = 1; phase <= 5; phase++) if (phaseSpec(phase).tokens.lo < maxLength) out.push(phase);
  if (out.length === 0) {
    throw new RangeError(
      `Cannot fine-tune at length ${maxLength}: even phase 1's prompts have ${phaseSpec(1).tokens.lo} tokens`,
    );
  }
  return out;
}

/**
 * Fine-tunes `model` in place with completion-only loss, phase by phase.
 * Each phase's steps run through `hooks.runPhase` (the `finetune` command
 * runs them through `runTraining` for metrics and a checkpoint per phase),
 * by default a plain loop; it returns the last step's loss.
 */
export async function finetuneOnTask(
  model: Gpt,
  s: FinetuneSettings,
  hooks: {
    runPhase?: (trainer: Trainer, phase: number) => Promise<number>;
    log?: (message: string) => void;
  } = {},
): Promise<{ phase: number; examples: number; loss: number }[]> {
  if (model.config.posEncoding === "ape" && s.maxLength - 1 > model.config.blockSize) {
    throw new RangeError(
      `Cannot fine-tune at length ${s.maxLength}: the APE model's block size is ${model.config.blockSize}`,
    );
  }
  const runPhase = hooks.runPhase ?? (async (trainer: Trainer): Promise<number> => {
    let loss = NaN;
    while (trainer.stepCount < trainer.options.steps) loss = (await trainer.step()).loss;
    return loss;
  });
  const done: { phase: number; examples: number; loss: number }[] = [];
  for (const phase of s.phases ?? phasesFitting(s.maxLength)) {
    const examples = generateDataset(s.task, phase, s.n, s.seed + phase);
    const source = new TaskBatchSource(examples, {
      batchSize: s.batchSize,
      maxLength: s.maxLength,
      seed: s.seed,
    });
    hooks.log?.(
      `fine-tuning on ${s.task} phase ${phase}: ${source.size} of ${examples.length} examples fit ${s.maxLength} tokens`,
    );
    const trainer = new Trainer(model, source, null, {
      ...PAPER_TRAIN_OPTIONS,
      steps: s.steps,
      gradAccum: 1,
      lr: s.lr,
      minLr: s.minLr,
      warmup: s.warmup,
      evalEvery: 0,
      evalBatches: 1,
    }, s.seed);
    done.push({ phase, examples: source.size, loss: await runPhase(trainer, phase) });
  }
  return done;
}

/** Settings of {@linkcode evaluateOnTask}. */
export interface EvalSettings {
  /** Task name. */
  task: string;
  /** Phases the test examples are drawn from. */
  phases: readonly number[];
  /** Examples per phase. */
  n: number;
  /** Seed of the test examples (a stream apart from the training data). */
  seed: number;
  /** Inference-time ablation. */
  ablation?: Ablation;
}

/** Test examples of `s` (seeded per phase), the same for every model. */
export function testExamples(s: Pick<EvalSettings, "task" | "phases" | "n" | "seed">): TaskExample[] {
  return s.phases.flatMap((p) => generateDataset(s.task, p, s.n, s.seed * 1000 + p));
}

/**
 * Scores `model` on `examples` per length bin (sequence and token accuracy).
 * An APE model skips the examples longer than its block size and says how many.
 */
export async function evaluateOnTask(
  model: Gpt,
  examples: readonly TaskExample[],
  options: { ablation?: Ablation; seed: number },
): Promise<{ bins: BinScore[]; skipped: number }> {
  const { config } = model;
  const fits = examples.filter((e) => {
    if (config.posEncoding !== "ape") return true;
    const { prompt, answer } = encodeExample(e);
    return prompt.length + answer.length - 1 <= config.blockSize;
  });
  if (fits.length === 0) return { bins: [], skipped: examples.length };
  const predictor = modelPredictor(model, options.ablation ?? {}, new Rng(options.seed));
  return { bins: (await evaluateTask(predictor, fits)).bins, skipped: examples.length - fits.length };
}
