/**
 * Training batches from task examples, for fine-tuning with a completion-only
 * loss: the model reads `prompt answer <|endoftext|>` and is trained only on
 * the answer tokens and the end-of-text after them — prompt positions,
 * padding and targets that are meta tokens are ignored (−1). Meta positions
 * are the `_PAUSE_` tokens of the prompt.
 *
 * @module
 */

import { EOT_ID, META_ID, metaTokenPositions } from "@metatokens/data";
import { encodeExample } from "./dataset.ts";
import type { TaskExample } from "./example.ts";
import { preview } from "@metatokens/tensor/quote";
import { Rng } from "@metatokens/tensor/rng";

/** Options of a {@linkcode TaskBatchSource}. */
export interface TaskBatchOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Longest sequence trained on (prompt + answer + end-of-text); longer examples are left out. */
  maxLength: number;
  /** Sampler seed. */
  seed: number;
}

/** One batch; structurally the model package's `Batch`. */
export interface TaskBatch {
  /** Rows B. */
  b: number;
  /** Length T: the longest sequence in the batch, shorter rows padded. */
  t: number;
  /** Inputs (B·T). */
  x: Int32Array;
  /** Targets (B·T): answer tokens and the end-of-text, −1 elsewhere. */
  y: Int32Array;
  /** Meta positions of each row. */
  meta: number[][];
}

/**
 * Random batches of task examples with completion-only targets.
 *
 * @example
 * ```ts
 * import { generateDataset, TaskBatchSource } from "@metatokens/tasks";
 * const examples = generateDataset("parity", 1, 20, 0);
 * const source = new TaskBatchSource(examples, { batchSize: 4, maxLength: 256, seed: 1 });
 * const batch = source.next();
 * console.log(batch.b, batch.y.filter((v) => v !== -1).length > 0); // 4 true
 * ```
 */
export class TaskBatchSource {
  readonly #rows: { tokens: Int32Array; answerStart: number }[] = [];
  readonly #options: TaskBatchOptions;
  readonly #rng: Rng;

  /** A source over the examples that fit `maxLength`. */
  constructor(examples: readonly TaskExample[], options: TaskBatchOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(
        `Cannot draw batches of ${options.batchSize} examples: expected a positive integer`,
      );
    }
    for (const example of examples) {
      const { prompt, answer } = encodeExample(example);
      const tokens = Int32Array.from([...prompt, ...answer, EOT_ID]);
      if (tokens.length <= options.maxLength) this.#rows.push({ tokens, answerStart: prompt.length });
    }
    if (this.#rows.length === 0) {
      throw new RangeError(
        `Cannot fine-tune at length ${options.maxLength}: none of the ${examples.length} examples fits ` +
          `(prompt + answer + end-of-text); raise the maximum length or use an earlier phase`,
      );
    }
    this.#options = options;
    this.#rng = new Rng(options.seed);
  }

  /** Examples that fit the maximum length. */
  get size(): number {
    return this.#rows.length;
  }

  /** The next batch of `batchSize` examples drawn at random. */
  next(): TaskBatch {
    const b = this.#options.batchSize;
    const picked = Array.from(
      { length: b },
      () => this.#rows[Math.floor(this.#rng.uniform() * this.#rows.length)],
    );
    const t = Math.max(...picked.map((r) => r.tokens.length - 1));
    const x = new Int32Array(b * t).fill(EOT_ID), y = new Int32Array(b * t).fill(-1);
    const meta: number[][] = [];
    picked.forEach(({ tokens, answerStart }, row) => {
      for (let i = 0; i + 1 < tokens.length; i++) {
        x[row * t + i] = tokens[i];
        // Position i predicts token i + 1: train only where that is part of the answer (or the final EOT).
        if (i + 1 >= answerStart && tokens[i + 1] !== META_ID) y[row * t + i] = tokens[i + 1];
      }
      meta.push(metaTokenPositions(tokens, META_ID, 0, tokens.length - 1));
    });
    return { b, t, x, y, meta };
  }

  /** The sampler's position. */
  state(): { counter: number } {
    return { counter: this.#rng.state().counter };
  }

  /** Continues from a saved position. */
  restore(state: unknown): void {
    const counter = (state as { counter?: unknown })?.counter;
    if (typeof counter !== "number" || !Number.isInteger(counter) || counter < 0) {
      throw new RangeError(
        `Cannot restore a task batch source from ${preview(state)}: expected { counter }`,
      );
    }
    this.#rng.restore({ ...this.#rng.state(), counter });
  }
}
