/**
 * The training loop (docs/ARCHITECTURE.md §5): AdamW with decoupled weight decay on
 * ≥ 2-D tensors only, linear warmup then cosine decay to a minimum learning
 * rate, global gradient clipping, gradient accumulation, periodic
 * evaluation, checkpoints that resume bit-exactly, and a loss that turns
 * NaN/Inf stops training before the weights are touched.
 *
 * The loop takes any batch source with `next()` / `state()` / `restore()`;
 * the model package never imports the data package.
 *
 * @module
 */

import {
  AdamW,
  type Backend,
  backward,
  clipGradNorm,
  defaultBackend,
  gradSumSquares,
  noGrad,
  Rng,
  type RngState,
  scope,
  type Tensor,
  tensor,
  zeros,
} from "@metatokens/tensor";
import { preview } from "@metatokens/tensor/quote";
import type { Checkpoint } from "./checkpoint.ts";
import { checkpointConfig } from "./config.ts";
import { type Batch, Gpt } from "./gpt.ts";
import type { StateDict } from "./safetensors.ts";
import { readTrainerState } from "./trainer_state.ts";

/** Where batches come from: deterministic given its state. */
export interface BatchSource {
  /** The next batch. */
  next(): Batch;
  /** A JSON-serialisable cursor. */
  state(): unknown;
  /** Continues from a saved cursor. */
  restore(state: unknown): void;
}

/** Optimisation settings (defaults: the paper's Table 4 where it gives them). */
export interface TrainOptions {
  /** Optimizer steps to run in total. */
  steps: number;
  /** Micro-batches per optimizer step (Table 4: 40). */
  gradAccum: number;
  /** Peak learning rate (Table 4: 6e-4). */
  lr: number;
  /** Final learning rate of the cosine (Table 4: 6e-5). */
  minLr: number;
  /** Linear warmup steps (Table 4: 2000). */
  warmup: number;
  /** Steps over which the cosine decays (default: `steps`). */
  decaySteps?: number;
  /** Decoupled weight decay on ≥ 2-D tensors (Table 4: 0.1). */
  weightDecay: number;
  /** AdamW β1 (0.9). */
  beta1: number;
  /** AdamW β2 (0.95). */
  beta2: number;
  /** Global gradient-norm clip (1.0). */
  gradClip: number;
  /** Evaluate every N steps (0: never). */
  evalEvery: number;
  /** Validation batches per evaluation. */
  evalBatches: number;
  /**
   * The loss spike guard: a step whose mean training loss exceeds this stops
   * training before the weights are updated ({@linkcode LossSpikeError}), so a
   * diverged run ends with its last good checkpoint intact. Absent (or
   * `Infinity`): off.
   */
  maxLoss?: number;
}

/** Table 4's optimisation settings; `steps` defaults to its 600,000 iterations. */
export const PAPER_TRAIN_OPTIONS: Readonly<TrainOptions> = {
  steps: 600_000,
  gradAccum: 40,
  lr: 6e-4,
  minLr: 6e-5,
  warmup: 2000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1.0,
  evalEvery: 2000,
  evalBatches: 200,
};

/**
 * The CPU preset's optimisation settings (the `tiny` model config): about 6
 * minutes of pre-training on 2 cores.
 *
 * @example
 * ```ts
 * import { TINY_TRAIN_OPTIONS } from "@metatokens/model";
 * console.log(TINY_TRAIN_OPTIONS.steps, TINY_TRAIN_OPTIONS.lr); // 120 0.001
 * ```
 */
export const TINY_TRAIN_OPTIONS: Readonly<TrainOptions> = {
  ...PAPER_TRAIN_OPTIONS,
  steps: 120,
  gradAccum: 1,
  lr: 1e-3,
  minLr: 1e-4,
  warmup: 10,
  evalEvery: 40,
  evalBatches: 4,
};

/**
 * nanoGPT's schedule: linear warmup to `lr`, cosine to `minLr` at
 * `decaySteps`, then `minLr`.
 *
 * @example
 * ```ts
 * import { learningRate, PAPER_TRAIN_OPTIONS } from "@metatokens/model";
 * console.log(learningRate(600_000, PAPER_TRAIN_OPTIONS)); // 6e-5
 * ```
 */
export function learningRate(
  step: number,
  o: Pick<TrainOptions, "lr" | "minLr" | "warmup" | "steps" | "decaySteps">,
): number {
  const decay = o.decaySteps ?? o.steps;
  if (step < o.warmup) return (o.lr * (step + 1)) / (o.warmup + 1);
  if (step >= decay) return o.minLr;
  const ratio = (step - o.warmup) / Math.max(1, decay - o.warmup);
  return o.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.lr - o.minLr);
}

/** What one optimizer step reports. */
export interface StepInfo {
  /** Steps completed, this one included. */
  step: number;
  /** Mean training loss over the micro-batches. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens in the step (inputs, all micro-batches). */
  tokens: number;
}

/** What a trainer saves besides weights and moments. */
export interface TrainerState {
  /** Steps completed. */
  step: number;
  /** Dropout / noise generator. */
  rng: RngState;
  /** Training data cursor. */
  data: unknown;
  /** Validation data cursor (null without a validation source). */
  valData: unknown;
  /** Best validation loss so far (null before the first evaluation). */
  bestValLoss: number | null;
  /** Tokens trained on. */
  tokens: number;
  /** The optimisation settings (for the record, and to continue the same schedule). */
  options: TrainOptions;
  /** Every evaluation so far as [step, validation loss] (older checkpoints: absent). */
  valLosses?: [number, number][];
}

/**
 * Raised when the loss or the gradient norm stops being finite; nothing was
 * updated with it. ({@linkcode runTraining} adds whether a checkpoint is intact.)
 */
export class NonFiniteLossError extends Error {
  /** The step whose loss was not finite. */
  readonly step: number;
  constructor(step: number, value: number, what: "loss" | "gradient norm" = "loss") {
    super(
      `${
        what === "loss" ? "Loss" : "Gradient norm"
      } became ${value} at step ${step}: training stopped before ` +
        `updating the weights (lower the learning rate or check the data)`,
    );
    this.name = "NonFiniteLossError";
    this.step = step;
  }
}

/**
 * Raised when a step's training loss exceeds {@linkcode TrainOptions.maxLoss}
 * (a diverging run); nothing was updated with it.
 */
export class LossSpikeError extends Error {
  /** The step whose loss was too high. */
  readonly step: number;
  /** That loss. */
  readonly loss: number;
  constructor(step: number, loss: number, maxLoss: number) {
    super(
      `Loss ${loss} at step ${step} exceeds maxLoss ${maxLoss}: the run is diverging; training stopped ` +
        `before updating the weights (lower the learning rate, or raise maxLoss)`,
    );
    this.name = "LossSpikeError";
    this.step = step;
    this.loss = loss;
  }
}

/**
 * Runs optimizer steps on a {@linkcode Gpt}.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig, PAPER_TRAIN_OPTIONS, Trainer } from "@metatokens/model";
 * const config = gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 });
 * const model = new Gpt(config, new Rng(0));
 * const x = Int32Array.from({ length: 16 }, (_, i) => i % 30);
 * const source = { next: () => ({ b: 2, t: 8, x, y: x.map((v) => (v + 1) % 30) }), state: () => null, restore: () => {} };
 * const trainer = new Trainer(model, source, null, { ...PAPER_TRAIN_OPTIONS, steps: 5, gradAccum: 1, warmup: 0, lr: 1e-2 });
 * for (let i = 0; i < 5; i++) console.log((await trainer.step()).loss);
 * ```
 */
export class Trainer {
  /** The optimiser. */
  readonly optimizer: AdamW;
  /** Settings. */
  readonly options: TrainOptions;
  /** Generator for dropout. */
  readonly rng: Rng;
  #step = 0;
  #tokens = 0;
  #bestValLoss: number | null = null;
  #valLosses: [number, number][] = [];

  constructor(
    readonly model: Gpt,
    readonly train: BatchSource,
    readonly val: BatchSource | null,
    options: TrainOptions,
    seed = 1337,
  ) {
    this.options = options;
    for (const key of ["steps", "gradAccum", "evalBatches", "warmup", "evalEvery"] as const) {
      const min = key === "gradAccum" || key === "evalBatches" ? 1 : 0;
      if (!Number.isInteger(options[key]) || options[key] < min) {
        throw new RangeError(`Cannot train with ${key} = ${options[key]}: expected an integer ≥ ${min}`);
      }
    }
    for (const key of ["lr", "minLr", "gradClip", "weightDecay"] as const) {
      if (!Number.isFinite(options[key]) || options[key] < 0) {
        throw new RangeError(
          `Cannot train with ${key} = ${
            options[key]
          }: expected a finite number ≥ 0 (gradClip 0: no clipping)`,
        );
      }
    }
    if (options.maxLoss !== undefined && !(options.maxLoss > 0)) {
      throw new RangeError(
        `Cannot train with maxLoss = ${options.maxLoss}: expected a number > 0 (Infinity or absent: off)`,
      );
    }
    const [decayed, rest] = decayGroups(model);
    this.optimizer = new AdamW(
      [
        { params: decayed.map(([, p]) => p), weightDecay: options.weightDecay },
        { params: rest.map(([, p]) => p), weightDecay: 0 },
      ],
      { lr: options.lr, beta1: options.beta1, beta2: options.beta2, weightDecay: options.weightDecay },
    );
    this.rng = new Rng(seed);
  }

  /** Steps completed. */
  get stepCount(): number {
    return this.#step;
  }

  /** Best validation loss so far. */
  get bestValLoss(): number | null {
    return this.#bestValLoss;
  }

  /** Every evaluation of this run as [step, validation loss], those before a resume included. */
  get valLosses(): readonly (readonly [number, number])[] {
    return this.#valLosses;
  }

  /**
   * Frees what the trainer made: the optimizer's moments and the parameters'
   * gradients. The model stays with its owner (free it with
   * {@linkcode Gpt.dispose}); the trainer is unusable afterwards.
   */
  dispose(): void {
    this.optimizer.dispose();
    for (const p of this.model.params.values()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** {@linkcode Trainer.dispose}, so that `using trainer = new Trainer(…)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * One optimizer step over `gradAccum` micro-batches. Asynchronous because
   * the loss and the gradient norm are read back from the device (at once
   * on CPU backends; after the GPU finishes on `webgpu`).
   */
  async step(): Promise<StepInfo> {
    const { model, options } = this;
    const lr = learningRate(this.#step, options);
    const k = model.backend.kernels;
    // The micro-batch losses are summed on the device: one readback per step, not per micro-batch.
    const lossSum = zeros([1], { backend: model.backend });
    let tokens = 0;
    for (let micro = 0; micro < options.gradAccum; micro++) {
      const batch = this.train.next();
      scope(() => {
        const l = model.forward(batch, { training: true, rng: this.rng }).loss!;
        // Each micro-batch contributes 1/gradAccum of the step's mean loss gradient.
        backward(l, tensor([1 / options.gradAccum], [], { backend: model.backend }));
        k.axpy(lossSum.storage, l.storage, 1 / options.gradAccum, 1);
      });
      tokens += batch.b * batch.t;
    }
    const params = [...model.params.values()];
    let sumSquares: Tensor;
    if (options.gradClip > 0) {
      const clipped = clipGradNorm(params, options.gradClip);
      clipped.scale.dispose();
      sumSquares = clipped.sumSquares;
    } else {
      sumSquares = gradSumSquares(params);
    }
    const [loss, squares] = (await Promise.all([lossSum.take(), sumSquares.take()])).map((t) => t[0]);
    if (!Number.isFinite(loss)) {
      this.optimizer.zeroGrad();
      throw new NonFiniteLossError(this.#step + 1, loss);
    }
    const gradNorm = Math.sqrt(squares);
    if (!Number.isFinite(gradNorm)) {
      this.optimizer.zeroGrad();
      throw new NonFiniteLossError(this.#step + 1, gradNorm, "gradient norm");
    }
    if (options.maxLoss !== undefined && loss > options.maxLoss) {
      this.optimizer.zeroGrad();
      throw new LossSpikeError(this.#step + 1, loss, options.maxLoss);
    }
    this.optimizer.step(lr);
    this.optimizer.zeroGrad();
    this.#step++;
    this.#tokens += tokens;
    return { step: this.#step, loss, lr, gradNorm, tokens };
  }

  /** Mean loss over `evalBatches` validation batches (no gradients, no dropout). */
  async evaluate(): Promise<number> {
    if (!this.val) throw new Error("Cannot evaluate without a validation batch source");
    let sum = 0;
    for (let i = 0; i < this.options.evalBatches; i++) {
      const batch = this.val.next();
      sum += (await noGrad(() => scope(() => this.model.forward(batch).loss!.keep())).take())[0];
    }
    const loss = sum / this.options.evalBatches;
    if (this.#bestValLoss === null || loss < this.#bestValLoss) this.#bestValLoss = loss;
    this.#valLosses.push([this.#step, loss]);
    return loss;
  }

  /** The state to resume from. */
  state(): TrainerState {
    return {
      step: this.#step,
      rng: this.rng.state(),
      data: this.train.state(),
      valData: this.val?.state() ?? null,
      bestValLoss: this.#bestValLoss,
      tokens: this.#tokens,
      options: this.options,
      valLosses: this.#valLosses.map(([step, loss]) => [step, loss]),
    };
  }

  /** Everything a checkpoint holds: config, weights, AdamW moments, trainer state. */
  async checkpoint(): Promise<Checkpoint> {
    const model: StateDict = {};
    const m: StateDict = {}, v: StateDict = {};
    const moments = this.optimizer.state();
    const ordered = decayGroups(this.model).flat();
    for (const [name, p] of this.model.params) {
      model[name] = { shape: [...p.shape], data: await p.data() as Float32Array };
    }
    for (const [i, [name, p]] of ordered.entries()) {
      m[name] = { shape: [...p.shape], data: await moments.m[i].data() as Float32Array };
      v[name] = { shape: [...p.shape], data: await moments.v[i].data() as Float32Array };
    }
    return {
      config: { ...this.model.config },
      model,
      optimizer: { m, v, step: moments.step },
      trainerState: stateRecord(this.state()),
    };
  }

  /**
   * Restores weights, moments, RNG, data cursor and counters from a checkpoint
   * of the same config. The trainer state is read with
   * {@linkcode readTrainerState} before anything is restored, so a malformed
   * one changes nothing.
   *
   * @param ckpt The checkpoint.
   * @param source Its `trainer_state.json`, for messages.
   * @throws {TypeError} A trainer state with a missing or mistyped key.
   * @throws {RangeError} A trainer state with a value out of bounds.
   * @throws {Error} A checkpoint of another config.
   */
  restore(ckpt: Checkpoint, source = "the checkpoint's trainer_state.json"): void {
    const s = readTrainerState(ckpt.trainerState, source);
    for (const [key, value] of Object.entries(this.model.config)) {
      const saved = Object.hasOwn(ckpt.config, key) ? ckpt.config[key] : undefined;
      if (JSON.stringify(saved) !== JSON.stringify(value)) {
        throw new Error(
          `Cannot resume: the checkpoint has ${key} = ${preview(saved)} but this model has ${
            preview(value)
          } (a checkpoint from another config)`,
        );
      }
    }
    loadWeights(this.model, ckpt.model);
    const ordered = decayGroups(this.model).flat();
    if (ckpt.optimizer) {
      this.optimizer.loadState(
        ckpt.optimizer.step,
        ordered.map(([name]) => momentOf(ckpt.optimizer!.m, name)),
        ordered.map(([name]) => momentOf(ckpt.optimizer!.v, name)),
      );
    }
    this.#step = s.step;
    this.#tokens = s.tokens;
    this.#bestValLoss = s.bestValLoss;
    this.#valLosses = (s.valLosses ?? []).map(([step, loss]) => [step, loss]);
    this.rng.restore(s.rng);
    this.train.restore(s.data);
    if (this.val && s.valData !== undefined && s.valData !== null) this.val.restore(s.valData);
  }
}

/** A trainer state as the JSON object a checkpoint stores. */
function stateRecord(s: TrainerState): Record<string, unknown> {
  return {
    step: s.step,
    rng: s.rng,
    data: s.data,
    valData: s.valData,
    bestValLoss: s.bestValLoss,
    tokens: s.tokens,
    options: s.options,
    valLosses: s.valLosses,
  };
}

/**
 * The parameters in AdamW group order: ≥ 2-D tensors (weight decay), then the
 * rest (biases, LayerNorm); checkpoints store moments by name in this order.
 */
function decayGroups(model: Gpt): [[string, Tensor][], [string, Tensor][]] {
  const all = [...model.params.entries()];
  return [all.filter(([, p]) => p.rank >= 2), all.filter(([, p]) => p.rank < 2)];
}

function momentOf(dict: StateDict, name: string): Float32Array {
  const t = dict[name];
  if (!t) throw new Error(`Cannot resume: the optimizer state has no moment for "${name}"`);
  return t.data;
}

/**
 * Copies a state dict into a model, checking that names and shapes match
 * its config exactly (a checkpoint of another config is refused by name).
 * With `partial`, parameters the state lacks keep their values (starting a
 * meta model from GPT-2 weights leaves the meta-attention at its init).
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig, loadWeights } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 }), new Rng(0));
 * loadWeights(model, { "transformer.ln_f.bias": { shape: [16], data: new Float32Array(16).fill(1) } }, { partial: true });
 * console.log(model.param("transformer.ln_f.bias").dataSync()[0]); // 1
 * ```
 */
export function loadWeights(model: Gpt, state: StateDict, options: { partial?: boolean } = {}): void {
  for (const [name, p] of model.params) {
    const t = state[name];
    if (!t && options.partial) continue;
    if (!t) {
      throw new Error(`Cannot load weights: "${name}" is missing (is the checkpoint from another config?)`);
    }
    if (t.shape.length !== p.rank || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(
        `Cannot load weights: "${name}" has shape [${t.shape.join(", ")}] but this model expects [${
          p.shape.join(", ")
        }]`,
      );
    }
    model.backend.write(p.storage, t.data);
  }
  for (const name of Object.keys(state)) {
    if (!model.params.has(name)) {
      throw new Error(`Cannot load weights: this model has no parameter "${name}"`);
    }
  }
}

/**
 * A model from a checkpoint's config and weights, its parameters on
 * `backend` (default: the global default backend of `defaultBackend()`, which
 * the CLI sets from `--device`). The caller owns the model: free it with
 * {@linkcode Gpt.dispose} or `using`.
 *
 * The config is read with {@linkcode checkpointConfig} before anything is
 * allocated: every key is required (nothing comes from a preset) and the
 * sizes are bounded.
 *
 * @throws {TypeError} A config with a missing, unknown or mistyped key.
 * @throws {RangeError} A config whose model is too large or inconsistent.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig, modelFromCheckpoint, PAPER_TRAIN_OPTIONS, Trainer } from "@metatokens/model";
 * const config = gptConfig({ nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 8, vocabSize: 32, metaTokenId: 31 });
 * const source = { next: () => ({ b: 1, t: 2, x: new Int32Array(2) }), state: () => null, restore: () => {} };
 * const ckpt = await new Trainer(new Gpt(config, new Rng(0)), source, null, PAPER_TRAIN_OPTIONS).checkpoint();
 * using model = modelFromCheckpoint(ckpt);
 * console.log(model.parameterCount());
 * ```
 */
export function modelFromCheckpoint(
  ckpt: Pick<Checkpoint, "config" | "model">,
  backend: Backend = defaultBackend(),
): Gpt {
  const model = new Gpt(checkpointConfig(ckpt.config, "checkpoint config"), new Rng(0), backend);
  loadWeights(model, ckpt.model);
  return model;
}
