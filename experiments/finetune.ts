/**
 * Fine-tuning on a task, phase by phase through the curriculum, with
 * completion-only loss: one fresh optimizer per phase (freed when the phase
 * ends), optionally a checkpoint after each phase.
 *
 * @module
 */

import {
  type BatchSource,
  type Gpt,
  PAPER_TRAIN_OPTIONS,
  runTraining,
  type StepInfo,
  Trainer,
} from "@metatokens/model";
import { generateDataset, phaseSpec, type TaskBatch, TaskBatchSource, taskName } from "@metatokens/tasks";
import { preview } from "@metatokens/tensor/quote";

/** Held-out examples per phase when `FinetuneOptions.valN` is absent. */
export const DEFAULT_VAL_N = 64;

/** The curriculum phases of the tasks package. */
const PHASES = [1, 2, 3, 4, 5];

/** Options of {@linkcode finetune}. */
export interface FinetuneOptions {
  /** Task name (`list-recall`, or `list_recall`, …). */
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
  /** Peak learning rate. */
  lr: number;
  /** Final learning rate of the cosine. */
  minLr: number;
  /** Warm-up steps. */
  warmup: number;
  /** Seed of the data (phase p: seed + p) and of the batches. */
  seed: number;
  /**
   * The loss spike guard (`TrainOptions.maxLoss`): a step whose training loss
   * exceeds it stops fine-tuning with a `LossSpikeError` before the weights are
   * updated; the checkpoints of earlier phases stay. Absent: off.
   */
  maxLoss?: number;
  /**
   * Evaluate the validation loss every this many steps of a phase, at its
   * start and at its end (absent or 0: never). The held-out set is `valN`
   * examples generated with a seed of their own ({@linkcode validationSeed});
   * every evaluation reads the same batches of it, so the curve compares like
   * with like.
   */
  evalEvery?: number;
  /** Held-out examples per phase for the validation loss (default {@linkcode DEFAULT_VAL_N}). */
  valN?: number;
  /** Draw the training prompts from this length bin only (a `LENGTH_BINS` edge), within each phase's window. */
  bin?: number;
  /**
   * A folder for `metrics.jsonl` and a `checkpoint/` written after each
   * phase (its `trainer_state.json` records `finetune: { task, phase,
   * maxLength, …record }`); without one, the phases run in memory.
   */
  out?: string;
  /** More to record in each phase checkpoint's `finetune` state (e.g. the checkpoint fine-tuned). */
  record?: Record<string, unknown>;
  /** Progress messages. */
  log?: (message: string) => void;
  /** Called after every step of a phase. */
  onStep?: (phase: number, info: StepInfo) => void;
}

/** What one phase did. */
export interface PhaseResult {
  /** Curriculum phase. */
  phase: number;
  /** Training examples that fit `maxLength`. */
  examples: number;
  /** The loss of the phase's last step. */
  loss: number;
  /** The training loss of every step of the phase, in order (the loss curve). */
  losses: number[];
  /** The validation loss as [step of the phase, loss], from step 0 (empty without `evalEvery`). */
  valLosses: [number, number][];
}

/**
 * The seed of phase `phase`'s held-out validation examples: apart from the
 * training examples' `seed + phase` (and from the small seeds of test sets).
 *
 * @example
 * ```ts
 * import { validationSeed } from "@metatokens/experiments";
 * console.log(validationSeed(1337, 1) !== 1337 + 1); // true
 * ```
 */
export function validationSeed(seed: number, phase: number): number {
  return ((seed + phase) ^ 0x7a11d5ee) >>> 0;
}

/** The same batches, drawn once and returned in turn: each evaluation reads the same held-out data. */
class FixedBatches implements BatchSource {
  #i = 0;
  constructor(readonly batches: readonly TaskBatch[]) {}
  next(): TaskBatch {
    const batch = this.batches[this.#i];
    this.#i = (this.#i + 1) % this.batches.length;
    return batch;
  }
  state(): { index: number } {
    return { index: this.#i };
  }
  restore(state: unknown): void {
    const index = (state as { index?: unknown })?.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= this.batches.length) {
      throw new RangeError(`Cannot restore held-out batches from ${preview(state)}: expected { index }`);
    }
    this.#i = index;
  }
}

/**
 * `count` batches drawn once, at random with replacement, from `valN` held-out
 * examples of `phase` (those that fit `maxLength`), all under the validation seed.
 */
function heldOut(
  task: ReturnType<typeof taskName>,
  phase: number,
  valN: number,
  o: Pick<FinetuneOptions, "batchSize" | "maxLength" | "bin" | "seed">,
  count: number,
): TaskBatch[] {
  const seed = validationSeed(o.seed, phase);
  const examples = generateDataset(task, phase, valN, seed, { bin: o.bin });
  const source = new TaskBatchSource(examples, { batchSize: o.batchSize, maxLength: o.maxLength, seed });
  return Array.from({ length: count }, () => source.next());
}

/**
 * The phases of the built-in curriculum (1–5) whose shortest prompt fits
 * `maxLength` tokens.
 *
 * @example
 * ```ts
 * import { phasesFitting } from "@metatokens/experiments";
 * console.log(phasesFitting(256)); // [1, 2]
 * ```
 */
export function phasesFitting(maxLength: number): number[] {
  const out = PHASES.filter((phase) => phaseSpec(phase).tokens.lo < maxLength);
  if (out.length === 0) {
    throw new RangeError(
      `Cannot fine-tune at length ${maxLength}: even phase 1's prompts have ${phaseSpec(1).tokens.lo} tokens`,
    );
  }
  return out;
}

/**
 * Fine-tunes `model` in place on a task, phase by phase. Each phase has its
 * own optimizer and schedule, freed when the phase ends.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * import { finetune } from "@metatokens/experiments";
 * using model = new Gpt(gptConfig({ nLayer: 1, nHead: 2, nEmbd: 16 }), new Rng(0));
 * const phases = await finetune(model, { task: "parity", phases: [1], maxLength: 256, n: 4, steps: 1, batchSize: 2, lr: 1e-3, minLr: 1e-4, warmup: 0, seed: 1 });
 * console.log(phases[0].phase, phases[0].examples); // 1 4
 * ```
 */
export async function finetune(model: Gpt, options: FinetuneOptions): Promise<PhaseResult[]> {
  const o = options;
  const task = taskName(o.task);
  const { config } = model;
  if (config.posEncoding === "ape" && o.maxLength - 1 > config.blockSize) {
    throw new RangeError(
      `Cannot fine-tune at length ${o.maxLength}: the APE model's block size is ${config.blockSize}`,
    );
  }
  const evalEvery = o.evalEvery ?? 0, valN = o.valN ?? DEFAULT_VAL_N;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) {
    throw new RangeError(
      `Cannot evaluate every ${preview(evalEvery)} steps: expected an integer ≥ 0 (0: never)`,
    );
  }
  if (!Number.isInteger(valN) || valN < 1) {
    throw new RangeError(`Cannot hold out ${preview(valN)} validation examples: expected an integer ≥ 1`);
  }
  const done: PhaseResult[] = [];
  for (const phase of o.phases ?? phasesFitting(o.maxLength)) {
    const examples = generateDataset(task, phase, o.n, o.seed + phase, { bin: o.bin });
    const source = new TaskBatchSource(examples, {
      batchSize: o.batchSize,
      maxLength: o.maxLength,
      seed: o.seed,
    });
    o.log?.(
      `fine-tuning on ${task} phase ${phase}: ${source.size} of ${examples.length} examples fit ${o.maxLength} tokens`,
    );
    // The held-out batches: about valN examples, drawn once; every evaluation reads all of them.
    const evalBatches = Math.ceil(valN / o.batchSize);
    const val = evalEvery > 0 ? new FixedBatches(heldOut(task, phase, valN, o, evalBatches)) : null;
    using trainer = new Trainer(model, source, val, {
      ...PAPER_TRAIN_OPTIONS,
      steps: o.steps,
      gradAccum: 1,
      lr: o.lr,
      minLr: o.minLr,
      warmup: o.warmup,
      evalEvery,
      evalBatches: val ? evalBatches : 1,
      ...(o.maxLoss === undefined ? {} : { maxLoss: o.maxLoss }),
    }, o.seed);
    let loss = NaN;
    const losses: number[] = [];
    if (o.out === undefined) {
      // runTraining's cadence, in memory: at the start, every evalEvery steps and at the end.
      if (val) await trainer.evaluate();
      while (trainer.stepCount < o.steps) {
        const info = await trainer.step();
        loss = info.loss;
        losses.push(info.loss);
        o.onStep?.(phase, info);
        if (val && (info.step % evalEvery === 0 || info.step === o.steps)) await trainer.evaluate();
      }
    } else {
      const result = await runTraining(trainer, {
        outDir: o.out,
        checkpointEvery: 0,
        extraState: { finetune: { task, phase, maxLength: o.maxLength, ...o.record } },
        onStep: (info) => {
          loss = info.loss;
          losses.push(info.loss);
          o.onStep?.(phase, info);
        },
      });
      o.log?.(`phase ${phase} done; checkpoint: ${result.checkpoint}`);
    }
    const valLosses = trainer.valLosses.map(([step, l]): [number, number] => [step, l]);
    if (val) {
      o.log?.(
        `phase ${phase} validation loss (${evalBatches * o.batchSize} held-out examples) by step: ` +
          valLosses.map(([s, l]) => `${s}: ${l.toFixed(3)}`).join(", "),
      );
    }
    done.push({ phase, examples: source.size, loss, losses, valLosses });
  }
  return done;
}
